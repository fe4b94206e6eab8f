"""imgproxy's URL dialect, parsed and translated into pixserve's query pairs.

    /<signature>/<option>:<arg>:.../plain/<percent-encoded source>[@ext]
    /<signature>/<option>:<arg>:.../<URL-safe base64 source, may be split by />[.ext]

`parse()` only reads the URL (options in order, the source, the extension);
`translate()` checks the signature and gives the options pixserve's meaning, refusing
with a 400 every option (or argument) pixserve cannot honour.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote

from pixserve.transformer import Limits
from pixserve.transformer.overlay_options import parse_padding

from .adjustments import IMGPROXY_ALIASES, IMGPROXY_OPTIONS
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
from .imgproxy_geometry import sizes
from .imgproxy_options import OPTION_MAPPING, Sizing, emit_sizing
from .imgproxy_options import extend_aspect_ratio as _extend_aspect_ratio
from .imgproxy_options import format_quality as _format_quality
from .imgproxy_options import max_bytes as _max_bytes
from .imgproxy_options import minimum as _minimum
from .imgproxy_options import zoom as _zoom
from .overlays import (
    IMGPROXY_POSITIONS,
    imgproxy_padding,
    imgproxy_watermark,
    imgproxy_watermark_url,
)

INSECURE = "insecure"
PLAIN = "plain"

# Every long name and alias imgproxy's parser knows, to its long name.
ALIASES = {
    "rs": "resize",
    "s": "size",
    "rt": "resizing_type",
    "w": "width",
    "h": "height",
    "mw": "min-width",
    "mh": "min-height",
    "z": "zoom",
    "el": "enlarge",
    "ex": "extend",
    "extend_ar": "extend_aspect_ratio",
    "exar": "extend_aspect_ratio",
    "g": "gravity",
    "c": "crop",
    "t": "trim",
    "pd": "padding",
    "ar": "auto_rotate",
    "rot": "rotate",
    "fl": "flip",
    "bg": "background",
    "bl": "blur",
    "sh": "sharpen",
    "pix": "pixelate",
    "wm": "watermark",
    "wmu": "watermark_url",
    "sm": "strip_metadata",
    "kcr": "keep_copyright",
    "scp": "strip_color_profile",
    "ph": "preserve_hdr",
    "eth": "enforce_thumbnail",
    "q": "quality",
    "fq": "format_quality",
    "mb": "max_bytes",
    "f": "format",
    "ext": "format",
    "skp": "skip_processing",
    "cb": "cachebuster",
    "exp": "expires",
    "fn": "filename",
    "att": "return_attachment",
    "pr": "preset",
    "msr": "max_src_resolution",
    "msfs": "max_src_file_size",
    "maf": "max_animation_frames",
    "mafr": "max_animation_frame_resolution",
    "mrd": "max_result_dimension",
    **IMGPROXY_ALIASES,
}
REFUSED_OPTIONS = {
    "preserve_hdr": "pixserve writes SDR results",
    "enforce_thumbnail": "pixserve decodes the main image, never an embedded thumbnail",
    "skip_processing": "pixserve has no pass-through by format",
    "raw": "pixserve has no raw streaming",
    "filename": "pixserve names results after their source",
    "return_attachment": "pixserve answers inline",
    "max_src_resolution": "pixserve's max_source_pixels setting bounds this",
    "max_src_file_size": "pixserve's max_source_bytes setting bounds this",
    "max_animation_frames": "pixserve's max_frames setting bounds this",
    "max_animation_frame_resolution": "pixserve's max_animation_pixels setting bounds this",
    "max_result_dimension": "pixserve's max_dimension setting bounds this",
}
# imgproxy's options pixserve honours, and what each becomes (docs/dialects.md).
MAPPED_OPTIONS = {
    "resize": "resizing type, w, h, enlarge, extend (below)",
    "size": "w, h, enlarge, extend",
    "resizing_type": "fit: fit=inside; fill, fill-down: cover; force: fill; auto: by orientation",
    "width": "w (0: from the height)",
    "height": "h (0: from the width)",
    "dpr": "dpr (1 to 4)",
    "enlarge": "enlarge",
    "extend": "fit=contain, centred (other gravities and offsets: 400)",
    "gravity": "gravity (no, so, ea, we, noea, nowe, soea, sowe, ce; sm: attention); fp: fx, fy",
    "crop": "crop=x,y,w,h from the size and gravity (compass or fp; no offsets)",
    "trim": "trim=threshold (capped at 255; a colour or equal_*: 400)",
    "auto_rotate": "true: nothing (pixserve always rotates); false: 400",
    "rotate": "rot (multiples of 90, clockwise)",
    "flip": "flip=h, v or hv",
    "background": "bg (R:G:B or hex)",
    "blur": "blur (sigma 0.3 to 100; 0: none)",
    "sharpen": "sharpen (sigma 0.3 to 10; 0: none)",
    "strip_metadata": "true: nothing (pixserve always strips); false: 400",
    "keep_copyright": "false: nothing; true: 400",
    "strip_color_profile": "true: nothing (sRGB, no profile); false: 400 (or the other way)",
    "quality": "q (0: the default)",
    "format": "fmt (jpg, png, webp, avif, gif); also the URL's extension",
    "cachebuster": "v",
    "expires": "404 once past, as imgproxy",
    "preset": "the imgproxy_presets setting (and its default preset)",
    **{name: option.becomes for name, option in IMGPROXY_OPTIONS.items()},
    **OPTION_MAPPING,
    "padding": "pad=top,right,bottom,left (missing sides as imgproxy: CSS order)",
    "watermark": "wm (imgproxy_watermark, or watermark_url), wm_opacity, wm_gravity (re: "
    "wm_repeat=grid), wm_dx, wm_dy (pixels, or below 1 a fraction: %), wm_w, wm_h (scale)",
    "watermark_url": "wm: the URL (base64) under imgproxy_sources",
}
_RESIZING_TYPES = ("fit", "fill", "fill-down", "force", "auto")
_GRAVITIES = {**IMGPROXY_POSITIONS, "sm": "attention"}
# Where a crop window of a named gravity sits, as a fraction of the room left.
_ANCHORS = {
    "ce": (0.5, 0.5),
    "no": (0.5, 0.0),
    "so": (0.5, 1.0),
    "ea": (1.0, 0.5),
    "we": (0.0, 0.5),
    "noea": (1.0, 0.0),
    "nowe": (0.0, 0.0),
    "soea": (1.0, 1.0),
    "sowe": (0.0, 1.0),
}
OPTIONS = tuple(sorted({*MAPPED_OPTIONS, *REFUSED_OPTIONS}))
_FORMATS = {
    "jpg": "jpeg",
    "jpeg": "jpeg",
    "png": "png",
    "webp": "webp",
    "avif": "avif",
    "gif": "gif",
}
_TRUE = ("1", "t", "T", "true", "TRUE", "True")
_FALSE = ("0", "f", "F", "false", "FALSE", "False")
DEFAULT_PRESET = "default"


@dataclass(frozen=True)
class ImgproxySettings:
    """The dialect's configuration: key/salt pairs (bytes, from hex), signature size,
    insecure URLs, sources and presets (imgproxy option text by name)."""

    keys: tuple[bytes, ...] = ()
    salts: tuple[bytes, ...] = ()
    signature_size: int = 32
    allow_insecure: bool = False
    sources: SourceMap = field(default_factory=lambda: SourceMap((("local:///", ""),)))
    presets: Mapping[str, str] = field(default_factory=dict)
    keeps_icc_profiles: bool = False
    clock: Callable[[], float] = time.time  # for `expires`
    watermark: str = ""  # the source name `watermark` draws unless `watermark_url` names one


@dataclass(frozen=True)
class Option:
    name: str  # the long name
    args: tuple[str, ...]
    written: str  # as the URL spelled it, for messages


@dataclass(frozen=True)
class Request:
    """An imgproxy URL's parts, before any meaning is given to them."""

    signature: str
    options: tuple[Option, ...]
    source: str
    extension: str | None
    path: str  # what the signature covers: "/" and everything after the signature


