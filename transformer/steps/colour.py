"""Convert colour to sRGB so every browser shows it the same way.

Decision: by default convert and strip the profile rather than keep it. Untagged sRGB
is what every browser and every image viewer assumes, the output is smaller without a
0.5-3 KB profile, and a CMYK source (which browsers render badly or not at all) becomes
RGB. `ColourSettings.keep_profiles` keeps an RGB or grey source's own profile instead
(for wide-gamut pictures shown on wide-gamut screens); CMYK is always converted. A CMYK
source without a profile is read with a standard CMYK profile when one is configured
(Pillow's naive formula over-saturates), and a damaged profile is ignored rather than
failing the request.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageChops, ImageCms

from ..context import Context

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_MANAGED_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB", "L": "RGB"}


@functools.lru_cache(maxsize=64)
def _transform_for(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """Building an LCMS transform costs milliseconds; photos share a few profiles."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return ImageCms.buildTransform(
        source, _SRGB, mode, _MANAGED_MODES[mode], ImageCms.Intent.PERCEPTUAL
    )


# Every 17th level of each channel: 4,096 colours spanning the RGB cube.
_PROBE_LEVELS = range(0, 256, 17)
_PROBE = Image.frombytes(
    "RGB",
    (len(_PROBE_LEVELS) ** 3, 1),
    bytes(
        v for r in _PROBE_LEVELS for g in _PROBE_LEVELS for b in _PROBE_LEVELS for v in (r, g, b)
    ),
)


@functools.lru_cache(maxsize=64)
def _is_srgb_already(profile: bytes, mode: str) -> bool:
    """True when the profile's transform moves no probed colour by more than one level.

    Cameras and phones often embed an sRGB profile, under many names; converting
    through it is a pass over every decoded pixel (6 ms for the 8 MP gain-map photo
    decoded for a 640 px result, docs/results.md) that changes nothing visible.
    """
    if mode not in ("RGB", "RGBA"):
        return False
    probe = _PROBE.convert(mode)
    converted = ImageCms.applyTransform(probe, _transform_for(profile, mode)) or probe
    extrema = ImageChops.difference(converted, probe).getextrema()
    return all(isinstance(band, tuple) and band[1] <= 1 for band in extrema)


def to_srgb(ctx: Context) -> None:
    """Apply the embedded ICC profile (or keep it); plain CMYK uses the standard one.

    Animation frames are left as they are (decoded to RGBA, with no profile kept).
    """
    if ctx.animation_frame is not None:
        return
    image = ctx.image
    profile = image.info.get("icc_profile")
    if image.mode == "CMYK" and not profile:
        profile = ctx.colour.cmyk_profile
    if not profile or image.mode not in _MANAGED_MODES:
        if image.mode == "CMYK":
            ctx.image = image.convert("RGB")
        return
    if ctx.colour.keep_profiles and image.mode != "CMYK":
        ctx.icc_profile = profile
        return
    try:
        if _is_srgb_already(profile, image.mode):
            return  # the metadata step drops the profile; the pixels are sRGB
        converted = ImageCms.applyTransform(image, _transform_for(profile, image.mode))
    except (ImageCms.PyCMSError, OSError, ValueError):
        if image.mode == "CMYK":  # unusable profile: treat the pixels as sRGB already
            ctx.image = image.convert("RGB")
        return
    assert converted is not None
    # A grey picture stays grey: R = G = B after the conversion, so L loses nothing.
    ctx.image = converted.convert("L") if image.mode == "L" else converted
