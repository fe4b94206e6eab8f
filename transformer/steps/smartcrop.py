"""Choose the window `fit=cover` keeps: by gravity, focal point, or the pixels.

`entropy` keeps the window with the most detail: the Shannon entropy of its grey
histogram, tried at 17 positions along the overflowing axis.

`attention` keeps the most salient window, in the spirit of libvips' `attention`: a
score per pixel from edges (where detail is), saturation (colourful things draw the
eye) and skin tones (people), summed over each candidate window. Both look at a copy at
most 256 px across, so they cost a few milliseconds whatever the size.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image, ImageChops, ImageFilter

from ..context import Context
from ..faces import centre_of, find_faces
from ..geometry import Geometry, Size, crop_origin
from ..options import Gravity
from .load import extent_reaches_resize

_ANALYSIS_SIZE = 256
# The gravities whose window `place_crop` chooses from the resized pixels (the others
# are known from the geometry alone, so `resize` can resize just their window).
PIXEL_GRAVITIES = frozenset({Gravity.ENTROPY, Gravity.ATTENTION})
_POSITIONS = 17


Scorer = Callable[[Image.Image], float]


def place_crop(ctx: Context) -> None:
    """Set `ctx.crop_origin` for a picture that overflows its canvas.

    An animation's window is chosen on its first frame and kept for the others, so a
    smart crop does not jitter from frame to frame.
    """
    if ctx.animation_frame or ctx.window is not None:
        return  # a later frame keeps the first's; the resize cut a known window
    geometry = ctx.geometry
    if geometry.overflow == (0, 0):
        ctx.crop_origin = (0, 0)
        return
    gravity = ctx.options.gravity
    if ctx.focus is not None:  # faces: the window is where they put it
        ctx.crop_origin = crop_origin(geometry, gravity, ctx.focus)
    elif gravity is Gravity.ENTROPY:
        grey = _thumbnail(ctx.image).convert("L")
        ctx.crop_origin = _best_window(grey, geometry, _entropy)
    elif gravity is Gravity.ATTENTION:
        ctx.crop_origin = _best_window(saliency(_thumbnail(ctx.image)), geometry, _total)
    else:
        ctx.crop_origin = crop_origin(geometry, gravity, ctx.options.focus)
    (left, top), (width, height) = ctx.crop_origin, geometry.resize
    canvas_w, canvas_h = geometry.canvas
    ctx.window = (left / width, top / height, (left + canvas_w) / width, (top + canvas_h) / height)


def aim_at_faces(ctx: Context) -> None:
    """`attention` looks for faces first, as thumbor's `smart` does: when it finds
    some, the window is centred on them (`ctx.focus`) and cut like a focal point's.
    A source's faces are found once while its decode is kept (`DecodedSources`)."""
    if (
        ctx.options.gravity is not Gravity.ATTENTION
        or ctx.animation_frame is not None
        or ctx.geometry.overflow == (0, 0)
    ):
        return
    as_decoded = extent_reaches_resize(ctx) and ctx.options.crop is None
    memo = ctx.faces_memo if as_decoded else []
    if not memo:
        memo.append(find_faces(ctx.image))
    ctx.faces = memo[0]
    if ctx.faces:
        ctx.focus = centre_of(ctx.faces)


def _thumbnail(image: Image.Image) -> Image.Image:
    factor = min(1.0, _ANALYSIS_SIZE / max(image.size))
    return image.resize((max(1, round(image.width * factor)), max(1, round(image.height * factor))))


def _entropy(window: Image.Image) -> float:
    return float(window.entropy())


def _total(window: Image.Image) -> float:
    return float(sum(value * count for value, count in enumerate(window.histogram())))


def saliency(image: Image.Image) -> Image.Image:
    """A grey map, brighter where a viewer would look: edges, saturation, skin."""
    rgb = image.convert("RGB")
    edges = rgb.convert("L").filter(ImageFilter.FIND_EDGES)
    saturation = rgb.convert("HSV").getchannel("S")
    _, cb, cr = rgb.convert("YCbCr").split()
    skin = ImageChops.multiply(
        cb.point(lambda v: 255 if 77 <= v <= 127 else 0),
        cr.point(lambda v: 255 if 133 <= v <= 173 else 0),
    )
    score = ImageChops.add(edges, saturation.point(lambda v: v // 2))
    return ImageChops.add(score, skin.point(lambda v: v // 2))


def _best_window(analysis: Image.Image, geometry: Geometry, score: Scorer) -> Size:
    """Slide the canvas-sized window along the overflow; keep the best-scoring spot."""
    over_x, over_y = geometry.overflow
    window_w = max(1, round(geometry.canvas[0] * analysis.width / geometry.resize[0]))
    window_h = max(1, round(geometry.canvas[1] * analysis.height / geometry.resize[1]))
    best: tuple[float, Size] | None = None
    for step in range(_POSITIONS):
        fraction = step / (_POSITIONS - 1)
        left = round((analysis.width - window_w) * fraction) if over_x else 0
        top = round((analysis.height - window_h) * fraction) if over_y else 0
        value = score(analysis.crop((left, top, left + window_w, top + window_h)))
        if best is None or value > best[0]:
            best = (value, (round(over_x * fraction), round(over_y * fraction)))
    assert best is not None
    return best[1]
