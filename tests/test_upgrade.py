"""AVIF without the wait: the WebP stand-in first, the AVIF made in the background, and
the caching semantics between them (ETags per variant, `Vary: Accept`, short max-age)."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from loopback.harness import Served, get
from pixserve import Config
from pixserve.config.settings import ConfigError
from pixserve.http import delivery
from pixserve.http.background import NICENESS, BackgroundJobs
from pixserve.http.deadline import Deadline
from pixserve.http.delivery import Made
from pixserve.http.request import ImageRequest
from pixserve.services import EXTENSION_NAME, Services
from pixserve.transformer import sniff_format
from pixserve.web.extension import PixServe
from tests.helpers import BufferedClient, MakeApp, metric_samples
from tests.live_server import live_server

CHROME = {"Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"}
WEBP_ONLY = {"Accept": "image/webp,*/*"}
URL = "/image/photo.jpg?w=300"
WAIT = 60.0  # seconds a background upgrade may take on a loaded machine
SHORT = "max-age=10"  # the default avif_upgrade_max_age


def services_of(app: Flask) -> Services:
    found: Services = app.extensions[EXTENSION_NAME]
    return found


def idle(app: Flask) -> None:
    assert services_of(app).background.wait_idle(WAIT), "the background upgrade never ended"


@contextmanager
def held(app: Flask) -> Iterator[None]:
    """The app's background thread kept busy for the block: upgrades queue behind it."""
    started, release = threading.Event(), threading.Event()

    def hold() -> None:
        started.set()
        release.wait(WAIT)

    assert services_of(app).background.submit("hold", hold)
    assert started.wait(WAIT)
    try:
        yield
    finally:
        release.set()


def with_jobs(app: Flask, jobs: BackgroundJobs) -> None:
    app.extensions[EXTENSION_NAME] = dataclasses.replace(services_of(app), background=jobs)


def kind(response: TestResponse) -> str | None:
    return sniff_format(response.get_data())


@pytest.fixture
def make_app(make_app: MakeApp) -> Iterator[MakeApp]:
    """conftest's, and each app's background work ended before the next test begins (a
    late upgrade would log into that test's records)."""
    made: list[Flask] = []

    def make(**settings: object) -> Flask:
        made.append(make_app(**settings))
        return made[-1]

    yield make
    for each in made:
        idle(each)


@pytest.fixture
def app(make_app: MakeApp) -> Flask:
    return make_app(avif=True)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_first_answer_is_the_webp_stand_in_then_the_avif(app: Flask, client: FlaskClient) -> None:
    first = client.get(URL, headers=CHROME)
    assert first.status_code == 200 and first.mimetype == "image/webp" and kind(first) == "WEBP"
    assert first.headers["Cache-Control"] == SHORT
    assert first.headers["Vary"] == "Accept"
    # The stand-in is the WebP variant itself: the answer a WebP-only browser gets.
    webp = client.get(URL, headers=WEBP_ONLY)
    assert webp.headers["ETag"] == first.headers["ETag"] and webp.get_data() == first.get_data()
    assert webp.headers["Cache-Control"] == "max-age=86400"

    idle(app)
    later = client.get(URL, headers=CHROME)
    assert later.status_code == 200 and later.mimetype == "image/avif" and kind(later) == "AVIF"
    assert later.headers["X-Cache"] == "HIT"  # made in the background, not by this request
    assert later.headers["Cache-Control"] == "max-age=86400"
    assert later.headers["Vary"] == "Accept"
    assert later.headers["ETag"] != first.headers["ETag"]


def test_a_versioned_stand_in_is_never_immutable(app: Flask, client: FlaskClient) -> None:
    first = client.get(URL + "&v=3", headers=CHROME)
    assert first.mimetype == "image/webp" and first.headers["Cache-Control"] == SHORT
    idle(app)
    later = client.get(URL + "&v=3", headers=CHROME)
    assert later.mimetype == "image/avif"
    assert later.headers["Cache-Control"] == "max-age=31536000, immutable"


def test_the_short_max_age_is_a_setting(make_app: MakeApp) -> None:
    client = make_app(
        avif=True, avif_upgrade_max_age="45s", stale_while_revalidate=60
    ).test_client()
    response = client.get(URL, headers=CHROME)
    assert response.mimetype == "image/webp"
    assert response.headers["Cache-Control"] == "max-age=45"  # and no stale use of it


