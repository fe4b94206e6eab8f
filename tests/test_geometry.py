from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transformer.geometry import plan
from transformer.options import Fit

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
        ((600, 450), (1000, 1000), Fit.CONTAIN, (600, 450), (600, 600)),  # box shrunk
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
    # and never exceeds the box asked for
    if box_w is not None:
        assert canvas_w <= box_w
    if box_h is not None:
        assert canvas_h <= box_h
    assert min(resize_w, resize_h, canvas_w, canvas_h) >= 1

    # Each side is the exact scaled size rounded (or raised to 1 px), so the cross
    # products of the two aspect ratios differ by at most the sum of the sides.
    keeps_source_aspect = abs(resize_w * src_h - resize_h * src_w) <= src_w + src_h
    if box_w is None or box_h is None or fit is Fit.INSIDE:
        assert geometry.canvas == geometry.resize
        assert keeps_source_aspect
        return
    # cover, contain and fill keep the box's aspect ratio when shrinking it
    assert abs(canvas_w * box_h - canvas_h * box_w) <= box_w + box_h
    if fit is Fit.COVER:
        assert resize_w >= canvas_w and resize_h >= canvas_h
        assert keeps_source_aspect
    elif fit is Fit.CONTAIN:
        assert resize_w <= canvas_w and resize_h <= canvas_h
        assert resize_w == canvas_w or resize_h == canvas_h
    else:
        assert geometry.resize == geometry.canvas
