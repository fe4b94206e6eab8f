"""thumbor URLs: parsing (imagor's `imagorpath/params_test.go` table, re-expressed),
translation into pixserve's pairs, and the refusals, each naming the option."""

from __future__ import annotations

from typing import Any

import pytest

from pixserve.dialects import thumbor
from pixserve.dialects.common import SourceMap, Verdict
from pixserve.dialects.thumbor import Filter, ThumborSettings
from pixserve.transformer import InvalidOption
from tests.dialects.test_filter_urls import COLOUR_FILTER_EXAMPLES

ALL_OPTIONS = "meta/trim/10x11:12x13/fit-in/-300x-200/left/top/smart/filters:some_filter()/"
GLOBO = "s.glbimg.com/es/ge/f/original/2011/03/29/orlandosilva_60.jpg"
WATERMARKED = f"filters:watermark({GLOBO},0,0,0):brightness(-50):grayscale()/img"
NESTED = (
    "filters:watermark(s.glbimg.com/filters:label(abc):watermark(aaa.com/fit-in/"
    "filters:aaa(bbb))/aaa.jpg,0,0,0):brightness(-50):grayscale()/img"
)
EVERYTHING: dict[str, Any] = {
    "meta": True,
    "trim": "top-left",
    "crop": (10, 11, 12, 13),
    "fit_in": "fit-in",
    "width": 300,
    "height": 200,
    "hflip": True,
    "vflip": True,
    "halign": "left",
    "valign": "top",
    "smart": True,
    "filters": (Filter("some_filter"),),
}

