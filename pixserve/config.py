"""The server's settings: one table of defaults, loaded from the environment, validated.

Every setting reads `PIXSERVE_<NAME>` from the environment; the CLI's flags override
it. `validate()` runs at construction so a bad value stops start-up with a message
naming the setting, instead of failing the first request.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "PIXSERVE_"
_SIZE = re.compile(r"\s*([0-9]+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A setting has a bad value; the message starts with the setting's name."""


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "pixserve"


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

    def __post_init__(self) -> None:
        # Relative paths mean "from where pixserve was started", not from wherever a
        # library (Flask's send_file resolves against the app's package) assumes.
        object.__setattr__(self, "root", Path(self.root).absolute())
        object.__setattr__(self, "cache_dir", Path(self.cache_dir).absolute())
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
        if self.max_source_pixels < 1:
            raise ConfigError("max_source_pixels: must be at least 1")

    @classmethod
    def load(cls, environ: Mapping[str, str], **overrides: Any) -> Config:
        """Build from `PIXSERVE_*` variables, then `overrides` (CLI flags) on top."""
        values: dict[str, Any] = {}
        for setting in dataclasses.fields(cls):
            raw = environ.get(ENV_PREFIX + setting.name.upper())
            if raw is not None:
                values[setting.name] = parse_setting(setting.name, str(setting.type), raw)
        values.update({name: value for name, value in overrides.items() if value is not None})
        if "root" not in values:
            raise ConfigError("root: set the folder of source images with --root or PIXSERVE_ROOT")
        try:
            return cls(**values)
        except TypeError as error:
            raise ConfigError(str(error)) from error


def parse_setting(name: str, kind: str, raw: str) -> Any:
    """Parse one setting's text by its declared type; errors name the setting."""
    if kind == "str":
        return raw
    if kind == "Path":
        return Path(raw).expanduser()
    if kind == "bool":
        lowered = raw.strip().lower()
        if lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise ConfigError(f"{name}: expected true or false, got {raw!r}")
    if kind == "int":
        match = _SIZE.fullmatch(raw)
        if match is None:
            raise ConfigError(
                f"{name}: expected a whole number (sizes may end in k, M, G), got {raw!r}"
            )
        return int(match[1]) * _UNITS[match[2][:1].lower()]
    raise ConfigError(f"{name}: no parser for settings of type {kind}")
