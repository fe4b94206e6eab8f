"""Draw the bundled sample images with Pillow, so `make run` has something to show.

Each sample exercises one thing a user checks first: a large photo-like JPEG to
resize, a JPEG stored sideways with an EXIF orientation tag, a PNG with transparency
(also a watermark: `wm=badge.png`), an animated palette GIF, and a nine-patch picture
frame for `ninepatch`.
"""

from __future__ import annotations

import math
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageOps

_SKY_TOP = (36, 84, 160)
_SKY_BOTTOM = (250, 190, 120)


def _vertical_gradient(
    size: tuple[int, int], top: tuple[int, ...], bottom: tuple[int, ...]
) -> Image.Image:
    column = Image.new("RGB", (1, 256))
    for y in range(256):
        t = y / 255
        column.putpixel(
            (0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        )
    return column.resize(size, Image.Resampling.BICUBIC)


def landscape(size: tuple[int, int] = (2400, 1600), seed: int = 7) -> Image.Image:
    """Sunset over layered hills and a lake, with grain so it compresses like a photo."""
    rng = random.Random(seed)
    width, height = size
    image = _vertical_gradient(size, _SKY_TOP, _SKY_BOTTOM)
    draw = ImageDraw.Draw(image)
    sun_x, sun_y, sun_r = width * 0.68, height * 0.52, height * 0.09
    draw.ellipse((sun_x - sun_r, sun_y - sun_r, sun_x + sun_r, sun_y + sun_r), fill=(255, 226, 150))
    horizon = int(height * 0.7)
    for layer, colour in enumerate([(120, 94, 130), (82, 70, 110), (46, 52, 80)]):
        base = horizon - 160 + layer * 70
        phase = rng.uniform(0, math.tau)
        points: list[tuple[float, float]] = [(0, height)]
        for x in range(0, width + 40, 40):
            wave = math.sin(x / (260 + 90 * layer) + phase) * (90 - 20 * layer)
            points.append((x, base + wave + rng.uniform(-12, 12)))
        points.append((width, height))
        draw.polygon(points, fill=colour)
    lake = _vertical_gradient((width, height - horizon), (70, 90, 140), (20, 30, 60))
    image.paste(lake, (0, horizon))
    for _ in range(60):  # glints of the sun on the water
        glint_x = sun_x + rng.gauss(0, width * 0.03)
        y = horizon + rng.uniform(10, (height - horizon) * 0.8)
        draw.line(
            (glint_x - rng.uniform(10, 60), y, glint_x + rng.uniform(10, 60), y),
            fill=(250, 200, 140),
            width=3,
        )
    grain = Image.effect_noise(size, 18).convert("RGB")
    image = Image.blend(image, grain, 0.06)
    return image.filter(ImageFilter.SMOOTH)


def logo(size: int = 800) -> Image.Image:
    """A round badge on a transparent background, with a soft shadow (partial alpha)."""
    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    shadow = Image.new("L", (size, size), 0)
    ImageDraw.Draw(shadow).ellipse((size * 0.12, size * 0.14, size * 0.92, size * 0.94), fill=110)
    image.putalpha(shadow.filter(ImageFilter.GaussianBlur(size / 40)))
    draw = ImageDraw.Draw(image)
    draw.ellipse((size * 0.08, size * 0.08, size * 0.88, size * 0.88), fill=(230, 57, 70, 255))
    draw.ellipse((size * 0.2, size * 0.2, size * 0.76, size * 0.76), fill=(241, 250, 238, 255))
    cell = size * 0.56 / 4
    for row in range(4):
        for col in range(4):
            if (row + col) % 2 == 0:
                x, y = size * 0.2 + col * cell, size * 0.2 + row * cell
                draw.rectangle((x + 4, y + 4, x + cell - 4, y + cell - 4), fill=(29, 53, 87, 230))
    return image


def nine_patch_frame(border: int = 24, size: int = 400) -> Image.Image:
    """An Android nine-patch: a gilded frame with a see-through middle. The 1-pixel
    markers on the top and left edges mark the middle rows and columns as the parts
    that stretch; those on the bottom and right mark the content area, `border - 8`
    pixels in, so the frame overlaps the picture's edge a little. It is `size` pixels
    across (the gallery shows it as a picture too, so it is not tiny)."""
    inner = size
    image = Image.new("RGBA", (inner + 2, inner + 2), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    for step in range(border):  # light to dark towards the middle, a bevel
        shade = 200 - step * 5
        box = (1 + step, 1 + step, inner - step, inner - step)
        draw.rectangle(box, outline=(shade, int(shade * 0.8), 40, 255))
    marker = (0, 0, 0, 255)
    for i in range(border + 1, inner - border + 1):
        image.putpixel((i, 0), marker)
        image.putpixel((0, i), marker)
    for i in range(border - 7, inner - border + 9):
        image.putpixel((i, inner + 1), marker)
        image.putpixel((inner + 1, i), marker)
    return image


# The spiral's colours, one per band; it moves outwards a step per frame.
_SPIRAL_BANDS = 8
_SPIRAL_STEPS = 2  # frames per band: 16 frames, a loop of 1.3 s at 80 ms each
_SPIRAL_COLOURS = [
    (40 + band * 26, 200 - band * 20, 120 + (band % 3) * 50) for band in range(_SPIRAL_BANDS)
]


def spiral(size: int = 480) -> list[Image.Image]:
    """An animated spiral of coloured bands, each frame a palette image (as a GIF is)."""
    phase = Image.new("L", (size, size))
    pixels = phase.load()
    assert pixels is not None
    centre = size / 2
    for y in range(size):
        for x in range(size):
            angle = math.atan2(y - centre, x - centre)
            radius = math.hypot(x - centre, y - centre)
            position = (angle / math.tau * _SPIRAL_BANDS - radius / 24) % _SPIRAL_BANDS
            pixels[x, y] = int(position * _SPIRAL_STEPS)
    palette = [channel for colour in _SPIRAL_COLOURS for channel in colour]
    frames = []
    for step in range(_SPIRAL_BANDS * _SPIRAL_STEPS):
        bands = [(value + step) // _SPIRAL_STEPS % _SPIRAL_BANDS for value in range(256)]
        frame = phase.point(bands).convert("P")
        frame.putpalette(palette)
        frames.append(frame)
    return frames


def draw_samples(directory: Path) -> list[Path]:
    """Write the samples into `directory` and return their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []

    path = directory / "sunset.jpg"
    landscape().save(path, quality=92)
    written.append(path)

    # Stored sideways, upright only when the EXIF orientation (6: rotate 90 CW) is applied.
    path = directory / "sideways-portrait.jpg"
    upright = ImageOps.fit(landscape((1600, 1200), seed=3), (900, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6
    upright.transpose(Image.Transpose.ROTATE_90).save(path, quality=90, exif=exif)
    written.append(path)

    path = directory / "badge.png"
    logo().save(path)
    written.append(path)

    path = directory / "frame.9.png"
    nine_patch_frame().save(path)
    written.append(path)

    path = directory / "spiral.gif"
    first, *rest = spiral()
    first.save(path, save_all=True, append_images=rest, duration=80, loop=0)
    written.append(path)
    return written