def sign(key: bytes, salt: bytes, path: str, size: int = 32) -> str:
    """imgproxy's signature: HMAC-SHA256(key, salt + path), cut to `size` bytes,
    URL-safe base64 without padding."""
    digest = hmac.new(key, salt + path.encode(), hashlib.sha256).digest()[:size]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(settings: ImgproxySettings, path: str, given: str) -> bool:
    """Whether `given` is the signature of `path` under one of the key/salt pairs, in
    its one canonical spelling: URL-safe base64 without padding, as imgproxy's
    `security/signature.go` accepts (a decoder would also take `=` padding, `+` for
    `-` and characters it skips, so a signed URL could be spelled many ways)."""
    matched = False
    for key, salt in zip(settings.keys, settings.salts, strict=True):
        expected = sign(key, salt, path, settings.signature_size)
        matched |= hmac.compare_digest(given.encode(), expected.encode())
    return matched


def parse(raw_path: str) -> Request:
    """Split a raw imgproxy path into signature, options, source and extension."""
    signature, _, rest = raw_path.lstrip("/").partition("/")
    parts = rest.split("/")
    options: list[Option] = []
    index = 0
    while index < len(parts) and ":" in parts[index] and parts[index] != PLAIN:
        name, *args = parts[index].split(":")
        options.append(Option(ALIASES.get(name, name), tuple(args), parts[index]))
        index += 1
    source_parts = parts[index:]
    if source_parts[:1] == [PLAIN] and len(source_parts) > 1:
        encoded, at, extension = "/".join(source_parts[1:]).partition("@")
        if "@" in extension:
            raise refuse("@", "more than one format is given")
        source = unquote(encoded)
    else:
        encoded, dot, extension = "".join(source_parts).partition(".")
        if "." in extension:
            raise refuse(".", "more than one format is given")
        try:
            source = base64.urlsafe_b64decode(
                encoded.rstrip("=") + "=" * (-len(encoded.rstrip("=")) % 4)
            ).decode()
        except (binascii.Error, ValueError):
            raise refuse("source", "the source is neither plain/ nor URL-safe base64") from None
    if not source:
        raise refuse("source", "the URL names no source image")
    return Request(signature, tuple(options), source, extension or None, "/" + rest)


