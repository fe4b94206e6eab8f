"""The time limit is a deadline the transformer checks between its steps."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from PIL import Image

from pixserve.http.deadline import Deadline, TimeLimitExceeded
from pixserve.transformer import FORMATS, parse_options, pipeline, quality, transform
from pixserve.transformer.context import Context
from pixserve.transformer.info import describe
from tests.helpers import encode, gradient

STEP_SECONDS = 0.1


def test_a_deadline_passes_in_time_and_raises_after() -> None:
    deadline = Deadline(0.2)
    deadline.check()
    assert 0 < deadline.remaining() <= 0.2
    time.sleep(0.25)
    assert deadline.remaining() == 0
    with pytest.raises(TimeLimitExceeded) as raised:
        deadline.check()
    assert raised.value.code == 503


def test_a_transform_past_its_deadline_stops_at_the_next_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A transform run in place overruns its limit by at most one step."""
    ran: list[float] = []

    def slow(ctx: Context) -> None:
        time.sleep(STEP_SECONDS)  # stands for one C call of a step
        ran.append(time.monotonic())

    monkeypatch.setattr(pipeline, "PIPELINE", (slow,) * 50)
    source = encode(gradient((64, 48)), "PNG")
    started = time.monotonic()
    with pytest.raises(TimeLimitExceeded):
        transform(source, parse_options([]), FORMATS["webp"], check=Deadline(0.3).check)
    stopped = time.monotonic()
    assert 3 <= len(ran) <= 5  # 0.3 s of 0.1-s steps, and the one it was in
    assert stopped - ran[-1] < STEP_SECONDS  # nothing ran after the last step's check
    assert stopped - started < 0.3 + 2 * STEP_SECONDS + 0.3  # one step over, and slack


def _recorded(monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], Callable[[], None]]:
    """Every encode and every check, in the order they happen."""
    events: list[str] = []
    real = quality.encode

    def encoding(*args: object, **kwargs: object) -> bytes:
        events.append("encode")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(quality, "encode", encoding)
    return events, lambda: events.append("check")


def test_every_probe_of_a_q_auto_search_is_checked_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events, check = _recorded(monkeypatch)
    # Noise at `high` takes a search of several probes (at `good` one meets at once).
    source = encode(Image.effect_noise((320, 240), 30).convert("RGB"), "PNG")
    result = transform(source, parse_options([("q", "auto:high")]), FORMATS["webp"], check=check)
    assert result.probes >= 2 and events.count("encode") == result.probes
    assert all(events[i - 1] == "check" for i, e in enumerate(events) if e == "encode")
    assert events.count("check") >= len(pipeline.PIPELINE) + result.probes


def test_a_stopped_search_encodes_no_more(monkeypatch: pytest.MonkeyPatch) -> None:
    events, record = _recorded(monkeypatch)

    def check() -> None:
        record()
        if "encode" in events:
            raise TimeLimitExceeded()

    source = encode(Image.effect_noise((320, 240), 30).convert("RGB"), "PNG")
    with pytest.raises(TimeLimitExceeded):
        transform(source, parse_options([("q", "auto:high")]), FORMATS["webp"], check=check)
    assert events.count("encode") == 1


def test_every_frame_of_an_animation_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    frames = [gradient((32, 24)).rotate(n * 40) for n in range(5)]
    source = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    calls = 0

    def check() -> None:
        nonlocal calls
        calls += 1
        if calls > 2 * len(pipeline.PIPELINE):  # two frames in
            raise TimeLimitExceeded()

    steps: list[int | None] = []
    monkeypatch.setattr(
        pipeline, "PIPELINE", (lambda ctx: steps.append(ctx.animation_frame), *pipeline.PIPELINE)
    )
    with pytest.raises(TimeLimitExceeded):
        transform(source, parse_options([("w", "16")]), FORMATS["gif"], check=check)
    assert steps == [0, 1]  # the third frame never started


def test_describe_is_checked_between_its_phases() -> None:
    calls = 0

    def count() -> None:
        nonlocal calls
        calls += 1

    source = encode(gradient((64, 48)), "PNG")
    describe(source, check=count)
    in_thumbnail = calls - 3  # the pipeline's own, and one before each phase after it
    assert in_thumbnail >= len(pipeline.PIPELINE)

    def late() -> None:
        nonlocal calls
        calls -= 1
        if calls == 0:  # the last check: before the placeholder
            raise TimeLimitExceeded()

    with pytest.raises(TimeLimitExceeded):
        describe(source, check=late)
