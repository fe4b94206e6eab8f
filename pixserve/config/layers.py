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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pixserve.config.settings import (
    ENV_PREFIX,
    SETTINGS,
    Config,
    ConfigError,
    environment_values,
    no_such_setting,
)

CONFIG_FILE_VARIABLE = ENV_PREFIX + "CONFIG"  # in settings.OTHER_VARIABLES
DEFAULT = "default"
COMMAND_LINE = "command line"
UNSET = "unset"


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
    *,
    need_root: bool = True,
) -> Explained:
    """Like `load_config`, recording each setting's origin.

    Without `need_root`, a missing root is recorded as unset (origin `UNSET`) and the
    rest is still validated, so `pixserve config` can show the defaults.
    """
    values: dict[str, Any] = {}
    origins = dict.fromkeys(SETTINGS, DEFAULT)
    file = config_file or _file_from(environ)
    if file is not None:
        for name, value in read_config_file(file).items():
            values[name], origins[name] = value, f"file {file}"
    for name, value in environment_values(environ).items():
        values[name], origins[name] = value, f"env {ENV_PREFIX}{name.upper()}"
    for name, value in (flags or {}).items():
        if value is not None:
            values[name], origins[name] = value, COMMAND_LINE
    if not need_root and values.get("root") is None:
        origins["root"] = UNSET
        values["root"] = Path(".")  # a stand-in, so the other settings are checked
    return Explained(Config(**values), origins)


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
    values: dict[str, Any] = {}
    for name, value in data.items():
        if name not in SETTINGS:
            raise no_such_setting(name, f" (in {path})")
        values[name] = SETTINGS[name].kind.from_toml(name, value, path.parent)
    return values
