"""imgproxy URLs: parsing and translation, re-expressing the rows of imgproxy's
`options/parser/processing_options_test.go` that pixserve can honour, and the rest
as 400s naming the option."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest

from pixserve.dialects import imgproxy
from pixserve.dialects.common import SourceMap, Verdict
from pixserve.dialects.imgproxy import ImgproxySettings, Option
from pixserve.transformer import InvalidOption

ORIGIN = "http://images.dev/lorem/ipsum.jpg?param=value"
PLAIN = "http://images.dev/lorem/ipsum.jpg"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


# path -> options (long name, args), source, extension
PARSE_TABLE: list[tuple[str, list[tuple[str, tuple[str, ...]]], str, str | None]] = [
    (f"/sig/size:100:100/{b64(ORIGIN)}.png", [("size", ("100", "100"))], ORIGIN, "png"),
    (f"/sig/size:100:100/{b64(ORIGIN)}", [("size", ("100", "100"))], ORIGIN, None),
    (f"/sig/size:100:100/plain/{ORIGIN}@png", [("size", ("100", "100"))], ORIGIN, "png"),
    (f"/sig/size:100:100/plain/{ORIGIN}", [("size", ("100", "100"))], ORIGIN, None),
    (
        f"/sig/size:100:100/plain/{quote(ORIGIN, safe='')}@png",
        [("size", ("100", "100"))],
        ORIGIN,
        "png",
    ),
    # a base64 source may be split into segments
    (f"/sig/w:10/{b64(ORIGIN)[:10]}/{b64(ORIGIN)[10:]}.webp", [("width", ("10",))], ORIGIN, "webp"),
    (f"/sig/format:webp/plain/{PLAIN}", [("format", ("webp",))], PLAIN, None),
    (
        f"/sig/resize:fill:100:200:1/plain/{PLAIN}",
        [("resize", ("fill", "100", "200", "1"))],
        PLAIN,
        None,
    ),
    (
        f"/sig/rs:fill:300:400:0/g:sm/{b64('http://example.com/images/curiosity.jpg')}.png",
        [("resize", ("fill", "300", "400", "0")), ("gravity", ("sm",))],
        "http://example.com/images/curiosity.jpg",
        "png",
    ),
    ("/sig/plain/local:///a/b.jpg", [], "local:///a/b.jpg", None),
]


@pytest.mark.parametrize(("path", "options", "source", "extension"), PARSE_TABLE)
def test_parse(
    path: str, options: list[tuple[str, tuple[str, ...]]], source: str, extension: str | None
) -> None:
    parsed = imgproxy.parse(path)
    assert [(option.name, option.args) for option in parsed.options] == options
    assert (parsed.source, parsed.extension) == (source, extension)


def test_parse_keeps_the_spelling_for_messages() -> None:
    assert imgproxy.parse("/s/rs:fit:1:2/plain/x").options == (
        Option("resize", ("fit", "1", "2"), "rs:fit:1:2"),
    )


SETTINGS = ImgproxySettings(
    allow_insecure=True,
    sources=SourceMap.parse("s", ["local:///=", "http://images.dev/=dev"]),
    presets={"test1": "resizing_type:fill", "test2": "blur:2/quality:50"},
    clock=lambda: 1_700_000_000.0,
)


def _pairs(options: str, settings: ImgproxySettings = SETTINGS) -> dict[str, str] | None:
    translated = imgproxy.translate(
        f"/insecure/{options}/plain/{PLAIN}".replace("//plain", "/plain"),
        settings,
        lambda name: (800, 600),
    )
    assert translated.verdict is Verdict.UNSIGNED
    return None if translated.name is None else dict(translated.pairs)


TRANSLATION_TABLE: list[tuple[str, dict[str, str] | None]] = [
    ("", {}),
    ("format:webp", {"fmt": "webp"}),
    ("f:jpg", {"fmt": "jpeg"}),
    ("resize:fill:100:200:1", {"w": "100", "h": "200", "fit": "cover", "enlarge": "1"}),
    ("rs:fit:100:200", {"w": "100", "h": "200", "fit": "inside"}),
    ("rs:force:100:200", {"w": "100", "h": "200", "fit": "fill"}),
    ("rs:fill-down:100:200", {"w": "100", "h": "200", "fit": "cover"}),
    ("rs:auto:100:50", {"w": "100", "h": "50", "fit": "cover"}),  # same orientation: fill
    ("rs:auto:50:100", {"w": "50", "h": "100", "fit": "inside"}),  # turned: fit
    ("rs:fit:100:200:0:1", {"w": "100", "h": "200", "fit": "contain"}),
    ("resizing_type:fill", {}),  # no box: nothing to fill
    ("size:100:200:1", {"w": "100", "h": "200", "fit": "inside", "enlarge": "1"}),
    ("s:100:0", {"w": "100"}),
    ("width:100", {"w": "100"}),
    ("w:100/w:0", {}),
    ("height:100", {"h": "100"}),
    ("enlarge:1/w:2000", {"w": "2000", "enlarge": "1"}),
    ("ex:1/rs:fit:300:300", {"w": "300", "h": "300", "fit": "contain"}),
    ("ex:1:ce/rs:fit:300:300", {"w": "300", "h": "300", "fit": "contain"}),
    ("gravity:soea/rs:fill:10:10", {"w": "10", "h": "10", "fit": "cover", "gravity": "southeast"}),
    ("g:sm/rs:fill:10:10", {"w": "10", "h": "10", "fit": "cover", "gravity": "attention"}),
    (
        "gravity:fp:0.5:0.75/rs:fill:10:10",
        {"w": "10", "h": "10", "fit": "cover", "fx": "0.5", "fy": "0.75"},
    ),
    ("crop:100:200", {"crop": "350,200,100,200"}),  # centred in 800x600
    ("c:100:200:nowe", {"crop": "0,0,100,200"}),
    ("c:0.5:0.5:soea", {"crop": "400,300,400,300"}),
    ("c:100:100:fp:0:0", {"crop": "0,0,100,100"}),
    ("c:0:0", {}),
    ("quality:55", {"q": "55"}),
    ("q:0", {}),
    ("background:128:129:130", {"bg": "808182"}),
    ("background:ffddee", {"bg": "ffddee"}),
    ("background:fff/background:", {}),
    ("blur:2", {"blur": "2"}),
    ("bl:0", {}),
    ("sharpen:0.5", {"sharpen": "0.5"}),
    ("dpr:2/w:100", {"w": "100", "dpr": "2"}),
    ("rotate:90", {"rot": "90"}),
    ("rot:-90", {"rot": "270"}),
    ("flip:1:0", {"flip": "h"}),
    ("fl:1:1", {"flip": "hv"}),
    ("trim:10", {"trim": "10"}),
    ("t:1000", {"trim": "255"}),
    (
        "preset:test1:test2/rs::10:10",
        {"w": "10", "h": "10", "fit": "cover", "blur": "2", "q": "50"},
    ),
    ("pr:test2/q:70", {"blur": "2", "q": "70"}),  # later options win
    ("cachebuster:123", {"v": "123"}),
    ("strip_metadata:true", {}),
    ("sm:1/kcr:0/scp:1/ar:1/mb:0", {}),
    ("exp:32503669200", {}),
    ("exp:1609448400", None),  # expired: imgproxy answers 404
]


@pytest.mark.parametrize(("options", "expected"), TRANSLATION_TABLE)
def test_translate(options: str, expected: dict[str, str] | None) -> None:
    assert _pairs(options) == expected


def test_the_default_preset_comes_first() -> None:
    settings = ImgproxySettings(
        allow_insecure=True, presets={"default": "resizing_type:fill/blur:2/quality:50"}
    )
    translated = imgproxy.translate(
        "/insecure/quality:70/rs::10:10/plain/local:///a.jpg", settings, lambda name: (8, 6)
    )
    # fill of an 8x6 picture in 10x10, not enlarged: imgproxy keeps all of it (8x6)
    assert dict(translated.pairs) == {"w": "8", "h": "6", "fit": "cover", "blur": "2", "q": "70"}


def test_presets_that_name_each_other_apply_once() -> None:
    settings = ImgproxySettings(
        allow_insecure=True,
        presets={"test1": "resizing_type:fill/preset:test2", "test2": "blur:2/preset:test1"},
    )
    translated = imgproxy.translate(
        "/insecure/preset:test1/plain/local:///a.jpg", settings, lambda name: (8, 6)
    )
    assert dict(translated.pairs) == {"blur": "2"}


REFUSED_TABLE: list[tuple[str, str]] = [
    ("extend:1:so:10:20", "extend:1:so:10:20"),
    ("extend:1:sm", "extend:1:sm"),
    ("gravity:re", "gravity:re"),
    ("g:nowe:10:20", "g:nowe:10:20"),
    ("crop:100:200:re", "crop:100:200:re"),
    ("crop:100:200:nowe:10:20", "crop:100:200:nowe:10:20"),
    ("blur:0.2", "blur:0.2"),  # pixserve's blur starts at sigma 0.3
    ("sharpen:0.2", "sharpen:0.2"),
    ("watermark:0.5:soea:10:20:0.6", "watermark:0.5:soea:10:20:0.6"),
    ("ph:1", "ph:1"),
    ("skp:jpg:png", "skp:jpg:png"),
    ("mw:-1", "mw:-1"),
    ("z:2:3:4", "z:2:3:4"),
    ("z:0", "z:0"),
    ("exar:1:no", "exar:1:no"),
    ("pd:10:x", "pd:10:x"),
    ("wm:0.5:zz", "wm:0.5:zz"),
    ("eth:1", "eth:1"),
    ("fq:jpg", "fq:jpg"),
    ("fq:tga:80", "fq:tga:80"),
    ("fn:x", "fn:x"),
    ("att:1", "att:1"),
    ("msr:10", "msr:10"),
    ("max_bytes:-1", "max_bytes:-1"),
    ("sm:0", "sm:0"),
    ("kcr:1", "kcr:1"),
    ("scp:0", "scp:0"),
    ("ar:0", "ar:0"),
    ("rot:45", "rot:45"),
    ("t:10:ff0000", "t:10:ff0000"),
    ("t:10::1:1", "t:10::1:1"),
    ("format:tiff", "format:tiff"),
    ("format:best", "format:best"),
    ("q:101", "q:101"),
    ("dpr:0.5", "dpr:0.5"),
    ("dpr:2/w:9000", "w:9000"),  # over pixserve's max_dimension
    ("preset:nope", "preset:nope"),
    ("enlarge:maybe", "enlarge:maybe"),
    ("bg:zz", "bg:zz"),
    ("no_such_option:1", "no_such_option:1"),
]


@pytest.mark.parametrize(("options", "option"), REFUSED_TABLE)
def test_refused_with_the_option_named(options: str, option: str) -> None:
    with pytest.raises(InvalidOption) as error:
        _pairs(options)
    assert error.value.param == option


@pytest.mark.parametrize("name", imgproxy.OPTIONS)
def test_every_option_is_either_mapped_or_refused(name: str) -> None:
    """docs/dialects.md's table lists `imgproxy.OPTIONS`; none may be unknown to us."""
    assert (name in imgproxy.MAPPED_OPTIONS) != (name in imgproxy.REFUSED_OPTIONS)
    long_names = set(imgproxy.ALIASES.values())
    assert name in long_names or name in ("dpr", "raw")