# imagor's TestParseGenerate rows that are thumbor URLs: path -> the parts we expect.
PARSE_TABLE: list[tuple[str, dict[str, Any]]] = [
    (ALL_OPTIONS + "img", {**EVERYTHING, "image": "img"}),
    (
        "meta/trim:bottom-right:100/10x11:12x13/fit-in/-300x-200/left/top/smart/"
        f"filters:some_filter()/{GLOBO}",
        {**EVERYTHING, "trim": "bottom-right", "trim_tolerance": 100, "image": GLOBO},
    ),
    (
        f"filters:watermark({GLOBO},0,0,0)/img",
        {"image": "img", "filters": (Filter("watermark", f"{GLOBO},0,0,0"),)},
    ),
    (
        WATERMARKED,
        {
            "image": "img",
            "filters": (
                Filter("watermark", f"{GLOBO},0,0,0"),
                Filter("brightness", "-50"),
                Filter("grayscale"),
            ),
        },
    ),
    (
        NESTED,
        {
            "image": "img",
            "filters": (
                Filter(
                    "watermark",
                    "s.glbimg.com/filters:label(abc):watermark(aaa.com/fit-in/filters:aaa(bbb))"
                    "/aaa.jpg,0,0,0",
                ),
                Filter("brightness", "-50"),
                Filter("grayscale"),
            ),
        },
    ),
    (
        "filters:label(哈哈,1,2,3):brightness(-50):grayscale()/img",
        {
            "image": "img",
            "filters": (
                Filter("label", "哈哈,1,2,3"),
                Filter("brightness", "-50"),
                Filter("grayscale"),
            ),
        },
    ),
    (
        "unsafe/https://foobar/en/latest/_images/man_before_sharpen.png",
        {"unsafe": True, "image": "https://foobar/en/latest/_images/man_before_sharpen.png"},
    ),
    (
        "unsafe/https:%2F%2Ffoobar%2Fen%2Flatest%2F_images%2Fman_before_sharpen.png%3Ffoo=bar",
        {
            "unsafe": True,
            "image": "https://foobar/en/latest/_images/man_before_sharpen.png?foo=bar",
        },
    ),
    *[
        (f"unsafe/{word}%2Fimg", {"unsafe": True, "image": f"{word}/img"})
        for word in ("trim", "meta", "center", "smart", "fit-in", "stretch", "top", "left")
    ],
    *[
        (f"unsafe/{word}%2Fimg", {"unsafe": True, "image": f"{word}/img"})
        for word in ("right", "bottom")
    ],
    ("unsafe/photo%281%29.jpg", {"unsafe": True, "image": "photo(1).jpg"}),
    ("unsafe/photo%2Cversion2.jpg", {"unsafe": True, "image": "photo,version2.jpg"}),
    (
        "unsafe/my%20image%20%28special%2C%20v2%29.jpg",
        {"unsafe": True, "image": "my image (special, v2).jpg"},
    ),
    (
        "unsafe/filters:blur(5)/photo%281%29.jpg",
        {"unsafe": True, "image": "photo(1).jpg", "filters": (Filter("blur", "5"),)},
    ),
    (
        "unsafe/stretch/500x350/filters:watermark(http://thumborize.me/static/img/beach.jpg,"
        "100,100,50)/http://thumborize.me/static/img/beach.jpg",
        {
            "unsafe": True,
            "stretch": True,
            "width": 500,
            "height": 350,
            "image": "http://thumborize.me/static/img/beach.jpg",
            "filters": (
                Filter("watermark", "http://thumborize.me/static/img/beach.jpg,100,100,50"),
            ),
        },
    ),
    (
        "adaptive-fit-in/300x200/img",
        {"fit_in": "adaptive-fit-in", "width": 300, "height": 200, "image": "img"},
    ),
    ("full-fit-in/300x200/img", {"fit_in": "full-fit-in", "width": 300, "height": 200}),
    (
        "adaptive-full-fit-in/300x200/img",
        {"fit_in": "adaptive-full-fit-in", "width": 300, "height": 200, "image": "img"},
    ),
    (
        "adaptive-fit-in/300x200/filters:blur(5)/img",
        {"fit_in": "adaptive-fit-in", "filters": (Filter("blur", "5"),), "image": "img"},
    ),
    ("full-fit-in/300x200/smart/img", {"fit_in": "full-fit-in", "smart": True}),
    ("949x1000/img.jpg", {"width": 949, "height": 1000, "image": "img.jpg"}),
    ("1000x1000/img.jpg", {"width": 1000, "height": 1000, "signature": None}),
    ("1920x1080/img.jpg", {"width": 1920, "height": 1080, "signature": None}),
    (
        "-1920x-1080/img.jpg",
        {"width": 1920, "height": 1080, "hflip": True, "vflip": True, "signature": None},
    ),
    (
        "unsafe/949x1000/Google Photos/IMG_20180519_191530.jpg",
        {"width": 949, "height": 1000, "image": "Google Photos/IMG_20180519_191530.jpg"},
    ),
    ("99999x99999/img.jpg", {"width": 99999, "height": 99999, "image": "img.jpg"}),
    (
        "VTAq7YIRbEXgtwAcsTMhAjvBuT8=/meta/10x11:12x13/fit-in/300x200/img",
        {"signature": "VTAq7YIRbEXgtwAcsTMhAjvBuT8=", "meta": True, "crop": (10, 11, 12, 13)},
    ),
    # thumbor's own size spellings
    ("unsafe/origx100/img", {"width": "orig", "height": 100}),
    ("unsafe/0x100/img", {"width": 0, "height": 100}),
    ("unsafe/x100/img", {"width": None, "height": 100}),
    ("unsafe/300x/img", {"width": 300, "height": None}),
    ("unsafe/trim:50/img", {"trim": "top-left", "trim_tolerance": 50}),
]


@pytest.mark.parametrize(("path", "expected"), PARSE_TABLE)
def test_parse(path: str, expected: dict[str, Any]) -> None:
    parsed = thumbor.parse(path)
    assert {name: getattr(parsed, name) for name in expected} == expected


@pytest.mark.parametrize(
    ("path", "option"),
    [
        # imagor's additions to the thumbor URL, refused by name
        ("/unsafe/fit-in/300x200/5x6/img", "5x6"),
        ("/unsafe/0.2x0.15:0.45x0.67/fit-in/300x200/img", "0.2x0.15:0.45x0.67"),
        ("/unsafe/debug/300x200/img", "debug"),
    ],
)
def test_segments_pixserve_lacks_are_refused(path: str, option: str) -> None:
    with pytest.raises(InvalidOption) as error:
        thumbor.parse(path)
    assert error.value.param == option


UNSAFE = ThumborSettings(allow_unsafe=True)


