"""thumbor and imgproxy URLs through the real Flask app: the wiring, the shared cache
and ETag, auto-format, thumbor's meta/, the settings, and pixels over the corpus
against a slow reference (full decode, Pillow LANCZOS)."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from PIL import Image, ImageOps

from benchmarks.ssim import ssim_images
from pixserve import Config
from pixserve.config.layers import explain_config
from pixserve.config.settings import ConfigError
from pixserve.config.show import render
from pixserve.dialects import imgproxy, thumbor
from tests.conftest import MakeApp

KEY = "thumbor-security-key"
IMGPROXY_KEY = "736563726574"
IMGPROXY_SALT = "68656c6c6f"
STREET = "photos/street-2725x2225.jpg"


@pytest.fixture
def client(make_app: MakeApp) -> FlaskClient:
    return make_app(
        thumbor_prefix="/thumbor",
        thumbor_keys=(KEY,),
        thumbor_allow_unsafe=True,
        imgproxy_prefix="/imgproxy",
        imgproxy_keys=(IMGPROXY_KEY,),
        imgproxy_salts=(IMGPROXY_SALT,),
        imgproxy_allow_insecure=True,
    ).test_client()


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


class TestWiring:
    def test_signed_urls_are_served(self, client: FlaskClient) -> None:
        path = "300x200/photo.jpg"
        response = client.get(f"/thumbor/{thumbor.sign(KEY, path)}/{path}")
        assert response.status_code == 200
        assert picture(response.data).size == (300, 200)
        signed = imgproxy.sign(
            bytes.fromhex(IMGPROXY_KEY),
            bytes.fromhex(IMGPROXY_SALT),
            "/w:100/plain/local:///photo.jpg",
        )
        response = client.get(f"/imgproxy/{signed}/w:100/plain/local:///photo.jpg")
        assert response.status_code == 200
        assert picture(response.data).size == (100, 75)

    def test_signatures_cover_the_path_as_written(self, client: FlaskClient, root: Path) -> None:
        """thumbor signs the percent-encoded path; the app must not check a decoded one."""
        (root / "my photo.jpg").write_bytes((root / "photo.jpg").read_bytes())
        path = "100x0/my%20photo.jpg"
        response = client.get(f"/thumbor/{thumbor.sign(KEY, path)}/{path}")
        assert response.status_code == 200
        decoded = "100x0/my photo.jpg"
        assert client.get(f"/thumbor/{thumbor.sign(KEY, decoded)}/{path}").status_code == 403

    def test_bad_signatures_are_403(self, client: FlaskClient) -> None:
        for url in (
            "/thumbor/AAAAAAAAAAAAAAAAAAAAAAAAAAA=/300x200/photo.jpg",
            "/thumbor/300x200/photo.jpg",
            "/imgproxy/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/w:100/plain/local:///photo.jpg",
        ):
            response = client.get(url)
            assert response.status_code == 403, url
            assert response.json is not None and response.json["param"] == "signature"

    def test_unsupported_options_are_400_naming_them(self, client: FlaskClient) -> None:
        response = client.get("/thumbor/unsafe/filters:redeye()/photo.jpg")
        assert response.status_code == 400
        assert response.json is not None and response.json["param"] == "redeye()"
        response = client.get("/imgproxy/insecure/ph:1/plain/local:///photo.jpg")
        assert response.status_code == 400
        assert response.json is not None and response.json["param"] == "ph:1"

    def test_sources_outside_the_mapping_are_404(self, client: FlaskClient) -> None:
        for url in (
            "/imgproxy/insecure/w:10/plain/http://127.0.0.1:1/photo.jpg",
            "/imgproxy/insecure/w:10/plain/s3://bucket/photo.jpg",
            "/imgproxy/insecure/w:10/plain/local:///../photo.jpg",
            "/thumbor/unsafe/300x200/../root/photo.jpg",
            "/thumbor/unsafe/300x200/.hidden.jpg",
            "/thumbor/unsafe/300x200/missing.jpg",
        ):
            assert client.get(url).status_code == 404, url

    @pytest.mark.parametrize(
        "urls",
        [
            (  # thumbor's window on whole source pixels (800x533 at top 34), then resized
                "/thumbor/unsafe/300x200/filters:no_upscale():format(webp)/photo.jpg",
                "/image/photo.jpg?crop=0,34,800,533&w=300&h=200&fit=fill&enlarge=1&fmt=webp",
            ),
            (
                "/imgproxy/insecure/rs:fill:300:200/plain/local:///photo.jpg@webp",
                "/image/photo.jpg?w=300&h=200&fit=cover&fmt=webp",
            ),
        ],
    )
    def test_equivalent_urls_share_one_cache_entry(
        self, client: FlaskClient, urls: tuple[str, str]
    ) -> None:
        """A dialect URL and /image spell one transform two ways: one ETag, and the
        second is a cache hit."""
        responses = [client.get(url) for url in urls]
        assert [response.status_code for response in responses] == [200, 200]
        assert len({response.headers["ETag"] for response in responses}) == 1
        assert [response.headers["X-Cache"] for response in responses] == ["MISS", "HIT"]
        assert responses[0].data == responses[1].data

    def test_requests_are_counted_by_dialect(self, client: FlaskClient) -> None:
        client.get("/thumbor/unsafe/10x10/photo.jpg")
        client.get("/imgproxy/insecure/w:10/plain/local:///photo.jpg")
        metrics = client.get("/metrics").get_data(as_text=True)
        assert 'route="thumbor",status="200"' in metrics
        assert 'route="imgproxy",status="200"' in metrics

    def test_conditional_requests(self, client: FlaskClient) -> None:
        url = "/imgproxy/insecure/w:50/plain/local:///photo.jpg"
        etag = client.get(url).headers["ETag"]
        assert client.get(url, headers={"If-None-Match": etag}).status_code == 304

    def test_pixserve_signing_does_not_apply_to_dialect_urls(self, make_app: MakeApp) -> None:
        app = make_app(
            signing_keys=("a-pixserve-key-of-enough-length",),
            thumbor_prefix="/t",
            thumbor_allow_unsafe=True,
        )
        client = app.test_client()
        assert client.get("/t/unsafe/100x100/photo.jpg").status_code == 200
        assert client.get("/image/photo.jpg?w=100").status_code == 403

    def test_dialect_at_the_root(self, make_app: MakeApp) -> None:
        """On its own host a dialect lives at /, beside pixserve's own routes."""
        client = make_app(thumbor_prefix="/", thumbor_allow_unsafe=True).test_client()
        assert picture(client.get("/unsafe/100x0/photo.jpg").data).size == (100, 75)
        assert client.get("/image/photo.jpg?w=10").status_code == 200
        assert client.get("/healthz").status_code == 200


