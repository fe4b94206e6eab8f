"""What a web page's author tunes in HTTP: caching headers, tracking parameters,
cross-origin reads, and readable problem bodies."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from pixserve import Config, ConfigError, sign_url
from tests.helpers import MakeApp

KEY = "k" * 32


def test_cache_control_is_max_age_without_public(client: FlaskClient) -> None:
    response = client.get("/image/photo.jpg?w=100")
    assert response.headers["Cache-Control"] == "max-age=86400"


def test_a_versioned_url_is_immutable_for_a_year(client: FlaskClient) -> None:
    for url in ("/image/photo.jpg?w=100&v=3", "/info/photo.jpg?v=3"):
        response = client.get(url)
        assert response.headers["Cache-Control"] == "max-age=31536000, immutable", url
        again = client.get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304
        assert again.headers["Cache-Control"] == "max-age=31536000, immutable"


def test_stale_while_revalidate_and_a_shorter_versioned_age(make_app: MakeApp) -> None:
    client = make_app(stale_while_revalidate="1h", versioned_max_age="30d").test_client()
    plain = client.get("/image/photo.jpg?w=100").headers["Cache-Control"]
    versioned = client.get("/image/photo.jpg?w=100&v=a").headers["Cache-Control"]
    assert plain == "max-age=86400, stale-while-revalidate=3600"
    assert versioned == "max-age=2592000, immutable, stale-while-revalidate=3600"


def test_tracking_parameters_are_refused_unless_ignored(make_app: MakeApp) -> None:
    strict = make_app().test_client()
    refused = strict.get("/image/photo.jpg?w=100&fbclid=abc")
    assert refused.status_code == 400 and "fbclid" in refused.get_json()["detail"]

    client = make_app(ignored_params=("utm_*", "fbclid")).test_client()
    plain = client.get("/image/photo.jpg?w=100")
    tracked = client.get("/image/photo.jpg?w=100&utm_source=news&utm_medium=mail&fbclid=x")
    assert tracked.status_code == 200
    assert tracked.headers["ETag"] == plain.headers["ETag"]  # one cache entry
    assert tracked.headers["X-Cache"] == "HIT"
    assert client.get("/image/photo.jpg?w=100&gclid=x").status_code == 400  # not listed


def test_ignored_parameters_stay_out_of_the_signature(make_app: MakeApp) -> None:
    client = make_app(signing_keys=(KEY,), ignored_params=("utm_*",)).test_client()
    signed = sign_url("/image/photo.jpg?w=100", KEY)
    assert client.get(signed + "&utm_campaign=spring").status_code == 200
    assert client.get(signed + "&w=200").status_code == 400  # repeated: not ignorable


@pytest.mark.parametrize("pattern", ["w", "f*", "*", "s"])
def test_ignored_params_may_not_hide_pixserves_own(make_app: MakeApp, pattern: str) -> None:
    with pytest.raises(ConfigError, match="^ignored_params:"):
        make_app(ignored_params=(pattern,))


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    response = client.get("/image/photo.jpg?w=100", headers={"Origin": "https://a.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_cors_for_any_origin(make_app: MakeApp) -> None:
    client = make_app(cors_origins=("*",)).test_client()
    for url in ("/image/photo.jpg?w=100", "/info/photo.jpg", "/image/missing.jpg"):
        response = client.get(url, headers={"Origin": "https://a.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert "Origin" not in response.headers.get("Vary", "")


def test_cors_for_listed_origins_varies_by_origin(make_app: MakeApp) -> None:
    client = make_app(cors_origins=("https://a.example", "http://localhost:3000")).test_client()
    allowed = client.get("/info/photo.jpg", headers={"Origin": "http://localhost:3000"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"
    other = client.get("/info/photo.jpg", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
    for response in (allowed, other):
        assert "Origin" in response.headers["Vary"]


def test_cors_origins_are_checked_at_start(tmp_path: object) -> None:
    with pytest.raises(ConfigError, match="^cors_origins:"):
        Config(root=".", cors_origins=("example.com/path",))


def test_problem_bodies_are_readable_json_and_still_safe(client: FlaskClient) -> None:
    response = client.get("/image/it's-<b>missing</b>.jpg")
    text = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "it's" in text and "\\u0027" not in text  # apostrophes as they are
    assert "<b>" not in text and "\\u003cb\\u003e" in text  # markup never
