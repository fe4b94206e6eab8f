from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import ExifTags, Image, ImageOps

from pixserve.transformer.geometry import cover_window, crop_origin, plan, upright
from pixserve.transformer.options import Fit, Gravity

sizes = st.integers(1, 5000)
boxes = st.none() | st.integers(1, 8000)


@pytest.mark.parametrize(
    ("source", "box", "fit", "resize", "canvas"),
    [
        ((2725, 2225), (300, None), Fit.INSIDE, (300, 245), (300, 245)),
        ((2725, 2225), (None, 100), Fit.INSIDE, (122, 100), (122, 100)),
        ((800, 600), (400, 400), Fit.INSIDE, (400, 300), (400, 300)),
        ((800, 600), (400, 400), Fit.COVER, (533, 400), (400, 400)),
        ((800, 600), (400, 400), Fit.CONTAIN, (400, 300), (400, 400)),
        ((800, 600), (400, 400), Fit.FILL, (400, 400), (400, 400)),
        ((800, 600), (2000, None), Fit.INSIDE, (800, 600), (800, 600)),  # no upscale
        ((600, 450), (1000, 1000), Fit.CONTAIN, (600, 450), (1000, 1000)),  # padded at 1:1
        ((20, 20), (200, 100), Fit.CONTAIN, (20, 20), (200, 100)),  # a tile stays a tile
        ((600, 450), (1000, 1000), Fit.COVER, (600, 450), (450, 450)),
        ((600, 450), (1200, 600), Fit.FILL, (600, 300), (600, 300)),
        ((10, 10), (None, None), Fit.COVER, (10, 10), (10, 10)),
    ],
)
def test_examples(
    source: tuple[int, int],
    box: tuple[int | None, int | None],
    fit: Fit,
    resize: tuple[int, int],
    canvas: tuple[int, int],
) -> None:
    geometry = plan(source, box, fit)
    assert (geometry.resize, geometry.canvas) == (resize, canvas)


@given(sizes, sizes, boxes, boxes, st.sampled_from(Fit))
def test_never_upscales_and_respects_the_box(
    src_w: int, src_h: int, box_w: int | None, box_h: int | None, fit: Fit
) -> None:
    geometry = plan((src_w, src_h), (box_w, box_h), fit)
    resize_w, resize_h = geometry.resize
    canvas_w, canvas_h = geometry.canvas
    # the picture is never magnified: each resized side is at most the source's
    assert resize_w <= src_w and resize_h <= src_h
    assert min(resize_w, resize_h, canvas_w, canvas_h) >= 1
    # Each side is the exact scaled size rounded (or raised to 1 px), so the cross
    # products of the two aspect ratios differ by at most the sum of the sides.
    keeps_source_aspect = abs(resize_w * src_h - resize_h * src_w) <= src_w + src_h
    if fit is Fit.OUTSIDE and box_w is not None and box_h is not None:
        # covers the box without cropping, unless that would magnify the source
        assert geometry.canvas == geometry.resize and keeps_source_aspect
        assert (resize_w >= box_w - 1 and resize_h >= box_h - 1) or geometry.resize == (
            src_w,
            src_h,
        )
        return
    if fit is Fit.CONTAIN and box_w is not None and box_h is not None:
        # exactly the box, whatever the source: fixed-size tiles stay fixed
        assert geometry.canvas == (box_w, box_h)
        assert resize_w <= box_w and resize_h <= box_h and keeps_source_aspect
        # the picture touches two sides of the box, or is shown at 1:1
        assert resize_w == box_w or resize_h == box_h or geometry.resize == (src_w, src_h)
        return
    # otherwise the result never exceeds the box asked for
    if box_w is not None:
        assert canvas_w <= box_w
    if box_h is not None:
        assert canvas_h <= box_h
    if box_w is None or box_h is None or fit is Fit.INSIDE:
        assert geometry.canvas == geometry.resize
        assert keeps_source_aspect
        return
    # cover and fill keep the box's aspect ratio when shrinking it
    assert abs(canvas_w * box_h - canvas_h * box_w) <= box_w + box_h
    if fit is Fit.COVER:
        assert resize_w >= canvas_w and resize_h >= canvas_h
        assert keeps_source_aspect
    else:
        assert geometry.resize == geometry.canvas


