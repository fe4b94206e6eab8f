"""Transforms admitted against the node's memory budget, across processes."""

from __future__ import annotations

import multiprocessing
import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from flask import Flask

from pixserve.http.admission import MakerSlots, MemoryBudget, Overloaded
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


def test_the_estimate_counts_q_autos_larger_decode() -> None:
    # q=auto decodes a JPEG at least twice the output (steps.load.FAITHFUL_DRAFT_GAP):
    # 1000x750 of this one for a 300 px answer, where the fixed path decodes 500x375.
    photo = encode(gradient((4000, 3000)), "JPEG")
    fixed = estimate_cost(photo, parse_options([("w", "300")]), FORMATS["jpeg"])
    auto = estimate_cost(photo, parse_options([("w", "300"), ("q", "auto")]), FORMATS["jpeg"])
    assert fixed.decoded_pixels >= 500 * 375 and auto.decoded_pixels >= 1000 * 750
    assert auto.memory > fixed.memory


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


def _reserve_and_check(folder: str, seed: int) -> int:
    """In a forked process: 6 threads reserve random amounts of a 100 MiB budget 20
    times each, checking at each that what is held node-wide fits it. Its violations."""
    budget = MemoryBudget(Path(folder), 100 * MiB, queue_timeout=30)
    violations = []

    def thread(number: int) -> None:
        chosen = random.Random(seed * 100 + number)
        for _ in range(20):
            with budget.reserve(chosen.randint(1, 45) * MiB):
                if budget.in_use() > 100 * MiB:
                    violations.append(budget.in_use())
                time.sleep(chosen.random() * 0.003)

    threads = [threading.Thread(target=thread, args=(number,)) for number in range(6)]
    for each in threads:
        each.start()
    for each in threads:
        each.join()
    return len(violations)


def test_many_processes_and_threads_never_hold_more_than_the_budget(tmp_path: Path) -> None:
    """4 processes x 6 threads of random reservations, without any node-wide lock:
    each byte of the budget file is one holder's at a time, so the sum never passes it,
    and every reservation gets in (nobody starves within the wait)."""
    with multiprocessing.get_context("fork").Pool(4) as pool:
        violations = pool.starmap(_reserve_and_check, [(str(tmp_path), seed) for seed in range(4)])
    assert violations == [0, 0, 0, 0]
    assert MemoryBudget(tmp_path, 100 * MiB, 1).in_use() == 0


def test_a_waiting_maker_gets_its_turn_instead_of_a_503() -> None:
    """Past the running transforms, a request waits for its turn (issue 22: one more
    than the threads got 503 at once), and only a wait past the bound is refused."""
    slots = MakerSlots(running=1, timeout=5)
    order: list[str] = []
    with slots.take():
        waiting = threading.Thread(target=lambda: slots.take().__enter__() or order.append("in"))
        waiting.start()
        time.sleep(0.2)
        order.append("first done")
    waiting.join(timeout=5)
    assert order == ["first done", "in"]
    hurried = MakerSlots(running=1, timeout=0.1)
    with hurried.take(), pytest.raises(Overloaded), hurried.take():
        pass


def test_the_waits_come_out_of_the_time_limit(make_app: MakeApp) -> None:
    """A request's time limit counts from when it asks to make a result: its waits for
    a turn and for memory are bounded by what is left of it, so no request outlasts
    the limit by a queue's worth (issue 22: 20 s answers under a 10 s limit)."""
    app: Flask = make_app(memory_budget="16MiB", queue_timeout="5s", time_limit="0.4s")
    client = app.test_client()
    with app.extensions["pixserve"].admission.reserve(16 * MiB):  # another transform
        started = time.monotonic()
        response = client.get("/image/photo.jpg?w=120&fmt=png")
        waited = time.monotonic() - started
    assert response.status_code == 503 and 0.3 < waited < 2
    slots = MakerSlots(running=1, timeout=5)
    with slots.take():
        started = time.monotonic()
        with pytest.raises(Overloaded), slots.take(within=0.1):
            pass
        assert time.monotonic() - started < 2
