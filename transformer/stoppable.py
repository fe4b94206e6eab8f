"""Run long C calls where they can be stopped: in a forked child process.

A thread cannot be stopped inside a C call (an encoder's, a resize's), so a time
limit that raises in the request's thread lands only after the call, however long it
takes (a lossless WebP of 50 megapixels: 23 s against a 10 s limit). Big work runs
in a child forked for it instead: the parent waits on a pipe in short Python-level
steps, so the limit lands within one step, and then the child is killed. Fork shares
the parent's memory copy-on-write, so nothing is copied in; the child writes its
answer (or its exception), pickled, to the pipe and exits at once, touching no lock
of the parent's other threads but the allocator's, which glibc makes fork-safe.

The child's memory goes back to the system when it exits, all of it: a worker that
ran a 50-MP transform this way keeps none of the peak (glibc keeps much of a freed
peak in the process however it is trimmed: `benchmarks/stress.py`, issue 13).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import select
import signal
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

WAIT_STEP = 0.05  # seconds between Python-level checks while the child works
_OK, _FAILED = b"+", b"-"
T = TypeVar("T")
_PR_SET_PDEATHSIG = 1  # prctl's option number (linux/prctl.h)
_in_child = False  # work already apart runs nested work in place: one fork is enough


class ChildFailed(RuntimeError):
    """The child died without an answer (killed, or crashed in C)."""


def run_stoppably(work: Callable[[], T]) -> T:
    """`work()` in a forked child; its answer, or its exception raised here."""
    global _in_child  # noqa: PLW0603 - set in the child, which is apart from here on
    if _in_child:
        return work()
    read_end, write_end = os.pipe()
    parent = os.getpid()
    with warnings.catch_warnings():
        # Python 3.12+ warns on any fork of a threaded process; this child is safe
        # for the reason above: it runs one encoder call and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: do the work, hand it over, leave without cleanup
        _in_child = True
        _die_with(parent)
        os.close(read_end)
        try:
            answer = _OK + pickle.dumps(work(), pickle.HIGHEST_PROTOCOL)
        except BaseException as error:  # noqa: BLE001 - every failure goes to the parent
            answer = _FAILED + _pickled(error)
        _write_all(write_end, answer)
        os._exit(0)
    os.close(write_end)
    try:
        answer = _read_all(read_end)
    finally:
        os.close(read_end)
        _end(pid)
    if answer[:1] == _OK:
        done: T = pickle.loads(answer[1:])  # noqa: S301 - our child's own
        return done
    if answer[:1] == _FAILED:
        raised: BaseException = pickle.loads(answer[1:])  # noqa: S301 - our child's own
        raise raised
    raise ChildFailed("the transform's process ended without an answer")


def _find_prctl() -> Any:
    name = ctypes.util.find_library("c")  # looked up once: it runs a program to find it
    try:
        return None if name is None else ctypes.CDLL(name).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _find_prctl()


def _die_with(parent: int) -> None:
    """Be killed if the worker dies first (SIGKILL, the OOM killer): an orphan would
    go on working, unseen by the time limit (Linux; elsewhere nothing)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _read_all(fd: int) -> bytes:
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([fd], [], [], WAIT_STEP)  # the time limit lands here
        if not ready:
            continue
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _end(pid: int) -> None:
    """Kill the child if it still works (the time limit), and reap it."""
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    os.waitpid(pid, 0)


def _pickled(error: BaseException) -> bytes:
    try:
        return pickle.dumps(error)
    except Exception:  # noqa: BLE001 - an exception that does not pickle
        return pickle.dumps(RuntimeError(f"{type(error).__name__}: {error}"))
