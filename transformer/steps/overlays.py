"""Steps on the output-sized picture: padding (`pad`), the backdrop (`backdrop`), the
nine-patch frame (`ninepatch`) and the watermark (`wm`), in that order.

The pictures `ninepatch` and `wm` name are in `ctx.overlays`, decoded by the caller.
"""

from __future__ import annotations

from PIL import Image

from ..context import Context
from ..errors import InvalidOption
from ..overlay import (
    backdrop_for,
    draw_layer,
    fit_watermark,
    grid_layer,
    nine_patch_layer,
    nine_patch_padding,
    watermark_positions,
    with_opacity,
)
from ..overlay_options import MAX_PADDING, Repeat
from .mode import with_alpha


def _overlay(ctx: Context, name: str, param: str) -> Image.Image:
    picture = ctx.overlays.get(name)
    if picture is None:  # the caller's job: a transform asked for one it was not given
        raise InvalidOption(f"{param}={name!r} was not loaded for this transform", param=param)
    return picture


def _picture_box(ctx: Context) -> tuple[int, int, int, int]:
    """Where the resized picture sits on the canvas after `fit_canvas` and `pad_canvas`."""
    geometry = ctx.geometry
    left, top = geometry.padding_offset
    width = min(geometry.resize[0], geometry.canvas[0])
    height = min(geometry.resize[1], geometry.canvas[1])
    pad_top, _, _, pad_left = _scaled_padding(ctx)
    return (left + pad_left, top + pad_top, left + pad_left + width, top + pad_top + height)


def _scaled_padding(ctx: Context) -> tuple[int, int, int, int]:
    padding = ctx.options.padding
    if padding is None:
        return (0, 0, 0, 0)
    dpr = ctx.options.dpr
    top, right, bottom, left = (round(side * dpr) for side in padding)
    return (top, right, bottom, left)


def padded_size(
    size: tuple[int, int], options_padding: tuple[int, int, int, int] | None, dpr: float
) -> tuple[int, int]:
    """The canvas once `pad` (CSS pixels, times `dpr`) is added around it."""
    if options_padding is None:
        return size
    top, right, bottom, left = (round(side * dpr) for side in options_padding)
    return (size[0] + left + right, size[1] + top + bottom)


def pad_canvas(ctx: Context) -> None:
    """Add `pad` around the picture: `bg` when given, else transparent (flattened onto
    white for JPEG), as imgproxy's `padding` does."""
    if ctx.options.padding is None:
        return
    top, right, bottom, left = _scaled_padding(ctx)
    image = ctx.image
    size = (image.width + left + right, image.height + top + bottom)
    background = ctx.options.background
    if background is None:
        padded = Image.new(with_alpha(image.mode), size, 0)
        padded.paste(image, (left, top))
    else:
        mode = "RGBA" if background.alpha < 255 or image.mode in ("LA", "RGBA") else "RGB"
        padded = Image.new(mode, size, background.rgba[: len(mode)])
        padded.paste(image.convert(mode), (left, top))
    ctx.image = padded


def fill_backdrop(ctx: Context) -> None:
    """Fill the room `fit=contain` and `pad` left around the picture with its blurred
    self or its average colour (`backdrop`); transparency in the picture shows it."""
    kind = ctx.options.backdrop
    if kind is None:
        return
    box = _picture_box(ctx)
    image = ctx.image
    if box == (0, 0, *image.size):
        return  # nothing around the picture to fill
    picture = image.crop(box)
    backdrop = backdrop_for(picture, kind, image.size).convert("RGBA")
    composed = Image.alpha_composite(backdrop, image.convert("RGBA"))
    ctx.image = composed.convert("RGB")


def draw_nine_patch(ctx: Context) -> None:
    """thumbor's `frame`: pad the picture (white) by the content padding the
    nine-patch marks, then draw the nine-patch stretched over the whole of it."""
    name = ctx.options.ninepatch
    if name is None:
        return
    patch = _overlay(ctx, name, "ninepatch")
    left, top, right, bottom = nine_patch_padding(patch)
    if max(left, top, right, bottom) > MAX_PADDING:
        raise InvalidOption(
            f"ninepatch={name!r} marks {max(left, top, right, bottom)} pixels of content "
            f"padding; at most {MAX_PADDING} a side, as for pad",
            param="ninepatch",
        )
    image = ctx.image
    if any((left, top, right, bottom)):
        mode = "RGBA" if image.mode in ("RGBA", "LA") else "RGB"
        base = Image.new(mode, (image.width + left + right, image.height + top + bottom), "white")
        base.paste(image.convert(mode), (left, top))
        image = base
    layer = nine_patch_layer(patch, image.size)
    ctx.image = draw_layer(image, layer)


def draw_watermark(ctx: Context) -> None:
    """`wm` at `wm_gravity` and offsets, `wm_opacity`, sized by `wm_w`/`wm_h`
    (percent of the result), tiled by `wm_repeat`."""
    options = ctx.options
    if options.watermark is None:
        return
    image = ctx.image
    mark = _overlay(ctx, options.watermark, "wm")
    size = fit_watermark(image.size, mark.size, options.wm_w, options.wm_h)
    if size != mark.size:
        mark = mark.resize(size, Image.Resampling.LANCZOS)
    mark = with_opacity(mark, options.wm_opacity)
    if options.wm_opacity == 0:
        return
    if options.wm_repeat is Repeat.GRID:
        gap = (
            options.wm_dx.pixels(image.width, options.dpr) if options.wm_dx else 0,
            options.wm_dy.pixels(image.height, options.dpr) if options.wm_dy else 0,
        )
        ctx.image = draw_layer(image, grid_layer(image.size, mark, gap))
        return
    # Each copy is drawn on its own part of the picture: no canvas-sized layer.
    keeps_alpha = image.mode in ("RGBA", "LA")
    drawn = image.convert("RGBA" if keeps_alpha else "RGB")  # a copy: `image` may be shared
    for position in watermark_positions(
        image.size,
        mark.size,
        options.wm_gravity,
        options.wm_dx,
        options.wm_dy,
        options.wm_repeat,
        options.dpr,
    ):
        _draw_copy(drawn, mark, position)
    ctx.image = drawn


def _draw_copy(drawn: Image.Image, mark: Image.Image, position: tuple[int, int]) -> None:
    """`mark` over `drawn` at `position` (which may reach past any edge), in place."""
    x, y = position
    left, top = max(0, x), max(0, y)
    right, bottom = min(drawn.width, x + mark.width), min(drawn.height, y + mark.height)
    if left >= right or top >= bottom:
        return  # wholly outside
    part = drawn.crop((left, top, right, bottom)).convert("RGBA")
    part.alpha_composite(mark, (0, 0), (left - x, top - y, right - x, bottom - y))
    drawn.paste(part if drawn.mode == "RGBA" else part.convert("RGB"), (left, top))
