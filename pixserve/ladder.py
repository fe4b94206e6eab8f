"""The widths a responsive image is offered at: one ladder for everything that cuts one.

The template helpers write it into `srcset`s, `pixserve cache warm` makes it ahead of
time, and client hints under signing snap to it, so a hinted URL reaches only the
widths a page's srcset would name. It lives beside `services.py`, apart from both the
web helpers and the HTTP layer, because both depend on it.
"""

from __future__ import annotations

from collections.abc import Iterable

# Learnt from Next.js' deviceSizes (640..3840) with two smaller steps for thumbnails
# and columns: every width a phone, tablet or desktop asks for, 1x to 3x, is within
# about 20% of a candidate, so no device downloads much more than it shows.
DEFAULT_WIDTHS = (320, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)


def ladder_widths(source_width: int, widths: Iterable[int] | None = None) -> list[int]:
    """Candidates up to the source's own width, which is added when the ladder passes it."""
    ladder = sorted(set(widths or DEFAULT_WIDTHS))
    kept = [width for width in ladder if width <= source_width]
    if not kept or (kept[-1] < source_width and ladder[-1] > source_width):
        kept.append(source_width)
    return kept
