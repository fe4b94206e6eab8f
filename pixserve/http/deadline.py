"""End a transform that runs past the time limit, without ending the worker.

Pillow's C calls cannot be interrupted from outside, and signals only reach the main
thread, while gunicorn's gthread workers run requests in other threads. So a timer
thread raises `TimeLimitExceeded` *in the request's thread* with CPython's
`PyThreadState_SetAsyncExc`: it takes effect at the next Python bytecode, which
Pillow reaches between decoder chunks and between pipeline steps. Big encodes run in
a child process the transformer waits on in short Python steps (`stoppable.py`), so
the limit lands there too and the child is killed. The worst-case overrun is the
longest remaining C call: one resize of a big picture.
"""

from __future__ import annotations

import ctypes
import threading
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
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        self._thread_id = threading.get_ident()
        self._running = True
        self._timer.start()
        return self

    def _expire(self) -> None:
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
        self._timer.cancel()
