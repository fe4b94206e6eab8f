"""The extension in a user's app under `flask run`: its request lines are visible
without any logging set-up, and an app that configures logging keeps control."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from loopback.harness import Served, answers, free_port, serving

pytestmark = pytest.mark.slow  # a real flask run each

USER_APP = """
import logging
from flask import Flask
from pixserve import PixServe

{logging_setup}
app = Flask(__name__)
app.config["PIXSERVE_ROOT"] = {root!r}
app.config["PIXSERVE_CACHE_DIR"] = {cache!r}
PixServe(app)


@app.get("/")
def home():
    return "home"
"""


@contextmanager
def flask_run(folder: Path, root: Path, logging_setup: str = "") -> Iterator[Served]:
    """`flask --app userapp run` in `folder`, until the block ends."""
    source = USER_APP.format(logging_setup=logging_setup, root=str(root), cache=str(folder / "c"))
    (folder / "userapp.py").write_text(source)
    port = free_port()
    command = [sys.executable, "-m", "flask", "--app", "userapp", "run", "--port", str(port)]
    with serving(command, port, folder / "flask.log", ready=answers("/"), cwd=folder) as served:
        yield served


def fetch(port: int, path: str) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=60) as response:
        response.read()
        status: int = response.status
        return status


def request_lines(served: Served) -> list[dict[str, object]]:
    lines = [line for line in served.log_text().splitlines() if line.startswith("{")]
    return [entry for entry in map(json.loads, lines) if entry["logger"] == "pixserve.requests"]


def test_request_lines_are_visible_under_flask_run(root: Path, tmp_path: Path) -> None:
    with flask_run(tmp_path, root) as served:
        assert fetch(served.port, "/image/photo.jpg?w=50") == 200
        time.sleep(0.2)
        lines = request_lines(served)
    assert [line["msg"] for line in lines] == ["GET /image/photo.jpg?w=50 200"]
    assert lines[0]["level"] == "info" and lines[0]["cache"] == "MISS"


def test_an_app_that_configures_logging_keeps_control(root: Path, tmp_path: Path) -> None:
    setup = "logging.basicConfig(level=logging.WARNING)"
    with flask_run(tmp_path, root, setup) as served:
        assert fetch(served.port, "/image/photo.jpg?w=50") == 200
        time.sleep(0.2)
        assert request_lines(served) == []
        assert "pixserve.requests" not in served.log_text()
