"""The configuration's layers and where each value came from.

Lowest first: the defaults, a TOML file (`--config FILE` or `PIXSERVE_CONFIG`), the
environment (`PIXSERVE_<NAME>`), the command line. Every layer is parsed by the
setting's declared type, and the result is one validated `Config`; `pixserve config`
prints it with each value's origin.

The file's keys are the settings' names. Text is read as in the environment
(`cache_max_bytes = "10GiB"`, `allowed_widths = "320,640"`), native TOML values too
(`allowed_widths = [320, 640]`, `[presets]` as a table), and relative paths are taken
from the file's folder, so a file means the same whatever folder pixserve starts in.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from pixserve.config.settings import (
    ENV_PREFIX,
    Config,
    ConfigError,
    environment_values,
    parse_setting,
    setting_kinds,
)
from pixserve.sources.config import SourceConfigError, parse_mounts

CONFIG_FILE_VARIABLE = ENV_PREFIX + "CONFIG"
DEFAULT = "default"
COMMAND_LINE = "command line"


@dataclass(frozen=True)
class Explained:
    """A validated config and, for each setting, where its value came from."""

    config: Config
    origins: dict[str, str]


def load_config(
    environ: Mapping[str, str],
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Config:
    """The config from every layer (flags given as None are not set)."""
    return explain_config(environ, config_file, flags).config


def explain_config(
    environ: Mapping[str, str],
    config_file: Path | None = None,
    flags: Mapping[str, Any] | None = None,
) -> Explained:
    """Like `load_config`, recording each setting's origin."""
    values: dict[str, Any] = {}
    origins = {setting.name: DEFAULT for setting in fields(Config)}
    file = config_file or _file_from(environ)
    if file is not None:
        for name, value in read_config_file(file).items():
            values[name], origins[name] = value, f"file {file}"
    for name, value in environment_values(environ).items():
        values[name], origins[name] = value, f"env {ENV_PREFIX}{name.upper()}"
    for name, value in (flags or {}).items():
        if value is not None:
            values[name], origins[name] = value, COMMAND_LINE
    return Explained(Config.build(values), origins)


def _file_from(environ: Mapping[str, str]) -> Path | None:
    named = environ.get(CONFIG_FILE_VARIABLE, "").strip()
    return Path(named).expanduser() if named else None


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a TOML file, typed; errors name the setting (or the file)."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"config: cannot read {path}: {error.strerror or error}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"config: {path} is not valid TOML: {error}") from None
    kinds = setting_kinds()
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in kinds:
            raise ConfigError(f"{name}: no such setting (in {path})")
        values[name] = _typed(name, kinds[name], value, path.parent)
    return values


def _typed(name: str, kind: str, value: Any, folder: Path) -> Any:
    """A TOML value as the setting's type: text is parsed as in the environment."""
    if kind == "Mounts":
        try:
            return parse_mounts(value)
        except SourceConfigError as error:
            raise ConfigError(str(error)) from None
    if isinstance(value, str):
        parsed = parse_setting(name, kind, value)
        return folder / parsed if isinstance(parsed, Path) else parsed
    if isinstance(value, bool):
        if kind == "bool":
            return value
    elif isinstance(value, int):
        if kind in ("int", "float"):
            return value
    elif isinstance(value, float):
        if kind == "float":
            return value
    elif isinstance(value, list):
        if kind.startswith("tuple["):
            item_kind = kind[len("tuple[") :].split(",")[0]
            return tuple(_typed(name, item_kind, item, folder) for item in value)
    elif isinstance(value, dict) and kind == "dict[str, str]":
        if all(isinstance(item, str) for item in value.values()):
            return dict(value)
    raise ConfigError(f"{name}: expected {_described(kind)}, got {_toml_type(value)}")


def _described(kind: str) -> str:
    return {
        "bool": "true or false",
        "int": "a whole number (or text like 512MiB)",
        "float": "a number",
        "dict[str, str]": "a table of NAME = QUERY text",
    }.get(kind, "a list" if kind.startswith("tuple[") else "text")


def _toml_type(value: Any) -> str:
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (list, "an array"))
    return next((label for kind, label in kinds if isinstance(value, kind)), "a table")
