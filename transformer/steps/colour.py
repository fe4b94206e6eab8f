"""Convert colour to sRGB so every browser shows it the same way.

Decision: convert and strip the profile rather than keep it. Untagged sRGB is what
every browser and every image viewer assumes, the output is smaller without a 0.5-3 KB
profile, and a CMYK source (which browsers render badly or not at all) becomes RGB.
A damaged profile is ignored rather than failing the request.
"""

from __future__ import annotations

import functools
import io

from PIL import ImageCms

from ..context import Context

_SRGB = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB"))
_MANAGED_MODES = {"RGB": "RGB", "RGBA": "RGBA", "CMYK": "RGB"}


@functools.lru_cache(maxsize=64)
def _transform_for(profile: bytes, mode: str) -> ImageCms.ImageCmsTransform:
    """Building an LCMS transform costs milliseconds; photos share a few profiles."""
    source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return ImageCms.buildTransform(
        source, _SRGB, mode, _MANAGED_MODES[mode], ImageCms.Intent.PERCEPTUAL
    )


def to_srgb(ctx: Context) -> None:
    """Apply the embedded ICC profile; plain CMYK falls back to Pillow's conversion."""
    image = ctx.image
    profile = image.info.get("icc_profile")
    if profile and image.mode in _MANAGED_MODES:
        try:
            transform = _transform_for(profile, image.mode)
            ctx.image = ImageCms.applyTransform(image, transform) or image
            return
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # unusable profile: treat the pixels as sRGB already
    if image.mode == "CMYK":
        ctx.image = image.convert("RGB")
