"""Shared fixtures: a source folder, an app over it, the corpus (helpers: `helpers.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pixserve import Config, create_app

from .helpers import CORPUS, BufferedClient, MakeApp, encode, gradient


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
