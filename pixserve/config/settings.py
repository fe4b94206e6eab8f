"""The server's settings, in parts, each declared once with its kind and default.

Parts: `imaging` (what the transformer may do), `cache` (the result cache), `http`
(what URLs reach and how answers are cached), `ops` (logs, timing, nginx), `serving`
(`pixserve serve`'s granian) and `sources` (S3 and HTTP mounts). Each part is
validated when it is made, and `Config` checks what spans parts (every timeout against
`time_limit`, mounts against the root), so a bad value stops start-up with a message
naming the setting instead of failing the first request.

`SETTINGS` is the one table from a setting's name to its part and its kind (the
parser, `parsers.py`); the environment (`PIXSERVE_<NAME>`), the TOML file and the
flags all read through it. Setting names are flat and unique across parts.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from pixserve.config.parsers import (
    AUTO_OR_INTEGER,
    BOOLEAN,
    DURATION,
    FILE_MODE,
    INTEGER,
    INTEGERS,
    OPTIONAL_PATH,
    PATH,
    SIZE,
    TABLE,
    TEXT,
    TEXTS,
    ConfigError,
    Kind,
)
from pixserve.dialects.config import DialectSettings
from pixserve.sources.config import MOUNTS, Mounts, check_mounts, parse_mounts
from pixserve.transformer import (
    FORMATS,
    ColourSettings,
    EncoderSettings,
    ImageLimits,
    InvalidOption,
    Limits,
    parse_options,
)
from pixserve.transformer.encode import FASTEST_AVIF_SPEED, SLOWEST_AVIF_SPEED
from pixserve.transformer.options import (
    AUTO,
    FIELDS,
    FORMAT_ALIASES,
    QualityTarget,
    canonical_text,
)

__all__ = ["SETTINGS", "Config", "ConfigError", "Setting", "environment_values", "parse_setting"]

ENV_PREFIX = "PIXSERVE_"
MIN_KEY_LENGTH = 16
# The WebP stand-in of an AVIF being made may be kept at most an hour: it is replaced
# seconds later, and nothing that will change should be cached long.
MAX_UPGRADE_MAX_AGE = 3600
# A standard CMYK profile for CMYK sources that carry none (Debian: libgs-common).
CMYK_PROFILE_CANDIDATES = (
    Path("/usr/share/color/icc/ghostscript/default_cmyk.icc"),
    Path("/usr/share/ghostscript/iccprofiles/default_cmyk.icc"),
)
# `pixserve serve`'s processes (`benchmarks/layouts.py`, docs/operations.md): every
# layout costs about the same CPU per request, but a worker keeps the keep-alive
# connections it accepts, so with one process per core a few busy clients can end up
# on one process while another idles; two per core keep every core busy.
WORKERS_PER_CORE = 2
MEMORY_BUDGET_SHARE = 4  # the default budget is this fraction of physical memory
# Threads per process (granian's blocking threads): `transforms_per_process` of them
# make results at once and the other makers wait their turn (up to queue_timeout),
# parked on a semaphore with no CPU; the rest answer cache hits and health checks
# meanwhile (issue 13: /healthz took up to 60 s while every thread transformed). So
# there are many more threads than transforms: a waiting thread costs its stack's
# touched pages, and granian starts them only as requests come.
DEFAULT_THREADS = 32
# 2 per process, 2 processes per core: 4 transforms per core at once, so a slow one
# does not hold up the small ones behind it, for a little CPU contention.
TRANSFORMS_PER_PROCESS = 2
LOG_FORMATS = ("json", "text")
AUTO_QUALITY_CHOICES = ("off", "low", "good", "high")
_ACCEL_PREFIX = re.compile(r"/([A-Za-z0-9._~-]+/)+")
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
# Query parameters pixserve reads itself, which `ignored_params` may never hide.
RESERVED_PARAMS = frozenset({*FIELDS, "s"})


def default_cmyk_profile() -> Path | None:
    return next((path for path in CMYK_PROFILE_CANDIDATES if path.is_file()), None)


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixserve"


def default_memory_budget() -> int:
    """A quarter of the machine's memory, at least 1 GiB: room for the workers' idle
    memory, the page cache that serves hits, and the rest of the machine."""
    try:
        physical = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):
        physical = 4 << 30
    return max(1 << 30, physical // MEMORY_BUDGET_SHARE)


def default_workers() -> int:
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


def setting(
    kind: Kind,
    default: Any = dataclasses.MISSING,
    *,
    doc: str,
    computed_default: str = "",
    **options: Any,
) -> Any:
    """A part's field that is a setting of `kind` (`factory=` for a computed default).

    `doc` is its line in the settings reference (Markdown, links relative to docs/), and
    `computed_default` says how a default computed where pixserve runs is found: the
    reference (docs/settings.md) is made from these, next to the field they describe.
    """
    metadata = {"kind": kind, "doc": doc, "computed_default": computed_default}
    if "factory" in options:
        return field(default_factory=options["factory"], metadata=metadata)
    return field(default=default, metadata=metadata, **options)


def _absolute(part: Any, *names: str) -> None:
    """Relative paths mean "from where pixserve was started", not from wherever a
    library (Flask's send_file resolves against the app's package) assumes."""
    for name in names:
        value = getattr(part, name)
        if value is not None:
            object.__setattr__(part, name, Path(value).absolute())


@dataclass(frozen=True)
class ImagingSettings:
    """What one transform may read, make and spend."""

    max_dimension: int = setting(INTEGER, 8192, doc="largest `w` or `h` accepted")
    max_source_pixels: int = setting(
        INTEGER, 50_000_000, doc="larger sources are refused (422) from their header"
    )
    max_source_bytes: int = setting(SIZE, 50 << 20, doc="larger source files are refused (422)")
    max_output_pixels: int = setting(INTEGER, 50_000_000, doc="larger results are refused (400)")
    max_frames: int = setting(
        INTEGER, 256, doc="animated sources with more frames are refused (422)"
    )
    max_animation_pixels: int = setting(
        INTEGER, 250_000_000, doc="animations with more pixels in all frames are refused (422)"
    )
    # The most a request that makes a result takes, from when it asks to make it: its
    # waits for a turn and for memory included (`benchmarks/stress.py`), then 503.
    time_limit: float = setting(
        DURATION,
        10.0,
        doc=(
            "the most time a request that makes a result may take, its waits for a turn and for "
            "memory included, before it is answered 503"
        ),
    )
    # Transforms running at once on this node may take this much memory, by their
    # estimated peaks; more waits up to queue_timeout, then gets 503 (docs/security.md).
    memory_budget: int = setting(
        SIZE,
        factory=default_memory_budget,
        doc=(
            "transforms running at once on this node may hold this much memory, by their estimated"
            " peaks (`transformer/cost.py`); more wait"
        ),
        computed_default="a quarter of the machine's memory (at least `1GiB`)",
    )
    # How long a request that makes a result waits for its process's turn and then for
    # room in the memory budget, each, and never past its `time_limit`: a queue, not a
    # refusal, for ordinary bursts (64 connections of 640 px misses wait about 1.5 s on
    # 2 cores: `benchmarks/serving.py`), yet bounded, so an overloaded node sheds load
    # with 503 and `Retry-After`.
    queue_timeout: float = setting(
        DURATION,
        10.0,
        doc=(
            "how long a request that makes a result waits for its process's turn, and then for "
            "room in `memory_budget` (that wait also counts against `time_limit`), before it is "
            "answered 503 `overloaded` with `Retry-After`"
        ),
    )
    avif: bool = setting(
        BOOLEAN, False, doc="offer AVIF under `fmt=auto` (see [The URL API](url-api.md))"
    )
    # Decoded sources each process keeps for other widths and formats of the same
    # picture (a page's srcset ladder, `transformer/decoded.py`); 0 keeps none.
    decoded_cache: int = setting(
        SIZE,
        24 << 20,
        doc=(
            "decoded sources each process keeps for a short while (30 s unused) for other widths "
            "and formats of the same picture, as a page's srcset ladder asks for them; the output "
            "is the same bytes either way; `0` keeps none"
        ),
    )
    # The `q=auto` target of URLs that give no `q` (`off`: the format's fixed default).
    auto_quality: str = setting(
        TEXT,
        "off",
        doc=(
            "`low`, `good` or `high`: the `q=auto` target of `/image` URLs that give no `q` (see "
            "[`q=auto`](quality.md#qauto-and-fmtbest-the-fewest-bytes-at-a-chosen-quality)); "
            "`off`: each format's fixed default"
        ),
    )
    # With `avif` on, a request negotiated to an AVIF not cached yet is answered with
    # the WebP at once while the AVIF is made in the background (pixserve/http/upgrade.py).
    avif_upgrade: bool = setting(
        BOOLEAN,
        True,
        doc=(
            "with `avif` on, answer a request whose AVIF is not cached yet with the WebP at once "
            "and make the AVIF in the background (see [AVIF without the "
            "wait](quality.md#avif-without-the-wait))"
        ),
    )
    # AVIF's encoder speed for every size; `auto` picks it by size
    # (`transformer/encode.py`). Slower is fewer bytes for several times the CPU.
    avif_speed: int | None = setting(
        AUTO_OR_INTEGER,
        None,
        computed_default="`auto`",
        doc=(
            "`0` (slowest, smallest) to `9`: the AVIF encoder's speed for every picture; `auto`: "
            "6 up to 0.4 megapixels, 7 above; `5` (sharp's default effort) makes `q=auto`'s "
            "AVIFs a median 0.93x the bytes for 3.3x the CPU (see [AVIF's "
            "speed](quality.md#avifs-speed))"
        ),
    )
    cmyk_profile: Path | None = setting(
        OPTIONAL_PATH,
        factory=default_cmyk_profile,
        doc="ICC profile for CMYK sources without one (empty: Pillow's formula)",
        computed_default="Ghostscript's `default_cmyk.icc` if installed",
    )
    keep_icc_profiles: bool = setting(
        BOOLEAN, False, doc="embed RGB/grey sources' own profiles instead of converting to sRGB"
    )

    def __post_init__(self) -> None:
        _absolute(self, "cmyk_profile")
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
        if self.cmyk_profile is not None and not self.cmyk_profile.is_file():
            raise ConfigError(f"cmyk_profile: {str(self.cmyk_profile)!r} is not a file")
        if not 0 < self.time_limit <= 3600:
            raise ConfigError("time_limit: must be more than 0 and at most 3600 seconds")
        if self.memory_budget < 16 << 20:
            raise ConfigError("memory_budget: must be at least 16MiB")
        if self.queue_timeout < 0:
            raise ConfigError("queue_timeout: must be 0 or more seconds")
        if self.decoded_cache < 0:
            raise ConfigError("decoded_cache: must be 0 (off) or more bytes")
        if self.avif_speed is not None and not (
            SLOWEST_AVIF_SPEED <= self.avif_speed <= FASTEST_AVIF_SPEED
        ):
            raise ConfigError(
                f"avif_speed: must be auto or a whole number from {SLOWEST_AVIF_SPEED} "
                f"to {FASTEST_AVIF_SPEED}, got {self.avif_speed}"
            )
        if self.auto_quality not in AUTO_QUALITY_CHOICES:
            choices = ", ".join(AUTO_QUALITY_CHOICES)
            raise ConfigError(f"auto_quality: must be one of {choices}, got {self.auto_quality!r}")

    @property
    def default_target(self) -> QualityTarget | None:
        """`auto_quality` as the `q=auto` target it gives URLs without `q`, if on."""
        if self.auto_quality == "off":
            return None
        return QualityTarget.parse(f"{AUTO}:{self.auto_quality}")

    def image_limits(self) -> ImageLimits:
        return ImageLimits(
            max_source_pixels=self.max_source_pixels,
            max_output_pixels=self.max_output_pixels,
            max_frames=self.max_frames,
            max_animation_pixels=self.max_animation_pixels,
        )

    def encoder_settings(self) -> EncoderSettings:
        """What every transform encodes with (built once, like the colour settings)."""
        return EncoderSettings(avif_speed=self.avif_speed)

    def colour_settings(self) -> ColourSettings:
        """Reads the CMYK profile once, at start-up."""
        profile = self.cmyk_profile.read_bytes() if self.cmyk_profile is not None else None
        return ColourSettings(cmyk_profile=profile, keep_profiles=self.keep_icc_profiles)


@dataclass(frozen=True)
class CacheSettings:
    """The result cache: where, how big, how long, how long a miss waits for another."""

    cache_dir: Path = setting(
        PATH,
        factory=default_cache_dir,
        doc="result cache folder",
        computed_default="`$XDG_CACHE_HOME/pixserve` or `~/.cache/pixserve`",
    )
    cache_max_bytes: int = setting(
        SIZE,
        1 << 30,
        doc=(
            "bound of the whole cache folder, index included, as `du` counts it (plus at most 256 "
            "KiB at rest, see [The cache](operations.md#the-cache)); least recently used entries "
            "go first"
        ),
    )
    cache_max_age: float = setting(
        DURATION, 0, doc="duration after which an entry is made anew; `0`: never"
    )  # after which an entry is made anew; 0: never
    # How long a miss waits for another worker making the same result before making it
    # itself; more than `time_limit`, or single flight turns into "everyone transforms".
    flight_timeout: float = setting(
        DURATION,
        15.0,
        doc=(
            "how long a miss waits for another worker making the same result before making it "
            "itself; must be more than `time_limit`"
        ),
    )
    # The mode of the cache's files: only pixserve's user reads them by default; nginx
    # sending hits itself (`accel_redirect`) runs its workers as another user, who reads
    # them through a shared group: 0640 (docs/operations.md, "Behind nginx").
    cache_file_mode: int = setting(
        FILE_MODE,
        0o600,
        doc=(
            "permissions of the cache's files: `0600` (only pixserve's user); `0640` lets a group "
            "read them, such as nginx's `www-data` sending hits itself (`accel_redirect`, "
            "[Operations](operations.md#behind-nginx))"
        ),
    )

    def __post_init__(self) -> None:
        _absolute(self, "cache_dir")
        if self.cache_file_mode & ~0o666 or self.cache_file_mode & 0o600 != 0o600:
            raise ConfigError(
                f"cache_file_mode: {self.cache_file_mode:#o} must let its owner read and "
                "write and no one run the files (e.g. 0600, 0640, 0644); in TOML write "
                'it "0640" or 0o640'
            )
        if self.cache_max_bytes < 1 << 20:
            raise ConfigError("cache_max_bytes: must be at least 1MiB")
        if self.cache_max_age < 0:
            raise ConfigError("cache_max_age: must be 0 (no expiry) or more seconds")
        if self.flight_timeout <= 0:
            raise ConfigError("flight_timeout: must be more than 0 seconds")


@dataclass(frozen=True)
class HttpSettings:
    """What URLs reach, and how their answers are cached by clients.

    The defences for a public server (signing, allowlists, presets) are explained in
    docs/security.md.
    """

    root: Path = setting(PATH, doc="folder of source images")
    image_prefix: str = setting(TEXT, "/image", doc="where the routes live")
    info_prefix: str = setting(TEXT, "/info", doc="where the routes live")
    max_age: int = setting(INTEGER, 86400, doc="`Cache-Control: max-age` in seconds")
    # URLs with `v=` name one version of a picture for good (the page changes `v` when
    # the picture changes), so clients may keep them this long without asking again.
    versioned_max_age: float = setting(
        DURATION, 365 * 86400, doc="`max-age` of URLs with `v=`, which are also `immutable`"
    )
    stale_while_revalidate: float = setting(
        DURATION, 0, doc="adds `stale-while-revalidate` to image and `/info` answers"
    )  # 0: not offered
    # `max-age` of the WebP answered while its AVIF is made (`avif_upgrade`): how long
    # a client or CDN may keep the stand-in before asking again and getting the AVIF.
    avif_upgrade_max_age: float = setting(
        DURATION,
        10,
        doc="`Cache-Control: max-age` of that WebP stand-in (at most `1h`; never `immutable`)",
    )
    ignored_params: tuple[str, ...] = setting(
        TEXTS,
        (),
        doc=(
            "comma-separated names or `*` patterns dropped from every query, e.g. "
            "`utm_*,fbclid,gclid,mc_cid,mc_eid`"
        ),
    )  # e.g. utm_*,fbclid,gclid
    cors_origins: tuple[str, ...] = setting(
        TEXTS,
        (),
        doc=(
            "`*`, or comma-separated origins (`https://example.com`) allowed to read images and "
            "`/info`"
        ),
    )  # `*`, or origins allowed to read
    index: bool = setting(
        BOOLEAN, False, doc="serve the index page at `/` (`make run` turns it on)"
    )
    client_hints: bool = setting(
        BOOLEAN,
        False,
        doc=(
            "ask pages for `Sec-CH-DPR`/`Sec-CH-Width` and size hint-less URLs by them; with "
            "`signing_keys` or `allowed_widths`, the hinted width snaps up to the `image_srcset` "
            "ladder (or the allowlist)"
        ),
    )
    signing_keys: tuple[str, ...] = setting(
        TEXTS, (), repr=False, doc="comma-separated HMAC keys; when set, every URL must be signed"
    )
    allowed_widths: tuple[int, ...] = setting(INTEGERS, (), doc="comma-separated allowlists")
    allowed_heights: tuple[int, ...] = setting(INTEGERS, (), doc="comma-separated allowlists")
    allowed_qualities: tuple[int, ...] = setting(INTEGERS, (), doc="comma-separated allowlists")
    allowed_formats: tuple[str, ...] = setting(TEXTS, (), doc="comma-separated allowlists")
    presets: dict[str, str] = setting(
        TABLE, factory=dict, doc="`thumb:w=200&h=200&fit=cover;hero:w=1280`"
    )
    only_presets: bool = setting(BOOLEAN, False, doc="URLs may only name a preset")

    def __post_init__(self) -> None:
        _absolute(self, "root")
        if not self.root.is_dir():
            raise ConfigError(f"root: {str(self.root)!r} is not a directory")
        for name in ("max_age", "versioned_max_age", "stale_while_revalidate"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be 0 or more seconds")
        if not 0 <= self.avif_upgrade_max_age <= MAX_UPGRADE_MAX_AGE:
            raise ConfigError(
                f"avif_upgrade_max_age: must be from 0 to {MAX_UPGRADE_MAX_AGE} seconds: "
                "the WebP stand-in is replaced by the AVIF moments later"
            )
        for pattern in self.ignored_params:
            hidden = sorted(name for name in RESERVED_PARAMS if fnmatchcase(name, pattern))
            if hidden:
                raise ConfigError(
                    f"ignored_params: {pattern!r} would ignore pixserve's own {', '.join(hidden)}"
                )
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise ConfigError(
                    f"cors_origins: expected * or origins like https://example.com, got {origin!r}"
                )
        for name in ("image_prefix", "info_prefix"):
            prefix = getattr(self, name)
            if not prefix.startswith("/") or prefix.rstrip("/") == "" or "<" in prefix:
                raise ConfigError(f"{name}: must be a path like /image, got {prefix!r}")
        if self.image_prefix.rstrip("/") == self.info_prefix.rstrip("/"):
            raise ConfigError("info_prefix: must differ from image_prefix")
        if any(len(key) < MIN_KEY_LENGTH for key in self.signing_keys):
            raise ConfigError(
                f"signing_keys: each key needs at least {MIN_KEY_LENGTH} characters "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        if self.only_presets and not self.presets:
            raise ConfigError("only_presets: set presets too, or no URL can be served")

    def query_limits(self, max_dimension: int) -> Limits:
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
        plain = Limits(max_dimension=max_dimension)
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
            max_dimension=max_dimension,
            allowed=allowed,
            presets=presets,
            only_presets=self.only_presets,
        )


@dataclass(frozen=True)
class OpsSettings:
    """What operators see: logs, timings, and nginx's part (docs/operations.md)."""

    server_timing: bool = setting(
        BOOLEAN, True, doc="`Server-Timing` on cache misses"
    )  # on misses: decode, resize, encode, cache
    log_format: str = setting(
        TEXT, "json", doc="`json` or `text`"
    )  # or "text"; one line per request either way
    accel_redirect: str = setting(
        TEXT,
        "",
        doc=(
            "nginx's internal location for the cache folder, e.g. `/_pixserve_cache/`: hits are "
            "answered with `X-Accel-Redirect`"
        ),
    )  # nginx's internal location for cache_dir; "": off

    def __post_init__(self) -> None:
        if self.log_format not in LOG_FORMATS:
            raise ConfigError(f"log_format: must be json or text, got {self.log_format!r}")
        if self.accel_redirect and not _ACCEL_PREFIX.fullmatch(self.accel_redirect):
            raise ConfigError(
                "accel_redirect: must be an nginx location like /_pixserve_cache/ (starting "
                f"and ending with /), got {self.accel_redirect!r}"
            )


