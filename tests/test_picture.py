"""`picture()` and `image_srcset()` in real pages: HTML attributes kept apart from image
options, the ladder and the box following what was asked, the placeholder, a missing
source, and the `avif` setting. Every srcset candidate is fetched to check its `w`."""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from pixserve import Config
from pixserve.transformer import Fit, InvalidOption, parse_options
from pixserve.transformer.geometry import plan
from pixserve.web.extension import PixServe
from pixserve.web.helpers import CLEAR_PLACEHOLDER, image_srcset, picture
from pixserve.web.sizing import candidate_height, candidate_widths, displayed_size
from tests.helpers import BufferedClient, encode, gradient


@pytest.fixture
def app(root: Path, tmp_path: Path) -> Flask:
    (root / "cat.jpg").write_bytes(encode(gradient((2725, 1817)), "JPEG", quality=80))
    made = Flask("pages")
    PixServe(made, Config(root=root, cache_dir=tmp_path / "cache"))
    made.test_client_class = BufferedClient
    return made


def render(app: Flask, name: str, **kwargs: object) -> str:
    with app.test_request_context():
        return str(picture(name, **kwargs))  # type: ignore[arg-type]


def img_tag(html: str) -> str:
    found = re.search(r"<img [^>]*>", html)
    assert found, html
    return found.group(0)


def candidates(srcset: str) -> list[tuple[str, int]]:
    pairs = [part.rsplit(" ", 1) for part in srcset.replace("&amp;", "&").split(", ")]
    return [(url, int(descriptor[:-1])) for url, descriptor in pairs]


def srcset_of(tag: str) -> str:
    found = re.search(r' srcset="([^"]*)"', tag)
    assert found, tag
    return found.group(1)


def served_size(app: Flask, url: str) -> tuple[int, int]:
    response = app.test_client().get(url, headers={"Accept": "image/webp"})
    assert response.status_code == 200, (url, response.get_data(as_text=True))
    with Image.open(io.BytesIO(response.get_data())) as image:
        return image.size


class TestAttributes:
    def test_attrs_go_on_the_img_escaped(self, app: Flask) -> None:
        tag = img_tag(
            render(
                app,
                "photo.jpg",
                alt="",
                sizes="100vw",
                attrs={"class": "hero wide", "id": "top", "style": "border:0", "data-x": 'a"b'},
            )
        )
        assert ' class="hero wide" id="top" style="border:0" data-x="a&#34;b"' in tag

    def test_attrs_override_loading_and_true_is_bare(self, app: Flask) -> None:
        tag = img_tag(
            render(
                app, "photo.jpg", alt="", sizes="1vw", attrs={"loading": "eager", "hidden": True}
            )
        )
        assert 'loading="eager"' in tag and "lazy" not in tag and tag.endswith(" hidden>")

    def test_priority_is_eager_and_high(self, app: Flask) -> None:
        tag = img_tag(render(app, "photo.jpg", alt="", sizes="1vw", priority=True))
        assert 'loading="eager"' in tag and 'fetchpriority="high"' in tag

    def test_lazy_by_default(self, app: Flask) -> None:
        tag = img_tag(render(app, "photo.jpg", alt="", sizes="1vw"))
        assert 'loading="lazy" decoding="async"' in tag and "fetchpriority" not in tag

    @pytest.mark.parametrize(
        ("keyword", "attribute"),
        [("loading", "loading"), ("class_", "class"), ("data_id", "data-id")],
    )
    def test_an_html_attribute_among_options_says_use_attrs(
        self, app: Flask, keyword: str, attribute: str
    ) -> None:
        with pytest.raises(TypeError, match=rf"pass it as attrs=\{{'{attribute}'"):
            render(app, "photo.jpg", alt="", sizes="1vw", **{keyword: "x"})

    def test_unknown_image_option_raises_naming_it(self, app: Flask) -> None:
        with pytest.raises(InvalidOption, match="unknown parameter 'colour'"):
            render(app, "photo.jpg", alt="", sizes="1vw", colour="red")
        with pytest.raises(InvalidOption, match="unknown parameter 'colour'"):
            render(app, "missing.jpg", alt="", sizes="1vw", colour="red")  # even when missing

    @pytest.mark.parametrize("attrs", [{"src": "x"}, {"Width": 3}, {"bad name": "1"}])
    def test_attrs_that_picture_writes_or_that_are_not_names_are_refused(
        self, app: Flask, attrs: dict[str, object]
    ) -> None:
        with pytest.raises(ValueError):
            render(app, "photo.jpg", alt="", sizes="1vw", attrs=attrs)

    def test_from_a_template(self, app: Flask) -> None:
        with app.test_request_context():
            html = render_template_string(
                "{{ picture('photo.jpg', alt='x', sizes='10vw', w=300, priority=True,"
                " attrs={'class': 'thumb', 'data-id': 7}) }}"
            )
        assert 'class="thumb" data-id="7"' in html and 'fetchpriority="high"' in html


