"""`pixserve config`: the effective configuration, each value with where it came from.

The output is TOML (a copy is a working config file) with each origin as a comment.
Secrets are never printed: the signing keys (and thumbor's and imgproxy's keys and salts)
show only how many there are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pixserve.config.layers import UNSET, Explained
from pixserve.config.settings import ENV_PREFIX
from pixserve.sources.config import HttpMount, S3Mount, describe_mount

SECRET_SETTINGS = frozenset({"signing_keys", "thumbor_keys", "imgproxy_keys", "imgproxy_salts"})
_COLUMN = 44


def render(explained: Explained) -> str:
    """The configuration as TOML lines, `name = value  # origin`."""
    config, origins = explained.config, explained.origins
    lines = ["# pixserve's effective configuration (TOML); after each value, its origin."]
    for name, origin in origins.items():
        value = config.value(name)
        if origin == UNSET:
            lines.append(f"# {name}: not set (required by serve: --root or {ENV_PREFIX}ROOT)")
        elif name in SECRET_SETTINGS:
            count = len(value)
            hidden = f"{count} key{'s' if count != 1 else ''}, not shown"
            lines.append(f"# {name}: {hidden}  ({origin})")
        elif value is None:
            lines.append(f"# {name}: not set  ({origin})")
        else:
            assignment = f"{name} = {toml_value(value)}"
            lines.append(f"{assignment:<{_COLUMN}}  # {origin}")
    return "\n".join(lines) + "\n"


def toml_value(value: Any) -> str:
    """A setting's value as a TOML literal (strings JSON-quoted: TOML reads those escapes)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, HttpMount | S3Mount):
        return toml_value(describe_mount(value))
    if isinstance(value, dict):
        pairs = (f"{json.dumps(key)} = {toml_value(item)}" for key, item in value.items())
        return "{ " + ", ".join(pairs) + " }" if value else "{}"
    raise TypeError(f"no TOML form for {type(value).__name__}")
