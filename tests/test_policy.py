"""The HTTP layer decides where a transform runs: in place, or in a child the limit kills."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from loopback.harness import children
from pixserve.http import delivery, policy
from pixserve.http.isolation import run_isolated, transform_isolated
from pixserve.http.policy import ISOLATE_FROM_BYTES, isolates
from pixserve.transformer import FORMATS, Options, parse_options
from pixserve.transformer.cost import Cost, estimate_cost
from tests.helpers import MakeApp, encode, gradient, problem


def _cost(source: bytes, query: str, fmt: str) -> Cost:
    options = parse_options([tuple(p.split("=")) for p in query.split("&") if p])  # type: ignore[misc]
    return estimate_cost(source, options, FORMATS[fmt])


def test_a_page_sized_transform_runs_in_place() -> None:
    photo = encode(gradient((2400, 1600)), "JPEG")
    for fmt in ("jpeg", "webp", "avif"):
        assert not isolates(_cost(photo, "w=1280", fmt)), fmt


def test_a_transform_needing_much_memory_runs_in_a_child() -> None:
    big = encode(gradient((4000, 4000)), "PNG", compress_level=1)
    cost = _cost(big, "w=640", "jpeg")
    assert cost.memory >= ISOLATE_FROM_BYTES and isolates(cost)


def test_a_long_encode_needing_little_memory_runs_in_a_child() -> None:
    """An AVIF of 1.8 MP stays under the memory threshold, but its one encode call
    could overrun the time limit by more than a second in place."""
    photo = encode(gradient((1400, 1300)), "JPEG")
    cost = _cost(photo, "", "avif")
    assert cost.memory < ISOLATE_FROM_BYTES
    assert cost.step_seconds >= policy.ISOLATE_FROM_STEP_SECONDS and isolates(cost)
    assert not isolates(_cost(photo, "", "jpeg"))


def test_a_long_animation_encode_runs_in_a_child() -> None:
    frames = [gradient((400, 300)).rotate(n) for n in range(100)]
    animation = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:])
    cost = _cost(animation, "", "webp")
    assert cost.memory < ISOLATE_FROM_BYTES and isolates(cost)
    assert not isolates(estimate_cost(animation, Options(frame=0), FORMATS["webp"]))


def test_the_app_runs_isolated_work_in_a_child_with_the_same_answer(
    make_app: MakeApp, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = make_app().test_client()
    url = "/image/photo.jpg?w=300&fmt=webp&q=auto"
    here = client.get(url).get_data()
    isolated: list[int] = []

    def counted(*args: object, **kwargs: object) -> object:
        isolated.append(1)
        return transform_isolated(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery, "transform_isolated", counted)
    monkeypatch.setattr(policy, "ISOLATE_FROM_STEP_SECONDS", 0.0)
    there = make_app(cache_dir=tmp_path / "another-cache").test_client().get(url)
    assert there.status_code == 200 and there.get_data() == here
    assert isolated == [1]


def _draw_50_mp(root: Path) -> None:
    noise = np.random.default_rng(7).integers(0, 255, (221, 221), dtype=np.uint8)
    picture = Image.fromarray(noise, "L").resize((7071, 7071), Image.Resampling.BILINEAR)
    picture.save(root / "big.png", compress_level=1)  # busy enough for the encoder


def test_a_50_mp_lossless_encode_past_a_short_limit_is_a_503_and_leaves_no_child(
    make_app: MakeApp, root: Path
) -> None:
    """Its encode alone takes 25 s here: in a child, the limit kills it at 1 s."""
    _draw_50_mp(root)
    client = make_app(time_limit=1.0).test_client()
    started = time.monotonic()
    response = client.get("/image/big.png?lossless=1&fmt=webp")
    took = time.monotonic() - started
    problem(response, 503)
    assert response.headers["Retry-After"].isdigit()
    assert took < 1.0 + 1.5, took  # the limit, reading the header, and slack: no encode
    assert children(os.getpid()) == []


def test_info_of_a_big_source_is_made_in_a_child_and_a_small_one_in_place(
    make_app: MakeApp, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _draw_50_mp(root)
    isolated: list[int] = []

    def counted(*args: object, **kwargs: object) -> object:
        isolated.append(1)
        return run_isolated(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(delivery, "run_isolated", counted)
    client = make_app(time_limit=0.3).test_client()
    problem(client.get("/info/big.png"), 503)  # a 50-MP PNG decode takes longer
    assert isolated == [1] and children(os.getpid()) == []
    assert client.get("/info/photo.jpg").status_code == 200
    assert isolated == [1]
