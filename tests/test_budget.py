"""`max_bytes` (the quality lowered until the bytes fit) and `fq` (a quality per
output format): the search against every quality, the formats it leaves alone, and
the parameters."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from pixserve.transformer import FORMATS, InvalidOption, parse_options, transform
from pixserve.transformer.budget import FLOOR_QUALITY, MAX_ENCODES, fit_bytes
from pixserve.transformer.encode import encode as encode_picture
from tests.helpers import decoded, encode, gradient


def sized(qualities: list[int], size: dict[int, int]) -> object:
    """A stand-in encoder: `size[q]` bytes at quality q, each call recorded."""

    def encode_at(quality: int) -> bytes:
        qualities.append(quality)
        return b"x" * size[quality]

    return encode_at


LINEAR = {quality: 1000 + 100 * quality for quality in range(1, 101)}


def test_a_first_encoding_that_fits_is_kept_without_another() -> None:
    calls: list[int] = []
    fitted = fit_bytes(sized(calls, LINEAR), b"x" * 8000, 70, budget=9000)  # type: ignore[arg-type]
    assert (fitted.quality, fitted.encodes, calls) == (70, 1, [])


@pytest.mark.parametrize("budget", [2500, 4321, 6000, 8499])
def test_the_highest_fitting_quality_is_found_within_the_bound(budget: int) -> None:
    calls: list[int] = []
    fitted = fit_bytes(sized(calls, LINEAR), b"x" * LINEAR[75], 75, budget)  # type: ignore[arg-type]
    assert fitted.quality == max(q for q, size in LINEAR.items() if size <= budget)
    assert len(fitted.data) <= budget and fitted.encodes == len(calls) + 1 <= MAX_ENCODES


def test_a_steep_size_curve_still_ends_on_a_fitting_quality() -> None:
    steep = {quality: int(500 * 1.06**quality) for quality in range(1, 101)}
    calls: list[int] = []
    fitted = fit_bytes(sized(calls, steep), b"x" * steep[90], 90, 20_000)  # type: ignore[arg-type]
    best = max(q for q, size in steep.items() if size <= 20_000)
    assert len(fitted.data) <= 20_000 and best - 2 <= fitted.quality <= best
    assert len(calls) + 1 <= MAX_ENCODES


def test_a_budget_nothing_fits_gets_the_floor_encoding() -> None:
    calls: list[int] = []
    fitted = fit_bytes(sized(calls, LINEAR), b"x" * LINEAR[75], 75, budget=100)  # type: ignore[arg-type]
    assert (fitted.quality, calls, len(fitted.data)) == (FLOOR_QUALITY, [10], LINEAR[10])


def test_a_start_at_the_floor_is_not_lowered() -> None:
    calls: list[int] = []
    fitted = fit_bytes(sized(calls, LINEAR), b"x" * LINEAR[8], 8, budget=100)  # type: ignore[arg-type]
    assert (fitted.quality, calls) == (8, [])


def every_quality(image: Image.Image, fmt: str, top: int) -> dict[int, int]:
    options = parse_options([("fmt", fmt)])
    return {
        quality: len(encode_picture(image, FORMATS[fmt], options, quality=quality))
        for quality in range(FLOOR_QUALITY, top + 1)
    }


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_on_a_photo_the_answer_fits_and_is_next_to_the_best(corpus: Path, fmt: str) -> None:
    source = (corpus / "photos" / "street-2725x2225.jpg").read_bytes()
    resized = decoded(transform(source, parse_options([("w", "320")]), FORMATS["png"]).data)
    top = FORMATS[fmt].default_quality or 75
    sizes = every_quality(resized, fmt, top)
    for share in (0.3, 0.7):
        budget = int(sizes[FLOOR_QUALITY] + (sizes[top] - sizes[FLOOR_QUALITY]) * share)
        best = max(q for q, size in sizes.items() if size <= budget)
        query = [("w", "320"), ("fmt", fmt), ("max_bytes", str(budget))]
        result = transform(source, parse_options(query), FORMATS[fmt])
        assert len(result.data) <= budget
        assert result.quality is not None and best - 2 <= result.quality <= best
        assert decoded(result.data).size == resized.size


def test_png_and_lossless_webp_are_encoded_once_as_they_are() -> None:
    source = encode(Image.effect_noise((200, 150), 60).convert("RGB"), "PNG")
    for query in ([("fmt", "png")], [("fmt", "webp"), ("lossless", "1")]):
        fmt = FORMATS[query[0][1]]
        plain = transform(source, parse_options([*query, ("w", "100")]), fmt)
        budgeted = transform(
            source, parse_options([*query, ("w", "100"), ("max_bytes", "100")]), fmt
        )
        assert budgeted.data == plain.data and len(plain.data) > 100


def test_the_source_bytes_are_served_when_they_fit_and_encoded_when_not() -> None:
    source = encode(gradient((400, 300)), "JPEG", quality=95)
    fits = transform(source, parse_options([("max_bytes", str(len(source)))]), FORMATS["jpeg"])
    assert fits.passthrough and fits.data == source
    budget = len(source) // 3
    smaller = transform(source, parse_options([("max_bytes", str(budget))]), FORMATS["jpeg"])
    assert not smaller.passthrough and len(smaller.data) <= budget
    assert decoded(smaller.data).size == (400, 300)


def test_a_q_auto_choice_is_lowered_to_fit_too(corpus: Path) -> None:
    source = (corpus / "photos" / "street-2725x2225.jpg").read_bytes()
    auto = transform(source, parse_options([("w", "320"), ("q", "auto")]), FORMATS["webp"])
    budget = len(auto.data) * 2 // 3
    query = [("w", "320"), ("q", "auto"), ("max_bytes", str(budget))]
    fitted = transform(source, parse_options(query), FORMATS["webp"])
    assert len(fitted.data) <= budget
    assert fitted.quality is not None and auto.quality is not None
    assert fitted.quality < auto.quality


def test_an_animated_webp_is_lowered_to_fit(corpus: Path) -> None:
    source = (corpus / "animated" / "rotating-squares.webp").read_bytes()
    plain = transform(source, parse_options([("fmt", "webp"), ("q", "90")]), FORMATS["webp"])
    budget = len(plain.data) * 2 // 3
    query = [("fmt", "webp"), ("q", "90"), ("max_bytes", str(budget))]
    fitted = transform(source, parse_options(query), FORMATS["webp"])
    assert len(fitted.data) <= budget
    with Image.open(__import__("io").BytesIO(fitted.data)) as image:
        assert getattr(image, "n_frames", 1) > 1


def test_fq_sets_the_quality_of_the_format_it_names_only() -> None:
    source = encode(gradient((300, 200)), "PNG")
    for fmt, quality in (("webp", "30"), ("jpeg", "40")):
        by_fq = transform(source, parse_options([("fq", "webp:30,jpg:40")]), FORMATS[fmt])
        by_q = transform(source, parse_options([("q", quality)]), FORMATS[fmt])
        assert by_fq.data == by_q.data
    avif_default = transform(source, parse_options([]), FORMATS["avif"])
    avif_fq = transform(source, parse_options([("fq", "webp:30")]), FORMATS["avif"])
    assert avif_fq.data == avif_default.data


def test_q_wins_over_fq_and_fq_has_one_canonical_spelling() -> None:
    assert parse_options([("q", "50"), ("fq", "webp:30")]).format_quality == ()
    options = parse_options([("fq", "webp:30,jpg:40")])
    assert options.canonical() == "fq=jpeg:40,webp:30"
    assert options.quality_for("webp") == 30 and options.quality_for("avif") is None


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("max_bytes=abc", "max_bytes"),
        ("max_bytes=99", "max_bytes"),
        ("max_bytes=1000000000", "max_bytes"),
        ("max_age=-1", "max_age"),
        ("max_age=1e3", "max_age"),
        ("fq=webp", "fq"),
        ("fq=png:50", "fq"),
        ("fq=webp:0", "fq"),
        ("fq=webp:101", "fq"),
        ("fq=webp:50,webp:60", "fq"),
        ("fq=webp:50,", "fq"),
        ("fmt=best&fq=webp:50", "fq"),
    ],
)
def test_bad_values_name_the_parameter(query: str, param: str) -> None:
    pairs = [tuple(pair.split("=", 1)) for pair in query.split("&")]
    with pytest.raises(InvalidOption) as caught:
        parse_options(pairs)  # type: ignore[arg-type]
    assert caught.value.param == param


def test_delivery_settings_do_not_make_an_encode_by_themselves() -> None:
    assert not parse_options([("max_age", "60"), ("max_bytes", "5000")]).reencodes
    assert parse_options([("fq", "webp:60")]).reencodes
