from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from pixserve import Config, create_app
from pixserve.web.samples import draw_samples


@pytest.mark.slow  # draws the demo images at full size
def test_samples_are_drawn_and_served(tmp_path: Path) -> None:
    paths = draw_samples(tmp_path / "samples")
    assert {p.name for p in paths} == {
        "sunset.jpg",
        "sideways-portrait.jpg",
        "badge.png",
        "spiral.gif",
        "frame.9.png",
    }
    with Image.open(tmp_path / "samples" / "sideways-portrait.jpg") as sideways:
        assert sideways.size == (1200, 900) and sideways.getexif()[0x0112] == 6
    with Image.open(tmp_path / "samples" / "badge.png") as badge:
        assert badge.mode == "RGBA"
    with Image.open(tmp_path / "samples" / "spiral.gif") as spiral:
        assert spiral.n_frames == 16 and spiral.info["loop"] == 0  # animated, looping
        first = spiral.convert("RGB")
        spiral.seek(5)
        assert first.tobytes() != spiral.convert("RGB").tobytes()

    app = create_app(Config(root=tmp_path / "samples", cache_dir=tmp_path / "cache", index=True))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    for path in paths:
        assert f"/image/{path.name}?fit=cover&amp;h=160&amp;w=160" in page
        response = client.get(f"/image/{path.name}?w=300")
        assert response.status_code == 200
        response.close()
    upright = client.get("/image/sideways-portrait.jpg?w=300&fmt=png")
    with Image.open(io.BytesIO(upright.get_data())) as shown:
        assert shown.size == (300, 400)  # the EXIF orientation was applied
    upright.close()