@dataclass(frozen=True)
class ServingSettings:
    """`pixserve serve` (granian); the extension and `create_app` read only
    `transforms_per_process` (the transforms of one process at once)."""

    host: str = setting(TEXT, "127.0.0.1", doc="address to listen on")
    port: int = setting(INTEGER, 8000, doc="port")
    workers: int = setting(
        INTEGER,
        factory=default_workers,
        doc="worker processes (granian's)",
        computed_default="2 per core",
    )
    threads: int = setting(
        INTEGER,
        DEFAULT_THREADS,
        doc=(
            "threads per process that run the app (granian's blocking threads); those not making "
            "results answer hits and health checks"
        ),
    )
    transforms_per_process: int = setting(
        INTEGER,
        TRANSFORMS_PER_PROCESS,
        doc=(
            "requests of a process that make results at once; its other requests that make results"
            " wait their turn, holding no CPU (up to `queue_timeout`)"
        ),
    )
    graceful_timeout: float = setting(
        DURATION,
        30,
        doc="how long a stopping worker has to finish its requests (more than `time_limit`)",
    )  # a stopping worker finishes within it
    # A client gets this long to send a request's headers (hyper reads them, no thread
    # waits): a slow or stalled one ("slowloris") is dropped, not served for ever.
    header_timeout: float = setting(
        DURATION,
        10,
        doc=(
            "how long a client has to send a request's headers, and how long an idle keep-alive "
            "connection stays open (over nginx's 4 s)"
        ),
    )
    # A worker whose resident memory passes this is replaced gracefully (granian samples
    # it every 30 s; 0: never): what Pillow's allocations fragment over days is bounded
    # without restarting workers that are fine.
    worker_max_rss: int = setting(
        SIZE,
        1 << 30,
        doc=(
            "a worker whose resident memory passes this (sampled every 30 s) is replaced "
            "gracefully; `0`: never"
        ),
    )

    def __post_init__(self) -> None:
        if not 1 <= self.port <= 65535:
            raise ConfigError(f"port: must be from 1 to 65535, got {self.port}")
        for name in ("workers", "threads", "transforms_per_process"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1")
        if not 1 <= self.header_timeout <= 60:
            raise ConfigError("header_timeout: must be from 1 to 60 seconds")
        if self.worker_max_rss and self.worker_max_rss < 64 << 20:
            raise ConfigError("worker_max_rss: must be 0 (never) or at least 64MiB")


@dataclass(frozen=True)
class SourcesSettings:
    """Originals from S3 and HTTP origins, beside the local root (docs/sources.md)."""

    sources: Mounts = setting(
        MOUNTS,
        factory=dict,
        doc="originals from S3 and HTTP origins: see [Sources](sources.md#sources)",
    )  # `[sources.NAME]` tables
    # Seconds a fetched original's identity is trusted before a conditional request
    # revalidates it: how long a replaced original may keep its old results on a node.
    # 60 s, as Next.js' minimumCacheTTL: an edit shows within a minute, for at most one
    # small request per original per node per minute.
    source_ttl: float = setting(
        DURATION, 60.0, doc="originals from S3 and HTTP origins: see [Sources](sources.md#sources)"
    )
    source_cache_max_bytes: int = setting(
        SIZE, 1 << 30, doc="originals from S3 and HTTP origins: see [Sources](sources.md#sources)"
    )  # the kept originals' own bound
    # While an origin fails or times out, what was known of an original is used for up
    # to this long past `source_ttl` (stale-if-error, RFC 5861): a day's outage of an
    # origin does not turn its results already made, or its kept originals, into 502s.
    source_stale_if_error: float = setting(
        DURATION,
        86400.0,
        doc=(
            "while an origin fails or times out, what was known of an original (its results, its "
            "kept bytes) is used for up to this long past `source_ttl`; counted as "
            '`pixserve_source_fetches{outcome="stale"}` and logged once per original; `0`: answer '
            "502/504 at once"
        ),
    )

    def __post_init__(self) -> None:
        if any(isinstance(mount, Mapping) for mount in self.sources.values()):
            object.__setattr__(self, "sources", parse_mounts(self.sources))  # TOML, Python
        if not 0 <= self.source_ttl <= 86400:
            raise ConfigError("source_ttl: must be from 0 to 86400 seconds")
        if not 0 <= self.source_stale_if_error <= 30 * 86400:
            raise ConfigError("source_stale_if_error: must be from 0 to 30 days")
        if self.source_cache_max_bytes < 1 << 20:
            raise ConfigError("source_cache_max_bytes: must be at least 1MiB")


PARTS: dict[str, type[Any]] = {
    "imaging": ImagingSettings,
    "cache": CacheSettings,
    "http": HttpSettings,
    "ops": OpsSettings,
    "serving": ServingSettings,
    "dialects": DialectSettings,  # thumbor and imgproxy URLs (pixserve/dialects)
    "sources": SourcesSettings,
}


@dataclass(frozen=True)
class Setting:
    """One row of the settings table."""

    name: str
    part: str
    kind: Kind
    field: dataclasses.Field[Any]

    @property
    def variable(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def doc(self) -> str:
        """Its line in the settings reference (docs/settings.md)."""
        return str(self.field.metadata["doc"])

    @property
    def computed_default(self) -> str:
        """How a default computed where pixserve runs is found; "" for a fixed one."""
        return str(self.field.metadata.get("computed_default", ""))


SETTINGS: dict[str, Setting] = {
    item.name: Setting(item.name, part, item.metadata["kind"], item)
    for part, cls in PARTS.items()
    for item in dataclasses.fields(cls)
}


class Config:
    """Every setting, by part: `config.imaging.time_limit`, `config.cache.cache_dir`...

    Made from flat setting names (`Config(root=..., time_limit=5)`; text is read as in
    the environment: `time_limit="30s"`), validated part by part, then across parts.
    """

    imaging: ImagingSettings
    cache: CacheSettings
    http: HttpSettings
    ops: OpsSettings
    serving: ServingSettings
    dialects: DialectSettings
    sources: SourcesSettings

    def __init__(self, **values: Any) -> None:
        by_part: dict[str, dict[str, Any]] = {part: {} for part in PARTS}
        for name, value in values.items():
            if name not in SETTINGS:
                raise no_such_setting(name)
            if isinstance(value, str):  # text is read as in the environment
                value = SETTINGS[name].kind.from_text(name, value)
            by_part[SETTINGS[name].part][name] = value
        if "root" not in values:
            raise ConfigError("root: set the folder of source images with --root or PIXSERVE_ROOT")
        for part, cls in PARTS.items():
            try:
                setattr(self, part, cls(**by_part[part]))
            except TypeError as error:
                raise ConfigError(str(error)) from error
        self._validate_across_parts()
        self.query_limits()  # a preset that does not parse stops start-up

    def _validate_across_parts(self) -> None:
        problem = self.dialects.prefix_problem(self.http.image_prefix, self.http.info_prefix)
        if problem is not None:
            raise ConfigError(problem)
        check_mounts(self.http.root, self.sources.sources)
        time_limit = self.imaging.time_limit
        for name, value in (
            ("graceful_timeout", self.serving.graceful_timeout),
            ("flight_timeout", self.cache.flight_timeout),
        ):
            if value <= time_limit:
                raise ConfigError(
                    f"{name}: must be more than time_limit ({time_limit:g} s), or a transform "
                    f"could outlast it (now {value:g} s)"
                )

    def value(self, name: str) -> Any:
        """A setting's value by its name."""
        return getattr(getattr(self, SETTINGS[name].part), name)

    def values(self) -> dict[str, Any]:
        """Every setting by name, in the table's order."""
        return {name: self.value(name) for name in SETTINGS}

    def query_limits(self) -> Limits:
        return self.http.query_limits(self.imaging.max_dimension)

    def __repr__(self) -> str:
        parts = ", ".join(f"{part}={getattr(self, part)!r}" for part in PARTS)
        return f"Config({parts})"

    @classmethod
    def from_flask(
        cls,
        app_config: Mapping[str, Any],
        base: Path | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Config:
        """Build from `PIXSERVE_*` environment variables (`environ`), then a Flask app's
        `PIXSERVE_*` keys over them: text is parsed as in the environment, other values
        (a Path, an int, a tuple...) are taken as they are. A `PIXSERVE_` name that is
        no setting, in either, is an error.

        Relative paths are taken from `base` (the extension passes the app's
        `root_path`, as Flask does for its own folders), not from the working directory.
        """
        check_names(app_config)
        values = environment_values(environ or {})
        values |= environment_values(
            {key: value for key, value in app_config.items() if isinstance(value, str)}
        )
        values.update(
            {
                row.name: app_config[row.variable]
                for row in SETTINGS.values()
                if row.variable in app_config and not isinstance(app_config[row.variable], str)
            }
        )
        if base is not None:
            for name, value in values.items():
                if isinstance(value, Path) and not value.is_absolute():
                    values[name] = base / value
        return cls(**values)

    @classmethod
    def load(cls, environ: Mapping[str, str], **overrides: Any) -> Config:
        """Build from `PIXSERVE_*` variables, then `overrides` (CLI flags) on top."""
        values = environment_values(environ)
        values.update({name: value for name, value in overrides.items() if value is not None})
        return cls(**values)


# `PIXSERVE_` names read that are not settings: the configuration file's.
OTHER_VARIABLES = frozenset({ENV_PREFIX + "CONFIG"})


def no_such_setting(name: str, where: str = "") -> ConfigError:
    """The error for a name that is no setting, naming the closest one: a typo in
    TOML, the environment or a Flask app's config is an error, never ignored."""
    known = [*SETTINGS, *(row.variable for row in SETTINGS.values()), *OTHER_VARIABLES]
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]}?" if close else ""
    return ConfigError(f"{name}: no such setting{where}{hint}")


def check_names(names: Iterable[str]) -> None:
    """Any `PIXSERVE_` name that is no setting is an error (a misspelled setting)."""
    variables = {row.variable for row in SETTINGS.values()} | OTHER_VARIABLES
    for name in names:
        if name.startswith(ENV_PREFIX) and name not in variables:
            raise no_such_setting(name)


def environment_values(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings given as `PIXSERVE_<NAME>` variables, parsed by their kinds
    (`check_names` first)."""
    check_names(environ)
    return {
        row.name: row.kind.from_text(row.name, environ[row.variable])
        for row in SETTINGS.values()
        if row.variable in environ
    }


def parse_setting(name: str, raw: str) -> Any:
    """One setting's text (a flag's, a variable's), parsed by its kind."""
    if name not in SETTINGS:
        raise no_such_setting(name)
    return SETTINGS[name].kind.from_text(name, raw)
