"""thumbor's and imgproxy's watermarks, thumbor's `frame`, imgproxy's `padding`, in
pixserve's parameters (`wm`, `wm_*`, `ninepatch`, `pad`: docs/url-api.md).

The picture a watermark or frame names is a URL in the dialect; like a source, it must
be under one of the dialect's source prefixes (`thumbor_sources`, `imgproxy_sources`),
or the URL is a 400: a dialect URL never makes pixserve fetch from anywhere else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from .common import PairBuilder, SourceMap, integer, number, refuse, text_number

# thumbor's watermark position: `center`, `repeat`, or pixels / a percentage (`20p`),
# negative counting from the right or the bottom.
_THUMBOR_POSITION = re.compile(r"(-?)(\d{1,6})(p?)")
_THUMBOR_PLACEMENTS = {
    ("start", "start"): "northwest",
    ("center", "start"): "north",
    ("end", "start"): "northeast",
    ("start", "center"): "west",
    ("center", "center"): "center",
    ("end", "center"): "east",
    ("start", "end"): "southwest",
    ("center", "end"): "south",
    ("end", "end"): "southeast",
}
IMGPROXY_POSITIONS = {
    "ce": "center",
    "no": "north",
    "so": "south",
    "ea": "east",
    "we": "west",
    "noea": "northeast",
    "nowe": "northwest",
    "soea": "southeast",
    "sowe": "southwest",
}
IMGPROXY_REPLICATE = "re"


def _thumbor_axis(raw: str, shown: str) -> tuple[str, str | None]:
    """One axis of thumbor's position: (`start`/`center`/`end`/`repeat`, offset)."""
    if raw in ("center", "repeat"):
        return raw, None
    match = _THUMBOR_POSITION.fullmatch(raw)
    if match is None:
        raise refuse(
            shown, f"a position is center, repeat, pixels or a percentage (20p), not {raw!r}"
        )
    side = "end" if match[1] else "start"
    value = int(match[2])
    if match[3]:
        if value > 100:
            raise refuse(shown, f"a percentage position is at most 100p, not {raw!r}")
        return side, f"{value}%"
    return side, str(value)


def _thumbor_ratio(raw: str, shown: str) -> str | None:
    if raw in ("", "none"):
        return None
    return text_number(integer(shown, raw, low=1, high=100))


def thumbor_watermark(args: str, shown: str, sources: SourceMap, out: PairBuilder) -> None:
    """`watermark(url,x,y,alpha[,w_ratio[,h_ratio]])`: alpha is transparency 0-100
    (pixserve's opacity is 1 - alpha/100), the ratios percentages of the result."""
    if "wm" in out.pairs:
        raise refuse(shown, "pixserve draws one watermark per URL")
    parts = [part.strip() for part in args.split(",")]
    if not 4 <= len(parts) <= 6:
        raise refuse(shown, "expected watermark(url,x,y,alpha[,w_ratio[,h_ratio]])")
    name = _resolve(parts[0], sources, shown)
    horizontal, dx = _thumbor_axis(parts[1], shown)
    vertical, dy = _thumbor_axis(parts[2], shown)
    alpha = integer(shown, parts[3], low=0, high=100_000)
    ratios = [_thumbor_ratio(part, shown) for part in parts[4:6]]
    repeat = ("x" if horizontal == "repeat" else "") + ("y" if vertical == "repeat" else "")
    placement = _THUMBOR_PLACEMENTS[
        (
            "center" if horizontal == "repeat" else horizontal,
            "center" if vertical == "repeat" else vertical,
        )
    ]
    out.set("wm", name, shown)
    if placement != "center":
        out.set("wm_gravity", placement, shown)
    for param, value in (("wm_dx", dx), ("wm_dy", dy)):
        if value is not None and value not in ("0", "0%"):
            out.set(param, value, shown)
    if repeat:
        out.set("wm_repeat", repeat, shown)
    opacity = 1 - min(alpha, 100) / 100
    if opacity < 1:
        out.set("wm_opacity", text_number(opacity), shown)
    for param, ratio in zip(("wm_w", "wm_h"), ratios, strict=False):
        if ratio is not None:
            out.set(param, ratio, shown)


