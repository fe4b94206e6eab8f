from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixserve.transformer import Fit, InvalidOption, Limits, Options, parse_options
from pixserve.transformer.options import FIELDS, Colour, Gravity, QualityTarget


def parse(query: str, limits: Limits | None = None) -> Options:
    return parse_options(parse_qsl(query, keep_blank_values=True), limits)


def test_empty_query_is_the_defaults() -> None:
    assert parse("") == Options()
    assert Options().canonical() == ""


def test_full_query() -> None:
    options = parse("w=300&h=200&dpr=2&fit=cover&fmt=jpg&q=75&v=abc")
    assert options == Options(300, 200, 2.0, Fit.COVER, "jpeg", 75, "abc")
    assert options.box == (600, 400)
    assert options.canonical() == "dpr=2&fit=cover&fmt=jpeg&h=200&q=75&v=abc&w=300"


def test_spellings_of_one_transform_share_a_canonical_form() -> None:
    a = parse("fmt=jpg&w=300&dpr=2.0&fit=inside")
    b = parse("w=300&dpr=2&fmt=jpeg")
    assert a == b and a.canonical() == b.canonical() == "dpr=2&fmt=jpeg&w=300"


def test_new_operations_canonical_form() -> None:
    options = parse(
        "w=200&h=100&fit=cover&fx=0.25&crop=10,20,300,200&bg=F00&blur=2.50&rot=90"
        "&flip=vh&trim=10&gray=true&lossless=1&enlarge=1&frame=3&sharpen=1"
    )
    assert options.canonical() == (
        "bg=ff0000&blur=2.5&crop=10,20,300,200&enlarge=1&fit=cover&flip=hv&frame=3&fx=0.25"
        "&gray=1&h=100&lossless=1&rot=90&sharpen=1&trim=10&w=200"
    )
    assert options.focus == (0.25, 0.5)
    assert parse("bg=00000080").background == Colour(0, 0, 0, 128)


def test_settings_without_effect_are_dropped() -> None:
    # fit needs both w and h; dpr needs a size to multiply
    assert parse("w=100&fit=cover").canonical() == "w=100"
    assert parse("dpr=3").canonical() == ""
    assert parse("w=100&gravity=north").canonical() == "w=100"  # gravity needs fit=cover
    assert parse("enlarge=1").canonical() == ""  # enlarge needs a size


@pytest.mark.parametrize(
    ("query", "param", "hint"),
    [
        ("w=0", "w", "1 to 8192"),
        ("w=8193", "w", "1 to 8192"),
        ("w=-5", "w", "1 to 8192"),
        ("w=1.5", "w", "integer"),
        ("w=", "w", "integer"),
        ("h=abc", "h", "1 to 8192"),
        ("dpr=0.5", "dpr", "1 to 4"),
        ("dpr=5", "dpr", "1 to 4"),
        ("dpr=nan", "dpr", "1 to 4"),
        ("dpr=inf", "dpr", "1 to 4"),
        ("fit=stretch", "fit", "inside, cover, contain, fill, outside"),
        ("gravity=up", "gravity", "center, north, south"),
        ("fx=1.5", "fx", "0 to 1"),
        ("crop=1,2,3", "crop", "x,y,w,h"),
        ("crop=0,0,0,5", "crop", "at least 1"),
        ("bg=red", "bg", "RRGGBB"),
        ("bg=12345", "bg", "RRGGBBAA"),
        ("blur=0.1", "blur", "0.3 to 100"),
        ("sharpen=11", "sharpen", "0.3 to 10"),
        ("rot=45", "rot", "0, 90, 180, 270"),
        ("flip=x", "flip", "h, v, hv"),
        ("trim=300", "trim", "0 to 255"),
        ("gray=yes", "gray", "1 or 0"),
        ("enlarge=2", "enlarge", "1 or 0"),
        ("frame=-1", "frame", "integer"),
        ("gravity=north&fx=0.2", "gravity", "either gravity or a focal point"),
        ("fmt=bmp", "fmt", "auto, best, jpeg, png, webp, avif, gif"),
        ("q=0", "q", "1 to 100"),
        ("q=101", "q", "1 to 100"),
        ("v=", "v", "letters, digits"),
        ("v=" + "x" * 65, "v", "1 to 64"),
        ("v=a b", "v", "letters"),
        ("width=300", "width", "the parameters are w, h, dpr, fit, fmt, q, v"),
        ("w=1&w=2", "w", "more than once"),
    ],
)
def test_invalid_values_name_the_parameter_and_what_is_allowed(
    query: str, param: str, hint: str
) -> None:
    with pytest.raises(InvalidOption) as caught:
        parse(query)
    assert caught.value.param == param
    assert hint in caught.value.detail
    assert caught.value.status == 400


def test_max_dimension_comes_from_limits() -> None:
    assert parse("w=500", Limits(max_dimension=500)).width == 500
    with pytest.raises(InvalidOption, match="1 to 500"):
        parse("w=501", Limits(max_dimension=500))


def test_error_messages_stay_short_for_huge_values() -> None:
    with pytest.raises(InvalidOption) as caught:
        parse("w=" + "9" * 10_000)
    assert len(caught.value.detail) < 200


def decimals(low: str, high: str, places: int) -> st.SearchStrategy[float]:
    return st.decimals(Decimal(low), Decimal(high), places=places).map(float)


def _one_placement(options: Options) -> Options:
    """A URL names a gravity or a focal point, never both."""
    if options.gravity is Gravity.CENTER:
        return options
    return replace(options, focus_x=None, focus_y=None)


valid_options = (
    st.builds(
        Options,
        width=st.none() | st.integers(1, 8192),
        height=st.none() | st.integers(1, 8192),
        dpr=decimals("1", "4", 2),
        fit=st.sampled_from(Fit),
        fmt=st.sampled_from(["auto", "jpeg", "png", "webp", "avif", "gif"]),
        quality=st.none()
        | st.integers(1, 100)
        | st.sampled_from(QualityTarget.levels())
        | st.builds(QualityTarget, st.integers(30, 95)),
        version=st.none() | st.from_regex(r"[A-Za-z0-9._~-]{1,64}", fullmatch=True),
        gravity=st.sampled_from(Gravity),
        crop=st.none() | st.tuples(*[st.integers(0, 9999)] * 2, *[st.integers(1, 9999)] * 2),
        enlarge=st.booleans(),
        background=st.none() | st.builds(Colour, *[st.integers(0, 255)] * 4),
        blur=st.none() | decimals("0.3", "100", 2),
        sharpen=st.none() | decimals("0.3", "10", 2),
        rotate=st.sampled_from([0, 90, 180, 270]),
        flip=st.sampled_from([None, "h", "v", "hv"]),
        trim=st.none() | st.integers(0, 255),
        gray=st.booleans(),
        lossless=st.booleans(),
        frame=st.none() | st.integers(0, 1000),
        focus_x=st.none() | decimals("0", "1", 3),
        focus_y=st.none() | decimals("0", "1", 3),
    )
    .map(_one_placement)
    .map(Options.normalised)
)


@given(valid_options)
def test_canonical_form_round_trips(options: Options) -> None:
    again = parse(options.canonical())
    assert again == options
    assert again.canonical() == options.canonical()


@given(st.sampled_from(sorted(FIELDS)), st.text(max_size=20))
def test_any_value_parses_or_fails_naming_its_parameter(name: str, value: str) -> None:
    try:
        parse_options([(name, value)])
    except InvalidOption as error:
        assert error.param == name
        assert name in error.detail
