"""In-process: request ids, Server-Timing, the one log line per request, metrics,
health and readiness, and what the extension observes in someone else's app."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

import pixserve.http.delivery
from pixserve import sign_url
from pixserve.ops.endpoints import make_ops_blueprint
from pixserve.ops.logs import JsonFormatter, TextFormatter
from pixserve.web.extension import PixServe
from tests.helpers import BufferedClient, MakeApp, encode, gradient, metric_samples

URL = "/image/photo.jpg?w=200&fmt=webp"
KEY = "k" * 32


def request_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "pixserve.requests"]


def fields(record: logging.LogRecord) -> dict[str, Any]:
    found: dict[str, Any] = getattr(record, "fields")  # noqa: B009 - set through `extra`
    return found


def test_request_id_is_the_proxys_when_sane_else_made_here(make_app: MakeApp) -> None:
    client = make_app().test_client()
    given = client.get("/healthz", headers={"X-Request-ID": "edge-42:abc"})
    assert given.headers["X-Request-ID"] == "edge-42:abc"
    for insane in ("", "x" * 200, "two words", "<script>"):
        made = client.get("/healthz", headers={"X-Request-ID": insane})
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"]), insane


def test_server_timing_on_misses_only_and_configurable_off(
    make_app: MakeApp, tmp_path: Path
) -> None:
    client = make_app().test_client()
    miss = client.get(URL)
    timing = miss.headers["Server-Timing"]
    assert miss.headers["X-Cache"] == "MISS"
    assert re.fullmatch(
        r"decode;dur=\d+\.\d, resize;dur=\d+\.\d, encode;dur=\d+\.\d, cache;dur=\d+\.\d", timing
    )
    hit = client.get(URL)
    assert hit.headers["X-Cache"] == "HIT" and "Server-Timing" not in hit.headers
    quiet = make_app(server_timing=False, cache_dir=tmp_path / "quiet").test_client().get(URL)
    assert quiet.headers["X-Cache"] == "MISS" and "Server-Timing" not in quiet.headers


def test_one_log_line_per_request_with_its_facts(
    make_app: MakeApp, root: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app().test_client()
    caplog.set_level(logging.INFO)
    miss = client.get(URL, headers={"X-Request-ID": "req-1"})
    client.get(URL, headers={"X-Request-ID": "req-2"})
    client.get("/image/photo.jpg?w=nope", headers={"X-Request-ID": "req-3"})
    first, second, third = request_lines(caplog)
    assert first.getMessage() == f"GET {URL} 200"
    miss_fields = fields(first)
    assert miss_fields["request_id"] == "req-1" and miss_fields["route"] == "image"
    assert miss_fields["cache"] == "MISS" and miss_fields["format"] == "webp"
    assert miss_fields["bytes"] == len(miss.data) and miss_fields["status"] == 200
    assert set(miss_fields["timings_ms"]) == {"decode", "resize", "encode", "cache"}
    assert miss_fields["source_bytes"] == (root / "photo.jpg").stat().st_size
    assert fields(second)["cache"] == "HIT" and "source_bytes" not in fields(second)
    assert fields(third)["problem"] == "invalid-parameter" and fields(third)["status"] == 400
    assert "'nope'" in fields(third)["detail"]
    line = json.loads(JsonFormatter().format(first))
    assert line["request_id"] == "req-1" and line["level"] == "info" and line["cache"] == "MISS"
    text = TextFormatter().format(second)
    assert f"GET {URL} 200" in text and "cache=HIT" in text and "request_id=req-2" in text


def test_an_unexpected_error_is_logged_once_with_its_cause(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the encoder fell over")

    monkeypatch.setattr(pixserve.http.delivery, "transform", broken)
    client = make_app().test_client()
    caplog.set_level(logging.INFO)
    response = client.get(URL, headers={"X-Request-ID": "req-500"})
    assert response.status_code == 500 and b"fell over" not in response.data
    errors = [record for record in caplog.records if record.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].name == "pixserve.requests"
    line = json.loads(JsonFormatter().format(errors[0]))
    assert line["request_id"] == "req-500" and line["status"] == 500
    assert line["error"] == "RuntimeError: the encoder fell over"
    assert "in broken" in line["traceback"]


def test_metrics_count_requests_phases_rejections_and_the_cache(
    make_app: MakeApp, root: Path
) -> None:
    (root / "big.png").write_bytes(encode(gradient((1200, 1000)), "PNG"))
    client = make_app(signing_keys=(KEY,), max_source_pixels=1_000_000).test_client()
    statuses = [
        client.get(sign_url(url, KEY)).status_code
        for url in (
            "/image/photo.jpg?w=100&fmt=webp",  # miss
            "/image/photo.jpg?w=100&fmt=webp",  # hit
            "/image/photo.jpg?w=200&fmt=webp",  # miss
            "/image/photo.jpg?w=200&fmt=webp",  # hit
            "/image/nothing.jpg",  # 404
            "/image/big.png?w=10",  # 422: over max_source_pixels
            "/image/notes.txt",  # 415
        )
    ]
    statuses.append(client.get("/image/photo.jpg?w=nope").status_code)  # 400, before signing
    statuses.append(client.get("/image/photo.jpg?w=100&fmt=webp&s=AAAA").status_code)  # 403
    assert statuses == [200, 200, 200, 200, 404, 422, 415, 400, 403]
    found = metric_samples(client.get("/metrics").get_data(as_text=True))
    requests = {
        labels: value
        for (name, labels), value in found.items()
        if name == "pixserve_requests_total"
    }
    assert requests[(("format", "webp"), ("route", "image"), ("status", "200"))] == 4
    assert sum(requests.values()) == 9
    rejected = {
        dict(labels)["reason"]: value
        for (name, labels), value in found.items()
        if name == "pixserve_rejected_requests_total"
    }
    assert rejected == {
        "bad_params": 1,
        "not_found": 1,
        "limits": 1,
        "unsupported": 1,
        "signature": 1,
    }
    for phase in ("decode", "resize", "encode"):
        assert found[("pixserve_transform_seconds_count", (("phase", phase),))] == 2
    read = 2 * (root / "photo.jpg").stat().st_size + (root / "big.png").stat().st_size
    assert found[("pixserve_source_read_bytes_total", ())] == read  # big.png: read, refused
    assert found[("pixserve_cache_hits_total", ())] == 2
    assert found[("pixserve_cache_misses_total", ())] == 2
    assert found[("pixserve_cache_entries", ())] == 2
    assert found[("pixserve_cache_index_up", ())] == 1


@pytest.mark.slow  # eight 1000-px noise PNGs
def test_evictions_are_counted(make_app: MakeApp, root: Path) -> None:
    (root / "noise.png").write_bytes(encode(gradient((1000, 1000)).effect_spread(50), "PNG"))
    client = make_app(cache_max_bytes=1 << 20).test_client()
    for width in range(600, 1000, 50):
        assert client.get(f"/image/noise.png?w={width}&fmt=png").status_code == 200
    found = metric_samples(client.get("/metrics").get_data(as_text=True))
    assert found[("pixserve_cache_evictions_total", ())] >= 1
    assert found[("pixserve_cache_evicted_bytes_total", ())] > 0
    assert found[("pixserve_cache_bytes", ())] <= 1 << 20


def test_healthz_and_readyz(make_app: MakeApp, root: Path, tmp_path: Path) -> None:
    client = make_app().test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready"}
    assert ready.headers["Cache-Control"] == "no-store"
    blocked = make_app(cache_dir=tmp_path / "blocked")
    shutil.rmtree(tmp_path / "blocked")
    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    answer = blocked.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.get_json()["problems"] == ["the cache folder is not writable (File exists)"]
    assert str(tmp_path) not in answer.get_data(as_text=True)  # no server path
    shutil.rmtree(root)
    gone = client.get("/readyz").get_json()
    assert gone["problems"] == ["the source root cannot be read (No such file or directory)"]


def test_the_extension_observes_only_its_own_routes(
    root: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    app = Flask("userapp")
    app.config.update(PIXSERVE_ROOT=str(root), PIXSERVE_CACHE_DIR=tmp_path / "cache")

    @app.get("/")
    def home() -> str:
        return "home"

    PixServe(app)
    app.register_blueprint(make_ops_blueprint())  # opting into /healthz, /readyz, /metrics
    app.test_client_class = BufferedClient
    client = app.test_client()
    caplog.set_level(logging.INFO)
    assert client.get("/").get_data(as_text=True) == "home"
    assert "X-Request-ID" not in client.get("/").headers
    assert client.get(URL).headers["X-Request-ID"]
    assert client.get("/readyz").status_code == 200
    logged = [fields(record)["route"] for record in request_lines(caplog)]
    assert logged == ["image", "readyz"]
    found = metric_samples(client.get("/metrics").get_data(as_text=True))
    assert (
        found[
            ("pixserve_requests_total", (("format", "webp"), ("route", "image"), ("status", "200")))
        ]
        == 1
    )
