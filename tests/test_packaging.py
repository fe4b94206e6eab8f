"""The built wheel, as a user installs it: no setuptools warnings while building, and
from a fresh virtualenv (no system or checkout packages) `pixserve serve` serves an
image and the gallery (templates included), and a user's app with its own `cache.py`
and `transformer.py` imports them beside `from pixserve import PixServe`."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.harness import answers, free_port, serving

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

USER_APP = """
import sys

import cache
import transformer
from flask import Flask
from pixserve import PixServe
import pixserve.cache
import pixserve.transformer

app = Flask(__name__)
app.config["PIXSERVE_ROOT"] = sys.argv[1]
app.config["PIXSERVE_CACHE_DIR"] = sys.argv[2]
PixServe(app)
response = app.test_client().get("/image/photo.jpg?w=40&fmt=png")
print(cache.WHOSE, transformer.WHOSE, response.status_code, response.mimetype)
print(pixserve.cache.__file__)
"""


def run(command: list[str], **kwargs: object) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, **kwargs)
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    output: str = done.stdout + done.stderr
    return output


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    """A fresh virtualenv with the wheel installed; yields its bin folder and the build's
    output."""
    folder = tmp_path_factory.mktemp("wheel")
    built = run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-w", str(folder), str(REPO)])
    (wheel,) = folder.glob("pixserve-*.whl")
    venv = folder / "venv"
    run([sys.executable, "-m", "venv", str(venv)])
    run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)])
    yield venv / "bin", built


def test_the_build_prints_no_setuptools_warnings(installed: tuple[Path, str]) -> None:
    _, built = installed
    assert "BuildBackendWarning" not in built and "absent from the" not in built, built


def test_installed_pixserve_serve_gives_an_image_and_the_gallery(
    installed: tuple[Path, str], root: Path, tmp_path: Path
) -> None:
    bin_folder, _ = installed
    elsewhere = tmp_path / "elsewhere"  # not the checkout: only the install can be found
    elsewhere.mkdir()
    where = run(
        [str(bin_folder / "python"), "-c", "import pixserve; print(pixserve.__file__)"],
        cwd=elsewhere,
    )
    assert str(bin_folder.parent) in where and str(REPO) not in where
    port = free_port()
    command = [
        str(bin_folder / "pixserve"),
        "serve",
        "--root",
        str(root),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    environment = {**os.environ, "PIXSERVE_INDEX": "1"}
    log = tmp_path / "serve.log"
    with serving(command, port, log, ready=answers("/"), env=environment, cwd=elsewhere):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as page:
            text = page.read().decode()
        assert "<picture>" in text and "photo.jpg" in text
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/image/photo.jpg?w=60&fmt=png") as r:
            assert r.status == 200 and r.headers["Content-Type"] == "image/png"
            assert r.read()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_user_app_keeps_its_own_cache_and_transformer_modules(
    installed: tuple[Path, str], root: Path, tmp_path: Path
) -> None:
    bin_folder, _ = installed
    project = tmp_path / "project"
    project.mkdir()
    (project / "cache.py").write_text('WHOSE = "mine"\n')
    (project / "transformer.py").write_text('WHOSE = "mine"\n')
    (project / "app.py").write_text(USER_APP)
    output = run(
        [str(bin_folder / "python"), "app.py", str(root), str(tmp_path / "c")], cwd=project
    )
    first, second = output.splitlines()[:2]
    assert first == "mine mine 200 image/png"
    assert str(bin_folder.parent) in second  # pixserve's own cache, inside pixserve
