"""Shared fixtures: a source folder, an app over it, images made on the fly, the corpus."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from pixserve import Config, create_app

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"


def encode(image: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def gradient(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """A smooth two-way gradient: resizes and compresses like a photo, unlike noise."""
    width, height = size
    red = Image.linear_gradient("L").resize(size)
    green = Image.linear_gradient("L").rotate(90).resize(size)
    blue = Image.new("L", size, 128)
    image = Image.merge("RGB", (red, green, blue))
    if mode == "RGBA":
        alpha = Image.new("L", size, 255)
        alpha.paste(0, (0, 0, width // 2, height // 2))
        image.putalpha(alpha)
    elif mode != "RGB":
        image = image.convert(mode)
    return image


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared image corpus is absent (looked in {CORPUS})")
    return CORPUS


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A source folder holding a few small images of known shape."""
    folder = tmp_path / "root"
    (folder / "sub").mkdir(parents=True)
    (folder / "photo.jpg").write_bytes(encode(gradient((800, 600)), "JPEG", quality=90))
    (folder / "sub" / "alpha.png").write_bytes(encode(gradient((400, 300), "RGBA"), "PNG"))
    (folder / "opaque.webp").write_bytes(encode(gradient((300, 200)), "WEBP"))
    (folder / "clear.webp").write_bytes(encode(gradient((300, 200), "RGBA"), "WEBP"))
    (folder / "notes.txt").write_text("not an image")
    (folder / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    (folder / ".hidden.jpg").write_bytes((folder / "photo.jpg").read_bytes())
    return folder


MakeApp = Callable[..., Flask]


class BufferedClient(FlaskClient):
    """Reads and closes each response, as a WSGI server does (cache hits are open files)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


@pytest.fixture
def make_app(root: Path, tmp_path: Path) -> MakeApp:
    def make(**settings: object) -> Flask:
        values: dict[str, object] = {"root": root, "cache_dir": tmp_path / "cache"}
        values.update(settings)
        app = create_app(Config(**values))
        app.testing = True
        app.test_client_class = BufferedClient
        return app

    return make


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()
