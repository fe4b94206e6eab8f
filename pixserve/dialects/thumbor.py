"""thumbor's URL dialect, parsed and translated into pixserve's query pairs.

    /<signature|unsafe>/[meta/][trim[:top-left][:N]/][AxB:CxD/]
        [fit-in/|adaptive-fit-in/|full-fit-in/|adaptive-full-fit-in/][stretch/ (imagor's)]
        [-]Wx[-]H/[left|center|right/][top|middle|bottom/][smart/]
        [filters:name(args):.../]<image>

`parse()` only reads the URL (like imagor's `imagorpath.Parse`); `translate()` checks
the signature and turns the parsed request into pixserve's pairs, refusing with a 400
anything pixserve cannot do rather than ignoring it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from PIL import ImageColor

from pixserve.transformer import Limits
from pixserve.transformer.filters import TABLE_FILTERS
from pixserve.transformer.geometry import plan
from pixserve.transformer.options import Fit

from .adjustments import THUMBOR_FILTERS
from .common import (
    DENIED,
    PairBuilder,
    SizeOf,
    SourceMap,
    Translated,
    Verdict,
    integer,
    number,
    refuse,
    text_number,
)
from .overlays import thumbor_frame, thumbor_watermark
from .thumbor_geometry import FocalPoint, aligned, auto_crop, centre_of_mass, fit_in_size
from .thumbor_options import (
    OPTION_FILTERS,
    Settled,
    option_filter,
    proportioned,
    with_extracted_focal,
)

UNSAFE = "unsafe"
_SIGNATURE = re.compile(r"[A-Za-z0-9_=-]{26,28}")
_TRIM = re.compile(r"trim(?::(top-left|bottom-right))?(?::(\d{1,4}))?")
_CROP = re.compile(r"(\d{1,6})x(\d{1,6}):(\d{1,6})x(\d{1,6})")
# imagor's additions to thumbor's URL, refused by name rather than read as a file name.
_FRACTION_CROP = re.compile(r"(?=.*\.)[\d.]+x[\d.]+:[\d.]+x[\d.]+")
_PADDING = re.compile(r"\d+x\d+(:\d+x\d+)?")
_FIT_IN = ("fit-in", "adaptive-fit-in", "full-fit-in", "adaptive-full-fit-in")
_SIZE = re.compile(r"(-?)(\d{1,6}|orig)?x(-?)(\d{1,6}|orig)?")
_HALIGN = ("left", "center", "right")
_VALIGN = ("top", "middle", "bottom")
_FILTER = re.compile(r"([a-z_]+)\((.*)\)", re.DOTALL)
_FORMATS = {"jpeg": "jpeg", "jpg": "jpeg", "png": "png", "webp": "webp", "gif": "gif"}
_FORMATS_PIXSERVE_LACKS = ("heic", "heif", "avif")  # see docs/url-api.md: AVIF only with `avif` on
_GRAVITY = {
    ("center", "middle"): "center",
    ("center", "top"): "north",
    ("center", "bottom"): "south",
    ("left", "middle"): "west",
    ("right", "middle"): "east",
    ("left", "top"): "northwest",
    ("right", "top"): "northeast",
    ("left", "bottom"): "southwest",
    ("right", "bottom"): "southeast",
}
_MIRRORED = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
# thumbor's filters pixserve honours, and what each becomes (docs/dialects.md).
MAPPED_FILTERS = {
    "background_color": "bg (transparency is flattened onto it in JPEG; PNG, WebP keep theirs)",
    "blur": "blur (thumbor's sigma, or its radius when no sigma is given)",
    "fill": "bg (blur, auto: backdrop), and with fit-in fit=contain (fill_transparent: 400)",
    "focal": "fx, fy (the weighted centre of the focal boxes)",
    "frame": "ninepatch (the frame's URL under thumbor_sources)",
    "watermark": "wm, wm_gravity, wm_dx, wm_dy, wm_repeat, wm_opacity (1 - alpha/100), wm_w, wm_h",
    "format": "fmt (jpeg, png, webp, gif, avif)",
    "grayscale": "gray=1",
    "no_upscale": "enlarge=0",
    "quality": "q",
    "rotate": "rot (multiples of 90; thumbor turns anticlockwise)",
    "sharpen": "wavelet_sharpen=amount,radius[,1]: thumbor's own wavelet sharpen",
    "stretch": "fit=fill",
    "strip_exif": "nothing: pixserve never writes EXIF",
    "strip_icc": "nothing: pixserve writes sRGB without a profile (refused with keep_icc_profiles)",
    "upscale": "enlarge=1",
    **{name: mapping.becomes for name, mapping in THUMBOR_FILTERS.items()},
    **OPTION_FILTERS,
}
# thumbor's filters pixserve has no counterpart for; each is a 400 naming it.
REFUSED_FILTERS = {
    "redeye": "pixserve has no red-eye removal",
}


FILTERS = tuple(sorted({*MAPPED_FILTERS, *REFUSED_FILTERS}))


@dataclass(frozen=True)
class ThumborSettings:
    """The dialect's configuration: keys (the first signs), unsafe URLs, sources."""

    keys: tuple[str, ...] = ()
    allow_unsafe: bool = False
    sources: SourceMap = field(default_factory=lambda: SourceMap((("", ""),)))
    keeps_icc_profiles: bool = False  # pixserve's keep_icc_profiles: strip_icc() is refused


