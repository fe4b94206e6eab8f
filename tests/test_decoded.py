"""Kept decoded sources (`transformer/decoded.py`): shared across a ladder's widths and
formats, and never changing a single output byte."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from PIL import Image

from pixserve.services import services
from pixserve.transformer import FORMATS, parse_options, transform
from pixserve.transformer.decoded import Decoded, DecodedSources

from .helpers import MakeApp

STREET = "photos/street-2725x2225.jpg"
BUDGET = 64 << 20


def make(source: bytes, query: str, decoded: DecodedSources | None = None) -> bytes:
    pairs = parse_qsl(query)
    output = FORMATS[dict(pairs)["fmt"]]
    return transform(source, parse_options(pairs), output, decoded=decoded).data


def test_both_formats_of_a_width_share_one_decode(corpus: Path) -> None:
    source = (corpus / STREET).read_bytes()
    decoded = DecodedSources(BUDGET)
    webp = make(source, "w=640&fmt=webp", decoded)
    jpeg = make(source, "w=640&fmt=jpeg", decoded)
    assert (decoded.misses, decoded.hits) == (1, 1)
    assert webp == make(source, "w=640&fmt=webp")
    assert jpeg == make(source, "w=640&fmt=jpeg")


def test_widths_at_the_same_jpeg_scale_share_and_others_do_not(corpus: Path) -> None:
    source = (corpus / STREET).read_bytes()
    decoded = DecodedSources(BUDGET)
    outputs = {width: make(source, f"w={width}&fmt=webp", decoded) for width in (1280, 960, 640)}
    # 1280 and 960 px both decode at 1/2 (1363 px wide); 640 px at 1/4.
    assert (decoded.misses, decoded.hits) == (2, 1)
    for width, data in outputs.items():
        assert data == make(source, f"w={width}&fmt=webp")


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_a_kept_decode_gives_the_same_upright_picture(corpus: Path, orientation: int) -> None:
    source = (corpus / f"orientation/Landscape_{orientation}.jpg").read_bytes()
    decoded = DecodedSources(BUDGET)
    first = make(source, "w=300&h=200&fit=cover&fmt=png", decoded)
    again = make(source, "w=300&h=200&fit=cover&fmt=png", decoded)
    assert decoded.hits == 1
    assert first == again == make(source, "w=300&h=200&fit=cover&fmt=png")


def test_operations_on_a_kept_picture_leave_it_as_decoded(corpus: Path) -> None:
    """Later steps change their picture (metadata cleared, pixels blurred); a kept one is
    a copy, so the next transform still gets the pixels as decoded."""
    source = (corpus / STREET).read_bytes()
    decoded = DecodedSources(BUDGET)
    make(source, "w=640&fmt=jpeg&blur=5&gray=1", decoded)
    assert make(source, "w=640&fmt=jpeg", decoded) == make(source, "w=640&fmt=jpeg")
    assert decoded.hits == 1


def test_a_picture_over_half_the_budget_is_not_kept(corpus: Path) -> None:
    source = (corpus / STREET).read_bytes()
    small = DecodedSources(8 << 20)  # 1363x1113 RGB is 6.1 MB in Pillow: over half of it
    make(source, "w=1280&fmt=webp", small)
    make(source, "w=1280&fmt=webp", small)
    assert small.hits == 0 and small.kept_bytes == 0


def test_the_least_recently_used_goes_first() -> None:
    kept = DecodedSources(4_000_000)
    for name in "ab":
        kept.keep(name, Decoded(Image.new("RGB", (1000, 400)), 1.0, None, None))  # 1.6 MB
    assert kept.take("a") is not None
    kept.keep("c", Decoded(Image.new("RGB", (1000, 400)), 1.0, None, None))
    assert kept.take("b") is None
    assert kept.take("a") is not None and kept.take("c") is not None
    assert kept.kept_bytes == 3_200_000


def test_an_unused_decode_is_dropped_after_a_while(corpus: Path) -> None:
    source = (corpus / STREET).read_bytes()
    decoded = DecodedSources(BUDGET, keep_seconds=0.0)
    make(source, "w=640&fmt=webp", decoded)
    make(source, "w=640&fmt=jpeg", decoded)
    assert decoded.hits == 0 and decoded.kept_bytes == 682 * 557 * 4  # the second only


def test_the_setting_turns_it_off(make_app: MakeApp) -> None:
    on, off = make_app(), make_app(decoded_cache=0)
    with on.app_context():
        found = services().decoded
        assert found is not None and found.budget == 24 << 20
    with off.app_context():
        assert services().decoded is None
