"""Admit transforms against the node's memory budget, so no burst of big pictures can
take more memory than the machine has, and keep a thread free for everything else.

Each transform reserves its estimated peak (`transformer.cost`) before it decodes
anything, and gives it back when done. Reservations are shared by every worker
process on the node: each is an empty file in `<cache_dir>/admission/` holding its
size in its name and an exclusive `flock` while its transform runs. The kernel drops
the lock when a process dies, so a killed worker's reservation is seen as stale and
removed by the next look: nothing leaks. A reservation that does not fit waits, up to
`queue_timeout`, for others to finish; then the request is answered 503 with
`Retry-After` at once, before any work. A transform larger than the whole budget
still runs, alone.

After a large transform the worker hands its freed memory back to the system
(`pixserve.ops.allocator`), so its RSS returns near idle instead of keeping the peak;
the largest run apart, in a child process (`transformer/apart.py`).
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.exceptions import ServiceUnavailable

from pixserve.http.errors import Problem
from pixserve.ops.allocator import release_free_memory

log = logging.getLogger(__name__)

FOLDER_NAME = "admission"
RETRY_AFTER_SECONDS = 2
POLL_SECONDS = 0.05
# Give memory back to the system after transforms estimated above this, every AVIF
# among them (libaom's state alone is 8 MiB, `transformer/cost.py`). glibc keeps what
# an encoder freed in its heaps: a worker stayed at 104 MiB RSS after 1280 px AVIFs of
# the street photo, 55 MiB with the trim, and its peak was 17% lower; the trim itself
# took 0.4-2.2 ms after AVIFs of 320-1280 px, 0.7 ms after a 1280 px WebP.
TRIM_ABOVE = 8 << 20
_PREFIX = "r-"


class Overloaded(Problem, ServiceUnavailable):
    """The node's memory budget is taken by other transforms; retrying soon may work."""

    slug = "overloaded"
    reason = "overloaded"
    description = "the server is busy with other images; try again in a moment"

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER_SECONDS)


class MakerSlots:
    """How many requests of this process make results: `running` at once, `waiting`
    more for their turn (up to `timeout`), and past those a 503 at once instead of a
    queued thread, so one thread of the process's pool is always left for cache hits,
    `/healthz`, `/readyz` and `/metrics`.

    `pixserve serve` sizes them from `threads`: `transforms_per_process` running and
    the rest but one waiting.
    """

    def __init__(self, running: int, waiting: int, timeout: float) -> None:
        self.running, self.waiting, self.timeout = running, waiting, timeout
        self._turns = threading.BoundedSemaphore(running)
        self._lock = threading.Lock()
        self._inside = 0

    @classmethod
    def for_threads(cls, threads: int, running: int, timeout: float) -> MakerSlots:
        running = max(1, min(running, threads - 1))
        return cls(running, max(0, threads - 1 - running), timeout)

    @contextmanager
    def take(self) -> Iterator[None]:
        with self._lock:
            if self._inside >= self.running + self.waiting:
                raise Overloaded()
            self._inside += 1
        try:
            if not self._turns.acquire(timeout=self.timeout):
                raise Overloaded()
            try:
                yield
            finally:
                self._turns.release()
        finally:
            with self._lock:
                self._inside -= 1


class MemoryBudget:
    """`budget` bytes of transforms at once across the node's processes."""

    def __init__(self, cache_dir: Path, budget: int, queue_timeout: float) -> None:
        self.folder = cache_dir / FOLDER_NAME
        self.budget = budget
        self.queue_timeout = queue_timeout
        self._warned = False

    @contextmanager
    def reserve(self, amount: int) -> Iterator[None]:
        """Hold `amount` bytes of the budget for the block; raise `Overloaded` when
        they cannot be had within `queue_timeout`."""
        try:
            held = self._take(amount)
        except OSError as error:  # an unusable cache folder: serve, unbounded
            self._warn(error)
            held = None
        try:
            yield
        finally:
            if held is not None:
                path, fd = held
                with _quietly():
                    path.unlink()
                os.close(fd)
            if amount >= TRIM_ABOVE:
                release_free_memory()

    def in_use(self) -> int:
        """Bytes reserved now by live transforms (stale reservations are removed)."""
        total = 0
        for path in self.folder.glob(_PREFIX + "*"):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                total += _amount(path)  # its holder is alive
            else:
                with _quietly():
                    path.unlink()  # its holder died without giving it back
            finally:
                os.close(fd)
        return total

    def _take(self, amount: int) -> tuple[Path, int]:
        self.folder.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.queue_timeout
        while True:
            held = self._take_if_it_fits(amount)
            if held is not None:
                return held
            if time.monotonic() >= deadline:
                raise Overloaded()
            time.sleep(POLL_SECONDS)

    def _take_if_it_fits(self, amount: int) -> tuple[Path, int] | None:
        lock = os.open(self.folder / "lock", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one look-and-take at a time, node-wide
            used = self.in_use()
            if used and used + amount > self.budget:
                return None
            name = f"{_PREFIX}{amount}-{os.getpid()}-{threading.get_ident()}-{uuid.uuid4().hex}"
            path = self.folder / name
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return path, fd
        finally:
            os.close(lock)

    def _warn(self, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("memory budget not enforced: %s: %s", self.folder, error)


def _amount(path: Path) -> int:
    try:
        return int(path.name[len(_PREFIX) :].split("-", 1)[0])
    except ValueError:
        return 0


@contextmanager
def _quietly() -> Iterator[None]:
    try:
        yield
    except FileNotFoundError:
        pass
