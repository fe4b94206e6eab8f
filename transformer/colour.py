"""Colour handling settings, chosen by the server's config."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ColourSettings:
    """A profile for CMYK sources that carry none, and whether to keep sources' profiles."""

    cmyk_profile: bytes | None = None
    keep_profiles: bool = False
