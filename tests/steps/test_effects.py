"""The `blur`, `sharpen` and `gray` steps."""

from __future__ import annotations

from PIL import Image, ImageStat

from pixserve.transformer import Options
from pixserve.transformer.steps.effects import blur, gray, sharpen
from tests.helpers import gradient
from tests.steps.helpers import context


def checkerboard() -> Image.Image:
    image = Image.new("L", (64, 64), 0)
    for y in range(0, 64, 8):
        for x in range((y // 8 % 2) * 8, 64, 16):
            image.paste(255, (x, y, x + 8, y + 8))
    return image.convert("RGB")


def contrast(image: Image.Image) -> float:
    return float(ImageStat.Stat(image.convert("L")).stddev[0])


def test_blur_lowers_contrast_more_with_a_larger_sigma() -> None:
    results = []
    for sigma in (0.5, 2.0, 8.0):
        ctx = context(checkerboard(), Options(blur=sigma))
        blur(ctx)
        results.append(contrast(ctx.image))
    assert contrast(checkerboard()) > results[0] > results[1] > results[2]


def test_sharpen_raises_edge_contrast() -> None:
    soft = gradient((64, 64)).filter(__import__("PIL.ImageFilter").ImageFilter.GaussianBlur(2))
    ctx = context(soft.copy(), Options(sharpen=2.0))
    sharpen(ctx)
    assert contrast(ctx.image) >= contrast(soft)
    assert ctx.image.tobytes() != soft.tobytes()


def test_gray_keeps_alpha() -> None:
    ctx = context(gradient((16, 16), "RGBA"), Options(gray=True))
    gray(ctx)
    assert ctx.image.mode == "LA"
    ctx = context(gradient((16, 16)), Options(gray=True))
    gray(ctx)
    assert ctx.image.mode == "L"


def test_unset_effects_leave_the_image() -> None:
    image = gradient((8, 8))
    ctx = context(image)
    for step in (blur, sharpen, gray):
        step(ctx)
    assert ctx.image is image