class TestAskedSize:
    def test_a_fixed_box_gives_its_size_and_a_ladder_up_to_twice_it(self, app: Flask) -> None:
        html = render(app, "cat.jpg", alt="", sizes="100vw", w=600, h=400, fit="cover")
        tag = img_tag(html)
        assert 'width="600" height="400"' in tag
        pairs = candidates(srcset_of(tag))
        assert [width for _, width in pairs] == [320, 480, 600, 640, 750, 828, 1080, 1200]
        for url, width in pairs:
            assert served_size(app, url) == (width, round(width * 400 / 600)), url
        assert 'src="/image/cat.jpg?fit=cover&amp;h=400&amp;w=600"' in tag

    def test_a_box_larger_than_the_source_is_capped_keeping_its_aspect(self, app: Flask) -> None:
        tag = img_tag(render(app, "photo.jpg", alt="", sizes="1vw", w=600, h=400, fit="cover"))
        assert 'width="600" height="400"' in tag  # 800x600 covers 600x400 at 1x
        pairs = candidates(srcset_of(tag))
        assert pairs[-1][1] == 800  # at 2x the source gives 800x533, not 1200x800
        for url, width in pairs:
            assert served_size(app, url) == (width, round(width * 400 / 600)), url

    def test_width_only_keeps_the_source_aspect(self, app: Flask) -> None:
        tag = img_tag(render(app, "photo.jpg", alt="", sizes="1vw", w=300))
        assert 'width="300" height="225"' in tag
        pairs = candidates(srcset_of(tag))
        assert [width for _, width in pairs] == [300, 320, 480, 600]
        for url, width in pairs:
            assert served_size(app, url) == (width, width * 3 // 4), url

    def test_height_only_and_inside_boxes(self, app: Flask) -> None:
        for options, size in [({"h": 150}, (200, 150)), ({"w": 600, "h": 200}, (267, 200))]:
            tag = img_tag(render(app, "photo.jpg", alt="", sizes="1vw", **options))
            assert f'width="{size[0]}" height="{size[1]}"' in tag
            for url, width in candidates(srcset_of(tag)):
                assert served_size(app, url)[0] == width, url

    def test_srcset_follows_the_asked_size_too(self, app: Flask) -> None:
        with app.test_request_context():
            srcset = image_srcset("cat.jpg", w=200, h=200, fit="cover")
        assert [width for _, width in candidates(srcset)] == [200, 320, 400]
        assert "/image/cat.jpg?fit=cover&h=400&w=400 400w" in srcset

    def test_no_size_asked_goes_up_to_the_source(self, app: Flask) -> None:
        tag = img_tag(render(app, "cat.jpg", alt="", sizes="1vw"))
        assert 'width="2725" height="1817"' in tag
        widths = [width for _, width in candidates(srcset_of(tag))]
        assert widths == [320, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 2725]


@given(
    source=st.tuples(st.integers(1, 5000), st.integers(1, 5000)),
    width=st.none() | st.integers(1, 3000),
    height=st.none() | st.integers(1, 3000),
    fit=st.sampled_from(list(Fit)),
)
def test_every_candidate_is_a_width_the_server_makes(
    source: tuple[int, int], width: int | None, height: int | None, fit: Fit
) -> None:
    pairs = [(k, str(v)) for k, v in (("w", width), ("h", height), ("fit", fit)) if v is not None]
    options = parse_options(pairs)
    displayed = displayed_size(source, options)
    for candidate in candidate_widths(source, options, [160, 320, 640, 1280, 2560, displayed[0]]):
        made = plan(source, (candidate, candidate_height(options, candidate)), options.fit).canvas
        assert made[0] == candidate, (candidate, made)
        if candidate_height(options, candidate) is not None:  # a fixed box keeps its aspect
            assert width is not None and height is not None
            # the asked box's, within a pixel of width: a window cut from a tiny source
            # is at least one whole pixel wide (1x1 source, w=1, h=5 cover: 1x1)
            assert abs(made[1] - made[0] * height / width) <= height / width + 1, made


class TestPlaceholder:
    def test_it_is_cleared_once_loaded(self, app: Flask) -> None:
        tag = img_tag(render(app, "sub/alpha.png", alt="", sizes="1vw", placeholder=True))
        assert "background-image:url(&#39;data:image/webp;base64," in tag
        escaped = CLEAR_PLACEHOLDER.replace("'", "&#39;")
        assert f' onload="{escaped}"' in tag
        assert "removeProperty(&#39;background-image&#39;)" in tag

    def test_the_callers_style_and_onload_are_kept(self, app: Flask) -> None:
        tag = img_tag(
            render(
                app,
                "photo.jpg",
                alt="",
                sizes="1vw",
                placeholder=True,
                attrs={"style": "border:0", "onload": "done()"},
            )
        )
        assert re.search(r'style="background-size:cover;[^"]*;border:0"', tag)
        assert re.search(r'onload="this\.style\.removeProperty[^"]*;done\(\)"', tag)


class TestMissingSource:
    def test_picture_writes_a_plain_img_and_logs(
        self, app: Flask, caplog: pytest.LogCaptureFixture
    ) -> None:
        with caplog.at_level(logging.WARNING, logger="pixserve"):
            html = render(
                app, "uploads/gone.jpg", alt="Gone", sizes="1vw", w=300, attrs={"class": "c"}
            )
        assert html == (
            '<img src="/image/uploads/gone.jpg?w=300" alt="Gone" loading="lazy"'
            ' decoding="async" class="c">'
        )
        assert "picture('uploads/gone.jpg')" in caplog.text and "no image named" in caplog.text
        assert app.test_client().get("/image/uploads/gone.jpg?w=300").status_code == 404

    def test_an_unreadable_source_too(self, app: Flask, caplog: pytest.LogCaptureFixture) -> None:
        with caplog.at_level(logging.WARNING, logger="pixserve"):
            html = render(app, "drawing.svg", alt="", sizes="1vw")
        assert html.startswith('<img src="/image/drawing.svg"')
        assert "picture('drawing.svg')" in caplog.text

    def test_a_source_whose_pixels_do_not_decode_gets_no_placeholder(
        self, app: Flask, root: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        whole = (root / "photo.jpg").read_bytes()
        (root / "cut.jpg").write_bytes(whole[: len(whole) // 3])  # the header reads
        with caplog.at_level(logging.WARNING, logger="pixserve"):
            html = render(app, "cut.jpg", alt="", sizes="1vw", placeholder=True)
        assert html.startswith("<picture>") and "background-image" not in html
        assert "picture('cut.jpg'): no placeholder" in caplog.text

    def test_srcset_gives_the_plain_url(self, app: Flask, caplog: pytest.LogCaptureFixture) -> None:
        with app.test_request_context(), caplog.at_level(logging.WARNING, logger="pixserve"):
            assert image_srcset("gone.jpg", w=300) == "/image/gone.jpg?w=300"
        assert "image_srcset('gone.jpg')" in caplog.text

    def test_a_page_with_a_missing_picture_still_renders(self, app: Flask) -> None:
        @app.get("/page")
        def page() -> str:
            return render_template_string(
                "{{ picture('gone.jpg', alt='a', sizes='1vw') }}"
                "{{ picture('photo.jpg', alt='b', sizes='1vw') }}"
            )

        response = app.test_client().get("/page")
        assert response.status_code == 200
        assert response.get_data(as_text=True).count("<img ") == 2


class TestFormats:
    def test_avif_follows_the_setting(self, root: Path, tmp_path: Path) -> None:
        for avif, expected in [(False, ["image/webp"]), (True, ["image/avif", "image/webp"])]:
            app = Flask("formats")
            PixServe(app, Config(root=root, cache_dir=tmp_path / "c", avif=avif))
            html = render(app, "photo.jpg", alt="", sizes="1vw")
            assert re.findall(r'<source type="([^"]+)"', html) == expected

    def test_explicit_formats_win(self, app: Flask) -> None:
        html = render(app, "photo.jpg", alt="", sizes="1vw", formats=("avif",))
        assert re.findall(r'<source type="([^"]+)"', html) == ["image/avif"]
