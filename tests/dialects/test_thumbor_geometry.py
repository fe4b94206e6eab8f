"""thumbor's own crop and fit-in geometry table, checked through our translation.

The rows re-express thumbor's own transformer_test_data.py (its tests/fixtures; TESTITEMS
and FIT_IN_CROP_DATA): source size, target, alignment, focal points and the crop box
thumbor cuts from the source (left, top, right, bottom), or None for no crop. The
thumbor mount works out thumbor's own window (`pixserve/dialects/thumbor_geometry.py`)
and asks pixserve for exactly it (`crop=`) and thumbor's size (`fit=fill`), so the boxes
and sizes are compared exactly.
"""

from __future__ import annotations

import pytest

from pixserve.dialects import thumbor
from pixserve.dialects.thumbor import ThumborSettings
from pixserve.transformer import parse_options
from pixserve.transformer.pipeline import estimate_geometry

SETTINGS = ThumborSettings(allow_unsafe=True)
Point = tuple[int, int, int]  # x, y, weight
Box = tuple[float, float, float, float]
CropRow = tuple[int, int, int | str, int | str, str, str, list[Point], Box | None]
FitRow = tuple[int, int, int | str, int | str, bool, bool, tuple[int, int, bool]]

CROP_TABLE: list[CropRow] = [
    (800, 600, 400, 150, "center", "middle", [], (0, 75, 800, 375)),
    (600, 800, 150, 400, "center", "middle", [], (150, 0, 450, 800)),
    (600, 800, 300, 400, "center", "middle", [], None),
    (800, 600, 0, 0, "center", "middle", [], None),
    (800, 600, 400, 0, "center", "middle", [], None),
    (200, 140, 180, 100, "center", "middle", [], (0, 3, 200, 114)),
    (200, 200, 100, 100, "center", "middle", [(100, 100, 1)], None),
    (400, 200, 100, 100, "center", "middle", [(100, 100, 1)], (50.0, 0, 250.0, 200)),
    (400, 200, 100, 200, "center", "middle", [(100, 50, 1), (300, 50, 1)], (150.0, 0, 250.0, 200)),
    (
        400,
        200,
        100,
        200,
        "center",
        "middle",
        [(100, 150, 1), (300, 150, 1)],
        (150.0, 0, 250.0, 200),
    ),
    (400, 200, 100, 200, "center", "middle", [(100, 50, 1), (100, 150, 1)], (75.0, 0, 175.0, 200)),
    (400, 200, 100, 200, "center", "middle", [(300, 50, 1), (300, 150, 1)], (225.0, 0, 325.0, 200)),
    (200, 400, 100, 200, "center", "middle", [(100, 50, 1), (300, 50, 1)], None),
    (200, 400, 100, 200, "center", "middle", [(100, 150, 1), (300, 150, 1)], None),
    (200, 400, 100, 200, "center", "middle", [(100, 50, 1), (100, 150, 1)], None),
    (200, 400, 100, 200, "center", "middle", [(300, 50, 1), (300, 150, 1)], None),
    (
        400,
        200,
        100,
        100,
        "center",
        "middle",
        [(50, 100, 1), (50, 300, 1), (150, 100, 1), (150, 300, 1)],
        (50.0, 0, 250.0, 200),
    ),
    (800, 600, 400, 300, "center", "bottom", [], None),
    (700, 300, 150, 300, "center", "bottom", [], (275, 0, 425, 300)),
    (700, 300, 300, 150, "right", "bottom", [], (100, 0, 700, 300)),
    (700, 300, 300, 150, "left", "bottom", [], (0, 0, 600, 300)),
    (700, 300, 150, 300, "center", "bottom", [], (275, 0, 425, 300)),
    (700, 300, 150, 300, "left", "bottom", [], (0, 0, 150, 300)),
    (700, 300, 150, 300, "right", "bottom", [], (550, 0, 700, 300)),
    (300, 800, 200, 300, "center", "bottom", [], (0, 251, 300, 701)),
    (300, 800, 200, 300, "left", "bottom", [], (0, 251, 300, 701)),
    (300, 800, 200, 300, "right", "bottom", [], (0, 251, 300, 701)),
    (500, 600, 300, 250, "center", "bottom", [], (0, 119, 500, 536)),
    (500, 600, 300, 250, "left", "bottom", [], (0, 119, 500, 536)),
    (500, 600, 300, 250, "right", "bottom", [], (0, 119, 500, 536)),
    (600, 800, 300, 0, "right", "bottom", [], None),
    (600, 800, 300, 0, "center", "bottom", [], None),
    (600, 800, 300, 0, "left", "bottom", [], None),
    (600, 800, 250, 0, "left", "bottom", [], None),
    (600, 800, 250, 0, "right", "bottom", [], None),
    (600, 800, 250, 0, "center", "bottom", [], None),
    (600, 800, 0, 400, "right", "bottom", [], None),
    (600, 800, 0, 400, "left", "bottom", [], None),
    (600, 800, 0, 400, "center", "bottom", [], None),
    (600, 800, 0, 350, "center", "bottom", [], None),
    (600, 800, 0, 350, "left", "bottom", [], None),
    (600, 800, 0, 350, "right", "bottom", [], None),
    (800, 600, 400, 150, "center", "middle", [], (0, 75, 800, 375)),
    (800, 300, 400, 150, "center", "middle", [], None),
    (800, 300, 400, 150, "right", "middle", [], None),
    (800, 300, 400, 150, "left", "middle", [], None),
    (700, 300, 300, 150, "center", "middle", [], (50, 0, 650, 300)),
    (700, 300, 300, 150, "left", "middle", [], (0, 0, 600, 300)),
    (700, 300, 300, 150, "right", "middle", [], (100, 0, 700, 300)),
    (700, 300, 150, 300, "center", "middle", [], (275, 0, 425, 300)),
    (700, 300, 150, 300, "left", "middle", [], (0, 0, 150, 300)),
    (700, 300, 150, 300, "right", "middle", [], (550, 0, 700, 300)),
    (350, 700, 200, 600, "left", "middle", [], (0, 0, 234, 700)),
    (350, 700, 200, 600, "center", "middle", [], (58, 0, 292, 700)),
    (350, 700, 200, 600, "right", "middle", [], (116, 0, 350, 700)),
    (500, 600, 300, 250, "left", "middle", [], (0, 27, 500, 444)),
    (500, 600, 300, 250, "center", "middle", [], (0, 27, 500, 444)),
    (500, 600, 300, 250, "right", "middle", [], (0, 27, 500, 444)),
    (1, 1, 0, 0, "left", "middle", [], None),
    (1, 1, 0, 0, "center", "middle", [], None),
    (1, 1, 0, 0, "right", "middle", [], None),
    (200, 400, 0, 1, "left", "middle", [], None),
    (200, 200, 16, 16, "left", "middle", [], None),
    (800, 600, 400, 150, "left", "top", [], (0, 0, 800, 300)),
    (800, 600, 400, 150, "center", "top", [], (0, 0, 800, 300)),
    (800, 600, 400, 150, "right", "top", [], (0, 0, 800, 300)),
    (600, 800, 150, 400, "left", "top", [], (0, 0, 300, 800)),
    (600, 800, 150, 400, "center", "top", [], (150, 0, 450, 800)),
    (600, 800, 150, 400, "right", "top", [], (300, 0, 600, 800)),
    (800, 60, 400, 15, "left", "top", [], (0, 0, 800, 30)),
    (800, 60, 400, 15, "center", "top", [], (0, 0, 800, 30)),
    (800, 60, 400, 15, "right", "top", [], (0, 0, 800, 30)),
    (60, 800, 15, 400, "left", "top", [], (0, 0, 30, 800)),
    (60, 800, 15, 400, "center", "top", [], (15, 0, 45, 800)),
    (60, 800, 15, 400, "right", "top", [], (30, 0, 60, 800)),
    (8, 6, 4, 2, "left", "top", [], (0, 0, 8, 4)),
    (8, 6, 4, 2, "center", "top", [], (0, 0, 8, 4)),
    (8, 6, 4, 2, "right", "top", [], (0, 0, 8, 4)),
    (6, 8, 2, 4, "left", "top", [], (0, 0, 4, 8)),
    (6, 8, 2, 4, "center", "top", [], (1, 0, 5, 8)),
    (6, 8, 2, 4, "right", "top", [], (2, 0, 6, 8)),
    (800, 600, 400, 300, "left", "top", [], None),
    (800, 600, 400, 300, "center", "top", [], None),
    (800, 600, 400, 300, "right", "top", [], None),
    (800, 600, 800, 600, "left", "top", [], None),
    (800, 600, 800, 600, "center", "top", [], None),
    (800, 600, 800, 600, "right", "top", [], None),
    (800, 400, 400, "orig", "middle", "middle", [], (200, 0, 600, 400)),
    (800, 400, "orig", 100, "middle", "middle", [], (200, 0, 600, 400)),
    (800, 400, "orig", "orig", "middle", "middle", [], (200, 0, 600, 400)),
]