class TestFormat:
    def test_an_open_format_keeps_the_source_format_by_default(self, client: FlaskClient) -> None:
        for url in (
            "/thumbor/unsafe/100x0/photo.jpg",
            "/imgproxy/insecure/w:100/plain/local:///photo.jpg",
        ):
            response = client.get(url, headers={"Accept": "image/avif,image/webp,*/*"})
            assert response.mimetype == "image/jpeg"
            assert "Accept" not in response.vary

    def test_auto_webp_negotiates(self, make_app: MakeApp) -> None:
        client = make_app(
            thumbor_prefix="/t",
            thumbor_allow_unsafe=True,
            thumbor_auto_webp=True,
            imgproxy_prefix="/i",
            imgproxy_allow_insecure=True,
            imgproxy_auto_format=True,
        ).test_client()
        for url in ("/t/unsafe/100x0/photo.jpg", "/i/insecure/w:100/plain/local:///photo.jpg"):
            webp = client.get(url, headers={"Accept": "image/webp,*/*"})
            assert webp.mimetype == "image/webp" and "Accept" in webp.vary
            plain = client.get(url, headers={"Accept": "*/*"})
            assert plain.mimetype == "image/jpeg" and "Accept" in plain.vary
            # a format the URL names is not negotiated
            named = client.get(
                url.replace("100x0/", "100x0/filters:format(png)/").replace(
                    "photo.jpg", "photo.jpg@png"
                )
                if url.startswith("/i/")
                else url.replace("100x0/", "100x0/filters:format(png)/"),
                headers={"Accept": "image/webp,*/*"},
            )
            assert named.mimetype == "image/png" and "Accept" not in named.vary