def _pairs(path: str, size: tuple[int, int] = (800, 600)) -> dict[str, str]:
    translated = thumbor.translate(path, UNSAFE, lambda name: size)
    assert translated.verdict is Verdict.UNSIGNED and translated.name is not None
    return dict(translated.pairs)


TRANSLATION_TABLE: list[tuple[str, dict[str, str]]] = [
    ("/unsafe/img.jpg", {}),
    ("/unsafe/0x0/img.jpg", {}),
    # thumbor's window on whole source pixels (800x533 of 800x600, centred: top 33.5 rounds
    # to 34), resized to exactly the size asked
    (
        "/unsafe/300x200/img.jpg",
        {"crop": "0,34,800,533", "w": "300", "h": "200", "fit": "fill", "enlarge": "1"},
    ),
    ("/unsafe/300x0/img.jpg", {"w": "300", "enlarge": "1"}),
    ("/unsafe/fit-in/300x0/img.jpg", {"w": "300"}),
    (
        "/unsafe/origx100/img.jpg",
        {"crop": "0,250,800,100", "w": "800", "h": "100", "fit": "fill", "enlarge": "1"},
    ),
    # thumbor's fit-in size (266.67 -> 267) is pixserve's own here: its own fit
    ("/unsafe/fit-in/300x200/img.jpg", {"w": "300", "h": "200", "fit": "inside"}),
    (
        "/unsafe/fit-in/300x200/filters:upscale()/img.jpg",
        {"w": "300", "h": "200", "fit": "inside", "enlarge": "1"},
    ),
    (
        "/unsafe/300x200/filters:no_upscale()/img.jpg",
        {"crop": "0,34,800,533", "w": "300", "h": "200", "fit": "fill", "enlarge": "1"},
    ),
    (
        "/unsafe/full-fit-in/300x200/img.jpg",
        {"w": "300", "h": "200", "fit": "outside", "enlarge": "1"},
    ),
    # adaptive: a portrait box for a landscape source is turned
    ("/unsafe/adaptive-fit-in/200x300/img.jpg", {"w": "300", "h": "200", "fit": "inside"}),
    (
        "/unsafe/stretch/300x200/img.jpg",
        {"w": "300", "h": "200", "fit": "fill", "enlarge": "1"},
    ),
    (
        "/unsafe/fit-in/300x200/filters:fill(00ff00)/img.jpg",
        {"w": "300", "h": "200", "fit": "contain", "bg": "00ff00"},
    ),
    (
        "/unsafe/fit-in/300x200/filters:fill(white)/img.jpg",
        {"w": "300", "h": "200", "fit": "contain", "bg": "ffffff"},
    ),
    (
        "/unsafe/fit-in/300x200/filters:fill(transparent):format(png)/img.jpg",
        {"w": "300", "h": "200", "fit": "contain", "bg": "00000000", "fmt": "png"},
    ),
    ("/unsafe/filters:background_color(ff0000)/img.jpg", {"bg": "ff0000"}),
    (
        "/unsafe/300x200/left/top/img.jpg",
        {"crop": "0,0,800,533", "w": "300", "h": "200", "fit": "fill", "enlarge": "1"},
    ),
    (
        "/unsafe/200x300/right/img.jpg",
        {"crop": "400,0,400,600", "w": "200", "h": "300", "fit": "fill", "enlarge": "1"},
    ),
    (
        "/unsafe/300x200/bottom/img.jpg",
        {"crop": "0,67,800,533", "w": "300", "h": "200", "fit": "fill", "enlarge": "1"},
    ),
    # flipped: thumbor cuts the left window and then mirrors it, and so does pixserve
    (
        "/unsafe/-200x300/left/img.jpg",
        {
            "crop": "0,0,400,600",
            "w": "200",
            "h": "300",
            "fit": "fill",
            "enlarge": "1",
            "flip": "h",
        },
    ),
    (
        "/unsafe/300x200/smart/img.jpg",
        {"w": "300", "h": "200", "fit": "cover", "enlarge": "1", "gravity": "attention"},
    ),
    (
        "/unsafe/200x300/filters:focal(100x200:300x400)/img.jpg",
        {"crop": "0,0,400,600", "w": "200", "h": "300", "fit": "fill", "enlarge": "1"},
    ),
    ("/unsafe/10x20:410x320/img.jpg", {"crop": "10,20,400,300"}),
    ("/unsafe/10x20:9000x9000/img.jpg", {"crop": "10,20,790,580"}),  # clamped, as thumbor
    ("/unsafe/trim/img.jpg", {"trim": "0"}),
    ("/unsafe/trim:40/img.jpg", {"trim": "40"}),
    ("/unsafe/filters:format(webp)/img.jpg", {"fmt": "webp"}),
    ("/unsafe/filters:format(jpg)/img.jpg", {"fmt": "jpeg"}),
    ("/unsafe/filters:quality(60)/img.jpg", {"q": "60"}),
    ("/unsafe/filters:grayscale()/img.jpg", {"gray": "1"}),
    # wider: a plain Gaussian as spread as thumbor's cut-off one (0.58 of its sigma at radius 5)
    ("/unsafe/filters:blur(5)/img.jpg", {"blur": "2.92"}),
    # thumbor's filters apply in the URL's order: the colour tables follow it
    (
        "/unsafe/filters:contrast(20):brightness(10)/img.jpg",
        {"brightness": "10", "contrast": "1.44", "order": "contrast,brightness"},
    ),
    (
        "/unsafe/filters:brightness(10):contrast(20)/img.jpg",
        {"brightness": "10", "contrast": "1.44"},
    ),
    # up to radius 4, thumbor's own kernel: its Gaussian cut off at the radius
    (
        "/unsafe/filters:blur(1)/img.jpg",
        {"convolution": "3:367.879,606.531,367.879,606.531,1000,606.531,367.879,606.531,367.879"},
    ),
    ("/unsafe/filters:blur(5,2)/img.jpg", {"blur": "1.95"}),
    ("/unsafe/filters:blur(0)/img.jpg", {}),
    ("/unsafe/filters:sharpen(2,1.5,true)/img.jpg", {"wavelet_sharpen": "2,1.5,1"}),
    ("/unsafe/filters:sharpen(0,1,false)/img.jpg", {}),
    ("/unsafe/filters:rotate(90)/img.jpg", {"rot": "270"}),  # thumbor turns anticlockwise
    ("/unsafe/filters:rotate(270)/img.jpg", {"rot": "90"}),
    ("/unsafe/filters:rotate(360)/img.jpg", {}),
    ("/unsafe/filters:strip_exif():strip_icc()/img.jpg", {}),
]


