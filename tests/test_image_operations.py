"""The operations end to end through `/image`: sizes, placement and the 400s."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image

from tests.helpers import decoded, encode


def picture(client: FlaskClient, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    return decoded(response.get_data()).convert("RGBA")


@pytest.fixture
def quadrants(root: Path) -> str:
    """400x200: red, green / blue, yellow quadrants; stored as a lossless PNG."""
    image = Image.new("RGB", (400, 200))
    for (x, y), colour in {
        (0, 0): (255, 0, 0),
        (200, 0): (0, 255, 0),
        (0, 100): (0, 0, 255),
        (200, 100): (255, 255, 0),
    }.items():
        image.paste(colour, (x, y, x + 200, y + 100))
    (root / "quadrants.png").write_bytes(encode(image, "PNG"))
    return "/image/quadrants.png"


@pytest.mark.parametrize(
    ("query", "size", "probe", "colour"),
    [
        ("crop=200,0,200,100", (200, 100), (100, 50), (0, 255, 0)),
        ("rot=90", (200, 400), (150, 50), (255, 0, 0)),  # red top-left goes top-right
        ("rot=180&w=100", (100, 50), (10, 10), (255, 255, 0)),
        ("flip=h", (400, 200), (10, 10), (0, 255, 0)),
        ("flip=v", (400, 200), (10, 10), (0, 0, 255)),
        ("w=100&h=100&fit=cover&gravity=east", (100, 100), (90, 10), (0, 255, 0)),
        ("w=100&h=100&fit=cover&gravity=west", (100, 100), (10, 90), (0, 0, 255)),
        ("w=100&h=100&fit=cover&fx=1&fy=1", (100, 100), (90, 90), (255, 255, 0)),
        ("w=100&h=100&fit=outside", (200, 100), (190, 90), (255, 255, 0)),
        ("w=800&enlarge=1", (800, 400), (790, 10), (0, 255, 0)),
        ("w=800", (400, 200), (10, 10), (255, 0, 0)),
        ("w=100&h=100&fit=contain&bg=00ff0080", (100, 100), (50, 10), (0, 255, 0, 128)),
        ("gray=1&w=40", (40, 20), (5, 5), (76, 76, 76)),
    ],
)
def test_operation(
    client: FlaskClient,
    quadrants: str,
    query: str,
    size: tuple[int, int],
    probe: tuple[int, int],
    colour: tuple[int, ...],
) -> None:
    image = picture(client, f"{quadrants}?fmt=png&{query}")
    assert image.size == size
    pixel = image.getpixel(probe)
    assert isinstance(pixel, tuple)
    expected = colour if len(colour) == 4 else (*colour, 255)
    assert all(abs(a - b) <= 3 for a, b in zip(pixel, expected, strict=True)), pixel


def test_jpeg_flattens_onto_bg(client: FlaskClient, root: Path) -> None:
    (root / "clear.png").write_bytes(encode(Image.new("RGBA", (20, 20), (0, 0, 0, 0)), "PNG"))
    image = picture(client, "/image/clear.png?fmt=jpeg&bg=336699&w=10")
    assert all(
        abs(a - b) <= 4
        for a, b in zip(image.getpixel((5, 5)), (0x33, 0x66, 0x99, 255), strict=True)
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "param"),
    [("crop=300,0,200,100", "crop"), ("crop=0,150,10,51", "crop"), ("frame=1", "frame")],
)
def test_out_of_bounds_is_400(client: FlaskClient, quadrants: str, query: str, param: str) -> None:
    response = client.get(f"{quadrants}?{query}")
    assert response.status_code == 400
    assert json.loads(response.get_data())["param"] == param


def test_trim_through_http(client: FlaskClient, root: Path) -> None:
    image = Image.new("RGB", (300, 200), (255, 255, 255))
    image.paste((10, 10, 10), (100, 50, 200, 150))
    (root / "margin.png").write_bytes(encode(image, "PNG"))
    assert picture(client, "/image/margin.png?trim=10&fmt=png").size == (100, 100)
    assert picture(client, "/image/margin.png?trim=10&w=50&fmt=png").size == (50, 50)


def test_blur_and_sharpen_change_the_picture(client: FlaskClient, quadrants: str) -> None:
    plain = picture(client, f"{quadrants}?fmt=png&w=200")
    blurred = picture(client, f"{quadrants}?fmt=png&w=200&blur=5")
    sharpened = picture(client, f"{quadrants}?fmt=png&w=200&sharpen=2")
    assert blurred.getpixel((100, 50)) != plain.getpixel((100, 50))  # the edge is softened
    assert sharpened.size == plain.size


def test_lossless_webp_is_exact(client: FlaskClient, quadrants: str) -> None:
    image = picture(client, f"{quadrants}?fmt=webp&lossless=1&q=100&crop=190,90,20,20")
    assert image.getpixel((5, 5)) == (255, 0, 0, 255) and image.getpixel((15, 15)) == (
        255,
        255,
        0,
        255,
    )
