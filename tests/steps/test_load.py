"""The `load` step(s) alone, on hand-made images."""

from __future__ import annotations

from pixserve.transformer import Options, parse_options
from pixserve.transformer.geometry import plan
from pixserve.transformer.options import Fit
from pixserve.transformer.steps.load import decode, faithful, shrink_on_load
from tests.helpers import encode, gradient
from tests.steps.helpers import context, opened


def test_shrink_on_load_decodes_a_jpeg_smaller_but_not_below_the_target() -> None:
    ctx = context(opened(encode(gradient((2400, 1600)), "JPEG")), Options(width=300))
    shrink_on_load(ctx)
    decode(ctx)
    assert (300, 200) <= ctx.image.size <= (600, 400)


def test_q_auto_decodes_at_least_twice_the_output_and_may_decode_it_whole() -> None:
    # Its floor is promised against the original: a DCT-scale decode near the output
    # size is not close enough to it (load.FAITHFUL_DRAFT_GAP).
    source = encode(gradient((2400, 1600)), "JPEG")
    for width, fixed, auto in ((300, (300, 200), (600, 400)), (900, (1200, 800), (2400, 1600))):
        sizes = []
        for options in (
            parse_options([("w", str(width))]),
            parse_options([("w", str(width)), ("q", "auto")]),
        ):
            ctx = context(opened(source), options)
            shrink_on_load(ctx)
            decode(ctx)
            sizes.append(ctx.image.size)
        assert sizes == [fixed, auto]


def test_an_animations_frames_are_not_resized_faithfully() -> None:
    # No search answers for them, and the auto_quality setting gives every URL q=auto.
    options = parse_options([("w", "300"), ("q", "auto")])
    ctx = context(opened(encode(gradient((600, 400)), "PNG")), options)
    assert faithful(ctx)
    ctx.animation_frame = 0
    assert not faithful(ctx)


def test_shrink_on_load_asks_in_stored_orientation() -> None:
    stored = opened(encode(gradient((1600, 2400)), "JPEG"))  # sideways portrait, orientation 6
    ctx = context(stored, Options(width=300), orientation=6)
    ctx.geometry = plan((2400, 1600), Options(width=300).box, Fit.INSIDE)  # upright 300x200
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.image.size[0] >= 200 and ctx.image.size[1] >= 300


def test_shrink_on_load_leaves_other_formats_alone() -> None:
    ctx = context(opened(encode(gradient((800, 600)), "PNG")), Options(width=100))
    shrink_on_load(ctx)
    decode(ctx)
    assert ctx.image.size == (800, 600)