def thumbor_frame(args: str, shown: str, sources: SourceMap, out: PairBuilder) -> None:
    """`frame(url)`: thumbor's nine-patch frame drawn around the result."""
    if "ninepatch" in out.pairs:
        raise refuse(shown, "pixserve draws one frame per URL")
    out.set("ninepatch", _resolve(args.strip(), sources, shown), shown)


def _resolve(url: str, sources: SourceMap, shown: str) -> str:
    reference = url
    for scheme in ("http://", "https://"):
        if reference.startswith(scheme):
            reference = reference[len(scheme) :]
    name = sources.resolve(reference)
    if name is None:
        raise refuse(shown, "the image is not under one of this server's source prefixes")
    return name


def imgproxy_watermark(args: Sequence[str], shown: str, image: str, out: PairBuilder) -> None:
    """`watermark:%opacity:%position:%x_offset:%y_offset:%scale`: the server's default
    watermark (`imgproxy_watermark`) unless `watermark_url` names another. Offsets of
    1 or more are pixels (times dpr), below 1 a fraction of the result's side; `re`
    tiles with the offsets as the gaps; scale is a fraction of the result's size."""
    if not args or len(args) > 5:
        raise refuse(shown, f"expected 1 to 5 arguments, got {len(args)}")
    opacity = number(shown, args[0], low=0, high=1)
    if opacity == 0:  # imgproxy draws nothing
        return
    if not image:
        raise refuse(shown, "no watermark image: set imgproxy_watermark or give watermark_url")
    out.set("wm", image, shown)
    if opacity < 1:
        out.set("wm_opacity", text_number(opacity), shown)
    position = args[1] if len(args) > 1 and args[1] else "ce"
    if position == IMGPROXY_REPLICATE:
        out.set("wm_repeat", "grid", shown)
    elif position in IMGPROXY_POSITIONS:
        if position != "ce":
            out.set("wm_gravity", IMGPROXY_POSITIONS[position], shown)
    else:
        known = ", ".join([*IMGPROXY_POSITIONS, IMGPROXY_REPLICATE])
        raise refuse(shown, f"the position is one of {known}, not {position[:20]!r}")
    for param, raw in zip(("wm_dx", "wm_dy"), args[2:4], strict=False):
        if raw:
            offset = _imgproxy_offset(raw, shown)
            if offset != "0":
                out.set(param, offset, shown)
    if len(args) > 4 and args[4]:
        scale = number(shown, args[4], low=0, high=1)
        if scale > 0:
            percent = text_number(scale * 100)
            out.set("wm_w", percent, shown)
            out.set("wm_h", percent, shown)


def _imgproxy_offset(raw: str, shown: str) -> str:
    value = number(shown, raw, low=-100_000, high=100_000)
    if abs(value) >= 1:
        return str(round(value))
    return text_number(value * 100) + "%" if value else "0"


def imgproxy_watermark_url(args: Sequence[str], shown: str, sources: SourceMap) -> str:
    """`watermark_url:%url`: the watermark's URL, URL-safe base64 (imgproxy Pro), as
    the pixserve name `watermark` draws."""
    if len(args) != 1:
        raise refuse(shown, "expected watermark_url:<URL-safe base64 URL>")
    encoded = args[0].rstrip("=")
    try:
        url = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
    except (binascii.Error, ValueError):
        raise refuse(shown, "the URL is not URL-safe base64") from None
    name = sources.resolve(url)
    if name is None:
        raise refuse(shown, "the image is not under one of this server's source prefixes")
    return name


def imgproxy_padding(args: Sequence[str], shown: str, out: PairBuilder) -> None:
    """`padding:%top:%right:%bottom:%left`: missing sides as in CSS (right = top,
    bottom = top, left = right); in CSS pixels (times dpr)."""
    if not args or len(args) > 4:
        raise refuse(shown, f"expected 1 to 4 arguments, got {len(args)}")
    given = [integer(shown, arg, low=0, high=1000) if arg else None for arg in args]
    top = given[0] or 0
    right = given[1] if len(given) > 1 and given[1] is not None else top
    bottom = given[2] if len(given) > 2 and given[2] is not None else top
    left = given[3] if len(given) > 3 and given[3] is not None else right
    if any((top, right, bottom, left)):
        out.set("pad", f"{top},{right},{bottom},{left}", shown)
    else:
        out.drop("pad")
