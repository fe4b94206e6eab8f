"""How each kind of setting is read, from text (environment, flags, TOML strings) or
from a native TOML value; every error names the setting.

- sizes: `512MiB`, `2GiB`, `100k` (binary units; a bare number is bytes);
- durations: `30`, `30s`, `1m`, `1.5h`, `365d` (seconds);
- integers: digits only, so `PIXSERVE_PORT=8k` is an error, not 8192;
- booleans, numbers, text, paths, comma-separated lists and NAME:QUERY tables.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """A setting has a bad value; the message starts with the setting's name."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}
_SIZE = re.compile(r"\s*([0-9]+)\s*(|b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)\s*", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
_DURATION = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(|s|m|h|d)\s*", re.IGNORECASE)
_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_INTEGER = re.compile(r"\s*-?[0-9]+\s*")
_FILE_MODE = re.compile(r"\s*(?:0o?)?([0-7]{3})\s*")


@dataclass(frozen=True)
class Kind:
    """One kind of setting: what it is called in messages, and how text becomes it.

    `native`: the TOML value types taken as they are (text is always parsed);
    `item`: for lists, the kind of each item.
    """

    described: str
    parse_text: Callable[[str, str], Any]
    native: tuple[type, ...] = ()
    item: Kind | None = None
    text_values: bool = False  # a table whose values are all text (presets)

    def from_text(self, name: str, raw: str) -> Any:
        return self.parse_text(name, raw)

    def from_toml(self, name: str, value: Any, folder: Path) -> Any:
        """A TOML value; relative paths are taken from the file's `folder`."""
        if isinstance(value, str):
            parsed = self.parse_text(name, value)
            return folder / parsed if isinstance(parsed, Path) else parsed
        if self.item is not None and isinstance(value, list):
            return tuple(self.item.from_toml(name, item, folder) for item in value)
        if isinstance(value, dict) and self.text_values:
            return _text_table(name, value)
        if isinstance(value, self.native) and not (
            isinstance(value, bool) and bool not in self.native
        ):
            return dict(value) if isinstance(value, dict) else value
        raise ConfigError(f"{name}: expected {self.described}, got {_toml_type(value)}")


def _text(name: str, raw: str) -> str:
    return raw


def _path(name: str, raw: str) -> Path:
    return Path(raw).expanduser()


def _optional_path(name: str, raw: str) -> Path | None:
    return Path(raw).expanduser() if raw.strip() else None


def _boolean(name: str, raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered in _TRUE | _FALSE:
        return lowered in _TRUE
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _number(name: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None


def _integer(name: str, raw: str) -> int:
    if not _INTEGER.fullmatch(raw):
        raise ConfigError(f"{name}: expected a whole number (no unit), got {raw!r}")
    return int(raw)


def _size(name: str, raw: str) -> int:
    match = _SIZE.fullmatch(raw)
    if match is None:
        raise ConfigError(f"{name}: expected a size like 512MiB, 2GiB or 100k, got {raw!r}")
    return int(match[1]) * _SIZE_UNITS[match[2][:1].lower()]


def _duration(name: str, raw: str) -> float:
    match = _DURATION.fullmatch(raw)
    if match is None:
        raise ConfigError(f"{name}: expected a duration like 30s, 1m or 1.5h, got {raw!r}")
    return float(match[1]) * _DURATION_UNITS[match[2].lower()]


def _file_mode(name: str, raw: str) -> int:
    match = _FILE_MODE.fullmatch(raw)
    if match is None:
        raise ConfigError(f"{name}: expected an octal file mode like 0640, got {raw!r}")
    return int(match[1], 8)


def _list_of(item: Kind) -> Callable[[str, str], tuple[Any, ...]]:
    def parse(name: str, raw: str) -> tuple[Any, ...]:
        return tuple(item.from_text(name, part.strip()) for part in raw.split(",") if part.strip())

    return parse


def _auto_or_integer(name: str, raw: str) -> int | None:
    """`auto` (None: chosen by pixserve) or a whole number."""
    if raw.strip().lower() == "auto":
        return None
    if not _INTEGER.fullmatch(raw):
        raise ConfigError(f"{name}: expected auto or a whole number, got {raw!r}")
    return int(raw)


def _table(name: str, raw: str) -> dict[str, str]:
    entries = [entry.strip() for entry in raw.split(";") if entry.strip()]
    if not all(":" in entry for entry in entries):
        raise ConfigError(f"{name}: expected NAME:QUERY entries separated by ';', got {raw!r}")
    return dict(entry.split(":", 1) for entry in entries)


TEXT = Kind("text", _text)
PATH = Kind("a path", _path)
OPTIONAL_PATH = Kind("a path (empty: none)", _optional_path)
BOOLEAN = Kind("true or false", _boolean, (bool,))
NUMBER = Kind("a number", _number, (int, float))
INTEGER = Kind("a whole number", _integer, (int,))
AUTO_OR_INTEGER = Kind("auto or a whole number", _auto_or_integer, (int,))
SIZE = Kind("a size (a number of bytes, or text like 512MiB)", _size, (int,))
DURATION = Kind("a duration (seconds, or text like 30s, 1m, 1.5h)", _duration, (int, float))
INTEGERS = Kind("a list of whole numbers", _list_of(INTEGER), item=INTEGER)
TEXTS = Kind("a list of text", _list_of(TEXT), item=TEXT)
# TOML's own octal (0o640) is a native integer: 0640 as text, or 0o640 unquoted.
FILE_MODE = Kind("an octal file mode (text like 0640, or 0o640 in TOML)", _file_mode, (int,))
TABLE = Kind("a table of NAME = QUERY text", _table, (dict,), text_values=True)


def _text_table(name: str, table: dict[str, Any]) -> dict[str, str]:
    """A TOML table whose every value is text (a preset's query): a stray
    `max_age = 600` under `[presets]`, or `hero = { w = 1280 }`, is named."""
    for key, value in table.items():
        if not isinstance(value, str):
            raise ConfigError(
                f'{name}: {key}: expected query text like "w=1280&fmt=webp", '
                f"got {_toml_type(value)} (a setting placed after the [{name}] table "
                "belongs above it)"
            )
    return dict(table)


def _toml_type(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (list, "an array"))
    return next((label for kind, label in kinds if isinstance(value, kind)), "a table")
