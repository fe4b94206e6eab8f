"""Work no client waits for, done one job at a time per process, never at a client's cost.

A small bounded queue and one thread per process. `submit` never blocks: a job whose key
is already queued or running is not queued twice, and when the queue is full the job is
dropped (whoever asked will ask again). The thread is started by the first `submit` in
each process, so a server worker forked from a master that built the app starts its
own; it is a daemon, so a worker that exits abandons its job (the cache's per-key lock
and temp files are left for the kernel and `recover`, as for a killed request).

The thread runs at a lower CPU priority (Linux nice +10 for this thread only, inherited
by the encoder threads and child processes it starts): under the kernel's CFS weights a
nice-10 thread gets about a tenth of a core against a busy nice-0 one, so background work
soaks up idle CPU without slowing the requests clients wait on.
"""

from __future__ import annotations

import logging
import os
import queue
import sys
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)

# Jobs waiting per process: enough for the variants of a page's pictures to queue up
# behind one another, few enough that a burst of cold URLs is dropped, not hoarded.
QUEUE_CAPACITY = 16
NICENESS = 10  # added to the thread's nice value: CFS weight 110 against 1024 at nice 0

Job = Callable[[], object]  # what it returns is not used


class BackgroundJobs:
    """One thread per process working through at most `capacity` queued jobs."""

    def __init__(self, capacity: int = QUEUE_CAPACITY, niceness: int = NICENESS) -> None:
        self.capacity, self.niceness = capacity, niceness
        self._lock = threading.Lock()
        self._reset()

    def _reset(self) -> None:
        """Fresh state for this process (after a fork the parent's thread is not here)."""
        self._pid = os.getpid()
        self._queue: queue.Queue[tuple[str, Job]] = queue.Queue(self.capacity)
        self._pending: set[str] = set()  # keys queued or running
        self._thread: threading.Thread | None = None

    def submit(self, key: str, job: Job) -> bool:
        """Queue `job` unless a job for `key` is queued or running or the queue is full;
        True when it was queued."""
        with self._lock:
            if self._pid != os.getpid():
                self._reset()
            if key in self._pending:
                return False
            try:
                self._queue.put_nowait((key, job))
            except queue.Full:
                return False
            self._pending.add(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._work, name="pixserve-background", daemon=True
                )
                self._thread.start()
        return True

    def pending(self) -> int:
        """Jobs queued or running in this process."""
        with self._lock:
            return len(self._pending) if self._pid == os.getpid() else 0

    def wait_idle(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for every queued job to finish; True when they did."""
        jobs = self._queue
        with jobs.all_tasks_done:
            return jobs.all_tasks_done.wait_for(lambda: jobs.unfinished_tasks == 0, timeout)

    def _work(self) -> None:
        _lower_priority(self.niceness)
        jobs = self._queue
        while True:
            key, job = jobs.get()
            try:
                job()
            except Exception:  # a job reports its own errors; this is the last guard
                log.exception("background job %s failed", key)
            finally:
                with self._lock:
                    self._pending.discard(key)
                jobs.task_done()


def _lower_priority(niceness: int) -> None:
    """Raise this thread's nice value by `niceness` (Linux only: elsewhere the same call
    would lower the whole process)."""
    if sys.platform != "linux" or niceness <= 0:
        return
    thread = threading.get_native_id()
    try:
        os.setpriority(os.PRIO_PROCESS, thread, os.getpriority(os.PRIO_PROCESS, thread) + niceness)
    except OSError as error:  # a sandbox that forbids it: run at the normal priority
        log.info("background work runs at normal priority: %s", error)
