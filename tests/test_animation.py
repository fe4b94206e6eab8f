"""Animated GIF and WebP stay animated: frames, durations, loop count, geometry."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageChops, ImageDraw, ImageStat

from pixserve.transformer import FORMATS, ImageLimits, ImageTooLarge, Options, pipeline, transform
from pixserve.transformer.context import Context
from pixserve.transformer.options import Fit


def frames_of(data: bytes) -> tuple[list[Image.Image], list[int], int | None]:
    """Every frame (RGBA), its duration and the loop count, fully decoded."""
    image = Image.open(io.BytesIO(data))
    frames, durations = [], []
    for index in range(getattr(image, "n_frames", 1)):
        image.seek(index)
        frames.append(image.convert("RGBA"))
        durations.append(int(image.info.get("duration") or 0))
    return frames, durations, image.info.get("loop")


def distinct_runs(frames: list[Image.Image], durations: list[int]) -> list[int]:
    """Durations of runs of identical consecutive frames (what an encoder keeps)."""
    runs: list[int] = []
    for index, frame in enumerate(frames):
        if (
            index
            and ImageChops.difference(frame, frames[index - 1]).getbbox(alpha_only=False) is None
        ):
            runs[-1] += durations[index]
        else:
            runs.append(durations[index])
    return runs


def counting_animation(frames: int = 6) -> bytes:
    """An animated GIF whose frames all differ, with varied durations and loop 3."""
    pictures = []
    for n in range(frames):
        picture = Image.new("RGB", (120, 80), (20 * n, 100, 200 - 20 * n))
        ImageDraw.Draw(picture).rectangle((10 * n, 10, 10 * n + 30, 60), fill=(255, 255, 0))
        pictures.append(picture)
    buffer = io.BytesIO()
    pictures[0].save(
        buffer,
        "GIF",
        save_all=True,
        append_images=pictures[1:],
        duration=[40 + 10 * n for n in range(frames)],
        loop=3,
    )
    return buffer.getvalue()


@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_every_frame_is_kept_with_its_duration_and_the_loop(fmt: str) -> None:
    frames, durations, loop = frames_of(
        transform(counting_animation(), Options(width=60), FORMATS[fmt]).data
    )
    assert len(frames) == 6
    assert durations == [40, 50, 60, 70, 80, 90]
    assert loop == 3
    assert all(frame.size == (60, 40) for frame in frames)


def test_cover_crops_every_frame_the_same_way() -> None:
    options = Options(width=40, height=40, fit=Fit.COVER)
    frames, _, _ = frames_of(transform(counting_animation(), options, FORMATS["webp"]).data)
    assert len(frames) == 6 and all(frame.size == (40, 40) for frame in frames)


@pytest.mark.parametrize("fmt", ["png", "jpeg", "avif"])
def test_formats_that_cannot_animate_get_the_first_frame(fmt: str) -> None:
    still = Image.open(
        io.BytesIO(transform(counting_animation(), Options(width=60), FORMATS[fmt]).data)
    )
    assert getattr(still, "n_frames", 1) == 1
    first, _, _ = frames_of(counting_animation())
    reference = first[0].convert("RGB").resize((60, 40))
    difference = ImageChops.difference(still.convert("RGB"), reference).convert("L")
    assert ImageStat.Stat(difference).mean[0] < 8  # the same picture, up to compression


def test_frame_selects_one_still_frame() -> None:
    data = transform(counting_animation(), Options(width=60, frame=4), FORMATS["gif"]).data
    frames, _, _ = frames_of(data)
    assert len(frames) == 1
    source, _, _ = frames_of(counting_animation())
    # frame 4 has its yellow bar at x = 40..70 of 120, so 20..35 of 60
    assert frames[0].getpixel((27, 20))[:3] == pytest.approx((255, 255, 0), abs=40)
    assert source[4].getpixel((55, 20))[:3] == (255, 255, 0)


@pytest.mark.parametrize(
    "name",
    [
        "animated-loop-3.gif",
        "animated-loop-3.webp",
        "rotating-squares.gif",
        "rotating-squares.webp",
        "big-height.webp",
    ],
)
@pytest.mark.parametrize("fmt", ["gif", "webp"])
def test_corpus_animations_keep_their_frames_and_timing(corpus: Path, name: str, fmt: str) -> None:
    data = (corpus / "animated" / name).read_bytes()
    source_frames, source_durations, source_loop = frames_of(data)
    width = min(60, source_frames[0].width)
    out_frames, out_durations, out_loop = frames_of(
        transform(data, Options(width=width), FORMATS[fmt]).data
    )
    runs = distinct_runs(source_frames, source_durations)
    assert len(out_frames) == len(runs)
    if len(runs) > 1:  # every distinct frame, in order, each shown as long as in the source
        assert out_durations == runs
        assert sum(out_durations) == sum(source_durations)
        assert (out_loop or 0) == (source_loop or 0)
    assert out_frames[0].width == width


def test_total_pixels_of_all_frames_are_limited() -> None:
    data = counting_animation()  # 6 frames of 120x80: 57,600 pixels
    limits = ImageLimits(max_animation_pixels=57_600)
    assert transform(data, Options(width=60), FORMATS["webp"], limits)
    with pytest.raises(ImageTooLarge, match="57600 pixels"):
        transform(
            data, Options(width=60), FORMATS["webp"], ImageLimits(max_animation_pixels=57_599)
        )


def test_every_frame_runs_the_one_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """A step added to `PIPELINE` reaches every frame: there is no second list to edit."""
    seen: list[int | None] = []

    def note_frame(ctx: Context) -> None:
        seen.append(ctx.animation_frame)

    monkeypatch.setattr(pipeline, "PIPELINE", (*pipeline.PIPELINE, note_frame))
    transform(counting_animation(), Options(width=60), FORMATS["webp"])
    assert seen == [0, 1, 2, 3, 4, 5]


def test_animation_comments_are_stripped() -> None:
    """The metadata step runs on frames too: a GIF comment does not reach the output."""
    frames = [Image.new("RGB", (40, 30), (40 * n, 0, 0)) for n in range(3)]
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "GIF", save_all=True, append_images=frames[1:], comment=b"made by someone"
    )
    data = transform(buffer.getvalue(), Options(width=20), FORMATS["gif"]).data
    assert "comment" not in Image.open(io.BytesIO(data)).info


def test_oriented_animation_comes_out_upright() -> None:
    """Frames are turned by their EXIF orientation, as stills are (the planned size is
    the upright one, so unturned frames came out squashed)."""
    frames = []
    for n in range(3):
        frame = Image.new("RGB", (120, 80), (0, 0, 200))
        ImageDraw.Draw(frame).rectangle((0, 0, 29, 79), fill=(255, 0, 0))  # left edge red
        ImageDraw.Draw(frame).rectangle((60, 30, 70 + 10 * n, 50), fill=(0, 255, 0))
        frames.append(frame)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6  # shown turned 90 degrees clockwise
    buffer = io.BytesIO()
    frames[0].save(
        buffer, "WEBP", save_all=True, append_images=frames[1:], exif=exif, lossless=True
    )
    out, _, _ = frames_of(transform(buffer.getvalue(), Options(width=40), FORMATS["webp"]).data)
    assert len(out) == 3 and all(frame.size == (40, 60) for frame in out)
    # the stored left edge is the top once turned clockwise
    assert out[0].getpixel((20, 2))[:3] == pytest.approx((255, 0, 0), abs=40)
    assert out[0].getpixel((20, 58))[:3] == pytest.approx((0, 0, 200), abs=40)
