"""The hit shortcut (`pixserve.http.shortcut`) answers exactly as the app does, and only
while the source and the cache entry are the ones the kept answer was made from."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request_started
from werkzeug.test import TestResponse

from tests.helpers import MakeApp, encode, gradient, metric_samples

URL = "/image/photo.jpg?w=120&fmt=webp"
PER_REQUEST = {"X-Request-ID", "Date"}


@contextmanager
def app_answers(app: Flask) -> Iterator[list[str]]:
    """The paths the Flask app itself handled while the block ran (not the shortcut)."""
    seen: list[str] = []

    def started(sender: Flask, **extra: Any) -> None:
        from flask import request

        seen.append(request.full_path)

    request_started.connect(started, app)
    try:
        yield seen
    finally:
        request_started.disconnect(started, app)


def line_fields(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = getattr(record, "fields")  # noqa: B009 - set through `extra`
    return found


def stable_headers(response: TestResponse) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.items() if k not in PER_REQUEST)


def kept_then_replayed(
    app: Flask, method: str, url: str, **headers: str
) -> tuple[TestResponse, TestResponse]:
    """The app's answer (kept), then the shortcut's replay of it, for a hit."""
    client = app.test_client()
    client.get(url, headers=headers)  # the miss
    with app_answers(app) as seen:
        by_app = client.open(url, method=method, headers=headers)
        replayed = client.open(url, method=method, headers=headers)
    assert seen == [url], "the second was answered by the shortcut"
    return by_app, replayed


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize(
    ("settings", "url", "headers"),
    [
        ({}, URL, {}),
        ({}, "/image/photo.jpg?w=90&fmt=jpeg", {}),
        ({}, "/image/photo.jpg?w=90", {}),
        ({}, "/image/sub/alpha.png?w=60&fmt=png", {}),
        ({}, "/image/photo.jpg?w=100", {"Accept": "image/avif,image/webp,*/*"}),
        ({}, "/image/sub/alpha.png?w=50&v=3", {}),
        ({"cors_origins": ["https://a.example"]}, URL, {"Origin": "https://a.example"}),
        ({"cors_origins": ["https://a.example"]}, URL, {"Origin": "https://b.example"}),
        ({"cors_origins": ["*"]}, URL, {}),
    ],
)
def test_a_replayed_hit_is_the_apps_answer(
    make_app: MakeApp, method: str, settings: dict[str, Any], url: str, headers: dict[str, str]
) -> None:
    by_app, replayed = kept_then_replayed(make_app(**settings), method, url, **headers)
    assert by_app.status_code == replayed.status_code == 200
    assert by_app.headers["X-Cache"] == "HIT"
    assert stable_headers(replayed) == stable_headers(by_app)
    assert replayed.data == by_app.data
    assert set(replayed.headers.keys()) == set(by_app.headers.keys())
    assert replayed.headers["X-Request-ID"] != by_app.headers["X-Request-ID"]
    if method == "GET":
        assert len(replayed.data) == int(replayed.headers["Content-Length"]) > 0


def test_a_replayed_304_is_the_apps_answer(make_app: MakeApp) -> None:
    app = make_app()
    client = app.test_client()
    etag = client.get(URL).headers["ETag"]
    with app_answers(app) as seen:
        by_app = client.get(URL, headers={"If-None-Match": etag})
        replayed = client.get(URL, headers={"If-None-Match": etag, "X-Request-ID": "r-1"})
    assert len(seen) == 1
    assert by_app.status_code == replayed.status_code == 304 and replayed.data == b""
    assert stable_headers(replayed) == stable_headers(by_app)
    assert replayed.headers["X-Request-ID"] == "r-1"


def test_what_the_app_answers_itself(make_app: MakeApp) -> None:
    """Ranges, other validators, another ETag and other URLs all reach the app."""
    app = make_app()
    client = app.test_client()
    client.get(URL)
    client.get(URL)  # kept
    etag = client.get(URL).headers["ETag"]
    with app_answers(app) as seen:
        partial = client.get(URL, headers={"Range": "bytes=0-9"})
        since = client.get(URL, headers={"If-Modified-Since": "Tue, 01 Dec 2099 00:00:00 GMT"})
        other = client.get(URL, headers={"If-None-Match": '"other"'})
        weak = client.get(URL, headers={"If-None-Match": f"W/{etag}"})
        posted = client.post(URL)
    assert (partial.status_code, len(partial.data)) == (206, 10)
    assert since.status_code == 304 and other.status_code == 200 and weak.status_code == 304
    assert posted.status_code == 405
    assert len(seen) == 5


def test_the_shortcut_and_the_app_share_one_memo_entry(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A repeated request is understood once, whether the shortcut replays it or hands
    it to the app (another ETag, a Range), and the kept answers sit beside it."""
    from pixserve.http import request as understanding
    from pixserve.services import EXTENSION_NAME

    understood: list[str] = []
    understand = understanding._image_request

    def counted(svc: Any, name: str) -> Any:
        understood.append(name)
        return understand(svc, name)

    monkeypatch.setattr(understanding, "_image_request", counted)
    app = make_app()
    recent = app.extensions[EXTENSION_NAME].recent
    client = app.test_client()
    etag = client.get(URL).headers["ETag"]  # the miss
    client.get(URL, headers={"If-None-Match": etag})  # the app's 304, kept
    client.get(URL)  # the app's hit, kept
    with app_answers(app) as seen:
        replays = [client.get(URL), client.get(URL, headers={"If-None-Match": etag})]
        assert client.get(URL, headers={"If-None-Match": '"other"'}).status_code == 200
        assert client.get(URL, headers={"Range": "bytes=0-9"}).status_code == 206
    assert [r.status_code for r in replays] == [200, 304] and len(seen) == 2
    assert understood == ["photo.jpg"] and len(recent) == 1


