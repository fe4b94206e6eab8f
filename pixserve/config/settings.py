"""The server's settings: one table of defaults, loaded from the environment, validated.

Every setting reads `PIXSERVE_<NAME>` from the environment; the CLI's flags override
it (`config_sources` adds a TOML file underneath and records where each value came
from). `validate()` runs at construction so a bad value stops start-up with a message
naming the setting, instead of failing the first request.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pixserve.sources.config import Mounts, SourceConfigError, check_mounts, parse_mounts
from pixserve.transformer import (
    FORMATS,
    ColourSettings,
    ImageLimits,
    InvalidOption,
    Limits,
    parse_options,
)
from pixserve.transformer.options import FORMAT_ALIASES, canonical_text

ENV_PREFIX = "PIXSERVE_"
_SIZE = re.compile(r"\s*([0-9]+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_TRUE = {"1", "true", "yes", "on"}
MIN_KEY_LENGTH = 16
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a bad value; the message starts with the setting's name."""


# A standard CMYK profile for CMYK sources that carry none (Debian: libgs-common).
CMYK_PROFILE_CANDIDATES = (
    Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),
    Path("/usr/share/ghostscript/iccprofiles/default_cmyk.icc"),
)


def default_cmyk_profile() -> Path | None:
    return next((path for path in CMYK_PROFILE_CANDIDATES if path.is_file()), None)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixserve"


# `pixserve serve`'s gunicorn layout, chosen by `benchmarks/gunicorn_settings.py`
# (README: Operations): every layout costs the same CPU per request, but a gthread
# worker keeps the connections it accepts, so with one process per core a few
# keep-alive clients can end up on one process; two per core kept every core busy.
WORKERS_PER_CORE = 2
DEFAULT_THREADS = 2
LOG_FORMATS = ("json", "text")
_ACCEL_PREFIX = re.compile(r"/([A-Za-z0-9._~-]+/)+")


def default_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


