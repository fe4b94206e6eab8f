"""A big resize split into two bands over two threads (`transformer/bands.py`)."""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
from PIL import Image, ImageFilter

from pixserve.transformer import bands

GAP = 3.0


def _photo(mode: str) -> Image.Image:
    """A detailed picture the size of the street photo's 1/4-scale decode for 640 px."""
    size = (682, 557)
    noise = Image.effect_noise(size, 70).filter(ImageFilter.GaussianBlur(1))  # photo-like
    photo = Image.merge("RGB", (noise, Image.linear_gradient("L").resize(size), noise.transpose(0)))
    if mode == "RGBA":  # a gradient of transparency across the picture
        alpha = Image.linear_gradient("L").resize(photo.size)
        photo.putalpha(alpha)
        return photo
    return photo.convert(mode)


def _pixels(image: Image.Image) -> np.ndarray:
    """Pixels as shown: a transparent pixel's colour does not count (premultiplied)."""
    if image.mode == "RGBA":
        image = image.convert("RGBa")
    return np.asarray(image, dtype=np.int16)


@pytest.mark.parametrize("mode", ["RGB", "RGBA", "L"])
def test_a_split_resize_gives_the_unsplit_picture_to_rounding(mode: str) -> None:
    photo = _photo(mode)
    box = (0.0, 0.0, 681.25, 556.25)  # a reduced decode's exact extent
    whole = photo.resize((640, 522), Image.Resampling.LANCZOS, box=box, reducing_gap=GAP)
    split = bands.resize(photo, (640, 522), box, GAP)
    assert (split.mode, split.size) == (whole.mode, whole.size)
    difference = np.abs(_pixels(split) - _pixels(whole))
    # Pillow may run the two passes in the other order for a band: 8-bit rounding
    # between them (a band one row off would differ by tens of levels on average).
    assert difference.mean() < 0.5
    assert np.percentile(difference, 99) <= 3


def test_the_bands_meet_without_a_seam() -> None:
    photo = _photo("L")
    whole = _pixels(photo.resize((640, 522), Image.Resampling.LANCZOS))
    split = _pixels(bands.resize(photo, (640, 522), None, GAP))
    per_row = np.abs(split - whole).mean(axis=1)
    at_the_join = per_row[522 // 2 - 2 : 522 // 2 + 2]
    assert at_the_join.max() <= per_row.max()
    assert at_the_join.mean() <= 2 * per_row.mean() + 0.1


def test_small_resizes_and_integer_reductions_stay_whole() -> None:
    photo = _photo("RGB")
    small = photo.resize((200, 164))  # below SPLIT_FROM_PIXELS
    assert small.width * small.height < bands.SPLIT_FROM_PIXELS
    expected = small.resize((100, 82), Image.Resampling.LANCZOS, reducing_gap=GAP)
    assert _pixels(bands.resize(small, (100, 82), None, GAP)).tolist() == _pixels(expected).tolist()
    reduced = photo.resize((100, 82), Image.Resampling.LANCZOS, reducing_gap=GAP)  # 6.8x: reduce
    assert _pixels(bands.resize(photo, (100, 82), None, GAP)).tolist() == _pixels(reduced).tolist()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_helpers_of_its_own() -> None:
    photo = _photo("RGB")
    bands.resize(photo, (640, 522), None, GAP)  # the parent's helper threads now exist
    pid = os.fork()
    if pid == 0:  # without fresh helpers the child would wait forever for its band
        try:
            out = bands.resize(photo, (640, 522), None, GAP)
            os._exit(0 if out.size == (640, 522) else 1)
        except BaseException:
            os._exit(2)
    for _ in range(200):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert os.waitstatus_to_exitcode(status) == 0
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child's split resize never finished")
