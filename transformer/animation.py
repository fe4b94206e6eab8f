"""Animated GIF and WebP stay animated when the output format can animate.

Pillow hands out each frame fully composited (earlier frames and disposal applied),
so every output frame is a whole picture: the same per-frame steps run on each with
one geometry, one crop window (chosen on the first frame, so a smart crop does not
jitter) and the frame's own duration; the loop count is kept. Because output frames
are whole, the source's disposal methods are already applied to them and the output
needs none ("restore to background" for GIF, so transparency stays right).
Colour management and `trim` apply to still pictures only.

Both encoders (libwebp's animation encoder and Pillow's GIF writer) merge a frame
identical to the one before into it, adding the durations: the animation looks and
times the same, with fewer frames when the source repeats itself (the corpus'
`big-height.webp` is 97 copies of one picture, 200 ms each: one 19.4 s frame out).
"""

from __future__ import annotations

from PIL import Image

from .context import Context, Step
from .errors import UndecodableImage
from .formats import GIF, WEBP, Format
from .steps.canvas import fit_canvas
from .steps.crop import crop_source
from .steps.effects import blur, gray, sharpen
from .steps.load import DECODE_ERRORS
from .steps.resize import resize
from .steps.rotate import flip, rotate
from .steps.smartcrop import place_crop

ANIMATED_FORMATS = (GIF, WEBP)
DEFAULT_FRAME_MS = 100

FRAME_STEPS: tuple[Step, ...] = (
    crop_source,
    rotate,
    flip,
    resize,
    place_crop,
    fit_canvas,
    blur,
    sharpen,
    gray,
)


def animates(image: Image.Image, output: Format | None, frame: int | None) -> bool:
    """True when the source moves, the output can move, and no still frame was asked for."""
    return output in ANIMATED_FORMATS and frame is None and getattr(image, "is_animated", False)


def transform_frames(ctx: Context) -> tuple[list[Image.Image], list[int]]:
    """Every frame through `FRAME_STEPS`, with its duration in milliseconds."""
    source = ctx.image
    frames: list[Image.Image] = []
    durations: list[int] = []
    try:
        for index in range(getattr(source, "n_frames", 1)):
            source.seek(index)
            frame = Context(
                image=source.convert("RGBA"),
                options=ctx.options,
                output=ctx.output,
                geometry=ctx.geometry,
                source_size=source.size,
                crop_origin=ctx.crop_origin,
            )
            for step in FRAME_STEPS:
                if step is not place_crop or index == 0:  # one window for every frame
                    step(frame)
            ctx.crop_origin = frame.crop_origin
            frames.append(frame.image)
            durations.append(int(source.info.get("duration") or DEFAULT_FRAME_MS))
    except DECODE_ERRORS as error:
        raise UndecodableImage(f"frame {len(frames)} cannot be decoded: {error}") from error
    return frames, durations
