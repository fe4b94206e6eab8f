"""End a transform that runs past the time limit, without ending the worker.

Pillow's C calls cannot be interrupted from outside, and signals only reach the main
thread, while gunicorn's gthread workers run requests in other threads. So a timer
thread raises `TimeLimitExceeded` *in the request's thread* with CPython's
`PyThreadState_SetAsyncExc`: it takes effect at the next Python bytecode, which
Pillow reaches between decoder chunks and between pipeline steps. Big encodes run in
a child process the transformer waits on in short Python steps (`stoppable.py`), so
the limit lands there too and the child is killed. The worst-case overrun is the
longest remaining C call: one resize of a big picture.

One watchdog thread per process keeps every deadline, rather than a timer thread per
transform: starting a thread cost each miss 0.23 ms of CPU and up to a millisecond of
latency (`python -c` loop of 2,000 `Deadline`s on the 2-core machine under load).
"""

from __future__ import annotations

import ctypes
import heapq
import itertools
import os
import threading
import time
from types import TracebackType

from werkzeug.exceptions import ServiceUnavailable

from pixserve.http.errors import Problem

# What a 503 for the time limit asks a client to wait before it tries again.
RETRY_AFTER_SECONDS = 10


class TimeLimitExceeded(Problem, ServiceUnavailable):
    """The transform took longer than `time_limit`; retrying later may succeed.

    Raised by class from the timer thread, so every argument has a default;
    Werkzeug's `ServiceUnavailable` writes `Retry-After` itself.
    """

    slug = "time-limit"
    reason = "time_limit"
    description = "the image took too long to process; try again later"

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER_SECONDS)


def _raise_in(thread_id: int, exception: type[BaseException]) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread_id), ctypes.py_object(exception)
    )


class Deadline:
    """`with Deadline(seconds):` raises `TimeLimitExceeded` in this thread past `seconds`."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._running = False
        self._thread_id = threading.get_ident()

    def __enter__(self) -> Deadline:
        self._thread_id = threading.get_ident()
        self._running = True
        _WATCHDOG.watch(self, time.monotonic() + self.seconds)
        return self

    @property
    def running(self) -> bool:
        return self._running

    def expire(self) -> None:
        """Raise the time limit in the deadline's thread, unless its block has ended."""
        with self._lock:
            if self._running:  # never after __exit__ began: the exception stays inside
                _raise_in(self._thread_id, TimeLimitExceeded)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            self._running = False


class _Watchdog:
    """The process's one thread that expires deadlines in the order they fall due.

    Ended deadlines stay queued until their time (at most `time_limit`) and are then
    dropped unexpired. Started on first use in each process: a forked worker or child
    gets a fresh, empty watchdog, never its parent's thread or lock.
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._due: list[tuple[float, int, Deadline]] = []
        self._order = itertools.count()
        self._changed = threading.Condition(threading.Lock())
        self._started = False

    def watch(self, deadline: Deadline, at: float) -> None:
        with self._changed:
            if not self._started:
                threading.Thread(target=self._run, name="pixserve-deadlines", daemon=True).start()
                self._started = True
            heapq.heappush(self._due, (at, next(self._order), deadline))
            if self._due[0][2] is deadline:  # earlier than what the thread waits for
                self._changed.notify()

    def _run(self) -> None:
        with self._changed:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][0] <= now or not self._due[0][2].running):
                    _, _, deadline = heapq.heappop(self._due)
                    if deadline.running:
                        deadline.expire()
                self._changed.wait(self._due[0][0] - now if self._due else None)


_WATCHDOG = _Watchdog()
