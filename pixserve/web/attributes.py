"""HTML attributes from a mapping, for the helpers' `attrs=`: names checked, values
escaped, `True` written bare and `None`/`False` left out (as Jinja's `xmlattr`)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from markupsafe import Markup

# What HTML allows in an attribute name, minus what would need quoting.
_NAME = re.compile(r"[A-Za-z_:][-A-Za-z0-9_:.]*\Z")

AttributeValue = str | int | float | bool | None


def html_attributes(values: Mapping[str, AttributeValue]) -> Markup:
    """`' name="value" ...'` (with its leading space), or empty markup."""
    parts = []
    for name, value in values.items():
        if not _NAME.match(name):
            raise ValueError(f"{name!r} is not an HTML attribute name")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(Markup(" {}").format(name))
        else:
            parts.append(Markup(' {}="{}"').format(name, value))
    return Markup("").join(parts)