def translate(
    raw_path: str,
    settings: ImgproxySettings,
    size_of: SizeOf,
    limits: Limits | None = None,
) -> Translated:
    """An imgproxy URL path (after the mount prefix, percent-encoded) in pixserve's terms."""
    signature, _, rest = raw_path.lstrip("/").partition("/")
    if signature == INSECURE and settings.allow_insecure:
        verdict = Verdict.UNSIGNED
    elif signature != INSECURE and settings.keys and verify(settings, "/" + rest, signature):
        verdict = Verdict.VALID
    else:
        return DENIED
    request = parse(raw_path)
    name = settings.sources.resolve(request.source)
    if name is None:
        return Translated(verdict)
    translation = _Translation(settings, name, size_of)
    format_open = translation.run(request)
    if format_open is None:
        return Translated(verdict)
    return Translated(
        verdict, name=name, pairs=translation.out.checked(limits), format_open=format_open
    )


class _Translation:
    def __init__(self, settings: ImgproxySettings, name: str, size_of: SizeOf) -> None:
        self.settings = settings
        self.name = name
        self.size_of = size_of
        self.out = PairBuilder.empty()
        self.missing = False
        self.expired = False
        self.resizing_type = "fit"
        self.width = 0
        self.height = 0
        self.enlarge = False
        self.extend = False
        self.gravity: tuple[str, ...] = ()
        self.crop: tuple[float, float, tuple[str, ...]] | None = None
        self.flip = ""
        self.format: str | None = None
        self.size_shown = "width"
        self.sizing = Sizing()
        self.watermark: tuple[tuple[str, ...], str] | None = None
        self.watermark_image = settings.watermark

    def source_size(self) -> tuple[int, int]:
        size = self.size_of(self.name)
        if size is None:
            self.missing = True
            return (1, 1)
        return size

    def run(self, request: Request) -> bool | None:
        """Apply the default preset and the options in order (later ones win, as in
        imgproxy), then emit pixserve's pairs. None: the source is missing or expired."""
        seen: set[str] = set()
        if DEFAULT_PRESET in self.settings.presets:
            self._apply(Option("preset", (DEFAULT_PRESET,), "default preset"), seen)
        for option in request.options:
            self._apply(option, seen)
        if request.extension is not None:
            self._format(request.extension, f".{request.extension}")
        self._emit()
        if self.sizing != Sizing():
            emit_sizing(self.out, self.sizing, self.source_size())
        if self.missing or self.expired:
            return None
        return self.format is None

    def _preset(self, name: str, written: str, seen: set[str]) -> None:
        """Apply a preset's options; like imgproxy, each preset once (no loops)."""
        text = self.settings.presets.get(name)
        if text is None:
            known = ", ".join(sorted(self.settings.presets)) or "(none configured)"
            raise refuse(written, f"no preset {name[:40]!r}; the presets are {known}")
        if name in seen:
            return
        seen.add(name)
        for part in (part for part in text.split("/") if part):
            option_name, *args = part.split(":")
            self._apply(Option(ALIASES.get(option_name, option_name), tuple(args), part), seen)

    def _apply(self, option: Option, seen: set[str]) -> None:
        name, args, shown = option.name, option.args, option.written
        if name == "preset":
            _at_most(shown, args, 100)
            for preset in args:
                self._preset(preset, shown, seen)
            return
        if name in REFUSED_OPTIONS:
            raise refuse(shown, REFUSED_OPTIONS[name])
        if name in IMGPROXY_OPTIONS:
            for param, value in IMGPROXY_OPTIONS[name].translate(args, shown):
                self.out.set(param, value, shown) if value else self.out.drop(param)
            return
        handler = _HANDLERS.get(name)
        if handler is None:
            raise refuse(shown, "imgproxy has no such option")
        handler(self, args, shown)

    # The options, one method each.

    def _resize(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 5 + 3)
        if args and args[0]:
            self._resizing_type(args[:1], shown)
        self._size(args[1:], shown)

    def _size(self, args: tuple[str, ...], shown: str) -> None:
        self.size_shown = shown
        _at_most(shown, args, 4 + 3)
        if len(args) > 0 and args[0]:
            self.width = integer(shown, args[0], low=0, high=1_000_000)
        if len(args) > 1 and args[1]:
            self.height = integer(shown, args[1], low=0, high=1_000_000)
        if len(args) > 2 and args[2]:
            self.enlarge = _boolean(shown, args[2])
        if len(args) > 3 and args[3]:
            self._extend(args[3:], shown)

    def _resizing_type(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        if args[0] not in _RESIZING_TYPES:
            raise refuse(shown, f"expected one of {', '.join(_RESIZING_TYPES)}")
        self.resizing_type = args[0]

    def _width(self, args: tuple[str, ...], shown: str) -> None:
        self.size_shown = shown
        _at_most(shown, args, 1)
        self.width = integer(shown, args[0], low=0, high=1_000_000)

    def _height(self, args: tuple[str, ...], shown: str) -> None:
        self.size_shown = shown
        _at_most(shown, args, 1)
        self.height = integer(shown, args[0], low=0, high=1_000_000)

    def _dpr(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        dpr = number(shown, args[0], low=1, high=4)
        self.out.set("dpr", text_number(dpr), shown) if dpr != 1 else self.out.drop("dpr")

    def _enlarge(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        self.enlarge = _boolean(shown, args[0])

    def _extend(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 4)
        self.extend = _boolean(shown, args[0])
        if self.extend and len(args) > 1 and args[1] not in ("", "ce"):
            raise refuse(shown, "pixserve centres the picture when it extends the canvas")
        if self.extend and any(arg not in ("", "0") for arg in args[2:]):
            raise refuse(shown, "pixserve takes no extend offsets")

    def _gravity(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 3)
        kind = args[0]
        if kind == "fp":
            if len(args) != 3:
                raise refuse(shown, "expected gravity:fp:X:Y with X and Y from 0 to 1")
            number(shown, args[1], low=0, high=1)
            number(shown, args[2], low=0, high=1)
        elif kind in _GRAVITIES:
            if any(arg not in ("", "0") for arg in args[1:]) or (kind == "sm" and len(args) > 1):
                raise refuse(shown, "pixserve takes no gravity offsets")
        else:
            raise refuse(shown, f"expected one of {', '.join([*_GRAVITIES, 'fp'])}")
        self.gravity = args
        self.gravity_shown = shown

    def _crop(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 5)
        if len(args) < 2:
            raise refuse(shown, "expected crop:WIDTH:HEIGHT[:GRAVITY]")
        width = number(shown, args[0], low=0, high=1_000_000)
        height = number(shown, args[1], low=0, high=1_000_000)
        gravity = args[2:]
        if gravity and gravity[0] not in (*_ANCHORS, "fp"):
            raise refuse(shown, "pixserve crops by a compass gravity or fp only")
        if gravity and gravity[0] != "fp" and any(arg not in ("", "0") for arg in gravity[1:]):
            raise refuse(shown, "pixserve takes no crop offsets")
        self.crop = (width, height, gravity)
        self.crop_shown = shown

    def _trim(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 4)
        threshold = number(shown, args[0], low=0, high=100_000)
        if len(args) > 1 and args[1]:
            raise refuse(shown, "pixserve trims by the top-left pixel's colour, not a given one")
        if any(_boolean(shown, arg) for arg in args[2:] if arg):
            raise refuse(shown, "pixserve cannot trim equally on both sides")
        self.out.set("trim", str(min(round(threshold), 255)), shown)

    def _auto_rotate(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        if not _boolean(shown, args[0]):
            raise refuse(shown, "pixserve always applies the EXIF orientation")

    def _rotate(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        angle = integer(shown, args[0], low=-100_000, high=100_000)
        if angle % 90:
            raise refuse(shown, "expected a multiple of 90")
        if angle % 360:
            self.out.set("rot", str(angle % 360), shown)

    def _flip(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 2)
        horizontal = bool(args[0]) and _boolean(shown, args[0])
        vertical = len(args) > 1 and bool(args[1]) and _boolean(shown, args[1])
        self.flip = ("h" if horizontal else "") + ("v" if vertical else "")
        self.flip_shown = shown

    def _background(self, args: tuple[str, ...], shown: str) -> None:
        if len(args) == 1 and args[0] == "":
            self.out.drop("bg")
        elif len(args) == 1:
            self.out.set("bg", args[0], shown)  # hex; pixserve's parser checks it
        elif len(args) == 3:
            rgb = [integer(shown, arg, low=0, high=255) for arg in args]
            self.out.set("bg", "".join(f"{value:02x}" for value in rgb), shown)
        else:
            raise refuse(shown, "expected background:R:G:B or background:HEX")

    def _blur(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        sigma = number(shown, args[0], low=0, high=100)
        self.out.set("blur", text_number(sigma), shown) if sigma else self.out.drop("blur")

    def _sharpen(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        sigma = number(shown, args[0], low=0, high=10)
        self.out.set("sharpen", text_number(sigma), shown) if sigma else self.out.drop("sharpen")

    def _strip_metadata(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        if not _boolean(shown, args[0]):
            raise refuse(shown, "pixserve always strips metadata")

    def _keep_copyright(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        if _boolean(shown, args[0]):
            raise refuse(shown, "pixserve strips all metadata, copyright too")

    def _strip_color_profile(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        if _boolean(shown, args[0]) == self.settings.keeps_icc_profiles:
            raise refuse(
                shown,
                "this server keeps ICC profiles"
                if self.settings.keeps_icc_profiles
                else "pixserve converts to sRGB and drops the profile",
            )

    def _quality(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        quality = integer(shown, args[0], low=0, high=100)
        self.out.set("q", str(quality), shown) if quality else self.out.drop("q")

    def _watermark(self, args: tuple[str, ...], shown: str) -> None:
        self.watermark = (args, shown)  # drawn in _emit, once watermark_url is known too

    def _watermark_url(self, args: tuple[str, ...], shown: str) -> None:
        self.watermark_image = imgproxy_watermark_url(args, shown, self.settings.sources)

    def _padding(self, args: tuple[str, ...], shown: str) -> None:
        imgproxy_padding(args, shown, self.out)

    def _format(self, args: tuple[str, ...] | str, shown: str) -> None:
        if not isinstance(args, str):
            _at_most(shown, args, 1)
        value = args if isinstance(args, str) else args[0]
        if value in ("", "best"):
            if value == "best":
                raise refuse(shown, "pixserve has no best-format search")
            self.format = None
            self.out.drop("fmt")
            return
        fmt = _FORMATS.get(value.lower())
        if fmt is None:
            raise refuse(shown, f"expected one of {', '.join(_FORMATS)}")
        self.format = fmt
        self.out.set("fmt", fmt, shown)

    def _cachebuster(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        self.out.set("v", args[0], shown) if args[0] else self.out.drop("v")

    def _expires(self, args: tuple[str, ...], shown: str) -> None:
        _at_most(shown, args, 1)
        deadline = integer(shown, args[0], low=0, high=1 << 40)
        self.expired = deadline > 0 and self.settings.clock() > deadline

    # Emitting pixserve's pairs once every option is known.

    def _emit(self) -> None:
        if self.watermark is not None:
            imgproxy_watermark(*self.watermark, self.watermark_image, self.out)
        if self.crop is not None:
            self._emit_crop()
        width, height = self.width or None, self.height or None
        if width is not None:
            self.out.set("w", str(width), self.size_shown)
        if height is not None:
            self.out.set("h", str(height), self.size_shown)
        if self.enlarge:
            self.out.set("enlarge", "1", "enlarge")
        resizing_type = self.resizing_type
        if resizing_type == "auto" and width and height:
            source_w, source_h = self.source_size()
            same = (source_w >= source_h) == (width >= height)
            resizing_type = "fill" if same else "fit"
        fit = {"fit": "inside", "fill": "cover", "fill-down": "cover", "force": "fill"}.get(
            resizing_type, "inside"
        )
        if fit == "inside" and self.extend:
            fit = "contain"
        if width and height:
            self.out.set("fit", fit, "resizing_type")
        if resizing_type in ("fit", "fill", "fill-down") and (width or height):
            self._imgproxy_sizes(resizing_type, (width or 0, height or 0))
        if self.flip:
            self.out.set("flip", self.flip, self.flip_shown)
        if self.gravity:
            kind = self.gravity[0]
            if kind == "fp":
                self.out.set("fx", text_number(float(self.gravity[1])), self.gravity_shown)
                self.out.set("fy", text_number(float(self.gravity[2])), self.gravity_shown)
            elif kind != "ce":
                self.out.set("gravity", _GRAVITIES[kind], self.gravity_shown)

    def _imgproxy_sizes(self, resizing: str, target: tuple[int, int]) -> None:
        """imgproxy's own result size (`imgproxy_geometry`) where pixserve's plan would
        differ: `fill` keeping the whole picture on a side that falls short, and
        `extend` or `extend_aspect_ratio` padding a `fill` result. Left alone with `dpr`,
        `zoom` and the minimums: `imgproxy_options` works those out from pixserve's plan,
        as it does `extend_aspect_ratio` for `fit`."""
        sizing = self.sizing
        if "dpr" in self.out.pairs or sizing.zoom != (1.0, 1.0):
            return
        if sizing.min_width or sizing.min_height:
            return
        picture = self.source_size()
        if self.crop is not None:
            picture = (
                _crop_extent(self.crop[0], picture[0]),
                _crop_extent(self.crop[1], picture[1]),
            )
        aspect = self.sizing.extend_aspect_ratio
        made = sizes(picture, target, resizing, self.enlarge, self.extend, aspect)
        if resizing == "fit":
            if self.extend and made.extended is not None:
                self.out.set("w", str(made.extended[0]), self.size_shown)
                self.out.set("h", str(made.extended[1]), self.size_shown)
                self.out.set("fit", "contain", "extend")
            return
        self.out.set("w", str(made.kept[0]), self.size_shown)
        self.out.set("h", str(made.kept[1]), self.size_shown)
        self.out.set("fit", "cover", "resizing_type")
        if made.extended is not None:  # extend or extend_aspect_ratio: padded, centred
            self._pad_around(made.kept, made.extended, "extend" if self.extend else "exar")

    def _pad_around(self, kept: tuple[int, int], canvas: tuple[int, int], shown: str) -> None:
        """Centre `kept` on `canvas` as imgproxy's `extend` does (its calcPosition:
        half the room, rounded half to even, on the left and top), with padding, on
        top of any `padding` the URL asks for (imgproxy pads after it extends)."""
        spare_x, spare_y = canvas[0] - kept[0], canvas[1] - kept[1]
        left, top = round((spare_x + 1) / 2), round((spare_y + 1) / 2)
        left, top = min(left, spare_x), min(top, spare_y)
        sides = [top, spare_x - left, spare_y - top, left]
        if "pad" in self.out.pairs:
            asked = parse_padding("pad", self.out.pairs["pad"], None) or (0, 0, 0, 0)
            sides = [mine + theirs for mine, theirs in zip(sides, asked, strict=True)]
        self.out.set("pad", ",".join(map(str, sides)), shown)

    def _emit_crop(self) -> None:
        """imgproxy's crop is a size and a gravity; pixserve's is a box in source pixels."""
        assert self.crop is not None
        width, height, gravity = self.crop
        source_w, source_h = self.source_size()
        crop_w = _crop_extent(width, source_w)
        crop_h = _crop_extent(height, source_h)
        kind = gravity[0] if gravity else (self.gravity[0] if self.gravity else "ce")
        if kind == "fp":
            point = gravity if gravity else self.gravity
            centre_x = float(point[1]) * source_w
            centre_y = float(point[2]) * source_h
            left = round(min(max(centre_x - crop_w / 2, 0), source_w - crop_w))
            top = round(min(max(centre_y - crop_h / 2, 0), source_h - crop_h))
        elif kind in _ANCHORS:
            anchor_x, anchor_y = _ANCHORS[kind]
            left = int((source_w - crop_w) * anchor_x)
            top = int((source_h - crop_h) * anchor_y)
        else:
            raise refuse(self.crop_shown, "pixserve crops by a compass gravity or fp only")
        if (crop_w, crop_h) != (source_w, source_h):
            self.out.set("crop", f"{left},{top},{crop_w},{crop_h}", self.crop_shown)


def _crop_extent(value: float, source: int) -> int:
    """imgproxy: 0 is the whole side, below 1 a fraction of it, else pixels (at most all)."""
    if value == 0:
        return source
    if value < 1:
        return max(1, round(source * value))
    return min(source, round(value))


def _boolean(shown: str, raw: str) -> bool:
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise refuse(shown, f"expected a boolean (1, 0, true, false), got {raw[:40]!r}")


def _at_most(shown: str, args: Sequence[str], count: int) -> None:
    if not args or len(args) > count:
        raise refuse(shown, f"expected 1 to {count} arguments, got {len(args)}")


_HANDLERS: dict[str, Callable[[_Translation, tuple[str, ...], str], None]] = {
    "resize": _Translation._resize,
    "size": _Translation._size,
    "resizing_type": _Translation._resizing_type,
    "width": _Translation._width,
    "height": _Translation._height,
    "dpr": _Translation._dpr,
    "enlarge": _Translation._enlarge,
    "extend": _Translation._extend,
    "gravity": _Translation._gravity,
    "crop": _Translation._crop,
    "trim": _Translation._trim,
    "auto_rotate": _Translation._auto_rotate,
    "rotate": _Translation._rotate,
    "flip": _Translation._flip,
    "background": _Translation._background,
    "blur": _Translation._blur,
    "sharpen": _Translation._sharpen,
    "strip_metadata": _Translation._strip_metadata,
    "keep_copyright": _Translation._keep_copyright,
    "strip_color_profile": _Translation._strip_color_profile,
    "quality": _Translation._quality,
    "max_bytes": lambda self, args, shown: _max_bytes(self.out, args, shown),
    "format_quality": lambda self, args, shown: _format_quality(self.out, args, shown),
    "zoom": lambda self, args, shown: _zoom(self.sizing, args, shown),
    "min-width": lambda self, args, shown: _minimum(self.sizing, args, shown, "min-width"),
    "min-height": lambda self, args, shown: _minimum(self.sizing, args, shown, "min-height"),
    "extend_aspect_ratio": lambda self, args, shown: _extend_aspect_ratio(self.sizing, args, shown),
    "format": _Translation._format,
    "cachebuster": _Translation._cachebuster,
    "expires": _Translation._expires,
    "watermark": _Translation._watermark,
    "watermark_url": _Translation._watermark_url,
    "padding": _Translation._padding,
}
