"""thumbor's colour and pixel filters and imgproxy's adjustment options: translated
with each server's semantics (thumbor's filter docs and C, imgproxy's documented
ranges), refused by name when out of range, and served through the mounts as the
same transform (one cache entry) as pixserve's own query."""

from __future__ import annotations

import io

import numpy as np
import pytest
from flask.testing import FlaskClient
from PIL import Image

from pixserve.dialects import imgproxy, thumbor
from pixserve.dialects.imgproxy import ImgproxySettings
from pixserve.dialects.thumbor import ThumborSettings
from pixserve.transformer import InvalidOption
from tests.helpers import MakeApp

THUMBOR = ThumborSettings(allow_unsafe=True)
IMGPROXY = ImgproxySettings(allow_insecure=True)

# A thumbor filter's arguments (from its docs page) and the pairs it becomes.
COLOUR_FILTER_EXAMPLES: dict[str, tuple[str, dict[str, str]]] = {
    "brightness": ("40", {"brightness": "40"}),
    "contrast": ("20", {"contrast": "1.44"}),  # (120 * 120) / 100 = 144 %
    "saturation": ("1.5", {"saturation": "1.5"}),
    "rgb": ("20,-20,20", {"rgb": "20,-20,20"}),
    "equalize": ("", {"equalize": "1"}),
    "noise": ("40", {"noise": "40"}),
    "colorize": ("10,20,30,ff0000", {"colorize": "10,20,30,ff0000"}),
    "convolution": ("1;2;1;2;4;2;1;2;1,3,true", {"convolution": "3:1,2,1,2,4,2,1,2,1"}),
    "curve": (
        "[(0,0),(40,59),(255,255)],[(0,0),(255,255)],[],[(0,10),(255,250)]",
        {"curve": "0:0,40:59,255:255;0:0,255:255;;0:10,255:250"},
    ),
    "round_corner": ("20,255,255,255", {"radius": "20", "corner": "ffffff"}),
}


def thumbor_pairs(filters: str) -> dict[str, str]:
    translated = thumbor.translate(f"/unsafe/filters:{filters}/img.jpg", THUMBOR, lambda _: (8, 6))
    return dict(translated.pairs)


def imgproxy_pairs(options: str) -> dict[str, str]:
    path = f"/insecure/{options}/plain/local:///img.jpg"
    return dict(imgproxy.translate(path, IMGPROXY, lambda _: (8, 6)).pairs)


@pytest.mark.parametrize("name", sorted(COLOUR_FILTER_EXAMPLES))
def test_thumbor_filters_translate(name: str) -> None:
    arguments, expected = COLOUR_FILTER_EXAMPLES[name]
    assert thumbor_pairs(f"{name}({arguments})") == expected


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ("brightness(-250)", {"brightness": "-100"}),  # past -100 every level is 0 already
        ("contrast(-100)", {"contrast": "0"}),
        ("contrast(100)", {"contrast": "4"}),
        ("noise(40,7)", {"noise": "40,7"}),
        ("noise(40,0)", {"noise": "40"}),
        (
            "convolution(-1;-1;-1;-1;8;-1;-1;-1;-1,3,false)",
            {"convolution": "3:-1,-1,-1,-1,8,-1,-1,-1,-1:raw"},
        ),
        ("convolution(1;1;1,3)", {"convolution": "3:1,1,1"}),
        ("round_corner(20|40,0,0,0)", {"radius": "20,40", "corner": "000000"}),
        ("round_corner(30,0,0,0,1)", {"radius": "30"}),
        ("round_corner(30,0,0,0,true):round_corner(5,1,2,3)", {"radius": "5", "corner": "010203"}),
        (
            "brightness(10):contrast(0):equalize()",
            {"brightness": "10", "contrast": "1", "equalize": "1"},
        ),
    ],
)
def test_thumbor_filter_arguments(filters: str, expected: dict[str, str]) -> None:
    assert thumbor_pairs(filters) == expected


@pytest.mark.parametrize(
    "written",
    [
        "brightness(ten)",
        "brightness()",
        "contrast(150)",
        "saturation(200)",
        "rgb(1,2)",
        "equalize(1)",
        "noise(300)",
        "noise(10,-1)",
        "colorize(10,20,30,red)",
        "colorize(101,0,0,ff0000)",
        "convolution(1;2,3,true)",  # 2 cells, 3 columns
        "convolution(1;1;1;1,2,true)",  # even: no centre
        "convolution(1;2;1,3,maybe)",
        "curve([(0,0),(255,255)])",
        "curve([(0,0),(0,255)],[],[],[])",  # x must rise
        "curve([(0,0),(256,255)],[],[],[])",
        "round_corner(20,300,0,0)",
        "round_corner(20,0,0)",
        "round_corner(1|2|3,0,0,0)",
    ],
)
def test_thumbor_filters_out_of_range_are_refused_as_written(written: str) -> None:
    with pytest.raises(InvalidOption) as error:
        thumbor_pairs(written)
    assert error.value.param == written


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("br:10", {"brightness": "3.922"}),  # 10 of 255 levels
        ("brightness:-255", {"brightness": "-100"}),
        ("br:10/br:0", {}),  # a later option resets an earlier one, as in imgproxy
        ("co:1.5", {"contrast": "1.5"}),
        ("contrast:1", {}),
        ("sa:0", {"saturation": "0"}),
        ("saturation:2.5", {"saturation": "2.5"}),
        ("pix:10", {"pixelate": "10"}),
        ("pixelate:1", {}),
        # the meta-option; an empty argument leaves its setting as it is
        ("a:-51:1.2:0.5", {"brightness": "-20", "contrast": "1.2", "saturation": "0.5"}),
        ("co:2/adjust:10::1", {"brightness": "3.922", "contrast": "2"}),
        ("adjust::1.5", {"contrast": "1.5"}),
    ],
)
def test_imgproxy_adjustments_translate(options: str, expected: dict[str, str]) -> None:
    assert imgproxy_pairs(options) == expected


