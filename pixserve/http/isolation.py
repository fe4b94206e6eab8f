"""Big work in a forked child process that the time limit kills.

A step of the pipeline is one C call (a 50-MP decode or resize, a lossless WebP or
AVIF encode of many megapixels) that no check between steps can cut short, and a
long-lived worker keeps much of such a peak (glibc does not give a fragmented heap
back, `malloc_trim` or not: `benchmarks/stress.py`, issue 13). So `policy.isolates`
sends big work here: a child forked for it shares the parent's memory copy-on-write,
does the work, writes its answer (or its exception), pickled, to a pipe, and exits at
once, touching no lock of the parent's other threads but the allocator's, which glibc
makes fork-safe. The parent waits on the pipe no longer than the deadline allows,
then kills the child and raises `TimeLimitExceeded`; its memory all goes back when
it ends. The child dies with its parent (Linux's `PR_SET_PDEATHSIG`): a worker killed
mid-transform (SIGKILL, the OOM killer) leaves no orphan working outside the limit.

`q=auto`'s memory is the parent's (its cache is not safe to use across a fork): the
child starts every search afresh and hands what it chose back, and the parent
remembers it for the next request.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import select
import signal
import warnings
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from PIL import Image

from pixserve.http.deadline import Deadline, TimeLimitExceeded
from pixserve.transformer import EncoderSettings, Format, ImageLimits, Options, Result, transform
from pixserve.transformer.colour import ColourSettings
from pixserve.transformer.encode import DEFAULT_ENCODER
from pixserve.transformer.quality import QualityMemory

T = TypeVar("T")
_OK, _FAILED = b"+", b"-"
_PR_SET_PDEATHSIG = 1  # prctl's option number (linux/prctl.h)


class ChildFailed(RuntimeError):
    """The child died without an answer (crashed in C, or killed by someone else)."""


def run_isolated(work: Callable[[], T], deadline: Deadline) -> T:
    """`work()` in a forked child; its answer, or its exception raised here, or
    `TimeLimitExceeded` (the child killed) once `deadline` passes."""
    deadline.check()  # no fork for work whose time is already up
    read_end, write_end = os.pipe()
    parent = os.getpid()
    with warnings.catch_warnings():
        # Python 3.12+ warns on any fork of a threaded process; this child is safe
        # for the reason above: it runs one transform and exits.
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # the child: do the work, hand it over, leave without cleanup
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
        answer = _read_all(read_end, deadline)
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


class _Recorded:
    """A `QualityMemory` for the child: it knows nothing and keeps what it is told."""

    def __init__(self) -> None:
        self.chosen: list[tuple[str, int]] = []

    def get(self, key: str) -> int | None:
        return None

    def put(self, key: str, quality: int) -> None:
        self.chosen.append((key, quality))


def transform_isolated(
    deadline: Deadline,
    source: bytes,
    options: Options,
    output: Format | None,
    limits: ImageLimits | None = None,
    colour: ColourSettings | None = None,
    memory: QualityMemory | None = None,
    candidates: tuple[Format, ...] = (),
    overlays: Mapping[str, Image.Image] | None = None,
    encoder: EncoderSettings = DEFAULT_ENCODER,
) -> Result:
    """`transform(...)` in a child `deadline` kills; `q=auto`'s choices come back to
    `memory`. The child needs no check of its own: the parent is its time limit."""

    def work() -> tuple[Result, list[tuple[str, int]]]:
        recorded = _Recorded()
        result = transform(
            source,
            options,
            output,
            limits,
            colour,
            recorded,
            candidates,
            overlays=overlays,
            encoder=encoder,
        )
        return result, recorded.chosen

    result, chosen = run_isolated(work, deadline)
    if memory is not None:
        for key, quality in chosen:
            memory.put(key, quality)
    return result


def _find_prctl() -> Any:
    name = ctypes.util.find_library("c")  # looked up once: it runs a program to find it
    try:
        return None if name is None else ctypes.CDLL(name).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _find_prctl()


def _die_with(parent: int) -> None:
    """Be killed if the worker dies first (Linux; elsewhere nothing)."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it died before the line above
        os._exit(1)


def _read_all(fd: int, deadline: Deadline) -> bytes:
    """Everything the child writes, until it closes the pipe; `TimeLimitExceeded` when
    `deadline` passes first."""
    chunks: list[bytes] = []
    while True:
        ready, _, _ = select.select([fd], [], [], deadline.remaining())
        if not ready:
            raise TimeLimitExceeded()
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
