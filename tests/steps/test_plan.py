"""The `plan_geometry` step and the shrink-on-load target with crop and rotation."""

from __future__ import annotations

from pixserve.transformer import Options
from pixserve.transformer.pipeline import estimate_geometry
from pixserve.transformer.steps.load import needed_upright_size
from pixserve.transformer.steps.plan import plan_geometry
from tests.helpers import gradient
from tests.steps.helpers import context


def test_trimmed_picture_is_planned_again() -> None:
    options = Options(width=50, trim=0)
    ctx = context(gradient((200, 100)).crop((0, 0, 100, 100)), options)
    ctx.geometry = estimate_geometry((200, 100), options)
    plan_geometry(ctx)
    assert ctx.geometry.resize == (50, 50)


def test_without_trim_the_header_plan_stands() -> None:
    options = Options(width=50, crop=(0, 0, 100, 50), rotate=90)
    ctx = context(gradient((400, 300)), options)
    ctx.geometry = estimate_geometry((400, 300), options)
    assert ctx.geometry.resize == (50, 100)  # the 100x50 crop, turned upright
    plan_geometry(ctx)
    assert ctx.geometry.resize == (50, 100)


def test_decode_target_covers_the_crop_at_its_output_scale() -> None:
    options = Options(width=50, crop=(0, 0, 100, 50))
    ctx = context(gradient((1000, 500)), options)
    ctx.geometry = estimate_geometry((1000, 500), options)
    # the crop is shown at 1/2 scale, so the picture may be decoded at 1/2 too
    assert needed_upright_size(ctx) == (500, 250)


def test_trim_needs_the_whole_picture() -> None:
    ctx = context(gradient((100, 100)), Options(width=10, trim=5))
    assert needed_upright_size(ctx) is None