@pytest.mark.parametrize(
    ("value", "message"), [("-1", "expected a duration"), ("2h", "must be from 0 to 3600")]
)
def test_the_short_max_age_stays_short(root: Path, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"^avif_upgrade_max_age: {message}"):
        Config(root=root, avif_upgrade_max_age=value)


def test_revalidating_the_stand_in_gets_304_until_the_avif_exists(
    app: Flask, client: FlaskClient
) -> None:
    with held(app):
        first = client.get(URL, headers=CHROME)
        etag = first.headers["ETag"]
        again = client.get(URL, headers={**CHROME, "If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == SHORT
        head = client.head(URL, headers=CHROME)
        assert head.status_code == 200 and head.get_data() == b""
        for header in ("Content-Type", "Content-Length", "ETag", "Cache-Control", "Vary"):
            assert head.headers[header] == first.headers[header], header
    idle(app)
    upgraded = client.get(URL, headers={**CHROME, "If-None-Match": etag})
    assert upgraded.status_code == 200 and upgraded.mimetype == "image/avif"
    assert upgraded.headers["ETag"] != etag
    current = client.get(URL, headers={**CHROME, "If-None-Match": upgraded.headers["ETag"]})
    assert current.status_code == 304
    head = client.head(URL, headers=CHROME)
    assert head.headers["Content-Type"] == "image/avif"
    assert head.headers["ETag"] == upgraded.headers["ETag"]


def test_one_upgrade_for_many_requests_in_one_process(app: Flask, client: FlaskClient) -> None:
    with held(app):
        answers = [client.get(URL, headers=CHROME) for _ in range(5)]
        assert {a.mimetype for a in answers} == {"image/webp"}
        assert services_of(app).background.pending() == 2  # the hold and one upgrade
    idle(app)
    assert client.get(URL, headers=CHROME).mimetype == "image/avif"


def test_fmt_best_with_avif_gets_a_stand_in_without_avif(app: Flask, client: FlaskClient) -> None:
    url = "/image/photo.jpg?w=300&fmt=best"
    first = client.get(url, headers=CHROME)
    assert first.status_code == 200 and first.mimetype != "image/avif"
    assert first.headers["Cache-Control"] == SHORT and "Accept" in first.headers["Vary"]
    assert first.headers["ETag"] == client.get(url, headers=WEBP_ONLY).headers["ETag"]
    idle(app)
    later = client.get(url, headers=CHROME)
    assert later.headers["X-Cache"] == "HIT" and later.headers["Cache-Control"] == "max-age=86400"
    assert later.headers["ETag"] != first.headers["ETag"]


def test_a_stand_in_served_from_the_cache_is_never_replayed_by_the_hit_shortcut(
    app: Flask, client: FlaskClient
) -> None:
    """The standalone app replays repeated hits in front of Flask (`shortcut.py`):
    repeated stand-ins that were hits still give way to the upgraded answer."""
    url = "/image/photo.jpg?w=300&fmt=best"
    client.get(url, headers=WEBP_ONLY)  # the stand-in's variant, cached
    stand_ins = [client.get(url, headers=CHROME) for _ in range(3)]
    assert all(r.headers["X-Cache"] == "HIT" for r in stand_ins)
    assert all(r.headers["Cache-Control"] == SHORT for r in stand_ins)
    idle(app)
    later = client.get(url, headers=CHROME)
    assert later.headers["Cache-Control"] == "max-age=86400"
    assert later.headers["ETag"] != stand_ins[0].headers["ETag"]


def test_no_stand_in_for_what_is_not_negotiated_or_not_avif(
    app: Flask, client: FlaskClient
) -> None:
    explicit = client.get("/image/photo.jpg?w=300&fmt=avif", headers=CHROME)
    assert (
        explicit.mimetype == "image/avif" and explicit.headers["Cache-Control"] == "max-age=86400"
    )
    webp = client.get(URL, headers=WEBP_ONLY)
    assert webp.mimetype == "image/webp" and webp.headers["Cache-Control"] == "max-age=86400"
    assert client.get("/info/photo.jpg", headers=CHROME).status_code == 200
    assert services_of(app).background.pending() == 0


def test_the_flask_extension_upgrades_outside_any_request(root: Path, tmp_path: Path) -> None:
    """The background thread holds the services, not an app or request context."""
    app = Flask("userapp")
    PixServe(app, Config(root=root, cache_dir=tmp_path / "cache", avif=True))
    app.test_client_class = BufferedClient
    client = app.test_client()
    assert client.get(URL, headers=CHROME).mimetype == "image/webp"
    idle(app)
    assert client.get(URL, headers=CHROME).mimetype == "image/avif"


def test_disabled_answers_avif_at_once_as_before(make_app: MakeApp) -> None:
    app = make_app(avif=True, avif_upgrade=False)
    client = app.test_client()
    first = client.get(URL, headers=CHROME)
    assert first.mimetype == "image/avif" and first.headers["X-Cache"] == "MISS"
    assert first.headers["Cache-Control"] == "max-age=86400"
    assert services_of(app).background.pending() == 0


def test_a_full_queue_schedules_nothing_and_serves_the_stand_in(
    app: Flask, client: FlaskClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with_jobs(app, BackgroundJobs(capacity=1))
    with held(app):
        assert services_of(app).background.submit("filler", lambda: None)  # the one place
        for width in (200, 210, 220):
            response = client.get(f"/image/photo.jpg?w={width}", headers=CHROME)
            assert response.status_code == 200 and response.mimetype == "image/webp"
    idle(app)
    assert [r for r in caplog.records if "background queue is full" in r.getMessage()]
    # Nothing was upgraded; the next request schedules it, and the one after gets it.
    assert client.get("/image/photo.jpg?w=200", headers=CHROME).mimetype == "image/webp"
    idle(app)
    assert client.get("/image/photo.jpg?w=200", headers=CHROME).mimetype == "image/avif"


def test_a_failed_upgrade_is_logged_and_the_next_request_still_works(
    app: Flask,
    client: FlaskClient,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    make_image = delivery.MAKERS["image"]

    def broken_avif(svc: Services, req: ImageRequest, data: bytes, deadline: Deadline) -> Made:
        if req.choice.format is not None and req.choice.format.name == "avif":
            raise RuntimeError("the AVIF encoder broke")
        return make_image(svc, req, data, deadline)

    monkeypatch.setitem(delivery.MAKERS, "image", broken_avif)
    assert client.get(URL, headers=CHROME).mimetype == "image/webp"
    idle(app)
    failed = [r for r in caplog.records if r.name == "pixserve.requests" and r.levelno >= 40]
    assert len(failed) == 1 and failed[0].exc_info is not None
    assert "the AVIF encoder broke" in str(failed[0].exc_info[1])
    fields: dict[str, Any] = failed[0].__dict__["fields"]
    assert fields["route"] == "upgrade" and fields["status"] == 500
    metrics = metric_samples(client.get("/metrics").get_data(as_text=True))
    labels = (("format", "avif"), ("route", "upgrade"), ("status", "500"))
    assert metrics[("pixserve_requests_total", labels)] == 1

    again = client.get(URL, headers=CHROME)  # the worker and its queue carry on
    assert again.status_code == 200 and again.mimetype == "image/webp"
    idle(app)
    monkeypatch.setitem(delivery.MAKERS, "image", make_image)
    client.get(URL, headers=CHROME)
    idle(app)
    assert client.get(URL, headers=CHROME).mimetype == "image/avif"


def test_an_upgrade_past_the_time_limit_is_ended_and_logged(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    app = make_app(avif=True, time_limit="0.5s")
    client = app.test_client()
    make_image = delivery.MAKERS["image"]

    def endless_avif(svc: Services, req: ImageRequest, data: bytes, deadline: Deadline) -> Made:
        if req.choice.format is not None and req.choice.format.name == "avif":
            while True:  # a transform's steps, each checking the limit first
                deadline.check()
                time.sleep(0.01)
        return make_image(svc, req, data, deadline)

    monkeypatch.setitem(delivery.MAKERS, "image", endless_avif)
    assert client.get(URL, headers=CHROME).mimetype == "image/webp"
    idle(app)
    ended = [r for r in caplog.records if r.getMessage().startswith("upgrade ")]
    assert len(ended) == 1 and ended[0].levelno == logging.WARNING
    assert ended[0].__dict__["fields"]["status"] == 503
    assert client.get(URL, headers=CHROME).status_code == 200


def test_an_upgrade_waits_for_the_memory_budget_as_foreground_makes_do(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    app = make_app(avif=True, memory_budget="16MiB", queue_timeout="0.2s")
    client = app.test_client()
    client.get(URL, headers=WEBP_ONLY)  # the stand-in cached: no foreground make below
    svc = services_of(app)
    with svc.admission.reserve(svc.admission.budget):  # another transform holds it all
        assert client.get(URL, headers=CHROME).mimetype == "image/webp"
        idle(app)
    refused = [r for r in caplog.records if r.getMessage().startswith("upgrade ")]
    assert len(refused) == 1 and refused[0].__dict__["fields"]["status"] == 503
    client.get(URL, headers=CHROME)  # the budget is free again: this one queues it anew
    idle(app)
    assert client.get(URL, headers=CHROME).mimetype == "image/avif"


def test_background_jobs_run_once_per_key_and_survive_errors(
    caplog: pytest.LogCaptureFixture,
) -> None:
    jobs = BackgroundJobs(capacity=2)
    release = threading.Event()
    ran: list[str] = []

    def slow() -> None:
        release.wait(WAIT)
        ran.append("slow")

    def broken() -> None:
        raise ValueError("broken job")

    assert jobs.submit("a", slow)
    assert not jobs.submit("a", slow)  # queued or running already
    assert jobs.submit("b", broken) and jobs.submit("c", lambda: ran.append("c"))
    assert not jobs.submit("d", lambda: ran.append("d"))  # the queue is full
    release.set()
    assert jobs.wait_idle(WAIT)
    assert ran == ["slow", "c"] and jobs.pending() == 0
    assert any(r.exc_info and "broken job" in str(r.exc_info[1]) for r in caplog.records)
    assert jobs.submit("a", lambda: ran.append("a again")) and jobs.wait_idle(WAIT)
    assert ran[-1] == "a again"


@pytest.mark.skipif(sys.platform != "linux", reason="a thread's own nice value is Linux's")
def test_background_work_runs_at_a_lower_priority() -> None:
    jobs = BackgroundJobs()
    seen: list[int] = []
    assert jobs.submit("nice", lambda: seen.append(os.getpriority(os.PRIO_PROCESS, 0)))
    assert jobs.wait_idle(WAIT)
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0) + NICENESS]


def upgrade_lines(served: Served) -> list[dict[str, Any]]:
    """The log lines of upgrades made (not of upgrades refused a place in the queue)."""
    lines = (json.loads(line) for line in served.log_lines('"route": "upgrade"'))
    return [line for line in lines if line["msg"].startswith("upgrade ")]


@pytest.mark.slow
def test_concurrent_requests_in_several_workers_make_the_avif_once(
    root: Path, tmp_path: Path
) -> None:
    """Under `pixserve serve` (granian), every cold request gets the WebP at once,
    and the workers' background threads encode the AVIF once between them."""
    url = "/image/photo.jpg?w=500"
    env = {"PIXSERVE_AVIF": "1", "PIXSERVE_LOG_FORMAT": "json"}
    with live_server(root, tmp_path / "cache", workers=2, threads=4, env=env) as served:
        with ThreadPoolExecutor(8) as pool:
            first = list(pool.map(lambda _: get(served.port, url, CHROME), range(16)))
        assert {status for status, _, _ in first} == {200}
        stand_ins = [h for _, h, _ in first if h["Content-Type"] == "image/webp"]
        assert stand_ins, "no request got the stand-in"
        assert {h["Cache-Control"] for h in stand_ins} == {SHORT}
        for _ in range(600):  # until the AVIF is served
            status, headers, body = get(served.port, url, CHROME)
            if headers["Content-Type"] == "image/avif":
                break
            threading.Event().wait(0.1)
        assert headers["Content-Type"] == "image/avif" and sniff_format(body) == "AVIF"
        assert headers["Cache-Control"] == "max-age=86400"
        made = upgrade_lines(served)
        for _ in range(300):  # the line is written just after the AVIF is stored
            if made:
                break
            threading.Event().wait(0.1)
            made = upgrade_lines(served)
        threading.Event().wait(1.0)  # time for a second upgrade's line, if there were one
        made = upgrade_lines(served)
    assert [line["status"] for line in made] == [200], made
    assert len(list((tmp_path / "cache").glob("**/*.avif"))) == 1
