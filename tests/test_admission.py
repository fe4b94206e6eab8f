"""Transforms admitted against the node's memory budget, across processes."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from pixserve.http.admission import MemoryBudget, Overloaded
from pixserve.transformer import FORMATS, parse_options
from pixserve.transformer.cost import estimate_cost
from tests.conftest import MakeApp, encode, gradient

MiB = 1 << 20


def test_the_estimate_grows_with_the_output_and_the_encoder() -> None:
    photo = encode(gradient((4000, 3000)), "JPEG")
    small = estimate_cost(photo, parse_options([("w", "300")]), FORMATS["jpeg"]).memory
    large = estimate_cost(photo, parse_options([]), FORMATS["jpeg"]).memory
    avif = estimate_cost(photo, parse_options([]), FORMATS["avif"]).memory
    lossless = estimate_cost(photo, parse_options([("lossless", "1")]), FORMATS["webp"]).memory
    assert small < 10 * MiB < large < avif
    assert lossless > estimate_cost(photo, parse_options([]), FORMATS["webp"]).memory
    # a JPEG shrunk on load decodes far fewer pixels than a PNG of the same size
    png = encode(gradient((4000, 3000)), "PNG")
    assert estimate_cost(png, parse_options([("w", "300")]), FORMATS["jpeg"]).memory > small * 4


def test_a_reservation_that_does_not_fit_waits_then_gives_up(tmp_path: Path) -> None:
    budget = MemoryBudget(tmp_path, 100 * MiB, queue_timeout=0.3)
    with budget.reserve(80 * MiB):
        assert budget.in_use() == 80 * MiB
        started = time.monotonic()
        with pytest.raises(Overloaded), budget.reserve(30 * MiB):
            pass
        assert 0.25 < time.monotonic() - started < 2
        with budget.reserve(20 * MiB):  # fits beside it
            assert budget.in_use() == 100 * MiB
    assert budget.in_use() == 0


def test_a_waiting_reservation_gets_in_when_another_ends(tmp_path: Path) -> None:
    budget = MemoryBudget(tmp_path, 100 * MiB, queue_timeout=5)
    first = budget.reserve(90 * MiB)
    first.__enter__()
    threading.Timer(0.3, first.__exit__, (None, None, None)).start()
    started = time.monotonic()
    with budget.reserve(50 * MiB):
        waited = time.monotonic() - started
    assert 0.2 < waited < 3


def test_a_job_over_the_whole_budget_runs_alone(tmp_path: Path) -> None:
    budget = MemoryBudget(tmp_path, 100 * MiB, queue_timeout=0.2)
    with budget.reserve(500 * MiB):
        with pytest.raises(Overloaded), budget.reserve(1 * MiB):
            pass


def test_other_processes_count_and_a_killed_ones_reservation_is_freed(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from pathlib import Path\n"
            "from pixserve.http.admission import MemoryBudget\n"
            "with MemoryBudget(Path(sys.argv[1]), 100 << 20, 1).reserve(70 << 20):\n"
            "    print('held', flush=True)\n"
            "    time.sleep(60)\n",
            str(tmp_path),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        budget = MemoryBudget(tmp_path, 100 * MiB, queue_timeout=0.2)
        assert budget.in_use() == 70 * MiB
        with pytest.raises(Overloaded), budget.reserve(40 * MiB):
            pass
    finally:
        holder.kill()
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    assert budget.in_use() == 0  # the kernel dropped its lock: the reservation is stale
    with budget.reserve(90 * MiB):
        pass


def test_an_overloaded_node_answers_503_at_once_and_counts_it(make_app: MakeApp) -> None:
    app: Flask = make_app(memory_budget="16MiB", queue_timeout="0.2s")
    client = app.test_client()
    with app.extensions["pixserve"].admission.reserve(16 * MiB):  # another transform
        response = client.get("/image/photo.jpg?w=120&fmt=png")
        hit_elsewhere = client.get("/info/photo.jpg")  # not an image transform
    assert response.status_code == 503 and response.headers["Retry-After"] == "2"
    assert response.get_json()["type"] == "urn:pixserve:problem:overloaded"
    assert response.headers["Cache-Control"] == "no-store"
    assert hit_elsewhere.status_code == 200
    again = client.get("/image/photo.jpg?w=120&fmt=png")
    assert again.status_code == 200 and again.headers["X-Cache"] == "MISS"
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'pixserve_rejected_requests_total{reason="overloaded"} 1.0' in metrics
