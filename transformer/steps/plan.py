"""Plan the output again when trimming changed the picture's size."""

from __future__ import annotations

from ..context import Context
from ..geometry import plan


def plan_geometry(ctx: Context) -> None:
    """Without `trim` the plan made from the header is exact (crop and rotation are
    known in advance), so it stands. A trim decodes at full size (no shrink-on-load),
    so the trimmed picture's size is in source pixels and planned from directly.
    Animation frames are never trimmed, so their plan stands too."""
    options = ctx.options
    if options.trim is None or ctx.animation_frame is not None:
        return
    ctx.geometry = plan(ctx.image.size, options.box, options.fit, options.enlarge)
