"""Admit transforms against the node's memory budget and the process's turns, queueing
instead of refusing: no burst of big pictures can take more memory than the machine
has, and ordinary load waits its turn.

Two weighted semaphores, as imgproxy has (`semaphores/semaphores.go`), each a queue
with a bounded wait, never a refusal because of which connection a request came on:

- `MakerSlots`, per process: `running` transforms at once, the other requests that
  make results wait their turn (up to `timeout`). Threads beyond those answer hits,
  `/healthz` and `/metrics` meanwhile; a waiting request holds a thread but no CPU.
- `MemoryBudget`, per node: each transform reserves its estimated peak
  (`transformer.cost`) before it decodes anything, and gives it back when done.

The budget is one file, `<cache_dir>/admission/budget`, one byte standing for one
`UNIT` of memory: a reservation is an open-file-description lock (`F_OFD_SETLK`) on
as many bytes as it needs, wherever they are free. The kernel decides each byte, so
no lock is taken node-wide and nothing is listed (the free bytes are found by skipping
over the held ones, one `F_OFD_GETLK` per other reservation in the way); closing the
descriptor gives the bytes back, and the kernel drops the locks of a process that
dies, so a killed worker's reservation cannot leak. A reservation that does not fit
waits, up to `queue_timeout`, looking again after growing pauses; then the request is
answered 503 with `Retry-After`, before any work. A transform larger than the whole
budget still runs, alone.

After a large transform the worker hands its freed memory back to the system
(`pixserve.ops.allocator`), so its RSS returns near idle instead of keeping the peak.
"""

from __future__ import annotations

import fcntl
import logging
import os
import struct
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from werkzeug.exceptions import ServiceUnavailable

from pixserve.http.errors import Problem
from pixserve.ops.allocator import release_free_memory

log = logging.getLogger(__name__)

FOLDER_NAME = "admission"
FILE_NAME = "budget"
RETRY_AFTER_SECONDS = 2
UNIT = 1 << 20  # the memory one byte of the budget file stands for
# Pauses between looks while a reservation waits for room: short at first (a small
# transform ends within milliseconds), growing to a bound on the time a freed budget
# stays unused. A look costs two system calls per reservation in the way; at 50 ms,
# 24 threads taking turns at a full budget got a tenth of what they get at 10 ms
# (tests/test_admission.py's many-processes test: 12.8 s, then 2.4 s).
FIRST_PAUSE = 0.002
LONGEST_PAUSE = 0.01
# Give memory back to the system after transforms estimated above this, every AVIF
# among them (libaom's state alone is 8 MiB, `transformer/cost.py`). glibc keeps what
# an encoder freed in its heaps: a worker stayed at 104 MiB RSS after 1280 px AVIFs of
# the street photo, 55 MiB with the trim, and its peak was 17% lower; the trim itself
# took 0.4-2.2 ms after AVIFs of 320-1280 px, 0.7 ms after a 1280 px WebP.
TRIM_ABOVE = 8 << 20

# `struct flock` (fcntl(2)): l_type, l_whence, l_start, l_len, l_pid, padded to 32 bytes.
_FLOCK = struct.Struct("hhqqi4x")


class Overloaded(Problem, ServiceUnavailable):
    """The node's memory budget is taken by other transforms, or this process's turns
    did not come within the bounded wait; retrying soon may work."""

    slug = "overloaded"
    reason = "overloaded"
    description = "the server is busy with other images; try again in a moment"

    def __init__(self) -> None:
        super().__init__(retry_after=RETRY_AFTER_SECONDS)


class MakerSlots:
    """`running` transforms of this process at once; more wait their turn, up to
    `timeout` each (or less: `within`, what is left of the request's time limit), then
    get `Overloaded`."""

    def __init__(self, running: int, timeout: float) -> None:
        self.running, self.timeout = running, timeout
        self._turns = threading.BoundedSemaphore(running)

    @contextmanager
    def take(self, within: float | None = None) -> Iterator[None]:
        if not self._turns.acquire(timeout=_bound(self.timeout, within)):
            raise Overloaded()
        try:
            yield
        finally:
            self._turns.release()