FIT_IN_TABLE: list[FitRow] = [
    (800, 400, 400, 100, False, False, (200, 100, True)),
    (1000, 250, 500, 200, False, False, (500, 125, True)),
    (200, 250, 500, 400, False, False, (200, 250, False)),
    (800, 400, 100, 400, True, False, (200, 100, True)),
    (800, 400, 400, 100, False, True, (400, 200, True)),
    (200, 250, 500, 400, False, True, (500, 625, True)),
    (800, 400, 100, 400, True, True, (400, 200, True)),
    (500, 500, 250, "orig", False, False, (250, 250, True)),
    (500, 500, "orig", 250, False, False, (250, 250, True)),
    (500, 500, "orig", "orig", False, False, (500, 500, False)),
]


def _path(
    width: int | str,
    height: int | str,
    halign: str,
    valign: str,
    points: list[Point],
    box: Box | None,
) -> str:
    """The thumbor URL of one row; a focal point is a 1x1 `focal()` box."""
    crop = "{}x{}:{}x{}/".format(*(round(edge) for edge in box)) if box else ""
    align = "".join(f"{part}/" for part in (halign, valign) if part not in ("center", "middle"))
    focal = ":".join(f"focal({x}x{y}:{x + 1}x{y + 1})" for x, y, _ in points)
    filters = f"filters:{focal}/" if focal else ""
    return f"/unsafe/{crop}{width}x{height}/{align}{filters}img.jpg"


