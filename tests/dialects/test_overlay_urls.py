"""thumbor's `watermark`, `frame` and `fill(blur|auto)`, imgproxy's `watermark`,
`watermark_url` and `padding`, in pixserve's parameters: each dialect's own semantics
(positions, alpha against opacity, ratios against scale, missing sides), and the
refusals, each naming the option as written."""

from __future__ import annotations

import base64

import pytest

from pixserve.dialects import imgproxy, thumbor
from pixserve.dialects.common import SourceMap
from pixserve.dialects.imgproxy import ImgproxySettings
from pixserve.dialects.thumbor import ThumborSettings
from pixserve.transformer import InvalidOption

THUMBOR = ThumborSettings(
    allow_unsafe=True,
    sources=SourceMap.parse("thumbor_sources", ["img.example.com=", "cdn.example.com/marks=marks"]),
)
IMGPROXY = ImgproxySettings(
    allow_insecure=True,
    sources=SourceMap.parse("imgproxy_sources", ["local:///=", "https://cdn.example.com/=cdn"]),
    watermark="marks/default.png",
)


def thumbor_pairs(filters: str, size: str = "300x200") -> dict[str, str]:
    translated = thumbor.translate(
        f"/unsafe/{size}/filters:{filters}/img.example.com/photo.jpg",
        THUMBOR,
        lambda name: (800, 600),
    )
    return dict(translated.pairs)


def imgproxy_pairs(options: str, settings: ImgproxySettings = IMGPROXY) -> dict[str, str]:
    translated = imgproxy.translate(
        f"/insecure/{options}/plain/local:///photo.jpg", settings, lambda name: (800, 600)
    )
    return dict(translated.pairs)


def wm_pairs(pairs: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in pairs.items() if k.startswith("wm") or k in ("ninepatch", "pad")}


THUMBOR_WATERMARKS: list[tuple[str, dict[str, str]]] = [
    # thumbor's docs: -10,-10 is 10 px in from the right and the bottom, alpha 50
    (
        "watermark(http://cdn.example.com/marks/logo.png,-10,-10,50)",
        {
            "wm": "marks/logo.png",
            "wm_gravity": "southeast",
            "wm_dx": "10",
            "wm_dy": "10",
            "wm_opacity": "0.5",
        },
    ),
    (
        "watermark(img.example.com/logo.png,10p,-20p,50)",
        {
            "wm": "logo.png",
            "wm_gravity": "southwest",
            "wm_dx": "10%",
            "wm_dy": "20%",
            "wm_opacity": "0.5",
        },
    ),
    ("watermark(img.example.com/logo.png,center,center,0)", {"wm": "logo.png"}),
    ("watermark(img.example.com/logo.png,0,0,0)", {"wm": "logo.png", "wm_gravity": "northwest"}),
    # -0: flush with the right edge
    (
        "watermark(img.example.com/logo.png,-0,center,100)",
        {"wm": "logo.png", "wm_gravity": "east", "wm_opacity": "0"},
    ),
    (
        "watermark(img.example.com/logo.png,repeat,repeat,30)",
        {"wm": "logo.png", "wm_repeat": "xy", "wm_opacity": "0.7"},
    ),
    (
        "watermark(img.example.com/logo.png,repeat,-5,0)",
        {"wm": "logo.png", "wm_gravity": "south", "wm_dy": "5", "wm_repeat": "x"},
    ),
    (
        "watermark(img.example.com/logo.png,30,10,50,20)",
        {
            "wm": "logo.png",
            "wm_gravity": "northwest",
            "wm_dx": "30",
            "wm_dy": "10",
            "wm_opacity": "0.5",
            "wm_w": "20",
        },
    ),
    (
        "watermark(img.example.com/logo.png,30,10,50,none,15)",
        {
            "wm": "logo.png",
            "wm_gravity": "northwest",
            "wm_dx": "30",
            "wm_dy": "10",
            "wm_opacity": "0.5",
            "wm_h": "15",
        },
    ),
    ("frame(http://cdn.example.com/marks/frame.9.png)", {"ninepatch": "marks/frame.9.png"}),
]


@pytest.mark.parametrize(("filters", "expected"), THUMBOR_WATERMARKS)
def test_thumbor_watermarks_and_frames(filters: str, expected: dict[str, str]) -> None:
    assert wm_pairs(thumbor_pairs(filters)) == expected


def test_thumbor_fill_blur_and_auto_pad_with_a_backdrop() -> None:
    assert thumbor_pairs("fill(blur)", "fit-in/300x200") == {
        "w": "300",
        "h": "200",
        "fit": "contain",
        "backdrop": "blur",
    }
    assert thumbor_pairs("fill(auto)", "fit-in/300x200")["backdrop"] == "auto"
    # without fit-in the picture fills the box: nothing to pad, as in thumbor
    assert thumbor_pairs("fill(blur)")["fit"] in ("cover", "fill")