@pytest.mark.parametrize(("path", "expected"), TRANSLATION_TABLE)
def test_translate(path: str, expected: dict[str, str]) -> None:
    assert _pairs(path) == expected


def test_fit_in_rounds_halves_up_as_thumbor() -> None:
    """1920x1080 in 1000x1000: 562.5 high, which thumbor rounds up (pixserve's own fit
    rounds half to even): so that size is asked exactly."""
    expected = {"w": "1000", "h": "563", "fit": "fill", "enlarge": "1"}
    assert _pairs("/unsafe/fit-in/1000x1000/img.jpg", (1920, 1080)) == expected


REFUSED_TABLE: list[tuple[str, str]] = [
    ("/unsafe/trim:bottom-right/img.jpg", "trim:bottom-right"),
    ("/unsafe/filters:max_bytes(-5)/img.jpg", "max_bytes(-5)"),
    ("/unsafe/filters:max_age(soon)/img.jpg", "max_age(soon)"),
    ("/unsafe/filters:autojpg(maybe)/img.jpg", "autojpg(maybe)"),
    ("/unsafe/filters:cover(1)/img.jpg", "cover(1)"),
    ("/unsafe/filters:proportion(x)/img.jpg", "proportion(x)"),
    ("/unsafe/filters:proportion(1000)/img.jpg", "proportion(1000)"),
    ("/unsafe/filters:background_color(blur)/img.jpg", "background_color(blur)"),
    ("/unsafe/filters:fill(red,true)/img.jpg", "fill(red,true)"),
    ("/unsafe/filters:fill(notacolour)/img.jpg", "fill(notacolour)"),
    ("/unsafe/filters:rotate(45)/img.jpg", "rotate(45)"),
    ("/unsafe/filters:quality(0)/img.jpg", "quality(0)"),
    ("/unsafe/filters:quality(101)/img.jpg", "quality(101)"),
    ("/unsafe/filters:format(heic)/img.jpg", "format(heic)"),
    ("/unsafe/filters:format(tiff)/img.jpg", "format(tiff)"),
    ("/unsafe/filters:blur(200)/img.jpg", "blur(200)"),
    ("/unsafe/filters:sharpen(2)/img.jpg", "sharpen(2)"),
    ("/unsafe/filters:watermark(a.png,0,0)/img.jpg", "watermark(a.png,0,0)"),
    ("/unsafe/filters:watermark(a.png,left,0,0)/img.jpg", "watermark(a.png,left,0,0)"),
    ("/unsafe/filters:no_such_filter()/img.jpg", "no_such_filter()"),
    ("/unsafe/filters:focal(1x2)/img.jpg", "focal(1x2)"),
    ("/unsafe/99999x100/img.jpg", "99999x100"),  # over max_dimension: named as written
]


