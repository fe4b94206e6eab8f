"""Big encodes run in a child process that a time limit can stop."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
from PIL import Image

from pixserve.http.deadline import Deadline, TimeLimitExceeded
from pixserve.transformer import FORMATS, parse_options
from pixserve.transformer import encode as encode_module
from pixserve.transformer.encode import encode
from pixserve.transformer.stoppable import run_stoppably
from tests.harness import children


def test_the_childs_bytes_come_back() -> None:
    assert run_stoppably(lambda: b"x" * 3_000_000) == b"x" * 3_000_000  # over a pipe's buffer


def test_the_childs_exception_is_raised_here() -> None:
    def fails() -> bytes:
        raise ValueError("bad settings")

    with pytest.raises(ValueError, match="bad settings"):
        run_stoppably(fails)


def test_a_time_limit_stops_a_long_child_and_reaps_it() -> None:
    def slow() -> bytes:
        time.sleep(30)  # stands for an encoder's one long C call
        return b""

    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), Deadline(0.3):
        run_stoppably(slow)
    assert time.monotonic() - started < 2
    assert not [pid for pid in children(os.getpid()) if _state(pid) in ("Z", "S")]


def _state(pid: int) -> str:
    """A process's state letter (S sleeping, Z zombie...), "" once it has gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return ""


def test_big_encodes_go_through_a_child_and_give_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    picture = Image.effect_noise((400, 300), 40).convert("RGB")
    options = parse_options([])
    here = encode(picture, FORMATS["png"], options)
    children: list[int] = []
    real = encode_module.run_stoppably

    def counted(work: object) -> bytes:
        children.append(1)
        return real(work)  # type: ignore[arg-type]

    monkeypatch.setattr(encode_module, "run_stoppably", counted)
    monkeypatch.setattr(encode_module, "STOPPABLE_FROM_PIXELS", 100_000)
    there = encode(picture, FORMATS["png"], options)
    assert children == [1] and there == here
    assert Image.open(io.BytesIO(there)).size == (400, 300)


ORPHAN_PROBE = """
import time
from pixserve.transformer.stoppable import run_stoppably
print("ready", flush=True)
run_stoppably(lambda: time.sleep(60))
"""


def test_the_child_dies_with_a_killed_worker() -> None:
    """A worker killed mid-transform (SIGKILL, the OOM killer) leaves no orphan working on."""
    import signal
    import subprocess
    import sys

    with subprocess.Popen([sys.executable, "-c", ORPHAN_PROBE], stdout=subprocess.PIPE) as worker:
        try:
            assert worker.stdout is not None and worker.stdout.readline().startswith(b"ready")
            deadline = time.monotonic() + 10
            while not (forked := children(worker.pid)) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert forked, "the work never started in a child"
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            deadline = time.monotonic() + 5
            while _state(forked[0]) not in ("", "Z") and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _state(forked[0]) in ("", "Z")
        finally:
            worker.kill()
