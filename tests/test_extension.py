"""`PixServe` in someone else's app, the template helpers, and client hints."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from flask.testing import FlaskClient
from markupsafe import Markup
from PIL import Image

from pixserve import Config, ConfigError, sign_url
from pixserve.transformer import InvalidOption
from pixserve.web.extension import PixServe
from pixserve.web.helpers import DEFAULT_WIDTHS, image_srcset, image_url, picture
from tests.helpers import BufferedClient, MakeApp

KEY = "k" * 32


@pytest.fixture
def user_app(root: Path, tmp_path: Path) -> Flask:
    """An app of the user's own: its routes, its static files, pixserve added in 3 lines."""
    static = tmp_path / "static"
    static.mkdir()
    (static / "site.css").write_text("body { color: red }")
    app = Flask("userapp", static_folder=str(static))
    app.config.update(
        PIXSERVE_ROOT=str(root), PIXSERVE_CACHE_DIR=tmp_path / "cache", PIXSERVE_IMAGE_PREFIX="/img"
    )

    @app.get("/")
    def home() -> str:
        return render_template_string('<img src="{{ image_url("photo.jpg", w=200) }}">')

    pixserve = PixServe()
    pixserve.init_app(app)
    app.test_client_class = BufferedClient
    return app


def test_works_beside_the_apps_own_routes_and_static_files(user_app: Flask) -> None:
    client = user_app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert page == '<img src="/img/photo.jpg?w=200">'
    image = client.get("/img/photo.jpg?w=200")
    assert image.status_code == 200 and image.mimetype.startswith("image/")
    assert client.get("/static/site.css").get_data(as_text=True) == "body { color: red }"
    assert client.get("/info/photo.jpg").status_code == 200
    assert client.get("/image/photo.jpg").status_code == 404  # the prefix moved
    # the app's own 404 page is the app's, pixserve's errors are problem+json
    assert client.get("/nowhere").mimetype == "text/html"
    assert client.get("/img/missing.jpg").mimetype == "application/problem+json"


def test_extension_with_a_config_object(root: Path, tmp_path: Path) -> None:
    app = Flask("other")
    PixServe(app, Config(root=root, cache_dir=tmp_path / "c"))
    assert app.test_client().get("/image/photo.jpg?w=10").status_code == 200


