"""Big transforms run apart, in a child process: same answer, stoppable, no peak kept."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PIL import Image

from pixserve.http.deadline import Deadline, TimeLimitExceeded
from pixserve.transformer import FORMATS, UndecodableImage, parse_options, transform
from pixserve.transformer import apart as apart_module
from pixserve.transformer.apart import transform_apart
from tests.helpers import encode, gradient


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
    there = transform_apart(source, options, FORMATS["webp"])
    assert there.data == here.data and there.format is here.format and there.size == (200, 150)
    assert set(there.timings) == set(here.timings)


def test_q_auto_choices_made_apart_are_remembered_here() -> None:
    source = encode(Image.effect_noise((480, 360), 30).convert("RGB"), "PNG")
    options = parse_options([("w", "300"), ("q", "auto")])
    memory = Memory()
    result = transform_apart(source, options, FORMATS["webp"], memory=memory)
    assert result.quality is not None and result.probes > 1
    assert memory.kept and result.quality in memory.kept.values()
    again = transform(source, options, FORMATS["webp"], memory=memory)
    assert again.quality == result.quality and again.probes < result.probes


def test_a_bad_file_is_the_same_client_error_from_the_child() -> None:
    truncated = encode(Image.effect_noise((640, 480), 40), "PNG")[:3000]
    with pytest.raises(UndecodableImage) as raised:
        transform_apart(truncated, parse_options([]), FORMATS["jpeg"])
    assert raised.value.status == 422 and raised.value.detail


def test_a_time_limit_stops_a_transform_stuck_in_one_call(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def stuck(*args: object) -> object:
        time.sleep(30)  # stands for a resize of 50 megapixels: one C call
        raise AssertionError("not stopped")

    monkeypatch.setattr(apart_module, "transform", stuck)
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded), Deadline(0.3):
        transform_apart(b"", parse_options([]), FORMATS["jpeg"])
    assert time.monotonic() - started < 1.5


PEAK_PROBE = textwrap.dedent(
    """
    import os, resource, sys
    from pathlib import Path
    from pixserve.transformer import FORMATS, ImageLimits, parse_options, transform
    from pixserve.transformer.apart import transform_apart
    source = Path(sys.argv[1]).read_bytes()
    options, limits = parse_options([("w", "3990")]), ImageLimits(max_source_pixels=20_000_000)
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
    print(rise(transform_apart), rise(transform))
    """
)


def test_the_worker_keeps_none_of_the_peak_of_work_done_apart(tmp_path: Path) -> None:
    """The picture is 4000x4000 (61 MiB as RGBX): done here, it raises this process's
    peak by more than that; done apart, by next to nothing."""
    picture = Image.linear_gradient("L").resize((4000, 4000)).convert("RGB")
    picture.save(tmp_path / "big.png", compress_level=1)
    probe = subprocess.run(
        [sys.executable, "-c", PEAK_PROBE, str(tmp_path / "big.png")],
        capture_output=True,
        text=True,
        check=True,
    )
    apart, here = (int(word) for word in probe.stdout.split())
    assert here > 60, probe.stdout
    assert apart < 5, probe.stdout
