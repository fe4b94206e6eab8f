"""Warn once per condition, not once per request, and say when it clears.

A full disk or a read-only folder fails every request's cache write; one warning says
so, the rest would only bury the log. When the condition clears (a write succeeds
again), an info line says so and the next occurrence warns again, so a server left
running for a year reports each episode.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Troubles:
    """The cache's current problems, by condition name ("write", "index", "lock"...)."""

    def __init__(self) -> None:
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def report(
        self, condition: str, message: str, consequence: str = "serving results uncached"
    ) -> None:
        """Log `message` (and its `consequence`) as a warning unless `condition` is
        already known."""
        with self._lock:
            if condition in self._active:
                return
            self._active.add(condition)
        if consequence:
            message = f"{message}; {consequence}"
        log.warning(message)

    def clear(self, condition: str) -> None:
        """`condition` is over: say so once if it had been reported."""
        if condition not in self._active:  # the common case, without taking the lock
            return
        with self._lock:
            if condition not in self._active:
                return
            self._active.discard(condition)
        log.info("the cache works again (%s)", condition)
