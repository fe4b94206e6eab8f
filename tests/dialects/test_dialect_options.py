"""thumbor's proportion, max_bytes, max_age, autojpg, cover and extract_focal and
imgproxy's zoom, min-width/min-height, extend_aspect_ratio, format_quality and
max_bytes: their translation, and their answers through the app's mounts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageChops, ImageStat

from pixserve.dialects import imgproxy, thumbor
from pixserve.dialects.common import SourceMap
from pixserve.transformer import InvalidOption
from tests.helpers import MakeApp, encode, gradient

THUMBOR = thumbor.ThumborSettings(allow_unsafe=True, sources=SourceMap((("", ""),)))
IMGPROXY = imgproxy.ImgproxySettings(allow_insecure=True)


def thumbor_pairs(path: str, size: tuple[int, int] = (1200, 800)) -> dict[str, str]:
    return dict(thumbor.translate(path, THUMBOR, lambda name: size).pairs)


def imgproxy_pairs(options: str, size: tuple[int, int] = (1200, 800)) -> dict[str, str]:
    path = f"/insecure/{options}/plain/local:///a.jpg"
    return dict(imgproxy.translate(path, IMGPROXY, lambda name: size).pairs)


THUMBOR_TABLE: list[tuple[str, dict[str, str]]] = [
    # proportion scales thumbor's result: the 300x200 crop becomes 150x100
    (
        "/unsafe/300x200/filters:proportion(0.5)/a.jpg",
        {"w": "150", "h": "100", "fit": "fill", "enlarge": "1"},
    ),
    # fit-in 300x300 of 1200x800 is 300x200, then halved
    (
        "/unsafe/fit-in/300x300/filters:proportion(0.5)/a.jpg",
        {"w": "150", "h": "100", "fit": "fill"},
    ),
    # no size: the source, doubled (thumbor's resize enlarges)
    (
        "/unsafe/filters:proportion(2)/a.jpg",
        {"w": "2400", "h": "1600", "fit": "fill", "enlarge": "1"},
    ),
    ("/unsafe/filters:max_bytes(20000)/a.jpg", {"max_bytes": "20000"}),
    ("/unsafe/filters:max_bytes(5)/a.jpg", {"max_bytes": "100"}),
    ("/unsafe/filters:max_age(60)/a.jpg", {"max_age": "60"}),
    ("/unsafe/filters:cover()/a.gif", {"frame": "0"}),
    ("/unsafe/filters:autojpg()/a.png", {}),
]


@pytest.mark.parametrize(("path", "expected"), THUMBOR_TABLE)
def test_thumbor_filters_translate(path: str, expected: dict[str, str]) -> None:
    assert thumbor_pairs(path) == expected


def test_autojpg_is_on_by_default_and_off_when_told() -> None:
    def png_to_jpeg(path: str) -> bool:
        return thumbor.translate(path, THUMBOR, lambda name: (8, 6)).png_to_jpeg

    assert png_to_jpeg("/unsafe/filters:autojpg()/a.png")
    assert png_to_jpeg("/unsafe/filters:autojpg(True)/a.png")
    assert not png_to_jpeg("/unsafe/filters:autojpg(False)/a.png")
    assert not png_to_jpeg("/unsafe/a.png")


def test_extract_focal_reads_the_nested_url_s_crop_as_a_focal_box() -> None:
    # thumbor's own docs example: the crop 100x150:300x200 of the inner URL is the
    # focal box, and the inner URL's image is the one loaded
    outer = "/unsafe/300x300/filters:extract_focal()/localhost:8888/unsafe/100x150:300x200/"
    translated = thumbor.translate(outer + "a.jpg", THUMBOR, lambda name: (1200, 800))
    assert translated.name == "a.jpg"
    focal = thumbor_pairs("/unsafe/300x300/filters:focal(100x150:300x200)/a.jpg")
    assert dict(translated.pairs) == focal != thumbor_pairs("/unsafe/300x300/a.jpg")


def test_extract_focal_looks_through_nested_urls_and_needs_a_signed_or_unsafe_one() -> None:
    nested = (
        "/unsafe/300x300/filters:extract_focal()/h/unsafe/fit-in/9x9/h/unsafe/0x0:400x200/a.jpg"
    )
    assert thumbor_pairs(nested) == thumbor_pairs(
        "/unsafe/300x300/filters:focal(0x0:400x200)/a.jpg"
    )
    unsigned = "/unsafe/300x300/filters:extract_focal()/h/100x150:300x200/a.jpg"
    translated = thumbor.translate(unsigned, THUMBOR, lambda name: (1200, 800))
    assert translated.name == "h/100x150:300x200/a.jpg"  # left as the image, as thumbor
    plain = thumbor_pairs("/unsafe/300x300/filters:extract_focal()/a.jpg")
    assert plain == thumbor_pairs("/unsafe/300x300/a.jpg")


IMGPROXY_TABLE: list[tuple[str, dict[str, str]]] = [
    ("rs:fit:300:200/z:2", {"w": "600", "h": "400", "fit": "inside"}),
    ("z:0.5", {"w": "600"}),  # no size: the source's, halved
    # two factors stretch what imgproxy makes otherwise; without enlarge, shrunk so
    # that no side is magnified (as imgproxy divides both shrinks)
    ("rs:fit:300:200/z:2:1", {"w": "600", "h": "200", "fit": "fill"}),
    ("z:2:1", {"w": "2400", "h": "800", "fit": "fill"}),
    # a fill window (800x800 of the middle) stretched to 600x300
    ("rs:fill:300:300/z:2:1", {"w": "600", "h": "300", "fit": "fill", "crop": "200,0,800,800"}),
    # min-height enlarges the 300-wide fit result to 400 high, then cuts it to 300 wide
    ("rs:fit:300:0/mh:400", {"w": "300", "h": "400", "fit": "cover", "enlarge": "1"}),
    # min-width 600 of a 300x200 fit: 600x400, cut to the 300x200 box: the middle
    (
        "rs:fit:300:200/mw:600",
        {"w": "300", "h": "200", "fit": "fill", "enlarge": "1", "crop": "300,200,600,400"},
    ),
    (
        "rs:fill:300:300/g:no/mw:600",
        {"w": "300", "h": "300", "fit": "fill", "enlarge": "1", "crop": "300,0,600,600"},
    ),
    ("rs:fit:300:200/mw:100", {"w": "300", "h": "200", "fit": "inside"}),  # met already
    # a 300x300 box around the 300x200 fit result: padded top and bottom
    ("rs:fit:300:300/exar:1", {"w": "300", "h": "300", "fit": "contain"}),
    # the source is smaller than the box: the box's shape around it, not the whole box
    ("rs:fit:3000:1000/exar:1", {"w": "2400", "h": "800", "fit": "contain"}),
    ("rs:fill:300:300/exar:1", {"w": "300", "h": "300", "fit": "cover"}),
    ("fq:webp:70:png:0:jpg:80", {"fq": "jpeg:80,webp:70"}),
    ("fq:webp:70/fq:webp:0", {}),
    ("mb:5000", {"max_bytes": "5000"}),
    ("mb:5000/mb:0", {}),
    ("mb:10", {"max_bytes": "100"}),
]


@pytest.mark.parametrize(("options", "expected"), IMGPROXY_TABLE)
def test_imgproxy_options_translate(options: str, expected: dict[str, str]) -> None:
    assert imgproxy_pairs(options) == expected


def test_a_both_sides_cut_by_smart_gravity_is_refused_by_name() -> None:
    with pytest.raises(InvalidOption) as error:
        imgproxy_pairs("rs:fill:300:300/g:sm/mw:600")
    assert error.value.param == "mw:600"


@pytest.fixture
def client(make_app: MakeApp, root: Path) -> FlaskClient:
    (root / "opaque.png").write_bytes(encode(gradient((400, 300)), "PNG"))
    (root / "clear.png").write_bytes(encode(gradient((400, 300), "RGBA"), "PNG"))
    frames = [Image.new("RGB", (60, 40), colour) for colour in ("red", "lime", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:], duration=100)
    (root / "moving.gif").write_bytes(buffer.getvalue())
    return make_app(
        thumbor_prefix="/thumbor",
        thumbor_allow_unsafe=True,
        imgproxy_prefix="/imgproxy",
        imgproxy_allow_insecure=True,
        max_age=3600,
    ).test_client()


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_autojpg_answers_jpeg_for_an_opaque_png_and_png_for_a_transparent_one(
    client: FlaskClient,
) -> None:
    opaque = client.get("/thumbor/unsafe/100x0/filters:autojpg()/opaque.png")
    assert opaque.mimetype == "image/jpeg" and picture(opaque.data).size == (100, 75)
    clear = client.get("/thumbor/unsafe/100x0/filters:autojpg()/clear.png")
    assert clear.mimetype == "image/png" and picture(clear.data).mode == "RGBA"
    kept = client.get("/thumbor/unsafe/100x0/opaque.png")
    assert kept.mimetype == "image/png"
    webp = {"Accept": "image/webp"}
    negotiated = client.get("/thumbor/unsafe/100x0/filters:autojpg()/opaque.png", headers=webp)
    assert negotiated.mimetype == "image/jpeg"  # thumbor_auto_webp is off here


def test_cover_answers_the_first_frame_as_a_still(client: FlaskClient) -> None:
    response = client.get("/thumbor/unsafe/filters:cover()/moving.gif")
    assert response.status_code == 200 and response.mimetype == "image/gif"
    image = Image.open(io.BytesIO(response.data))
    assert getattr(image, "n_frames", 1) == 1
    assert image.convert("RGB").getpixel((30, 20)) == (255, 0, 0)


def test_proportion_and_zoom_give_the_sizes_their_servers_give(client: FlaskClient) -> None:
    halved = client.get("/thumbor/unsafe/300x200/filters:proportion(0.5)/photo.jpg")
    assert picture(halved.data).size == (150, 100)
    zoomed = client.get("/imgproxy/insecure/rs:fit:200:200/z:0.5/plain/local:///photo.jpg")
    assert picture(zoomed.data).size == (100, 75)
    # 800x600 fit in 200x200 is 200x150; zoom 2:1 stretches it to 400x150
    stretched = client.get("/imgproxy/insecure/rs:fit:200:200/z:2:1/plain/local:///photo.jpg")
    assert picture(stretched.data).size == (400, 150)
    # without a size and without enlarge: 1600x600 would magnify, so shrunk to 800x300
    unenlarged = client.get("/imgproxy/insecure/z:2:1/plain/local:///photo.jpg")
    assert picture(unenlarged.data).size == (800, 300)


def test_min_width_enlarges_and_cuts_to_the_box(client: FlaskClient, root: Path) -> None:
    # photo.jpg is 800x600: fit 300x200 is 267x200; min-width 600 makes it 600x450, cut
    # to 300x200 in the middle: the source's (200, 150)-(600, 450), resized
    response = client.get("/imgproxy/insecure/rs:fit:300:200/mw:600/plain/local:///photo.jpg")
    image = picture(response.data).convert("RGB")
    assert image.size == (300, 200)
    source = picture((root / "photo.jpg").read_bytes()).convert("RGB")
    expected = source.crop((200, 150, 600, 450)).resize((300, 200), Image.Resampling.LANCZOS)
    difference = ImageChops.difference(image, expected).convert("L")
    assert max(ImageStat.Stat(difference).mean) < 3
    whole = source.resize((300, 200), Image.Resampling.LANCZOS)
    assert max(ImageStat.Stat(ImageChops.difference(image, whole).convert("L")).mean) > 10


def test_extend_aspect_ratio_pads_to_the_box_s_shape(client: FlaskClient) -> None:
    response = client.get(
        "/imgproxy/insecure/rs:fit:1000:1000/exar:1/bg:ff0000/plain/local:///photo.jpg"
    )
    image = picture(response.data).convert("RGB")
    assert image.size == (800, 800)  # the 800x600 picture, padded to a square
    assert image.getpixel((400, 20)) == pytest.approx((254, 0, 0), abs=3)
    assert image.getpixel((400, 400)) != image.getpixel((400, 20))


def test_budgets_qualities_and_lifetimes_through_the_mounts(client: FlaskClient) -> None:
    large = client.get("/thumbor/unsafe/400x300/filters:quality(95)/photo.jpg")
    budget = len(large.data) // 2
    fitted = client.get(
        f"/thumbor/unsafe/400x300/filters:quality(95):max_bytes({budget})/photo.jpg"
    )
    assert len(fitted.data) <= budget and picture(fitted.data).size == (400, 300)
    by_mb = client.get(
        f"/imgproxy/insecure/rs:fill:400:300/q:95/mb:{budget}/plain/local:///photo.jpg"
    )
    assert len(by_mb.data) <= budget
    by_fq = client.get("/imgproxy/insecure/w:200/fq:jpg:30/plain/local:///photo.jpg")
    by_q = client.get("/imgproxy/insecure/w:200/q:30/plain/local:///photo.jpg")
    assert by_fq.data == by_q.data
    short = client.get("/thumbor/unsafe/100x0/filters:max_age(60)/photo.jpg")
    capped = client.get("/thumbor/unsafe/100x0/filters:max_age(999999)/photo.jpg")
    assert short.headers["Cache-Control"].startswith("max-age=60")
    assert capped.headers["Cache-Control"].startswith("max-age=3600")