@pytest.mark.parametrize(
    "written",
    [
        "br:256",
        "br:1.5",
        "co:-1",
        "co:11",
        "sa:x",
        "pix:300",
        "pix:1:2",
        "br:",
        "a:1:1:1:1",
        "a::x",
    ],
)
def test_imgproxy_adjustments_out_of_range_are_refused_as_written(written: str) -> None:
    with pytest.raises(InvalidOption) as error:
        imgproxy_pairs(written)
    assert error.value.param == written


def test_imgproxy_brightness_levels_come_back_whole() -> None:
    """imgproxy's brightness is in levels; pixserve's a percentage of 255 (3 decimals):
    every level survives the round trip exactly."""
    from pixserve.transformer.steps.adjust import level_shift

    for levels in range(-255, 256):
        percent = float(imgproxy_pairs(f"br:{levels}").get("brightness", "0"))
        assert level_shift(percent) == levels


# Through the mounts


@pytest.fixture
def client(make_app: MakeApp) -> FlaskClient:
    return make_app(
        thumbor_prefix="/thumbor",
        thumbor_allow_unsafe=True,
        imgproxy_prefix="/imgproxy",
        imgproxy_allow_insecure=True,
    ).test_client()


def picture(client: FlaskClient, url: str) -> Image.Image:
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)
    image = Image.open(io.BytesIO(response.data))
    image.load()
    return image


def test_one_filter_three_spellings_one_cache_entry(client: FlaskClient) -> None:
    """The filters add exactly their parameters to whatever the geometry becomes: the
    dialect URL and /image with those pairs are one cache entry."""
    sizes = (800, 600)  # photo.jpg's
    geometry = thumbor.translate("/unsafe/300x200/photo.jpg", THUMBOR, lambda _: sizes).pairs
    query = "&".join(f"{name}={value}" for name, value in geometry)
    urls = (
        "/thumbor/unsafe/300x200/filters:brightness(10):contrast(20):format(png)/photo.jpg",
        f"/image/photo.jpg?{query}&brightness=10&contrast=1.44&fmt=png",
    )
    responses = [client.get(url) for url in urls]
    assert [response.status_code for response in responses] == [200, 200]
    assert responses[0].headers["ETag"] == responses[1].headers["ETag"]
    assert [response.headers["X-Cache"] for response in responses] == ["MISS", "HIT"]
    path = "/rs:fill:300:200/plain/local:///photo.jpg"
    geometry = imgproxy.translate("/insecure" + path, IMGPROXY, lambda _: sizes).pairs
    query = "&".join(f"{name}={value}" for name, value in geometry)
    imgproxy_url = "/imgproxy/insecure/rs:fill:300:200/br:25/pix:4/plain/local:///photo.jpg@png"
    own = f"/image/photo.jpg?{query}&brightness=9.804&pixelate=4&fmt=png"
    assert client.get(imgproxy_url).headers["ETag"] == client.get(own).headers["ETag"]


def test_thumbor_brightness_raises_every_level_by_its_share(client: FlaskClient) -> None:
    plain = picture(client, "/thumbor/unsafe/200x150/filters:format(png)/photo.jpg")
    brighter = picture(
        client, "/thumbor/unsafe/200x150/filters:brightness(10):format(png)/photo.jpg"
    )
    before = np.asarray(plain.convert("RGB")).astype(int)
    after = np.asarray(brighter.convert("RGB")).astype(int)
    # (255 * 10) / 100 = 25 in thumbor's C ints, clamped at 255
    assert (after == np.minimum(before + 25, 255)).all()


def test_thumbor_round_corners_are_transparent_in_png(client: FlaskClient) -> None:
    image = picture(
        client, "/thumbor/unsafe/200x150/filters:round_corner(30,0,0,0,1):format(png)/photo.jpg"
    )
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0)) == (0, 0, 0, 0) or image.getchannel("A").getpixel((0, 0)) == 0
    assert image.getchannel("A").getpixel((100, 75)) == 255
    coloured = picture(
        client, "/thumbor/unsafe/200x150/filters:round_corner(30,255,0,0):format(png)/photo.jpg"
    )
    assert coloured.convert("RGBA").getpixel((0, 0)) == (255, 0, 0, 255)


def test_refusals_through_the_mount_are_problem_json_naming_the_filter(
    client: FlaskClient,
) -> None:
    response = client.get("/thumbor/unsafe/filters:contrast(500)/photo.jpg")
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["param"] == "contrast(500)"
    response = client.get("/imgproxy/insecure/pix:999/plain/local:///photo.jpg")
    assert response.status_code == 400
    assert response.get_json()["param"] == "pix:999"