THUMBOR_REFUSED = [
    ("watermark(http://elsewhere.org/logo.png,0,0,0)", "not under one of this server's"),
    ("watermark(img.example.com/logo.png,0,0)", "expected watermark"),
    ("watermark(img.example.com/logo.png,left,0,0)", "a position is"),
    ("watermark(img.example.com/logo.png,101p,0,0)", "at most 100p"),
    ("watermark(img.example.com/logo.png,0,0,0,0)", "from 1 to 100"),
    ("watermark(img.example.com/logo.png,0,0,0):watermark(b.png,0,0,0)", "one watermark per URL"),
    ("frame(http://elsewhere.org/f.png)", "not under one of this server's"),
    ("fill(blur):background_color(red)", "give one of them"),
]


@pytest.mark.parametrize(("filters", "words"), THUMBOR_REFUSED)
def test_thumbor_refusals_name_the_filter(filters: str, words: str) -> None:
    with pytest.raises(InvalidOption) as error:
        thumbor_pairs(filters, "fit-in/300x200")
    assert words in error.value.detail
    assert (error.value.param or "").split("(")[0] in filters


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


IMGPROXY_WATERMARKS: list[tuple[str, dict[str, str]]] = [
    ("wm:1", {"wm": "marks/default.png"}),
    (
        "watermark:0.5:soea:10:20",
        {
            "wm": "marks/default.png",
            "wm_opacity": "0.5",
            "wm_gravity": "southeast",
            "wm_dx": "10",
            "wm_dy": "20",
        },
    ),
    # below 1, an offset is a fraction of the result's side
    ("wm:1:no:0:0.1", {"wm": "marks/default.png", "wm_gravity": "north", "wm_dy": "10%"}),
    (
        "wm:0.8:re:20:20",
        {
            "wm": "marks/default.png",
            "wm_opacity": "0.8",
            "wm_repeat": "grid",
            "wm_dx": "20",
            "wm_dy": "20",
        },
    ),
    ("wm:1:ce:0:0:0.25", {"wm": "marks/default.png", "wm_w": "25", "wm_h": "25"}),
    # opacity 0: imgproxy draws nothing
    ("wm:0:soea", {}),
    # watermark_url before or after watermark, and alone (no watermark option: none drawn)
    (f"wmu:{b64('https://cdn.example.com/logo.png')}/wm:1", {"wm": "cdn/logo.png"}),
    (f"wm:1/wmu:{b64('https://cdn.example.com/logo.png')}", {"wm": "cdn/logo.png"}),
    (f"wmu:{b64('https://cdn.example.com/logo.png')}", {}),
    ("pd:10", {"pad": "10,10,10,10"}),
    ("padding:10:20", {"pad": "10,20,10,20"}),
    ("pd:10:20:30", {"pad": "10,20,30,20"}),
    ("pd:1:2:3:4", {"pad": "1,2,3,4"}),
    ("pd:0", {}),
]


@pytest.mark.parametrize(("options", "expected"), IMGPROXY_WATERMARKS)
def test_imgproxy_watermarks_and_padding(options: str, expected: dict[str, str]) -> None:
    assert wm_pairs(imgproxy_pairs(options)) == expected


IMGPROXY_REFUSED = [
    ("wm:1:ch", "wm:1:ch"),  # imgproxy Pro's chessboard
    ("wm:2", "wm:2"),
    ("wm:1:ce:0:0:2", "wm:1:ce:0:0:2"),  # more than the whole picture
    (
        f"wmu:{b64('https://elsewhere.org/logo.png')}/wm:1",
        "wmu:" + b64("https://elsewhere.org/logo.png"),
    ),
    ("wmu:@@@/wm:1", "wmu:@@@"),
    ("pd:10:x", "pd:10:x"),
    ("pd:2000", "pd:2000"),
]


@pytest.mark.parametrize(("options", "option"), IMGPROXY_REFUSED)
def test_imgproxy_refusals_name_the_option(options: str, option: str) -> None:
    with pytest.raises(InvalidOption) as error:
        imgproxy_pairs(options)
    assert error.value.param == option[:40] + ("..." if len(option) > 40 else "")


def test_imgproxy_watermark_without_an_image_is_refused() -> None:
    settings = ImgproxySettings(allow_insecure=True, sources=IMGPROXY.sources)
    with pytest.raises(InvalidOption) as error:
        imgproxy_pairs("wm:0.5", settings)
    assert "imgproxy_watermark" in error.value.detail
