"""imgproxy's own processing tests, through the imgproxy mount: the result sizes its
`processing/processing_test.go` states for a 200x100 picture (`geometry.png`), for
`fit`, `fill` and `fill-down`, alone and with `enlarge`, `extend` and
`extend_aspect_ratio` (re-expressed here as a table: resizing type and options, the
box asked, the size imgproxy answers). Each is translated and transformed for real.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image

from pixserve.dialects import imgproxy
from pixserve.dialects.imgproxy import ImgproxySettings
from pixserve.transformer import FORMATS, parse_options, transform

SETTINGS = ImgproxySettings(allow_insecure=True)
PICTURE = (200, 100)
Box = tuple[int, int]
# (resizing type, other options): [(the box asked, the size imgproxy answers)]
TABLE: dict[tuple[str, str], list[tuple[Box, Box]]] = {
    ("fit", ""): [
        ((50, 50), (50, 25)),
        ((50, 20), (40, 20)),
        ((20, 50), (20, 10)),
        ((300, 300), (200, 100)),
        ((300, 50), (100, 50)),
        ((100, 300), (100, 50)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
    ("fit", "el:1"): [
        ((50, 50), (50, 25)),
        ((50, 20), (40, 20)),
        ((20, 50), (20, 10)),
        ((300, 300), (300, 150)),
        ((300, 125), (250, 125)),
        ((250, 300), (250, 125)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (400, 200)),
        ((300, 0), (300, 150)),
    ],
    ("fit", "ex:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (300, 300)),
        ((300, 125), (300, 125)),
        ((250, 300), (250, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 200)),
        ((300, 0), (300, 100)),
    ],
    ("fit", "exar:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (200, 200)),
        ((300, 125), (240, 100)),
        ((250, 500), (200, 400)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
    ("fill", ""): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (200, 100)),
        ((300, 50), (200, 50)),
        ((100, 300), (100, 100)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
    ("fill", "el:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (300, 300)),
        ((300, 125), (300, 125)),
        ((250, 300), (250, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (400, 200)),
        ((300, 0), (300, 150)),
    ],
    ("fill", "ex:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (300, 300)),
        ((300, 125), (300, 125)),
        ((250, 300), (250, 300)),
        ((300, 50), (300, 50)),
        ((100, 300), (100, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 200)),
        ((300, 0), (300, 100)),
    ],
    ("fill", "exar:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (200, 200)),
        ((300, 125), (240, 100)),
        ((250, 500), (200, 400)),
        ((300, 50), (300, 50)),
        ((100, 300), (100, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
    ("fill-down", ""): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (100, 100)),
        ((300, 125), (200, 83)),
        ((250, 300), (83, 100)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
    ("fill-down", "el:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (300, 300)),
        ((300, 125), (300, 125)),
        ((250, 300), (250, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (400, 200)),
        ((300, 0), (300, 150)),
    ],
    ("fill-down", "ex:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (300, 300)),
        ((300, 125), (300, 125)),
        ((250, 300), (250, 300)),
        ((300, 50), (300, 50)),
        ((100, 300), (100, 300)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 200)),
        ((300, 0), (300, 100)),
    ],
    ("fill-down", "exar:1"): [
        ((50, 50), (50, 50)),
        ((50, 20), (50, 20)),
        ((20, 50), (20, 50)),
        ((300, 300), (100, 100)),
        ((300, 125), (200, 83)),
        ((250, 300), (83, 100)),
        ((0, 50), (100, 50)),
        ((50, 0), (50, 25)),
        ((0, 200), (200, 100)),
        ((300, 0), (200, 100)),
    ],
}
CASES = [
    (resizing, options, box, answered)
    for (resizing, options), rows in TABLE.items()
    for box, answered in rows
]


@pytest.fixture(scope="module")
def geometry_png() -> bytes:
    buffer = io.BytesIO()
    Image.linear_gradient("L").resize(PICTURE).convert("RGB").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(("resizing", "options", "box", "answered"), CASES)
def test_imgproxy_answers_its_own_sizes(
    geometry_png: bytes, resizing: str, options: str, box: Box, answered: Box
) -> None:
    extra = f"/{options}" if options else ""
    path = f"/insecure/rs:{resizing}:{box[0]}:{box[1]}{extra}/plain/local:///geometry.png"
    translated = imgproxy.translate(path, SETTINGS, lambda name: PICTURE)
    result = transform(geometry_png, parse_options(translated.pairs), FORMATS["png"])
    assert result.size == answered, translated.pairs
