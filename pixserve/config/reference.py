"""The settings reference (docs/settings.md), made from `SETTINGS`: each field's
kind, default and `doc` line (`setting(..., doc=...)`, next to the field).
`python -m pixserve.config.reference > docs/settings.md` writes it, and
`tests/test_docs.py` fails when the page and the code differ."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from pixserve.config.parsers import DURATION, FILE_MODE, SIZE
from pixserve.config.settings import SETTINGS

INTRO = """# Settings reference

Made from the code (`pixserve/config/reference.py`; regenerate with
`python -m pixserve.config.reference > docs/settings.md`). Every setting is read, lowest
first, from its default, the TOML file (its key is the setting's name), the environment
(`PIXSERVE_<NAME>`) and the command line (`--set NAME=VALUE`, or its own flag); how each
kind of value is written is in [Configuration](configuration.md). A `PIXSERVE_` name or a
TOML key that is no setting is an error naming the closest one.
"""


def default_text(name: str) -> str:
    """The default as it is written in TOML, or how it is computed."""
    row = SETTINGS[name]
    if row.computed_default:
        return row.computed_default
    value: Any = row.field.default
    if value is dataclasses.MISSING:
        factory: Any = row.field.default_factory
        value = factory() if factory is not dataclasses.MISSING else None
    if value is None or value in ((), {}, ""):
        return "none" if name != "root" else "(required)"
    if row.kind is FILE_MODE:
        return f"`{value:04o}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    if row.kind is SIZE:
        return f"`{_size(value)}`"
    if row.kind is DURATION:
        return f"`{_duration(value)}`"
    return f"`{value}`"


def _duration(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds // length:g}{unit}"
    return f"{seconds:g}s"


def _size(value: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift}{unit}"
    return str(value)


def render() -> str:
    """docs/settings.md: one table per part, its settings in the code's order."""
    parts: dict[str, list[str]] = {}
    for name, row in SETTINGS.items():
        kind = row.kind.described.replace("|", "\\|")
        doc = row.doc.replace("\n", " ")
        parts.setdefault(row.part, []).append(
            f"| `{name}` | `{row.variable}` | {kind} | {default_text(name)} | {doc} |"
        )
    sections = [INTRO]
    for part, rows in parts.items():
        sections.append(
            f"## {part}\n\n| setting | environment | type | default | meaning |\n"
            "| --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(render())