def test_a_changed_source_is_never_replayed(make_app: MakeApp, root: Path) -> None:
    app = make_app()
    client = app.test_client()
    first = client.get(URL)
    client.get(URL)
    photo = root / "photo.jpg"
    photo.write_bytes(encode(gradient((640, 480), "RGB"), "JPEG", quality=70))
    os.utime(photo, ns=(time.time_ns(), time.time_ns() + 5_000_000_000))
    changed = client.get(URL)
    assert changed.headers["ETag"] != first.headers["ETag"]
    assert changed.headers["X-Cache"] == "MISS"
    photo.unlink()
    assert client.get(URL).status_code == 404
    assert client.get(URL, headers={"If-None-Match": changed.headers["ETag"]}).status_code == 404


def test_a_damaged_or_evicted_entry_is_never_replayed(make_app: MakeApp, tmp_path: Path) -> None:
    app = make_app()
    client = app.test_client()
    made = client.get(URL)
    assert client.get(URL).headers["X-Cache"] == "HIT"  # kept
    (entry,) = (tmp_path / "cache").glob("??/??/*.webp")
    entry.write_bytes(made.data[: len(made.data) // 2])  # truncated in place
    again = client.get(URL)
    assert again.headers["X-Cache"] == "MISS" and again.data == made.data
    assert client.get(URL).headers["X-Cache"] == "HIT"
    entry.unlink()
    gone = client.get(URL)
    assert gone.headers["X-Cache"] == "MISS" and gone.data == made.data


def test_replayed_hits_are_counted_and_logged_like_the_apps(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app()
    client = app.test_client()
    etag = client.get(URL).headers["ETag"]
    caplog.set_level(logging.INFO, logger="pixserve.requests")
    caplog.clear()
    for _ in range(3):
        client.get(URL)
        client.get(URL, headers={"If-None-Match": etag})
    lines = [r for r in caplog.records if r.name == "pixserve.requests"]
    assert len(lines) == 6
    by_app = [line_fields(r) for r in lines[:2]]
    replayed = [line_fields(r) for r in lines[4:]]
    for app_line, shortcut_line in zip(by_app, replayed, strict=True):
        assert set(app_line) == set(shortcut_line)
        for name in set(app_line) - {"request_id", "duration_ms", "timings_ms"}:
            assert app_line[name] == shortcut_line[name], name
    assert [r.getMessage() for r in lines[4:]] == [
        f"GET {URL} 200",
        f"GET {URL} 304",
    ]
    assert replayed[0]["cache"] == "HIT"
    assert re.fullmatch(r"[0-9a-f]{32}", replayed[0]["request_id"])
    samples = metric_samples(client.get("/metrics").text)
    hits = ("pixserve_requests_total", (("format", "webp"), ("route", "image"), ("status", "200")))
    not_modified = (
        "pixserve_requests_total",
        (("format", "webp"), ("route", "image"), ("status", "304")),
    )
    assert samples[hits] == 4 and samples[not_modified] == 3


def test_a_symlinked_source_is_resolved_every_time(make_app: MakeApp, root: Path) -> None:
    """A name reached through a symlink is checked against the root at each request."""
    (root / "alias.jpg").symlink_to(root / "photo.jpg")
    client = make_app().test_client()
    url = "/image/alias.jpg?w=80&fmt=webp"
    client.get(url)
    assert client.get(url).headers["X-Cache"] == "HIT"
    outside = root.parent / "secret.jpg"
    outside.write_bytes((root / "photo.jpg").read_bytes())
    (root / "alias.jpg").unlink()
    (root / "alias.jpg").symlink_to(outside)
    assert client.get(url).status_code == 404


def test_only_the_standalone_app_has_it(root: Path, tmp_path: Path) -> None:
    """In a user's app, their own hooks see every request."""
    from pixserve import Config
    from pixserve.http.shortcut import HitShortcut
    from pixserve.web.extension import PixServe

    app = Flask(__name__)
    PixServe(app, Config(root=root, cache_dir=tmp_path / "c"))
    assert not isinstance(app.wsgi_app, HitShortcut)


def test_a_large_entry_is_replayed_from_its_file(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Entries above `READ_UP_TO` go to the server as a file (`sendfile`), same bytes."""
    import pixserve.http.shortcut

    monkeypatch.setattr(pixserve.http.shortcut, "READ_UP_TO", 0)
    by_app, replayed = kept_then_replayed(make_app(), "GET", URL)
    assert replayed.data == by_app.data and len(replayed.data) > 0
    assert stable_headers(replayed) == stable_headers(by_app)
