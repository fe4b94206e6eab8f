"""The time limit's deadlines: one watchdog thread per process keeps them all."""

from __future__ import annotations

import os
import threading
import time

import pytest

from pixserve.http.deadline import Deadline, TimeLimitExceeded


def _busy(seconds: float) -> None:
    """Python steps for `seconds`, where an async exception lands."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        time.sleep(0.001)


def test_a_block_past_its_deadline_gets_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), Deadline(0.2):
        _busy(5)
    assert time.monotonic() - started < 2


def test_a_block_ending_in_time_is_never_interrupted_later() -> None:
    for _ in range(200):
        with Deadline(0.05):
            pass
    _busy(0.3)  # every one of them fell due meanwhile: none may land here


def test_deadlines_in_many_threads_expire_only_the_late_ones() -> None:
    outcomes: dict[int, str] = {}

    def work(number: int) -> None:
        late = number % 2 == 0
        try:
            with Deadline(0.3 if late else 5.0):
                _busy(2.0 if late else 0.1)
            outcomes[number] = "finished"
        except TimeLimitExceeded:
            outcomes[number] = "stopped"

    threads = [threading.Thread(target=work, args=(n,)) for n in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert outcomes == {n: "stopped" if n % 2 == 0 else "finished" for n in range(10)}


def test_a_shorter_deadline_set_after_a_longer_one_is_kept_first() -> None:
    outer_stopped = threading.Event()

    def long_one() -> None:
        try:
            with Deadline(30):
                _busy(1.5)
        except TimeLimitExceeded:
            outer_stopped.set()

    thread = threading.Thread(target=long_one)
    thread.start()
    time.sleep(0.05)  # the watchdog now waits for the 30-s deadline
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), Deadline(0.1):
        _busy(5)
    assert time.monotonic() - started < 1.5
    thread.join(5)
    assert not outer_stopped.is_set()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_has_a_working_watchdog_of_its_own() -> None:
    with Deadline(30):  # the parent's watchdog thread is running and holds this
        pid = os.fork()
        if pid == 0:  # the child: no thread was forked with it
            try:
                with Deadline(0.1):
                    _busy(3)
                os._exit(1)
            except TimeLimitExceeded:
                os._exit(0)
            except BaseException:
                os._exit(2)
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
