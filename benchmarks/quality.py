"""Score an output against a slow, obviously-correct reference: bytes and SSIM.

Why: speed must not be bought with worse pictures. The reference is a full decode (no
draft), converted to sRGB when the source carries an ICC profile, resized with LANCZOS
straight to the output's size (for `cover`, to cover the box, then cropped centred).
Outputs are decoded the same way (an embedded profile is applied, as a browser would),
composited on mid-grey where they have alpha, and compared on luma with `ssim.py`.
"""

from __future__ import annotations

import functools
import io

from PIL import Image, ImageCms, ImageOps

from benchmarks.cases import Case
from benchmarks.ssim import luma, ssim

_SRGB = ImageCms.createProfile("sRGB")
_GREY = (128, 128, 128)


def _displayed(image: Image.Image) -> Image.Image:
    """The picture as a browser shows it: upright, sRGB, alpha over mid-grey, RGB."""
    profile = image.info.get("icc_profile")
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    if profile:
        try:
            source = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            image = ImageCms.profileToProfile(image, source, _SRGB, outputMode=image.mode) or image
        except ImageCms.PyCMSError:
            pass
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, _GREY)
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image


@functools.lru_cache(maxsize=4)
def _full_decode(path: str) -> Image.Image:
    """The source whole, upright and in sRGB: its embedded profile applied in its own
    mode (a grey profile cannot be applied to the RGB copy, and was silently skipped:
    the grey concert photo's reference then had other tones than every server's)."""
    with Image.open(path) as source:
        upright = source.copy()
        upright.info = dict(source.info)
    oriented = ImageOps.exif_transpose(upright)
    profile = upright.info.get("icc_profile")
    if profile and oriented.mode in ("L", "LA", "RGB", "RGBA", "CMYK"):
        alpha = oriented.mode in ("LA", "RGBA")
        try:
            source_profile = ImageCms.ImageCmsProfile(io.BytesIO(profile))
            converted = ImageCms.profileToProfile(
                oriented, source_profile, _SRGB, outputMode="RGBA" if alpha else "RGB"
            )
            if converted is not None:
                oriented = converted
                profile = None
        except ImageCms.PyCMSError:
            pass
    oriented.info["icc_profile"] = profile
    return oriented


def png(image: Image.Image) -> bytes:
    """`image` as a quickly compressed PNG, for the `ssimulacra2` package to read."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def references(case: Case, size: tuple[int, int]) -> list[Image.Image]:
    """The full-decode LANCZOS reference at the output's `size`.

    For `cover` the overflow's half can be rounded down or up, and servers differ (a
    pixel's shift costs a detailed 200 px crop 0.1 SSIM): each rounding is a candidate.
    """
    full = _full_decode(str(case.path))
    profile = full.info.get("icc_profile")
    rgba = full.convert("RGBA") if full.has_transparency_data else full.convert("RGB")
    candidates = []
    if case.transform.cover:
        scale = max(size[0] / full.width, size[1] / full.height)
        cover = (max(size[0], round(full.width * scale)), max(size[1], round(full.height * scale)))
        resized = rgba.resize(cover, Image.Resampling.LANCZOS)
        spare_x, spare_y = cover[0] - size[0], cover[1] - size[1]
        for left in sorted({spare_x // 2, (spare_x + 1) // 2}):
            for top in sorted({spare_y // 2, (spare_y + 1) // 2}):
                candidates.append(resized.crop((left, top, left + size[0], top + size[1])))
    else:
        candidates.append(rgba.resize(size, Image.Resampling.LANCZOS))
    for candidate in candidates:
        candidate.info["icc_profile"] = profile
    return [_displayed(candidate) for candidate in candidates]


def score(case: Case, data: bytes) -> tuple[tuple[int, int], float]:
    """The output's size and its SSIM against the (best-aligned) reference at that size."""
    with Image.open(io.BytesIO(data)) as output:
        output.load()
        shown = _displayed(output)
    plane = luma(shown)
    return shown.size, max(ssim(luma(ref), plane) for ref in references(case, shown.size))