@dataclass(frozen=True)
class Config:
    """Settings of the image app. Sizes accept suffixes: 512MiB, 2G, 100k."""

    root: Path
    cache_dir: Path = field(default_factory=default_cache_dir)
    cache_max_bytes: int = 1 << 30
    cache_max_age: int = 0  # seconds after which an entry is made anew; 0: never
    max_age: int = 86400
    max_dimension: int = 8192
    max_source_pixels: int = 50_000_000
    avif: bool = False
    index: bool = False
    image_prefix: str = "/image"
    info_prefix: str = "/info"
    client_hints: bool = False
    cmyk_profile: Path | None = field(default_factory=default_cmyk_profile)
    keep_icc_profiles: bool = False
    # Defences for a public server (SECURITY.md explains each).
    signing_keys: tuple[str, ...] = field(default=(), repr=False)
    allowed_widths: tuple[int, ...] = ()
    allowed_heights: tuple[int, ...] = ()
    allowed_qualities: tuple[int, ...] = ()
    allowed_formats: tuple[str, ...] = ()
    presets: dict[str, str] = field(default_factory=dict)
    only_presets: bool = False
    max_source_bytes: int = 50 << 20
    max_output_pixels: int = 50_000_000
    max_frames: int = 256
    max_animation_pixels: int = 250_000_000
    time_limit: float = 10.0
    # Originals from S3 and HTTP origins (README: Sources): `[sources.NAME]` tables.
    sources: Mounts = field(default_factory=dict)
    # Seconds a fetched original's identity is trusted before a conditional request
    # revalidates it: how long a replaced original may keep its old results on a node.
    source_ttl: float = 60.0
    source_cache_max_bytes: int = 1 << 30  # the originals area of the cache
    # Operations (README: Operations).
    server_timing: bool = True  # Server-Timing on misses: decode, resize, encode, cache
    log_format: str = "json"  # or "text"; one line per request either way
    accel_redirect: str = ""  # nginx's internal location for cache_dir; "": off
    # `pixserve serve` (gunicorn); the extension and `create_app` ignore these.
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = field(default_factory=default_workers)
    threads: int = DEFAULT_THREADS
    timeout: int = 30  # seconds a worker's main loop may stall before it is restarted
    graceful_timeout: int = 30  # seconds a stopping worker has to finish its requests
    keepalive: int = 5  # seconds an idle connection stays open (over nginx's 4)
    # A worker is replaced after this many requests, plus up to the jitter so workers
    # do not restart together: measured, a worker's memory levels off after a few
    # hundred requests and then grows only slowly; this bounds what growth there is.
    max_requests: int = 20_000
    max_requests_jitter: int = 2_000

    def __post_init__(self) -> None:
        # Relative paths mean "from where pixserve was started", not from wherever a
        # library (Flask's send_file resolves against the app's package) assumes.
        object.__setattr__(self, "root", Path(self.root).absolute())
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).absolute())
        if any(isinstance(mount, Mapping) for mount in self.sources.values()):
            try:  # tables given in Python (a Flask app's config)
                object.__setattr__(self, "sources", parse_mounts(self.sources))
            except SourceConfigError as error:
                raise ConfigError(str(error)) from None
        self.validate()

    def validate(self) -> None:
        """Raise `ConfigError` naming the first setting whose value cannot work."""
        if not self.root.is_dir():
            raise ConfigError(f"root: {str(self.root)!r} is not a directory")
        if self.cache_max_bytes < 1 << 20:
            raise ConfigError("cache_max_bytes: must be at least 1MiB")
        if self.cache_max_age < 0:
            raise ConfigError("cache_max_age: must be 0 (no expiry) or more seconds")
        if self.max_age < 0:
            raise ConfigError("max_age: must be 0 or more seconds")
        if not 1 <= self.max_dimension <= 65535:
            raise ConfigError("max_dimension: must be from 1 to 65535 pixels")
        for name in (
            "max_source_pixels",
            "max_source_bytes",
            "max_output_pixels",
            "max_frames",
            "max_animation_pixels",
        ):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        for name in ("image_prefix", "info_prefix"):
            prefix = getattr(self, name)
            if not prefix.startswith("/") or prefix.rstrip("/") == "" or "<" in prefix:
                raise ConfigError(f"{name}: must be a path like /image, got {prefix!r}")
        if self.image_prefix.rstrip("/") == self.info_prefix.rstrip("/"):
            raise ConfigError("info_prefix: must differ from image_prefix")
        if self.cmyk_profile is not None and not self.cmyk_profile.is_file():
            raise ConfigError(f"cmyk_profile: {str(self.cmyk_profile)!r} is not a file")
        if not 0 < self.time_limit <= 3600:
            raise ConfigError("time_limit: must be more than 0 and at most 3600 seconds")
        if any(len(key) < MIN_KEY_LENGTH for key in self.signing_keys):
            raise ConfigError(
                f"signing_keys: each key needs at least {MIN_KEY_LENGTH} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if self.only_presets and not self.presets:
            raise ConfigError("only_presets: set presets too, or no URL can be served")
        self.query_limits()  # a preset that does not parse stops start-up
        self._validate_sources()
        self._validate_operations()

    def _validate_sources(self) -> None:
        if not 0 <= self.source_ttl <= 86400:
            raise ConfigError("source_ttl: must be from 0 to 86400 seconds")
        if self.source_cache_max_bytes < 1 << 20:
            raise ConfigError("source_cache_max_bytes: must be at least 1MiB")
        try:
            check_mounts(self.root, self.sources)
        except SourceConfigError as error:
            raise ConfigError(str(error)) from None

    def _validate_operations(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"log_format: must be json or text, got {self.log_format!r}")
        if self.accel_redirect and not _ACCEL_PREFIX.fullmatch(self.accel_redirect):
            raise ConfigError(
                "accel_redirect: must be an nginx location like /_pixserve_cache/ (starting "
                f"and ending with /), got {self.accel_redirect!r}"
            )
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port: must be from 1 to 65535, got {self.port}")
        for name in ("workers", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        for name in ("timeout", "graceful_timeout"):
            if getattr(self, name) <= self.time_limit:
                raise ConfigError(
                    f"{name}: must be more than time_limit ({self.time_limit:g} s), "
                    "or a worker could be stopped in the middle of a transform"
                )
        for name in ("keepalive", "max_requests", "max_requests_jitter"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be 0 or more")

    def query_limits(self) -> Limits:
        """The parser's rules: maximum size, allowlists and presets."""
        allowed = {
            param: frozenset(canonical_text(value) for value in values)
            for param, values in (
                ("w", self.allowed_widths),
                ("h", self.allowed_heights),
                ("q", self.allowed_qualities),
            )
            if values
        }
        if self.allowed_formats:
            allowed["fmt"] = frozenset(FORMAT_ALIASES.get(f, f) for f in self.allowed_formats)
        bad_formats = set(allowed.get("fmt", ())) - set(FORMATS)
        if bad_formats:
            raise ConfigError(f"allowed_formats: unknown formats {', '.join(sorted(bad_formats))}")
        presets: dict[str, tuple[tuple[str, str], ...]] = {}
        plain = Limits(max_dimension=self.max_dimension)
        for name, query in self.presets.items():
            try:
                pairs = tuple(parse_qsl(query, keep_blank_values=True, strict_parsing=True))
                parse_options(pairs, plain)
            except (ValueError, InvalidOption) as error:
                raise ConfigError(
                    f"presets: preset {name!r} is not a valid query: {error}"
                ) from None
            presets[name] = pairs
        return Limits(
            max_dimension=self.max_dimension,
            allowed=allowed,
            presets=presets,
            only_presets=self.only_presets,
        )

    def colour_settings(self) -> ColourSettings:
        """Reads the CMYK profile once, at start-up."""
        profile = self.cmyk_profile.read_bytes() if self.cmyk_profile is not None else None
        return ColourSettings(cmyk_profile=profile, keep_profiles=self.keep_icc_profiles)

    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_source_pixels=self.max_source_pixels,
            max_output_pixels=self.max_output_pixels,
            max_frames=self.max_frames,
            max_animation_pixels=self.max_animation_pixels,
        )

    @classmethod
    def from_flask(cls, app_config: Mapping[str, Any]) -> Config:
        """Build from a Flask app's `PIXSERVE_*` keys: text is parsed as in the
        environment, other values (a Path, an int, a tuple...) are taken as they are."""
        text = {key: value for key, value in app_config.items() if isinstance(value, str)}
        typed = {
            setting.name: app_config[key]
            for setting in dataclasses.fields(cls)
            if (key := ENV_PREFIX + setting.name.upper()) in app_config
            and not isinstance(app_config[key], str)
        }
        return cls.load(text, **typed)

    @classmethod
    def load(cls, environ: Mapping[str, str], **overrides: Any) -> Config:
        """Build from `PIXSERVE_*` variables, then `overrides` (CLI flags) on top."""
        values = environment_values(environ)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls.build(values)

    @classmethod
    def build(cls, values: Mapping[str, Any]) -> Config:
        """Construct from typed values by setting name, turning mistakes into `ConfigError`."""
        if "root" not in values:
            raise ConfigError("root: set the folder of source images with --root or PIXSERVE_ROOT")
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(str(error)) from error


def setting_kinds() -> dict[str, str]:
    """Each setting's name and declared type, as text (`int`, `tuple[int, ...]`...)."""
    return {setting.name: str(setting.type) for setting in dataclasses.fields(Config)}


def environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as `PIXSERVE_<NAME>` variables, parsed by their types."""
    return {
        name: parse_setting(name, kind, environ[ENV_PREFIX + name.upper()])
        for name, kind in setting_kinds().items()
        if ENV_PREFIX + name.upper() in environ
    }


def parse_setting(name: str, kind: str, raw: str) -> Any:
    """Parse one setting's text by its declared type; errors name the setting."""
    if kind == "str":
        return raw
    if kind == "Mounts":  # PIXSERVE_SOURCES: the tables as JSON
        try:
            return parse_mounts(json.loads(raw))
        except ValueError as error:  # SourceConfigError too
            raise ConfigError(
                str(error)
                if isinstance(error, SourceConfigError)
                else f"{name}: expected a JSON object of tables, got {raw!r}"
            ) from None
    if kind == "Path | None":
        return Path(raw).expanduser() if raw.strip() else None
    if kind == "Path":
        return Path(raw).expanduser()
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if kind.startswith("tuple["):
        items = [item.strip() for item in raw.split(",") if item.strip()]
        item_kind = kind[len("tuple[") :].split(",")[0]
        return tuple(parse_setting(name, item_kind, item) for item in items)
    if kind == "dict[str, str]":
        entries = [entry.strip() for entry in raw.split(";") if entry.strip()]
        if not all(":" in entry for entry in entries):
            raise ConfigError(f"{name}: expected NAME:QUERY entries separated by ';', got {raw!r}")
        return dict(entry.split(":", 1) for entry in entries)
    if kind == "int":
        match = _SIZE.fullmatch(raw)
        if match is None:
            raise ConfigError(
                f"{name}: expected a whole number (sizes may end in k, M, G), got {raw!r}"
            )
        return int(match[1]) * _UNITS[match[2][:1].lower()]
    raise ConfigError(f"{name}: no parser for settings of type {kind}")