class TestThumborMeta:
    def test_meta_answers_thumbor_json(self, client: FlaskClient) -> None:
        response = client.get("/thumbor/unsafe/meta/300x200/photo.jpg")
        assert response.status_code == 200 and response.mimetype == "application/json"
        meta = json.loads(response.data)["thumbor"]
        assert meta["source"] == {"url": "photo.jpg", "width": 800, "height": 600, "frameCount": 1}
        assert meta["target"] == {"width": 300, "height": 200}
        # thumbor crops 800x533 from the middle, then resizes
        assert meta["operations"] == [
            {"type": "crop", "left": 0, "top": 34, "right": 800, "bottom": 567},
            {"type": "resize", "width": 300, "height": 200},
        ]

    def test_meta_lists_the_window_inside_the_manual_crop(self, client: FlaskClient) -> None:
        """As thumbor 7.8 answers it (benchmarks/thumbor_dialect.py compares the two)."""
        meta = json.loads(client.get("/thumbor/unsafe/meta/100x100:500x300/100x100/photo.jpg").data)
        assert meta["thumbor"]["operations"][:2] == [
            {"type": "crop", "left": 100, "top": 100, "right": 500, "bottom": 300},
            {"type": "crop", "left": 100, "top": 0, "right": 300, "bottom": 200},
        ]

    def test_meta_counts_frames(self, make_app: MakeApp, corpus: Path) -> None:
        client = make_app(root=corpus, thumbor_prefix="/t", thumbor_allow_unsafe=True).test_client()
        meta = json.loads(client.get("/t/unsafe/meta/animated/rotating-squares.gif").data)
        assert meta["thumbor"]["source"]["frameCount"] == 30

    def test_meta_of_a_fit_in_and_a_flip(self, client: FlaskClient) -> None:
        meta = json.loads(client.get("/thumbor/unsafe/meta/fit-in/-400x400/photo.jpg").data)
        assert meta["thumbor"]["target"] == {"width": 400, "height": 300}
        assert meta["thumbor"]["operations"] == [
            {"type": "resize", "width": 400, "height": 300},
            {"type": "flip_horizontally"},
        ]

    def test_meta_is_signed_like_any_url(self, client: FlaskClient) -> None:
        assert client.get("/thumbor/meta/300x200/photo.jpg").status_code == 403
        assert client.get("/thumbor/unsafe/meta/300x200/missing.jpg").status_code == 404


class TestReadme:
    """docs/dialects.md tables list every option of each dialect, so none is undocumented."""

    readme = (Path(__file__).parents[2] / "docs" / "dialects.md").read_text()

    @pytest.mark.parametrize("name", thumbor.FILTERS)
    def test_thumbor_filters(self, name: str) -> None:
        assert f"| `{name}()` | " in self.readme

    @pytest.mark.parametrize("name", imgproxy.OPTIONS)
    def test_imgproxy_options(self, name: str) -> None:
        assert f"| `{name}` | " in self.readme


