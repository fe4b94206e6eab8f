"""The time limit of one make: a deadline the work asks about, never one imposed on it.

The transformer calls `Deadline.check` between its steps (imgproxy's `CheckTimeout`),
so a transform past `time_limit` ends at the next step with `TimeLimitExceeded`: the
worker lives on and nothing is interrupted mid-way (no exception injected into a
thread, no timer thread). What runs in place can overrun by one step, its longest
C call; work that could take long runs in a child process instead (`isolation.py`),
whose parent waits no longer than `remaining()` and then kills it.
"""

from __future__ import annotations

import time

from werkzeug.exceptions import ServiceUnavailable

from pixserve.http.errors import Problem

# What a 503 for the time limit asks a client to wait before it tries again.
RETRY_AFTER_SECONDS = 10


class TimeLimitExceeded(Problem, ServiceUnavailable):
    """The transform took longer than `time_limit`; retrying later may succeed.

    Werkzeug's `ServiceUnavailable` writes `Retry-After` itself.
    """

    slug = "time-limit"
    reason = "time_limit"
    description = "the image took too long to process; try again later"

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER_SECONDS)


class Deadline:
    """`seconds` from now on the monotonic clock (the same in a forked child)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left, 0 once past."""
        return max(0.0, self.at - time.monotonic())

    def check(self) -> None:
        """Return while time is left; `TimeLimitExceeded` once it is not."""
        if time.monotonic() >= self.at:
            raise TimeLimitExceeded()