@pytest.mark.parametrize(
    ("source_w", "source_h", "width", "height", "halign", "valign", "points", "box"), CROP_TABLE
)
def test_crops_and_sizes_as_thumbor(
    source_w: int,
    source_h: int,
    width: int | str,
    height: int | str,
    halign: str,
    valign: str,
    points: list[Point],
    box: Box | None,
) -> None:
    """thumbor's TESTITEMS: the row's crop box is the URL's manual crop, which must be
    the first (and, for a box of the target's shape, only) cut; rows without one must
    not be cropped at all (their targets have the source's shape); the result has the
    target's size (thumbor resizes to it exactly, enlarging if need be)."""
    path = _path(width, height, halign, valign, points, box)
    translated = thumbor.translate(path, SETTINGS, lambda name: (source_w, source_h))
    options = parse_options(translated.pairs)
    geometry = estimate_geometry((source_w, source_h), options)
    cropped_w, cropped_h = (
        (source_w, source_h) if box is None else (box[2] - box[0], box[3] - box[1])
    )
    target_w = cropped_w if width == "orig" else width or None
    target_h = cropped_h if height == "orig" else height or None
    if box is None:
        assert translated.crops == ()  # no automatic crop either
        assert options.crop is None
    else:
        manual = tuple(round(edge) for edge in box)
        assert translated.crops[0] == manual
        if target_w and target_h and target_w * cropped_h == target_h * cropped_w:
            assert len(translated.crops) == 1  # a box of the target's shape: only cut
    if target_w and target_h:
        assert geometry.canvas == (target_w, target_h)
    elif target_w or target_h:
        assert geometry.canvas[0 if target_w else 1] == (target_w or target_h)
    else:
        assert geometry.canvas == (round(cropped_w), round(cropped_h))