class TestSettings:
    def test_settings_from_the_environment(self, tmp_path: Path) -> None:
        config = Config.load(
            {
                "PIXSERVE_ROOT": str(tmp_path),
                "PIXSERVE_IMGPROXY_PREFIX": "/ip",
                "PIXSERVE_IMGPROXY_KEYS": "736563726574,6b6579",
                "PIXSERVE_IMGPROXY_SALTS": "68656c6c6f,73616c74",
                "PIXSERVE_IMGPROXY_SIGNATURE_SIZE": "8",
                "PIXSERVE_IMGPROXY_SOURCES": "local:///=,s3://photos/=s3",
                "PIXSERVE_IMGPROXY_PRESETS": "thumb:rs:fill:200:200/q:80;hero:w:1280",
                "PIXSERVE_THUMBOR_PREFIX": "/t",
                "PIXSERVE_THUMBOR_KEYS": "MY_SECURE_KEY",
                "PIXSERVE_THUMBOR_SOURCES": "cdn.example.com/=cdn",
            }
        )
        part = config.dialects
        assert part.imgproxy_keys == ("736563726574", "6b6579")
        assert part.imgproxy_presets == {"thumb": "rs:fill:200:200/q:80", "hero": "w:1280"}
        assert part.imgproxy_sources == ("local:///=", "s3://photos/=s3")
        assert part.imgproxy_signature_size == 8
        assert part.thumbor_keys == ("MY_SECURE_KEY",)  # thumbor's keys keep their length

    def test_keys_and_salts_are_never_shown(self, tmp_path: Path) -> None:
        environ = {
            "PIXSERVE_ROOT": str(tmp_path),
            "PIXSERVE_THUMBOR_KEYS": "thumbor-secret-value",
            "PIXSERVE_IMGPROXY_KEYS": "736563726574",
            "PIXSERVE_IMGPROXY_SALTS": "68656c6c6f",
        }
        shown = render(explain_config(environ, None, {}))
        for secret in environ.values():
            assert secret == str(tmp_path) or secret not in shown
        assert "# thumbor_keys: 1 key, not shown" in shown

    @pytest.mark.parametrize(
        ("settings", "message"),
        [
            ({"thumbor_prefix": "thumbor"}, "^thumbor_prefix:"),
            ({"thumbor_prefix": "/image", "thumbor_allow_unsafe": True}, "^thumbor_prefix:"),
            ({"thumbor_prefix": "/t"}, "^thumbor_keys:"),
            ({"imgproxy_prefix": "/i"}, "^imgproxy_keys:"),
            (
                {
                    "imgproxy_prefix": "/t",
                    "thumbor_prefix": "/t",
                    "imgproxy_allow_insecure": True,
                    "thumbor_allow_unsafe": True,
                },
                "^imgproxy_prefix:",
            ),
            ({"imgproxy_keys": ("ab",), "imgproxy_salts": ()}, "^imgproxy_salts:"),
            ({"imgproxy_keys": ("secret",), "imgproxy_salts": ("ab",)}, "^imgproxy_keys:"),
            ({"imgproxy_signature_size": 33}, "^imgproxy_signature_size:"),
            ({"imgproxy_sources": ("local:///",)}, "^imgproxy_sources:"),
            ({"imgproxy_presets": {"big": "wm:1"}}, "^imgproxy_presets: big: wm:1"),
        ],
    )
    def test_bad_settings_stop_start_up(
        self, tmp_path: Path, settings: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ConfigError, match=message):
            Config(root=tmp_path, **settings)  # type: ignore[arg-type]


# Pixels: URLs over the corpus, the size and format each server documents, and the
# picture against a slow reference built here with Pillow alone. Lossy results ask
# for quality 95 so the comparison sees the geometry and filters, not the encoder.


def reference(corpus: Path, name: str) -> Image.Image:
    with Image.open(corpus / name) as image:
        return ImageOps.exif_transpose(image).convert("RGB")


def centre_crop(image: Image.Image, width: int, height: int) -> Image.Image:
    """thumbor's auto crop (and imgproxy's fill): the centred window of the target's
    shape, exactly (fractional edges), LANCZOS to the target."""
    scale = max(width / image.width, height / image.height)
    crop_w, crop_h = width / scale, height / scale
    left, top = (image.width - crop_w) / 2, (image.height - crop_h) / 2
    box = (left, top, left + crop_w, top + crop_h)
    return image.resize((width, height), Image.Resampling.LANCZOS, box=box)


def fit(image: Image.Image, width: int, height: int) -> Image.Image:
    scale = min(width / image.width, height / image.height, 1.0)
    size = (round(image.width * scale), round(image.height * scale))
    return image.resize(size, Image.Resampling.LANCZOS)


