"""Big work runs in a child process: same answer, killed by the time limit, no peak kept."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from loopback.harness import children
from pixserve.http import isolation
from pixserve.http.deadline import Deadline, TimeLimitExceeded
from pixserve.http.isolation import run_isolated, transform_isolated
from pixserve.transformer import (
    FORMATS,
    EncoderSettings,
    UndecodableImage,
    parse_options,
    transform,
)
from tests.helpers import encode, gradient


def test_the_childs_bytes_come_back() -> None:
    answer = run_isolated(lambda: b"x" * 3_000_000, Deadline(30))  # over a pipe's buffer
    assert answer == b"x" * 3_000_000


def test_the_childs_exception_is_raised_here() -> None:
    def fails() -> bytes:
        raise ValueError("bad settings")

    with pytest.raises(ValueError, match="bad settings"):
        run_isolated(fails, Deadline(30))


def test_a_time_limit_kills_a_long_child_and_reaps_it() -> None:
    def slow() -> bytes:
        time.sleep(30)  # stands for an encoder's one long C call
        return b""

    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        run_isolated(slow, Deadline(0.3))
    assert time.monotonic() - started < 1.5
    assert not [pid for pid in children(os.getpid()) if _state(pid) in ("Z", "S", "R")]


def test_no_child_is_forked_once_the_time_is_up() -> None:
    before = children(os.getpid())
    with pytest.raises(TimeLimitExceeded):
        run_isolated(lambda: b"never", Deadline(0))
    assert children(os.getpid()) == before


def _state(pid: int) -> str:
    """A process's state letter (S sleeping, Z zombie...), "" once it has gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, IndexError):
        return ""


ORPHAN_PROBE = """
import time
from pixserve.http.deadline import Deadline
from pixserve.http.isolation import run_isolated
print("ready", flush=True)
run_isolated(lambda: time.sleep(60), Deadline(120))
"""


def test_the_child_dies_with_a_killed_worker() -> None:
    """A worker killed mid-transform (SIGKILL, the OOM killer) leaves no orphan working on."""
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


class Memory:
    def __init__(self) -> None:
        self.kept: dict[str, int] = {}
        self.asked: list[str] = []

    def get(self, key: str) -> int | None:
        self.asked.append(key)
        return self.kept.get(key)

    def put(self, key: str, quality: int) -> None:
        self.kept[key] = quality


def test_the_same_result_comes_back_from_the_child() -> None:
    source = encode(gradient((640, 480)), "PNG")
    options = parse_options([("w", "200"), ("fmt", "webp")])
    here = transform(source, options, FORMATS["webp"])
    there = transform_isolated(Deadline(30), source, options, FORMATS["webp"])
    assert there.data == here.data and there.format is here.format and there.size == (200, 150)
    assert set(there.timings) == set(here.timings)


def test_the_childs_avif_uses_the_servers_encoder_settings() -> None:
    source = encode(Image.effect_noise((320, 240), 30).convert("RGB"), "PNG")
    options = parse_options([("w", "120"), ("fmt", "avif")])
    slower = EncoderSettings(avif_speed=4)
    there = transform_isolated(Deadline(30), source, options, FORMATS["avif"], encoder=slower)
    assert there.data == transform(source, options, FORMATS["avif"], encoder=slower).data
    assert there.data != transform(source, options, FORMATS["avif"]).data


def test_q_auto_choices_made_in_the_child_are_remembered_here() -> None:
    source = encode(Image.effect_noise((480, 360), 30).convert("RGB"), "PNG")
    options = parse_options([("w", "300"), ("q", "auto")])
    memory = Memory()
    result = transform_isolated(Deadline(30), source, options, FORMATS["webp"], memory=memory)
    assert result.quality is not None and result.probes > 1
    assert memory.kept and result.quality in memory.kept.values()
    again = transform(source, options, FORMATS["webp"], memory=memory)
    assert again.quality == result.quality and again.probes < result.probes


def test_a_bad_file_is_the_same_client_error_from_the_child() -> None:
    truncated = encode(Image.effect_noise((640, 480), 40), "PNG")[:3000]
    with pytest.raises(UndecodableImage) as raised:
        transform_isolated(Deadline(30), truncated, parse_options([]), FORMATS["jpeg"])
    assert raised.value.status == 422 and raised.value.detail


def test_a_time_limit_stops_a_transform_stuck_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stuck(*args: object, **kwargs: object) -> object:
        time.sleep(30)  # stands for a resize of 50 megapixels: one C call
        raise AssertionError("not stopped")

    monkeypatch.setattr(isolation, "transform", stuck)
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        transform_isolated(Deadline(0.3), b"", parse_options([]), FORMATS["jpeg"])
    assert time.monotonic() - started < 1.5


PEAK_PROBE = textwrap.dedent(
    """
    import os, resource, sys
    from pathlib import Path
    from pixserve.http.deadline import Deadline
    from pixserve.http.isolation import transform_isolated
    from pixserve.transformer import FORMATS, ImageLimits, parse_options, transform
    source = Path(sys.argv[1]).read_bytes()
    options, limits = parse_options([("w", "3990")]), ImageLimits(max_source_pixels=20_000_000)
    def isolated(*args):
        return transform_isolated(Deadline(60), *args)
    def rise(run):
        # in a child forked now, whose peak starts at the RSS it has (not at the imports')
        read_end, write_end = os.pipe()
        if os.fork() == 0:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            run(source, options, FORMATS["jpeg"], limits)
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            os.write(write_end, str((after - before) >> 10).encode())  # MiB
            os._exit(0)
        os.close(write_end)
        os.wait()
        return int(os.read(read_end, 100))
    print(rise(isolated), rise(transform))
    """
)


def test_the_worker_keeps_none_of_the_peak_of_work_done_in_a_child(tmp_path: Path) -> None:
    """The picture is 4000x4000 (61 MiB as RGBX): done here, it raises this process's
    peak by more than that; done in a child, by next to nothing."""
    picture = Image.linear_gradient("L").resize((4000, 4000)).convert("RGB")
    picture.save(tmp_path / "big.png", compress_level=1)
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(tmp_path / "big.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    isolated, here = (int(word) for word in probe.stdout.split())
    assert here > 60, probe.stdout
    assert isolated < 5, probe.stdout