@dataclass(frozen=True)
class Filter:
    name: str
    args: str = ""


@dataclass(frozen=True)
class Request:
    """A thumbor URL's parts, before any meaning is given to them."""

    image: str
    signature: str | None = None  # None: `unsafe` or nothing
    unsafe: bool = False
    meta: bool = False
    trim: str | None = None  # "top-left" or "bottom-right"
    trim_tolerance: int = 0
    crop: tuple[int, int, int, int] | None = None  # left, top, right, bottom
    fit_in: str | None = None  # one of _FIT_IN
    stretch: bool = False
    width: int | str | None = None  # None: not given; 0: from the other side; "orig"
    height: int | str | None = None
    hflip: bool = False
    vflip: bool = False
    halign: str | None = None
    valign: str | None = None
    smart: bool = False
    filters: tuple[Filter, ...] = ()
    path: str = ""  # what the signature covers: the raw path after it


# thumbor's blur is a Gaussian cut off at `radius` pixels (one sigma, by default): up to
# the widest kernel `convolution` takes, it is drawn as exactly that kernel.
_WIDEST_BLUR = 4


def blur_kernel(radius: float, sigma: float) -> str | None:
    """thumbor's `blur(radius, sigma)` as a `convolution` value: its 1-D Gaussian
    (`filters/blur.py`), across and down at once; None past `_WIDEST_BLUR`. Against
    thumbor 7.8 `blur(2)` scored SSIM 0.942 as a plain Gaussian of the same sigma
    (`python -m benchmarks thumbor_dialect`)."""
    if radius != int(radius) or radius > _WIDEST_BLUR:
        return None
    steps = range(-int(radius), int(radius) + 1)
    line = [math.exp(-(step * step) / (2 * sigma * sigma)) for step in steps]
    weights = [
        1000 * across * down / (line[len(line) // 2] ** 2) for down in line for across in line
    ]
    return f"{len(line)}:" + ",".join(f"{weight:.3f}".rstrip("0").rstrip(".") for weight in weights)


def blur_spread(radius: float, sigma: float) -> float:
    """The standard deviation of thumbor's cut-off Gaussian: the sigma of the plain
    Gaussian `blur` that looks most like it (0.54 sigma when cut at one sigma; `blur(8)`
    scored SSIM 0.946 against thumbor as a Gaussian of sigma 8)."""
    steps = range(-int(radius), int(radius) + 1)
    line = [math.exp(-(step * step) / (2 * sigma * sigma)) for step in steps]
    spread = math.sqrt(sum(w * s * s for w, s in zip(line, steps, strict=True)) / sum(line))
    return min(100.0, max(0.3, spread))


def _padded(head: str) -> str:
    """A signature's one other spelling: its `=` percent-encoded, as URL-building
    libraries write it. Nothing else is decoded, so a signed URL has no third spelling
    (`%63` for `c` would pass thumbor's own unquote: issue 25, strict signatures)."""
    return head.replace("%3D", "=").replace("%3d", "=")


def sign(key: str, path: str) -> str:
    """thumbor's signature: HMAC-SHA1 of the path after the signature, URL-safe base64."""
    digest = hmac.new(key.encode(), path.encode(), hashlib.sha1).digest()
    return base64.urlsafe_b64encode(digest).decode()


def verify(keys: Sequence[str], path: str, given: str) -> bool:
    """True when `given` is the signature, spelled exactly (padding too), as thumbor has it."""
    presented = given.encode()
    matched = False
    for key in keys:  # every key is tried, so timing does not tell which one matched
        matched |= hmac.compare_digest(presented, sign(key, path).encode())
    return matched


def parse(raw_path: str) -> Request:
    """Split a raw (still percent-encoded) thumbor path into its parts."""
    path = raw_path.lstrip("/")
    signature: str | None = None
    unsafe = False
    head, slash, rest = path.partition("/")
    if slash and head == UNSAFE:
        unsafe, path = True, rest
    elif slash and _SIGNATURE.fullmatch(_padded(head)) and not _SIZE.fullmatch(head):
        signature, path = _padded(head), rest
    fields: dict[str, object] = {"signature": signature, "unsafe": unsafe, "path": path}
    rest = path

    def take(pattern: re.Pattern[str] | tuple[str, ...]) -> re.Match[str] | str | None:
        nonlocal rest
        segment, slash, after = rest.partition("/")
        if not slash:
            return None
        if isinstance(pattern, tuple):
            found: re.Match[str] | str | None = segment if segment in pattern else None
        else:
            found = pattern.fullmatch(segment)
        if found is not None:
            rest = after
        return found

    if take(("debug",)) is not None:
        raise refuse("debug", "pixserve has no debug drawing")
    fields["meta"] = take(("meta",)) is not None
    if isinstance(trim := take(_TRIM), re.Match):
        fields["trim"] = trim[1] or "top-left"
        fields["trim_tolerance"] = int(trim[2] or 0)
    if isinstance(crop := take(_CROP), re.Match):
        fields["crop"] = (int(crop[1]), int(crop[2]), int(crop[3]), int(crop[4]))
    if isinstance(fraction := take(_FRACTION_CROP), re.Match):
        raise refuse(fraction[0], "imagor's crop by fractions is not thumbor's; crop in pixels")
    fields["fit_in"] = take(_FIT_IN)
    fields["stretch"] = take(("stretch",)) is not None
    if isinstance(size := take(_SIZE), re.Match):
        fields["hflip"], fields["vflip"] = bool(size[1]), bool(size[3])
        fields["width"] = _dimension(size[2])
        fields["height"] = _dimension(size[4])
    if isinstance(padding := take(_PADDING), re.Match):
        raise refuse(padding[0], "imagor's padding is not thumbor's; pixserve has no padding")
    fields["halign"] = take(_HALIGN)
    fields["valign"] = take(_VALIGN)
    fields["smart"] = take(("smart",)) is not None
    if rest.startswith("filters:"):
        end = _filters_end(rest)
        if end is not None:
            fields["filters"] = tuple(_split_filters(rest[len("filters:") : end]))
            rest = rest[end + 1 :]
    return Request(image=unquote(rest), **fields)  # type: ignore[arg-type]


def _dimension(raw: str | None) -> int | str | None:
    if raw is None:
        return None
    return raw if raw == "orig" else int(raw)


def _filters_end(text: str) -> int | None:
    """Where the filters segment ends: the first `/` outside parentheses."""
    depth = 0
    for index, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == "/" and depth == 0:
            return index
    return None


def _split_filters(text: str) -> list[Filter]:
    """`a(1):b():c(x(y))` -> filters; the colons inside parentheses belong to arguments."""
    filters: list[Filter] = []
    depth, start = 0, 0
    for index, char in enumerate(text + ":"):
        if char == "(":
            depth += 1
        elif char == ")":
            depth = max(0, depth - 1)
        elif char == ":" and depth == 0:
            part = text[start:index]
            start = index + 1
            if not part:
                continue
            match = _FILTER.fullmatch(part)
            if match is None:
                raise refuse(f"filters:{part}", "a filter is written name(arguments)")
            filters.append(Filter(match[1], unquote(match[2])))
    return filters


def translate(
    raw_path: str,
    settings: ThumborSettings,
    size_of: SizeOf,
    limits: Limits | None = None,
) -> Translated:
    """A thumbor URL path (after the mount prefix, percent-encoded) in pixserve's terms."""
    request = with_extracted_focal(parse(raw_path))
    if request.signature is not None:
        verdict = Verdict.VALID if verify(settings.keys, request.path, request.signature) else None
    else:
        verdict = Verdict.UNSIGNED if request.unsafe and settings.allow_unsafe else None
    if verdict is None:
        return DENIED
    if not request.image:
        raise refuse("image", "the URL names no image")
    name = settings.sources.resolve(_without_scheme(request.image))
    if name is None:
        return Translated(verdict)
    builder = PairBuilder.empty()
    translation = _Translation(request, settings, name, size_of, builder)
    format_open = translation.run()
    if format_open is None:
        return Translated(verdict)  # size_of found no such image
    return Translated(
        verdict,
        name=name,
        pairs=builder.checked(limits),
        format_open=format_open,
        meta=request.meta,
        crops=tuple(translation.crops),
        png_to_jpeg=translation.settled.autojpg,
    )


def _without_scheme(reference: str) -> str:
    """thumbor's HTTP loader reads `host/path` and `http://host/path` alike."""
    for scheme in ("http://", "https://"):
        if reference.startswith(scheme):
            return reference[len(scheme) :]
    return reference


class _Translation:
    """One request's translation; `run()` fills the builder, says whether the format
    is left open, or returns None when the source's size was needed and not found."""

    def __init__(
        self,
        request: Request,
        settings: ThumborSettings,
        name: str,
        size_of: SizeOf,
        builder: PairBuilder,
    ) -> None:
        self.request = request
        self.settings = settings
        self.name = name
        self.size_of = size_of
        self.out = builder
        self._size: tuple[int, int] | None = None
        self.missing = False
        # The boxes thumbor cuts, in its order (the manual crop, then its auto crop in
        # the manually cropped picture's pixels): what `meta/` lists.
        self.crops: list[tuple[int, int, int, int]] = []
        self.settled = Settled()

    def source_size(self) -> tuple[int, int]:
        if self._size is None:
            self._size = self.size_of(self.name)
            if self._size is None:
                self.missing = True
                self._size = (1, 1)
        return self._size

    def run(self) -> bool | None:
        request = self.request
        if request.trim is not None:
            if request.trim != "top-left":
                raise refuse(
                    "trim:bottom-right", "pixserve trims by the top-left pixel's colour only"
                )
            # thumbor's tolerance is a distance in RGB space (0-442); pixserve's is per
            # channel (0-255), so larger tolerances are capped.
            self.out.set("trim", str(min(request.trim_tolerance, 255)), "trim")
        crop = self._clamped_crop()
        if crop is not None:
            self.crops.append(crop)
            left, top, right, bottom = crop
            shown = "{}x{}:{}x{}".format(*request.crop or crop)
            self.out.set("crop", f"{left},{top},{right - left},{bottom - top}", shown)
        enlarge = self._size_and_fit()
        flip = ("h" if request.hflip else "") + ("v" if request.vflip else "")
        if flip:
            self.out.set("flip", flip, "-WxH")
        format_open = True
        focal: list[tuple[float, float, float]] = []
        for item in request.filters:
            result = self._filter(item, focal)
            if result == "format":
                format_open = False
            elif result in ("upscale", "no_upscale"):
                enlarge = result == "upscale"
        self._table_order()
        if enlarge:
            self.out.set("enlarge", "1", "upscale()")
        if not self._thumbor_geometry(focal, enlarge):
            self._gravity(focal)
        if self.settled.proportion is not None:
            proportioned(self.out, self.settled.proportion, self.source_size())
        return None if self.missing else format_open

    def _table_order(self) -> None:
        """thumbor applies its filters in the URL's order; pixserve's colour tables in
        the usual one unless `order` names another (`contrast(20):brightness(10)` is not
        `brightness(10):contrast(20)`: SSIM 0.941 between them)."""
        named = [item.name for item in self.request.filters if item.name in TABLE_FILTERS]
        written = [name for name in dict.fromkeys(named) if name in self.out.pairs]
        usual = [name for name in TABLE_FILTERS if name in written]
        if written != usual:
            self.out.set("order", ",".join(written), "filters")

    def _thumbor_geometry(self, focal: list[tuple[float, float, float]], enlarge: bool) -> bool:
        """Ask for thumbor's own window (`crop=`) and size (`fit=fill`), worked out from
        the source's size (`thumbor_geometry`); False where they depend on what only the
        pixels tell (`smart`, `trim`) or a turn changes (`rotate()`), which keep
        pixserve's `cover` and gravity."""
        request, pairs = self.request, self.out.pairs
        if request.trim is not None or "rot" in pairs or "w" not in pairs or "h" not in pairs:
            return False
        fit = pairs.get("fit")
        target = (int(pairs["w"]), int(pairs["h"]))
        picture = self._cropped_size()
        origin = f"{request.width or 0}x{request.height or 0}"
        if fit == "cover":
            if request.smart and not focal:
                return False
            if not enlarge:  # no_upscale(): neither side larger than the source's
                whole = self.source_size()
                target = (min(target[0], whole[0]), min(target[1], whole[1]))
            window = auto_crop(picture, target, self._focus(focal, picture))
            if window is not None:
                self.crops.append(window)
                left, top, right, bottom = window
                offset = self._clamped_crop() or (0, 0, 0, 0)
                cut = f"{offset[0] + left},{offset[1] + top},{right - left},{bottom - top}"
                self.out.set("crop", cut, origin)
        elif fit in ("inside", "outside") and not (fit == "inside" and enlarge):
            size = fit_in_size(picture, target, full=fit == "outside")
            if size is None:
                return True  # fit-in leaves a picture that fits as it is
            if plan(picture, target, Fit(fit), enlarge=fit == "outside").canvas == size:
                return True  # pixserve's own fit gives thumbor's size: one cache entry
            target = size
        else:
            return False
        self.out.set("w", str(target[0]), origin)
        self.out.set("h", str(target[1]), origin)
        self.out.set("fit", "fill", origin)
        self.out.set("enlarge", "1", origin)
        return True

    def _focus(
        self, focal: list[tuple[float, float, float]], picture: tuple[int, int]
    ) -> tuple[float, float]:
        """Where thumbor aims its window: the focal points inside the manual crop (in
        its pixels), or the alignment's point."""
        crop = self._clamped_crop()
        points = []
        for x, y, weight in focal:
            if crop is not None:
                if not (crop[0] <= x <= crop[2] and crop[1] <= y <= crop[3]):
                    continue
                x, y = x - crop[0], y - crop[1]
            points.append(FocalPoint(x, y, weight))
        request = self.request
        halign, valign = request.halign or "center", request.valign or "middle"
        return centre_of_mass(points or [aligned(halign, valign, picture)])

    def _size_and_fit(self) -> bool:
        """Set w, h and fit; returns whether thumbor would enlarge by default."""
        request = self.request
        width, height = request.width, request.height
        if width == "orig" or height == "orig":
            source_w, source_h = self._cropped_size()
            width = source_w if width == "orig" else width
            height = source_h if height == "orig" else height
        assert not isinstance(width, str) and not isinstance(height, str)
        width, height = width or None, height or None
        fit_in = request.fit_in
        if fit_in is not None and "adaptive" in fit_in and width and height:
            source_w, source_h = self._cropped_size()
            if (source_w < source_h) != (width < height) and source_w != source_h:
                width, height = height, width
        origin = f"{request.width or 0}x{request.height or 0}"
        if width is not None:
            self.out.set("w", str(width), origin)
        if height is not None:
            self.out.set("h", str(height), origin)
        if width is None or height is None:
            # One side or none: no box to fit, crop or stretch into. thumbor resizes to
            # the side given, up as well as down, except in fit-in.
            return width != height and (fit_in is None or "full" in fit_in)
        if request.stretch:
            self.out.set("fit", "fill", "stretch")
            return True
        if fit_in is None:
            self.out.set("fit", "cover", origin)
            return True  # thumbor resizes to the exact size, up as well as down
        if "full" in fit_in:
            self.out.set("fit", "outside", fit_in)
            return True  # full-fit-in always scales so the box is covered
        self.out.set("fit", "inside", fit_in)
        return False

    def _clamped_crop(self) -> tuple[int, int, int, int] | None:
        """The manual crop limited to the picture, as thumbor does; None when empty."""
        if self.request.crop is None:
            return None
        width, height = self.source_size()
        left, top, right, bottom = self.request.crop
        left, right = min(left, width), min(right, width)
        top, bottom = min(top, height), min(bottom, height)
        if left >= right or top >= bottom:
            return None  # thumbor skips an empty crop
        return (left, top, right, bottom)

    def _cropped_size(self) -> tuple[int, int]:
        """The source's size after the manual crop: what `orig` and adaptive refer to."""
        crop = self._clamped_crop()
        if crop is not None:
            return (crop[2] - crop[0], crop[3] - crop[1])
        return self.source_size()

    def _filter(self, item: Filter, focal: list[tuple[float, float, float]]) -> str:
        """Apply one filter; returns what kind of thing it set."""
        name, args = item.name, item.args
        shown = f"{name}({args})"
        if name in REFUSED_FILTERS:
            raise refuse(shown, REFUSED_FILTERS[name])
        if name in THUMBOR_FILTERS:
            for param, value in THUMBOR_FILTERS[name].translate(args, shown):
                self.out.set(param, value, shown) if value else self.out.drop(param)
            return name
        if name == "format":
            value = args.strip().lower()
            if value in _FORMATS_PIXSERVE_LACKS:
                fmt = "avif" if value == "avif" else ""
                if not fmt:
                    raise refuse(shown, "pixserve writes jpeg, png, webp, gif and avif")
            else:
                fmt = _FORMATS.get(value, "")
            if not fmt:
                raise refuse(shown, "expected one of jpeg, png, webp, gif, avif")
            self.out.set("fmt", fmt, shown)
            return "format"
        if name == "quality":
            quality = integer(shown, args.strip(), low=1, high=100)
            self.out.set("q", str(quality), shown)
        elif name == "grayscale":
            self.out.set("gray", "1", shown)
        elif name in ("fill", "background_color"):
            self._fill(name, args, shown)
        elif name == "blur":
            self._blur(args, shown)
        elif name == "sharpen":
            parts = [part.strip() for part in args.split(",")]
            if len(parts) not in (2, 3):
                raise refuse(shown, "expected sharpen(amount,radius[,luminance_only])")
            amount = number(shown, parts[0], low=0, high=100)
            radius = number(shown, parts[1], low=0, high=10)
            luminance_only = len(parts) == 3 and parts[2].lower() in ("true", "1", "t", "yes")
            if amount:  # thumbor's own wavelet sharpen (transformer/steps/wavelet.py)
                value = f"{text_number(amount)},{text_number(radius)}"
                self.out.set("wavelet_sharpen", value + (",1" if luminance_only else ""), shown)
        elif name == "rotate":
            angle = integer(shown, args.strip(), low=-100_000, high=100_000)
            if angle % 90:
                raise refuse(shown, "pixserve turns by multiples of 90 degrees only")
            turn = (-angle) % 360  # thumbor turns counter-clockwise, pixserve clockwise
            if turn:
                self.out.set("rot", str(turn), shown)
        elif name == "focal":
            focal.append(self._focal_box(args, shown))
        elif name == "watermark":
            thumbor_watermark(args, shown, self.settings.sources, self.out)
        elif name == "frame":
            thumbor_frame(args, shown, self.settings.sources, self.out)
        elif name in ("upscale", "no_upscale"):
            return name
        elif name in OPTION_FILTERS:
            option_filter(name, args, shown, self.out, self.settled)
        elif name == "stretch":
            self.out.set("fit", "fill", shown)
        elif name == "strip_exif":
            pass  # pixserve never writes EXIF (or XMP) into its results
        elif name == "strip_icc":
            if self.settings.keeps_icc_profiles:
                raise refuse(shown, "this server keeps ICC profiles (keep_icc_profiles)")
            # pixserve converts to sRGB and embeds no profile: already stripped
        else:
            raise refuse(shown, "pixserve has no such filter")
        return name

    def _fill(self, name: str, args: str, shown: str) -> None:
        colour, _, fill_transparent = (part.strip().lower() for part in args.partition(","))
        if fill_transparent in ("true", "1"):
            raise refuse(
                shown, "pixserve fills the padding; it flattens transparency for JPEG only"
            )
        if name == "fill" and colour in ("auto", "blur"):
            self.out.set("backdrop", colour, shown)  # the average colour, or blurred self
        elif colour == "transparent":
            self.out.set("bg", "00000000", shown)
        else:
            try:
                rgb = ImageColor.getrgb(colour if not _is_hex(colour) else f"#{colour}")
            except ValueError:
                raise refuse(shown, "expected a colour name, RGB or RRGGBB hex") from None
            self.out.set("bg", "".join(f"{channel:02x}" for channel in rgb), shown)
        if name == "fill" and self.out.pairs.get("fit") == "inside":
            self.out.set("fit", "contain", shown)  # fit-in + fill: pad to the box

    def _blur(self, args: str, shown: str) -> None:
        parts = [part.strip() for part in args.split(",")]
        if len(parts) > 2:
            raise refuse(shown, "expected blur(radius[,sigma])")
        radius = number(shown, parts[0], low=0, high=150)
        sigma = number(shown, parts[1], low=0, high=150) if len(parts) == 2 else radius
        if not (radius and sigma):
            return  # blur(0) does nothing in thumbor either
        kernel = blur_kernel(radius, sigma)
        if kernel is not None and "convolution" not in self.out.pairs:
            self.out.set("convolution", kernel, shown)
        else:
            self.out.set("blur", text_number(round(blur_spread(radius, sigma), 2)), shown)

    def _focal_box(self, args: str, shown: str) -> tuple[float, float, float]:
        """A focal rectangle `AxB:CxD` as its centre (source pixels) and weight (area)."""
        match = _CROP.fullmatch(args.strip())
        if match is None:
            raise refuse(shown, "expected focal(LEFTxTOP:RIGHTxBOTTOM) in source pixels")
        left, top, right, bottom = (int(match[i]) for i in range(1, 5))
        width, height = max(1, right - left), max(1, bottom - top)
        # thumbor's FocalPoint.from_square: the centre in whole pixels, weighed by area
        return (left + width // 2, top + height // 2, float(width * height))

    def _gravity(self, focal: list[tuple[float, float, float]]) -> None:
        """Focal points, then smart, then alignment; mirrored for a flipped request
        (thumbor picks the window first and flips after, pixserve flips first)."""
        request = self.request
        if focal:
            total = sum(weight for _, _, weight in focal)
            centre_x = sum(x * weight for x, _, weight in focal) / total
            centre_y = sum(y * weight for _, y, weight in focal) / total
            crop = self._clamped_crop()
            if crop is not None:
                centre_x, centre_y = centre_x - crop[0], centre_y - crop[1]
            width, height = self._cropped_size()
            fx = min(max(centre_x / width, 0.0), 1.0)
            fy = min(max(centre_y / height, 0.0), 1.0)
            fx = 1 - fx if request.hflip else fx
            fy = 1 - fy if request.vflip else fy
            self.out.set("fx", text_number(fx), "focal()")
            self.out.set("fy", text_number(fy), "focal()")
            return
        if request.smart:
            self.out.set("gravity", "attention", "smart")
            return
        halign = request.halign or "center"
        valign = request.valign or "middle"
        halign = _MIRRORED.get(halign, halign) if request.hflip else halign
        valign = _MIRRORED.get(valign, valign) if request.vflip else valign
        gravity = _GRAVITY[(halign, valign)]
        if gravity != "center":
            self.out.set("gravity", gravity, f"{request.halign or ''}/{request.valign or ''}")


def _is_hex(text: str) -> bool:
    return len(text) in (3, 6, 8) and all(char in "0123456789abcdef" for char in text)