def padded(image: Image.Image, width: int, height: int, colour: str) -> Image.Image:
    inner = fit(image, width, height)
    canvas = Image.new("RGB", (width, height), colour)
    canvas.paste(inner, ((width - inner.width) // 2, (height - inner.height) // 2))
    return canvas


LANDSCAPE = "orientation/Landscape_1.jpg"
B64_LANDSCAPE = base64.urlsafe_b64encode(f"local:///{LANDSCAPE}".encode()).decode().rstrip("=")
Reference = Callable[[Image.Image], Image.Image]
# url, the corpus file it reads, the format the server documents, the reference
PIXEL_CASES: list[tuple[str, str, str, Reference]] = [
    (
        f"/thumbor/unsafe/300x200/filters:quality(95)/{STREET}",
        STREET,
        "JPEG",
        lambda img: centre_crop(img, 300, 200),
    ),
    (
        "/thumbor/unsafe/fit-in/400x400/filters:quality(95)/orientation/Landscape_6.jpg",
        "orientation/Landscape_6.jpg",
        "JPEG",
        lambda img: fit(img, 400, 400),
    ),
    (
        f"/thumbor/unsafe/-300x0/filters:quality(95)/{STREET}",
        STREET,
        "JPEG",
        lambda img: ImageOps.mirror(fit(img, 300, 10_000)),
    ),
    (
        "/thumbor/unsafe/fit-in/300x300/filters:fill(white):format(png)/orientation/Portrait_3.jpg",
        "orientation/Portrait_3.jpg",
        "PNG",
        lambda img: padded(img, 300, 300, "white"),
    ),
    (
        f"/thumbor/unsafe/100x100:600x400/filters:grayscale():format(webp):quality(95)/{LANDSCAPE}",
        LANDSCAPE,
        "WEBP",
        lambda img: ImageOps.grayscale(img.crop((100, 100, 600, 400))).convert("RGB"),
    ),
    (
        "/thumbor/unsafe/fit-in/240x240/filters:rotate(90):quality(95)/formats/relax.jp2",
        "formats/relax.jp2",
        "JPEG",  # a source format neither server writes: JPEG, as thumbor answers
        lambda img: fit(img, 240, 240).rotate(90, expand=True),
    ),
    (
        f"/imgproxy/insecure/rs:fill:300:200/q:95/plain/local:///{STREET}",
        STREET,
        "JPEG",
        lambda img: centre_crop(img, 300, 200),
    ),
    (
        "/imgproxy/insecure/rs:fit:400:400/q:95/plain/local:///orientation/Landscape_6.jpg@webp",
        "orientation/Landscape_6.jpg",
        "WEBP",
        lambda img: fit(img, 400, 400),
    ),
    (
        f"/imgproxy/insecure/c:1000:1000:nowe/rs:fit:250:250/plain/local:///{STREET}@png",
        STREET,
        "PNG",
        lambda img: img.crop((0, 0, 1000, 1000)).resize((250, 250), Image.Resampling.LANCZOS),
    ),
    (
        f"/imgproxy/insecure/w:300/rot:90/q:95/{B64_LANDSCAPE}.jpg",
        LANDSCAPE,
        "JPEG",
        lambda img: fit(img.rotate(-90, expand=True), 300, 10_000),
    ),
    (
        "/imgproxy/insecure/rs:fit:300:300/ex:1/bg:000000/plain/local:///orientation/Portrait_1.jpg@png",
        "orientation/Portrait_1.jpg",
        "PNG",
        lambda img: padded(img, 300, 300, "black"),
    ),
]


@pytest.mark.parametrize(("url", "name", "fmt", "make_reference"), PIXEL_CASES)
def test_pixels_match_a_slow_reference(
    make_app: MakeApp, corpus: Path, url: str, name: str, fmt: str, make_reference: Reference
) -> None:
    client = make_app(
        root=corpus,
        thumbor_prefix="/thumbor",
        thumbor_allow_unsafe=True,
        imgproxy_prefix="/imgproxy",
        imgproxy_allow_insecure=True,
    ).test_client()
    response = client.get(url, headers={"Accept": "image/webp,*/*"})
    assert response.status_code == 200, response.data[:300]
    result = picture(response.data)
    assert result.format == fmt
    expected = make_reference(reference(corpus, name))
    assert result.size == expected.size
    assert ssim_images(expected, result.convert("RGB")) >= 0.95
