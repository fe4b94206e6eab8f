"""Animated GIF and WebP stay animated when the output format can animate.

Every frame runs the one `PIPELINE`, in a context of its own marked with
`animation_frame`: the `decode` step takes that frame out of the source, fully
composited (Pillow applies earlier frames and disposal), so every output frame is a
whole picture. All frames share one geometry, one crop window (chosen on the first
frame, so a smart crop does not jitter) and keep their own duration; the loop count
is kept. Because output frames are whole, the source's disposal methods are already
applied to them and the output needs none ("restore to background" for GIF, so
transparency stays right). Colour management and `trim` apply to still pictures only:
those steps return early for frames.

Both encoders (libwebp's animation encoder and Pillow's GIF writer) merge a frame
identical to the one before into it, adding the durations: the animation looks and
times the same, with fewer frames when the source repeats itself (the corpus'
`big-height.webp` is 97 copies of one picture, 200 ms each: one 19.4 s frame out).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from PIL import Image

from .context import Context
from .formats import GIF, WEBP, Format

ANIMATED_FORMATS = (GIF, WEBP)
DEFAULT_FRAME_MS = 100


def animates(image: Image.Image, output: Format | None, frame: int | None) -> bool:
    """True when the source moves, the output can move, and no still frame was asked for."""
    return output in ANIMATED_FORMATS and frame is None and getattr(image, "is_animated", False)


def transform_frames(
    ctx: Context, run_pipeline: Callable[[Context], None]
) -> tuple[list[Image.Image], list[int]]:
    """Every frame through `run_pipeline` (the transform's own, which checks whether to
    go on before each step, so between frames too), with its duration in ms."""
    source = ctx.image
    frames: list[Image.Image] = []
    durations: list[int] = []
    for index in range(getattr(source, "n_frames", 1)):
        frame = dataclasses.replace(ctx, image=source, animation_frame=index)
        run_pipeline(frame)
        ctx.crop_origin = frame.crop_origin  # the first frame's window, for all the rest
        frames.append(frame.image)
        durations.append(int(source.info.get("duration") or DEFAULT_FRAME_MS))
    return frames, durations
