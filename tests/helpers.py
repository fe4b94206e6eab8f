"""Helpers the test modules share: images made on the fly, parsed answers, cache keys.

Why here and not in `conftest.py`: pytest loads conftest itself, and a module that
imports from it gets a second copy; fixtures stay in conftest, functions live here.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from prometheus_client.parser import text_string_to_metric_families
from werkzeug.test import TestResponse

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"

MakeApp = Callable[..., Flask]
MetricSamples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


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


def decoded(data: bytes) -> Image.Image:
    """An encoded image, fully decoded (nothing left to read lazily)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def problem(response: TestResponse, status: int) -> dict[str, Any]:
    """The problem+json body of an error response, checked to be one with `status`."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body: dict[str, Any] = json.loads(response.get_data())
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    return body


def metric_samples(exposition: str) -> MetricSamples:
    """Every sample of a Prometheus text exposition, by name and sorted labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def cache_key(n: int) -> str:
    """The `n`th of distinct, well-formed cache keys (40 hex digits, spread over shards)."""
    return hashlib.blake2b(str(n).encode(), digest_size=20).hexdigest()


class BufferedClient(FlaskClient):
    """Reads and closes each response, as a WSGI server does (cache hits are open files)."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)