def test_the_environment_sets_what_the_apps_config_does_not(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every setting reads `PIXSERVE_*` variables, in the extension too; the app's own
    config wins over them (issue 23: the extension ignored the environment)."""
    monkeypatch.setenv("PIXSERVE_MAX_AGE", "123")
    monkeypatch.setenv("PIXSERVE_CACHE_DIR", str(tmp_path / "env-cache"))
    app = Flask("envapp")
    app.config.update(PIXSERVE_ROOT=str(root), PIXSERVE_CACHE_DIR=tmp_path / "app-cache")
    PixServe(app)
    response = app.test_client().get("/image/photo.jpg?w=10")
    assert response.headers["Cache-Control"] == "max-age=123"
    assert (tmp_path / "app-cache").is_dir() and not (tmp_path / "env-cache").exists()


@pytest.mark.parametrize("where", ["app", "environment"])
def test_a_misspelled_setting_is_an_error_naming_the_closest(
    root: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    app = Flask("typo")
    app.config["PIXSERVE_ROOT"] = str(root)
    if where == "app":
        app.config["PIXSERVE_MAX_AGES"] = 60
    else:
        monkeypatch.setenv("PIXSERVE_MAX_AGES", "60")
    with pytest.raises(
        ConfigError, match="^PIXSERVE_MAX_AGES: no such setting; did you mean PIXSERVE_MAX_AGE"
    ):
        PixServe(app)


def test_a_wrong_method_on_pixserves_urls_is_problem_json(user_app: Flask) -> None:
    """Flask answers 405 while routing, before a blueprint's handlers could: pixserve's
    URLs still answer problem+json, the app's own keep its pages."""

    @user_app.post("/form")
    def form() -> str:
        return "posted"

    client = user_app.test_client()
    refused = client.post("/img/photo.jpg?w=10")
    assert refused.status_code == 405 and refused.mimetype == "application/problem+json"
    assert set(refused.headers["Allow"].split(", ")) == {"GET", "HEAD"}
    assert refused.headers["X-Content-Type-Options"] == "nosniff"
    assert refused.get_json()["status"] == 405
    theirs = client.get("/form")
    assert theirs.status_code == 405 and theirs.mimetype == "text/html"


class TestHelpers:
    def test_image_url_is_canonical(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            assert (
                image_url("photo.jpg", fmt="jpg", w=300, dpr=1.0) == "/img/photo.jpg?fmt=jpeg&w=300"
            )
            assert image_url("sub/alpha.png") == "/img/sub/alpha.png"
            assert image_url("photo.jpg", crop=(0, 0, 10, 10), gray=True) == (
                "/img/photo.jpg?crop=0,0,10,10&gray=1"
            )
            with pytest.raises(InvalidOption):
                image_url("photo.jpg", w=0)

    def test_image_url_is_signed_when_the_server_signs(self, root: Path, tmp_path: Path) -> None:
        app = Flask("signed")
        PixServe(app, Config(root=root, cache_dir=tmp_path / "c", signing_keys=(KEY,)))
        with app.test_request_context():
            url = image_url("photo.jpg", w=120, fmt="webp")
        assert url == sign_url("/image/photo.jpg?fmt=webp&w=120", KEY)
        assert app.test_client().get(url).status_code == 200

    def test_srcset_is_capped_at_the_source_width(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            srcset = image_srcset("photo.jpg")  # an 800-px source
            widths = [int(part.rsplit(" ", 1)[1][:-1]) for part in srcset.split(", ")]
        assert widths == [w for w in DEFAULT_WIDTHS if w <= 800] + [800]
        assert "/img/photo.jpg?w=320 320w" in srcset

    def test_srcset_keeps_a_fixed_box_aspect(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            srcset = image_srcset("photo.jpg", widths=(100, 200), w=400, h=200, fit="cover")
        assert srcset == (
            "/img/photo.jpg?fit=cover&h=50&w=100 100w, /img/photo.jpg?fit=cover&h=100&w=200 200w"
        )

    def test_picture(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            html = picture(
                "photo.jpg", alt='A "quoted" <b>photo</b>', sizes="50vw", widths=(320, 640)
            )
        assert isinstance(html, Markup)
        assert html.startswith('<picture><source type="image/webp"')  # AVIF is off
        assert 'alt="A &#34;quoted&#34; &lt;b&gt;photo&lt;/b&gt;"' in html
        assert 'width="800" height="600"' in html  # the source's own size: no layout shift
        assert 'loading="lazy"' in html and 'decoding="async"' in html and 'sizes="50vw"' in html

    def test_picture_needs_alt(self, user_app: Flask) -> None:
        with user_app.test_request_context(), pytest.raises(TypeError, match="alt"):
            picture("photo.jpg", None, "100vw")  # type: ignore[arg-type]

    def test_picture_placeholder(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            html = picture("photo.jpg", alt="", sizes="100vw", placeholder=True)
        assert "background-image:url(&#39;data:image/webp;base64," in html

    def test_jinja_globals(self, user_app: Flask) -> None:
        with user_app.test_request_context():
            html = render_template_string('{{ picture("photo.jpg", alt="x", sizes="10vw") }}')
        assert html.startswith("<picture>")


class TestClientHints:
    @pytest.fixture
    def hinted(self, root: Path, tmp_path: Path) -> Flask:
        app = Flask("hints")
        PixServe(app, Config(root=root, cache_dir=tmp_path / "c", client_hints=True))

        @app.get("/page")
        def page() -> str:
            return "<p>hello</p>"

        return app

    def test_pages_ask_for_hints(self, hinted: Flask) -> None:
        assert hinted.test_client().get("/page").headers["Accept-CH"] == "Sec-CH-DPR, Sec-CH-Width"

    def test_hints_size_a_plain_url(self, hinted: Flask) -> None:
        response = hinted.test_client().get(
            "/image/photo.jpg?fmt=png", headers={"Sec-CH-DPR": "2", "Sec-CH-Width": "300"}
        )
        with Image.open(io.BytesIO(response.get_data())) as image:
            assert image.size == (300, 225)  # 150 CSS px at 2x
        assert {"Sec-CH-DPR", "Sec-CH-Width"} <= set(response.vary)

    def test_explicit_width_wins(self, hinted: Flask) -> None:
        response = hinted.test_client().get(
            "/image/photo.jpg?fmt=png&w=100", headers={"Sec-CH-DPR": "2", "Sec-CH-Width": "300"}
        )
        with Image.open(io.BytesIO(response.get_data())) as image:
            assert image.size == (100, 75)
        assert "Sec-CH-Width" not in response.vary

    def test_nonsense_hints_are_ignored(self, hinted: Flask) -> None:
        response = hinted.test_client().get(
            "/image/photo.jpg?fmt=png", headers={"Sec-CH-DPR": "abc", "Sec-CH-Width": "-5"}
        )
        assert response.status_code == 200

    def test_infinite_and_nan_hints_are_ignored(self, hinted: Flask) -> None:
        for width in ("inf", "-inf", "nan", "1e999"):
            response = hinted.test_client().get(
                "/image/photo.jpg?fmt=png", headers={"Sec-CH-Width": width}
            )
            assert response.status_code == 200, width
            with Image.open(io.BytesIO(response.get_data())) as image:
                assert image.size == (800, 600)
            response.close()  # a cache hit is an open file

    def test_hints_snap_up_to_the_width_allowlist(self, root: Path, tmp_path: Path) -> None:
        config = Config(
            root=root, cache_dir=tmp_path / "c", client_hints=True, allowed_widths=(100, 200, 400)
        )
        app = Flask("allowlisted")
        PixServe(app, config)
        for dpr, hinted, expected in (("1", 90, 100), ("2", 150, 200), ("3", 1000, 400)):
            response = app.test_client().get(
                "/image/photo.jpg?fmt=png", headers={"Sec-CH-DPR": dpr, "Sec-CH-Width": str(hinted)}
            )
            with Image.open(io.BytesIO(response.get_data())) as image:
                assert image.width == expected, (dpr, hinted)
            response.close()

    def test_off_by_default(self, client: FlaskClient) -> None:
        response = client.get(
            "/image/photo.jpg?fmt=png", headers={"Sec-CH-DPR": "2", "Sec-CH-Width": "300"}
        )
        with Image.open(io.BytesIO(response.get_data())) as image:
            assert image.size == (800, 600)


def test_relative_paths_are_the_apps_not_the_working_directorys(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`PIXSERVE_ROOT = "images"` means the app's `images/` folder, wherever it starts."""
    project = tmp_path / "project"
    (project / "images").mkdir(parents=True)
    (project / "images" / "photo.jpg").write_bytes((root / "photo.jpg").read_bytes())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    app = Flask("userapp", root_path=str(project))
    app.config.update(PIXSERVE_ROOT="images", PIXSERVE_CACHE_DIR=Path("cache"))
    PixServe(app)
    assert app.test_client().get("/image/photo.jpg?w=50").status_code == 200
    assert (project / "cache").is_dir() and not (elsewhere / "cache").exists()


def test_the_helpers_offer_only_the_allowed_widths(make_app: MakeApp, tmp_path: Path) -> None:
    """With `allowed_widths` (the README's TOML sets it) the ladder is those widths, up
    to what the 800 px photo gives; every URL the helpers and the index page write is
    one the server makes (issue 23: the helpers raised InvalidOption, the index 400)."""
    app = make_app(allowed_widths="320,640,1280", index=True)
    client = app.test_client()
    with app.test_request_context():
        srcset = image_srcset("photo.jpg")
        html = str(picture("photo.jpg", "", "100vw"))
    assert srcset == "/image/photo.jpg?w=320 320w, /image/photo.jpg?w=640 640w"
    assert 'src="/image/photo.jpg?w=640"' in html  # the fallback: the largest up to 1080
    urls = set(re.findall(r'(/image/[^" ]+)', html))
    assert len(urls) > 3
    for url in urls:
        assert client.get(url.replace("&amp;", "&")).status_code == 200, url
    page = client.get("/")
    assert page.status_code == 200
    for url in set(re.findall(r'(/image/[^" ]+)', page.get_data(as_text=True))):
        assert client.get(url.replace("&amp;", "&")).status_code == 200, url