@given(sizes, sizes, st.integers(1, 8000), st.integers(1, 8000), st.sampled_from(Fit))
def test_enlarge_reaches_the_box(src_w: int, src_h: int, box_w: int, box_h: int, fit: Fit) -> None:
    geometry = plan((src_w, src_h), (box_w, box_h), fit, enlarge=True)
    canvas_w, canvas_h = geometry.canvas
    if fit in (Fit.COVER, Fit.CONTAIN, Fit.FILL):
        assert geometry.canvas == (box_w, box_h)
    elif fit is Fit.INSIDE:
        assert canvas_w <= box_w and canvas_h <= box_h
        assert canvas_w == box_w or canvas_h == box_h
    else:
        assert canvas_w >= box_w - 1 and canvas_h >= box_h - 1
        assert canvas_w == box_w or canvas_h == box_h


@given(
    sizes,
    sizes,
    st.integers(1, 8000),
    st.integers(1, 8000),
    st.sampled_from(Gravity),
    st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_the_cover_window_stays_inside_and_holds_the_focus(
    src_w: int,
    src_h: int,
    box_w: int,
    box_h: int,
    gravity: Gravity,
    focus: tuple[float, float] | None,
) -> None:
    geometry = plan((src_w, src_h), (box_w, box_h), Fit.COVER)
    left, top = crop_origin(geometry, gravity, focus)
    over_x, over_y = geometry.overflow
    assert 0 <= left <= over_x and 0 <= top <= over_y
    if focus is not None:
        # the focal point is inside the kept window (to the pixel)
        focus_x, focus_y = focus[0] * geometry.resize[0], focus[1] * geometry.resize[1]
        assert left - 1 <= focus_x <= left + geometry.canvas[0] + 1
        assert top - 1 <= focus_y <= top + geometry.canvas[1] + 1


@given(
    st.floats(1, 10_000),
    st.floats(1, 10_000),
    st.integers(1, 8000),
    st.integers(1, 8000),
    st.sampled_from([g for g in Gravity if g not in (Gravity.ENTROPY, Gravity.ATTENTION)]),
    st.none() | st.tuples(st.floats(0, 1), st.floats(0, 1)),
)
def test_the_exact_cover_window(
    width: float,
    height: float,
    canvas_w: int,
    canvas_h: int,
    gravity: Gravity,
    focus: tuple[float, float] | None,
) -> None:
    """The largest window of the canvas' shape, inside the picture, around the focus."""
    left, top, right, bottom = cover_window((width, height), (canvas_w, canvas_h), gravity, focus)
    epsilon = 1e-9
    assert -epsilon <= left < right <= 1 + epsilon and -epsilon <= top < bottom <= 1 + epsilon
    kept_w, kept_h = (right - left) * width, (bottom - top) * height
    assert kept_w / kept_h == pytest.approx(canvas_w / canvas_h, rel=1e-9)
    assert right - left == pytest.approx(1) or bottom - top == pytest.approx(1)
    if focus is not None:
        for point, low, high in ((focus[0], left, right), (focus[1], top, bottom)):
            centred = (low + high) / 2 == pytest.approx(point, abs=1e-9)
            assert centred or low == pytest.approx(0, abs=1e-9) or high == pytest.approx(1)


def test_the_exact_cover_window_by_gravity() -> None:
    """A 300x200 picture in a square: 200 wide, pinned as named, to the sub-pixel."""
    assert cover_window((300, 200), (200, 200), Gravity.CENTER) == (1 / 6, 0, 5 / 6, 1)
    assert cover_window((300, 200), (200, 200), Gravity.WEST) == (0, 0, 2 / 3, 1)
    assert cover_window((300, 200), (200, 200), Gravity.SOUTHEAST) == (1 / 3, 0, 1, 1)
    street = cover_window((2725, 2225), (300, 200), Gravity.NORTH)
    assert street == pytest.approx((0, 0, 1, 2725 / 1.5 / 2225))


@pytest.mark.parametrize(
    ("gravity", "origin"),
    [
        (Gravity.CENTER, (50, 0)),
        (Gravity.WEST, (0, 0)),
        (Gravity.EAST, (100, 0)),
        (Gravity.NORTHEAST, (100, 0)),
        (Gravity.SOUTHWEST, (0, 0)),
    ],
)
def test_gravity_pins_the_window(gravity: Gravity, origin: tuple[int, int]) -> None:
    geometry = plan((300, 200), (200, 200), Fit.COVER)
    assert geometry.overflow == (100, 0)
    assert crop_origin(geometry, gravity) == origin


@pytest.mark.parametrize("orientation", range(1, 9))
def test_upright_size_agrees_with_pillows_own_transpose(orientation: int) -> None:
    image = Image.new("RGB", (30, 20))
    image.getexif()[ExifTags.Base.Orientation] = orientation
    assert upright((30, 20), orientation) == ImageOps.exif_transpose(image).size
    assert upright(upright((30, 20), orientation), orientation) == (30, 20)  # its own inverse