def test_format_is_open_without_format_or_extension() -> None:
    def translated(path: str) -> bool:
        return imgproxy.translate(path, SETTINGS, lambda name: (8, 6)).format_open

    assert translated("/insecure/w:10/plain/local:///a.jpg")
    assert not translated("/insecure/w:10/plain/local:///a.jpg@png")
    assert not translated(f"/insecure/w:10/{b64('local:///a.jpg')}.webp")
    assert not translated("/insecure/f:png/plain/local:///a.jpg")


@pytest.mark.parametrize(
    ("source", "name"),
    [
        ("local:///a/b.jpg", "a/b.jpg"),
        ("http://images.dev/x.jpg", "dev/x.jpg"),
        ("https://images.dev/x.jpg", None),
        ("s3://bucket/x.jpg", None),
        ("http://evil.example/x.jpg", None),
    ],
)
def test_source_mapping(source: str, name: str | None) -> None:
    translated = imgproxy.translate(f"/insecure/plain/{source}", SETTINGS, lambda name: (8, 6))
    assert translated.verdict is Verdict.UNSIGNED
    assert translated.name == name


def test_bad_sources_are_refused() -> None:
    with pytest.raises(InvalidOption):
        imgproxy.translate("/insecure/w:1/%%%not-base64", SETTINGS, lambda name: (8, 6))
    with pytest.raises(InvalidOption):
        imgproxy.translate("/insecure/w:1/plain/a@png@jpg", SETTINGS, lambda name: (8, 6))