@pytest.mark.parametrize(("path", "option"), REFUSED_TABLE)
def test_refused_with_the_option_named(path: str, option: str) -> None:
    with pytest.raises(InvalidOption) as error:
        thumbor.translate(path, UNSAFE, lambda name: (800, 600))
    assert error.value.param == option
    assert option in error.value.detail


EXAMPLE_ARGUMENTS = {
    "background_color": "fff",
    "blur": "2",
    "fill": "red",
    "focal": "1x2:3x4",
    "format": "webp",
    "quality": "80",
    "rotate": "180",
    "sharpen": "1,1,true",
    **{name: arguments for name, (arguments, _) in COLOUR_FILTER_EXAMPLES.items()},
    "max_age": "60",
    "max_bytes": "5000",
    "proportion": "0.5",
    "watermark": "logo.png,-10,-10,50",
    "frame": "frame.png",
}


@pytest.mark.parametrize(
    ("filters", "refused"), [(name, name in thumbor.REFUSED_FILTERS) for name in thumbor.FILTERS]
)
def test_every_filter_is_either_mapped_or_refused(filters: str, refused: bool) -> None:
    """docs/dialects.md's table lists `thumbor.FILTERS`; none may fall through silently."""
    path = f"/unsafe/filters:{filters}({EXAMPLE_ARGUMENTS.get(filters, '')})/img.jpg"
    if refused:
        with pytest.raises(InvalidOption):
            thumbor.translate(path, UNSAFE, lambda name: (800, 600))
    else:
        assert thumbor.translate(path, UNSAFE, lambda name: (800, 600)).name == "img.jpg"


def test_strip_icc_is_refused_when_profiles_are_kept() -> None:
    keeping = ThumborSettings(allow_unsafe=True, keeps_icc_profiles=True)
    with pytest.raises(InvalidOption):
        thumbor.translate("/unsafe/filters:strip_icc()/img.jpg", keeping, lambda name: (8, 6))


def test_format_is_open_unless_a_format_filter_names_one() -> None:
    assert thumbor.translate("/unsafe/300x0/img.jpg", UNSAFE, lambda name: (8, 6)).format_open
    named = thumbor.translate("/unsafe/filters:format(png)/img.jpg", UNSAFE, lambda name: (8, 6))
    assert not named.format_open


@pytest.mark.parametrize(
    ("sources", "reference", "name"),
    [
        (("=",), "photos/a.jpg", "photos/a.jpg"),
        (("=",), "http://photos/a.jpg", "photos/a.jpg"),  # the loader's scheme is optional
        (("cdn.example.com/img/=web",), "cdn.example.com/img/a.jpg", "web/a.jpg"),
        (("cdn.example.com/img/=web",), "https://cdn.example.com/img/a.jpg", "web/a.jpg"),
        (("cdn.example.com/img/=web",), "evil.example.org/a.jpg", None),
        (("cdn.example.com/=web", "cdn.example.com/x/=x"), "cdn.example.com/x/a.jpg", "x/a.jpg"),
    ],
)
def test_source_mapping(sources: tuple[str, ...], reference: str, name: str | None) -> None:
    settings = ThumborSettings(allow_unsafe=True, sources=SourceMap.parse("s", sources))
    translated = thumbor.translate(f"/unsafe/{reference}", settings, lambda name: (8, 6))
    assert translated.verdict is Verdict.UNSIGNED
    assert translated.name == name
