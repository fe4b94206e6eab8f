"""Hypothesis over query strings and names: never a 5xx, always a readable problem."""

from __future__ import annotations

import json
from urllib.parse import quote, urlencode

import pytest
from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PARAMS = ["w", "h", "dpr", "fit", "fmt", "q", "v"]
VALUES = st.one_of(
    st.text(max_size=12),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["inside", "cover", "contain", "fill", "auto", "jpg", "webp", "avif", "gif"]),
    st.integers(1, 400).map(str),
)
PAIRS = st.lists(st.tuples(st.sampled_from(PARAMS) | st.text(max_size=6), VALUES), max_size=6)
NAMES = st.one_of(
    st.sampled_from(["photo.jpg", "sub/alpha.png", "opaque.webp", "notes.txt", "drawing.svg"]),
    st.text(max_size=30),
    st.lists(st.sampled_from(["..", ".", "sub", "", "%2e%2e", "photo.jpg", "\\"]), max_size=5).map(
        "/".join
    ),
)
FUZZ = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def assert_sane(response_status: int, mimetype: str, body: bytes) -> None:
    assert response_status < 500, body
    assert 200 <= response_status < 300 or response_status in (304, 308) or response_status >= 400
    if response_status >= 400:
        assert mimetype == "application/problem+json"
        problem = json.loads(body)
        assert problem["status"] == response_status and problem["detail"]


@pytest.mark.slow
@FUZZ
@given(pairs=PAIRS)
def test_any_query(app: Flask, pairs: list[tuple[str, str]]) -> None:
    response = app.test_client().get("/image/photo.jpg?" + urlencode(pairs))
    assert_sane(response.status_code, response.mimetype, response.get_data())


@FUZZ
@given(name=NAMES, raw_name=st.booleans())
def test_any_name(app: Flask, name: str, raw_name: bool) -> None:
    path = "/image/" + (name if raw_name else quote(name))
    try:
        response = app.test_client().get(path)
    except UnicodeError:
        return  # the test client itself cannot encode such a URL; no server sees it
    assert_sane(response.status_code, response.mimetype, response.get_data())
