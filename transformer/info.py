"""What `/info` says about a source: the header's facts, plus a colour and placeholders.

Sizes, format, mode, frames, orientation and the ICC description come from the header
alone. The dominant colour, the BlurHash and the tiny data-URI placeholder need
pixels: they come from a 32-px rendition made by the ordinary pipeline (so it is
upright and in sRGB), which costs a draft-scale decode.

BlurHash strings are made by the `blurhash` package (pure Python, MIT, the reference
algorithm from blurha.sh); on a 32-px picture it takes a few milliseconds.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from typing import Any

import blurhash
from PIL import Image, ImageCms

from .colour import ColourSettings
from .context import Check, unchecked
from .cost import Cost, estimate_cost
from .formats import PNG, WEBP
from .geometry import upright
from .options import Fit, Options
from .pipeline import ImageLimits, open_image, transform
from .steps.orient import read_orientation

THUMBNAIL_WIDTH = 32
# A strip 1,000 times taller than wide would otherwise give a thumbnail (and a WebP
# placeholder) taller than WebP can hold; no picture of ordinary shape comes near it.
THUMBNAIL_MAX_HEIGHT = 256
THUMBNAIL_OPTIONS = Options(
    width=THUMBNAIL_WIDTH, height=THUMBNAIL_MAX_HEIGHT, fit=Fit.INSIDE, frame=0
)
PLACEHOLDER_WIDTH = 16
PLACEHOLDER_QUALITY = 40
_ALPHA_MODES = {"RGBA", "LA", "PA", "RGBa", "La"}


@dataclass(frozen=True)
class HeaderFacts:
    """What the header alone says: the displayed size, the frames, transparency."""

    size: tuple[int, int]
    frames: int
    has_alpha: bool


def read_header(source: bytes, limits: ImageLimits | None = None) -> HeaderFacts:
    """The header's facts, without decoding pixels (raises as `open_image` does)."""
    with open_image(source, limits) as image:
        return HeaderFacts(
            size=upright(image.size, read_orientation(image)),
            frames=getattr(image, "n_frames", 1),
            has_alpha=image.mode in _ALPHA_MODES or "transparency" in image.info,
        )


def describe(
    source: bytes,
    limits: ImageLimits | None = None,
    colour: ColourSettings | None = None,
    check: Check = unchecked,
) -> dict[str, Any]:
    """JSON-ready facts about an image file; `check` between phases, as in `transform`."""
    image = open_image(source, limits)
    orientation = read_orientation(image)
    width, height = upright(image.size, orientation)
    facts: dict[str, Any] = {
        "width": width,
        "height": height,
        "format": (image.format or "").lower(),
        "mode": image.mode,
        "has_alpha": image.mode in _ALPHA_MODES or "transparency" in image.info,
        "frames": getattr(image, "n_frames", 1),
        "orientation": orientation,
        "icc": _profile_description(image.info.get("icc_profile")),
        "bytes": len(source),
    }
    thumbnail = _thumbnail(source, limits, colour, check)
    check()
    facts["dominant_color"] = _dominant_colour(thumbnail)
    check()
    facts["blurhash"] = _blurhash(thumbnail)
    check()
    facts["placeholder"] = _placeholder(thumbnail)
    return facts


def _profile_description(profile: bytes | None) -> str | None:
    if not profile:
        return None
    try:
        description = ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(profile)))
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None
    return description.strip() or None


def describe_cost(source: bytes, limits: ImageLimits | None = None) -> Cost:
    """What `describe` costs: its thumbnail's transform (the rest works on 32 px)."""
    return estimate_cost(source, THUMBNAIL_OPTIONS, PNG, limits)


def _thumbnail(
    source: bytes, limits: ImageLimits | None, colour: ColourSettings | None, check: Check
) -> Image.Image:
    result = transform(source, THUMBNAIL_OPTIONS, PNG, limits, colour, check=check)
    with Image.open(io.BytesIO(result.data)) as image:
        image.load()
        return image.convert("RGBA")


def _on_white(image: Image.Image) -> Image.Image:
    white = Image.new("RGBA", image.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, image).convert("RGB")


def _dominant_colour(image: Image.Image) -> str:
    """The most common of eight median-cut colours, as #rrggbb."""
    palette_image = _on_white(image).quantize(8)
    palette = palette_image.getpalette() or []
    counts: list[tuple[int, int]] = palette_image.getcolors() or [(1, 0)]  # type: ignore[assignment]
    _, index = max(counts)
    red, green, blue = palette[index * 3 : index * 3 + 3]
    return f"#{red:02x}{green:02x}{blue:02x}"


def _blurhash(image: Image.Image) -> str:
    """4 components along the longer side, 3 along the shorter."""
    rgb = _on_white(image)
    raw = rgb.tobytes()
    pixels = [tuple(raw[i : i + 3]) for i in range(0, len(raw), 3)]
    rows = [pixels[y * rgb.width : (y + 1) * rgb.width] for y in range(rgb.height)]
    x_components, y_components = (4, 3) if rgb.width >= rgb.height else (3, 4)
    encoded: str = blurhash.encode(rows, x_components, y_components)
    return encoded


def _placeholder(image: Image.Image) -> str:
    """A 16-px WebP as a data URI (a few hundred bytes), to show blurred while loading."""
    height = max(1, round(image.height * PLACEHOLDER_WIDTH / image.width))
    small = image.resize((PLACEHOLDER_WIDTH, height), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, WEBP.pillow_name, quality=PLACEHOLDER_QUALITY)
    return "data:image/webp;base64," + base64.b64encode(buffer.getvalue()).decode()