def test_alignment_picks_thumbor_window() -> None:
    """thumbor's auto crop of 700x300 to 150x300, by alignment (the fixture's rows 19-24
    state these windows as manual crops; thumbor's auto_crop cuts the same ones)."""
    for halign, left in (("left", 0), ("center", 275), ("right", 550)):
        path = f"/unsafe/150x300/{halign}/img.jpg"
        translated = thumbor.translate(path, SETTINGS, lambda name: (700, 300))
        assert translated.crops == ((left, 0, left + 150, 300),)
        options = parse_options(translated.pairs)
        assert options.crop == (left, 0, 150, 300)
        assert estimate_geometry((700, 300), options).canvas == (150, 300)


def test_focal_points_centre_the_window() -> None:
    """thumbor's centre of mass of focal boxes: (100,50) and (300,50) in 400x200 to
    100x200 centre the window at x=200 (thumbor's auto_crop: left 150)."""
    path = "/unsafe/100x200/filters:focal(100x50:101x51):focal(300x50:301x51)/img.jpg"
    translated = thumbor.translate(path, SETTINGS, lambda name: (400, 200))
    assert translated.crops == ((150, 0, 250, 200),)


@pytest.mark.parametrize(
    ("path", "source", "crops", "size"),
    [
        # measured against thumbor 7.8's own `meta/` (benchmarks/thumbor_dialect.py)
        ("/unsafe/300x200/img.jpg", (2725, 2225), ((0, 204, 2725, 2021),), (300, 200)),
        ("/unsafe/300x200/left/top/img.jpg", (2725, 2225), ((0, 0, 2725, 1817),), (300, 200)),
        # the centre of 400x267 in a square: 66.5 rounds to 66, as Python 3 rounds
        ("/unsafe/500x500/img.jpg", (400, 267), ((66, 0, 333, 267),), (500, 500)),
        # shapes equal to two decimals: thumbor resizes the whole picture, no cut
        ("/unsafe/300x169/img.jpg", (1920, 1080), (), (300, 169)),
        # no_upscale(): each side no larger than the source's, then the window
        ("/unsafe/400x400/filters:no_upscale()/img.jpg", (320, 240), (), (320, 240)),
        (
            "/unsafe/240x400/filters:no_upscale()/img.jpg",
            (320, 240),
            ((40, 0, 280, 240),),
            (240, 240),
        ),
        # a manual crop, then the auto crop in the cropped picture's pixels
        (
            "/unsafe/1000x1000:2000x1500/200x200/img.jpg",
            (2725, 2225),
            ((1000, 1000, 2000, 1500), (250, 0, 750, 500)),
            (200, 200),
        ),
    ],
)
def test_thumbor_cuts_and_sizes_exactly(
    path: str,
    source: tuple[int, int],
    crops: tuple[tuple[int, int, int, int], ...],
    size: tuple[int, int],
) -> None:
    translated = thumbor.translate(path, SETTINGS, lambda name: source)
    assert translated.crops == crops
    options = parse_options(translated.pairs)
    assert estimate_geometry(source, options).canvas == size


@pytest.mark.parametrize(
    ("source_w", "source_h", "width", "height", "adaptive", "full", "expected"), FIT_IN_TABLE
)
def test_fit_in_size_matches_thumbor(
    source_w: int,
    source_h: int,
    width: int | str,
    height: int | str,
    adaptive: bool,
    full: bool,
    expected: tuple[int, int, bool],
) -> None:
    mode = ("adaptive-" if adaptive else "") + ("full-" if full else "") + "fit-in"
    translated = thumbor.translate(
        f"/unsafe/{mode}/{width}x{height}/img.jpg", SETTINGS, lambda name: (source_w, source_h)
    )
    geometry = estimate_geometry((source_w, source_h), parse_options(translated.pairs))
    out_w, out_h, resizes = expected
    assert geometry.canvas == (out_w, out_h)
    assert (geometry.resize != (source_w, source_h)) is resizes
