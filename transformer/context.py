"""The state one transform carries through the pipeline's steps."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from PIL import Image

from .colour import ColourSettings
from .encode import EncoderSettings
from .faces import Face
from .formats import Format
from .geometry import Geometry, Size
from .options import Options


@dataclass
class Context:
    """One transform: the image as it is now, what was asked, and what was planned.

    `output` is None until the `choose_format` step when the format depends on
    whether the decoded picture has transparency (the `fmt=auto` fallback).
    `geometry` starts as an estimate from the header (for shrink-on-load) and is
    planned again from the pixels once cropping and trimming are done. `scale` is the
    decoded size over the stored size (below 1 after shrink-on-load): sizes in the
    options are in source pixels and get multiplied by it.

    `animation_frame` is set when the context carries one frame of an animation
    through `PIPELINE` (see `animation.py`); `image` then starts as the whole
    multi-frame source and the `decode` step takes out that frame. Steps that do not
    apply to frames look at it and return early, so frames and stills share one list.
    """

    image: Image.Image
    options: Options
    output: Format | None
    geometry: Geometry
    orientation: int = 1
    source_size: Size = (0, 0)
    scale: float = 1.0
    # The picture's true size in decoded pixels after a reduced-scale JPEG decode whose
    # scale does not divide the stored size (2725 px at 1/4 is 681.25 px, decoded as
    # 682 with the last column padded); None when the decode is exact. See resize.
    extent: tuple[float, float] | None = None
    # After `crop=` on a reduced-scale decode, whose edges fall between decoded pixels:
    # the cut picture's exact box in `image`'s pixels (left, top, right, bottom), which
    # the resize reads instead of the whole pixels around it. See `steps/crop.py`.
    region: tuple[float, float, float, float] | None = None
    crop_origin: Size = (0, 0)
    # A smart crop's faces (`steps/smartcrop.aim_at_faces`) and the point they give the
    # window, as fractions of the picture; `faces_memo` keeps a source's faces for the
    # next transform that takes its decode from `DecodedSources`.
    faces: tuple[Face, ...] = ()
    focus: tuple[float, float] | None = None
    faces_memo: list[tuple[Face, ...]] = field(default_factory=list)
    # The part of the picture the output shows (left, top, right, bottom fractions),
    # once `cover` has placed its window: what thumbor's `meta/` reports.
    window: tuple[float, float, float, float] | None = None
    colour: ColourSettings = field(default_factory=ColourSettings)
    encoder: EncoderSettings = field(default_factory=EncoderSettings)
    icc_profile: bytes | None = None  # embedded in the output only when profiles are kept
    animation_frame: int | None = None
    # Decoded pictures other options name (`wm`, `ninepatch`), by source name (overlay.py).
    overlays: Mapping[str, Image.Image] = field(default_factory=dict)


Step = Callable[[Context], None]

Check = Callable[[], None]
"""What the caller lets a transform ask between its steps, "may I go on?": it returns,
or raises the caller's own error (the web layer's time limit). The transformer keeps
no clock of its own: between steps is where a pure pipeline can be stopped cleanly."""


def unchecked() -> None:
    """The check of a caller that sets no limit."""
