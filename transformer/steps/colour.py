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

from PIL import ImageCms

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


def to_srgb(ctx: Context) -> None:
    """Apply the embedded ICC profile (or keep it); plain CMYK uses the standard one."""
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
        converted = ImageCms.applyTransform(image, _transform_for(profile, image.mode))
    except (ImageCms.PyCMSError, OSError, ValueError):
        if image.mode == "CMYK":  # unusable profile: treat the pixels as sRGB already
            ctx.image = image.convert("RGB")
        return
    assert converted is not None
    # A grey picture stays grey: R = G = B after the conversion, so L loses nothing.
    ctx.image = converted.convert("L") if image.mode == "L" else converted