class MemoryBudget:
    """`budget` bytes of transforms at once across the node's processes."""

    def __init__(self, cache_dir: Path, budget: int, queue_timeout: float) -> None:
        self.path = cache_dir / FOLDER_NAME / FILE_NAME
        self.budget = budget
        self.units = max(1, budget // UNIT)
        self.queue_timeout = queue_timeout
        self._warned = False

    @contextmanager
    def reserve(self, amount: int, within: float | None = None) -> Iterator[None]:
        """Hold `amount` bytes of the budget for the block; raise `Overloaded` when
        they cannot be had within `queue_timeout` (or `within`, when shorter)."""
        units = min(self.units, max(1, -(-amount // UNIT)))
        try:
            held: int | None = self._take(units, _bound(self.queue_timeout, within))
        except OSError as error:  # an unusable cache folder: serve, unbounded
            self._warn(error)
            held = None
        try:
            yield
        finally:
            if held is not None:
                os.close(held)  # the kernel drops the descriptor's locks
            if amount >= TRIM_ABOVE:
                release_free_memory()

    def in_use(self) -> int:
        """Bytes reserved now by live transforms."""
        try:
            fd = self._open()
        except OSError:
            return 0
        try:
            return sum(length for _, length in _held_ranges(fd, 0, self.units)) * UNIT
        finally:
            os.close(fd)

    def _open(self) -> int:
        try:
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except FileNotFoundError:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)

    def _take(self, units: int, wait: float) -> int:
        """A descriptor holding `units` bytes of the budget file, waiting up to `wait`."""
        deadline = time.monotonic() + wait
        pause = FIRST_PAUSE
        while True:
            fd = self._open()
            if _lock_free_bytes(fd, units, self.units):
                return fd
            os.close(fd)
            left = deadline - time.monotonic()
            if left <= 0:
                raise Overloaded()
            time.sleep(min(pause, left))
            pause = min(pause * 2, LONGEST_PAUSE)

    def _warn(self, error: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("memory budget not enforced: %s: %s", self.path, error)


def _bound(timeout: float, within: float | None) -> float:
    return timeout if within is None else max(0.0, min(timeout, within))


def _lock_free_bytes(fd: int, wanted: int, size: int) -> bool:
    """Lock `wanted` bytes of the first `size` that no other descriptor holds, through
    `fd`; False (with some possibly locked, dropped when `fd` closes) if they are not
    there."""
    position = taken = 0
    while taken < wanted and position < size:
        length = min(wanted - taken, size - position)
        if _try_lock(fd, position, length):
            taken, position = taken + length, position + length
            continue
        held = next(_held_ranges(fd, position, length), None)
        if held is None:
            continue  # let go of since the try: try again
        start, held_length = held
        if start > position and _try_lock(fd, position, start - position):
            taken += start - position
        position = start + held_length
    return taken >= wanted


def _try_lock(fd: int, start: int, length: int) -> bool:
    try:
        fcntl.fcntl(
            fd, fcntl.F_OFD_SETLK, _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, start, length, 0)
        )
    except (BlockingIOError, PermissionError):  # EAGAIN or EACCES: held by another
        return False
    return True


def _held_ranges(fd: int, start: int, length: int) -> Iterator[tuple[int, int]]:
    """The ranges of [start, start + length) that other descriptors hold, in order."""
    end = start + length
    while start < end:
        query = _FLOCK.pack(fcntl.F_WRLCK, os.SEEK_SET, start, end - start, 0)
        kind, _, held_start, held_length, _ = _FLOCK.unpack(
            fcntl.fcntl(fd, fcntl.F_OFD_GETLK, query)
        )
        if kind == fcntl.F_UNLCK:
            return
        held_end = end if held_length == 0 else min(end, held_start + held_length)
        yield max(start, held_start), held_end - max(start, held_start)
        start = held_end
