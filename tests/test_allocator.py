"""`pixserve serve` maps big buffers apart, so their memory goes back when freed."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap

import pytest
from PIL import Image

from pixserve.http.admission import TRIM_ABOVE
from pixserve.ops import allocator
from pixserve.transformer.cost import estimate_cost
from pixserve.transformer.formats import AVIF
from pixserve.transformer.options import Options

PROBE = textwrap.dedent(
    """
    import sys
    from pixserve.ops import allocator
    if sys.argv[1] == "apart":
        assert allocator.map_big_buffers_apart()
    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 >> 20
    before = rss()
    small = []
    for request in range(8):
        pictures = []
        for size in (16, 8, 12, 6, 10, 4):  # MiB: source bytes, decoded, resized, encoded...
            pictures.append(bytearray(size << 20))
            small.append(bytearray(100_000))  # what a request keeps meanwhile (below 128 KiB)
        del pictures
    print(rss() - before)
    """
)


def _kept_after_free(mode: str) -> int:
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True
    )
    return int(probe.stdout)


@pytest.mark.skipif(allocator._LIBC is None, reason="the C library is not glibc")
def test_freed_pictures_stay_in_the_process_by_default_and_go_back_when_mapped_apart() -> None:
    assert _kept_after_free("default") > 40  # of 56 MiB freed each time; 4.8 MiB kept
    assert _kept_after_free("apart") < 15


AVIF_PROBE = textwrap.dedent(
    """
    import io, sys, tempfile
    from pathlib import Path
    from PIL import Image
    from pixserve.http.admission import MemoryBudget
    from pixserve.ops import allocator
    assert allocator.map_big_buffers_apart() and allocator.share_heaps()
    def rss():
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * 4096 >> 20
    picture = Image.effect_noise((1280, 1024), 60).convert("RGB")
    admission = MemoryBudget(Path(tempfile.mkdtemp()), 1 << 30, 1.0)
    before = rss()
    for _ in range(2):
        with admission.reserve(int(sys.argv[1])):
            picture.save(io.BytesIO(), "AVIF", quality=60, speed=9)
    print(rss() - before)
    """
)


def _kept_after_avif(reserved: int) -> int:
    probe = subprocess.run(
        [sys.executable, "-c", AVIF_PROBE, str(reserved)],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(probe.stdout)


@pytest.mark.skipif(allocator._LIBC is None, reason="the C library is not glibc")
def test_memory_an_avif_encoder_freed_goes_back_after_its_transform() -> None:
    """glibc keeps libaom's freed buffers in its heaps; the admission gives them back
    after any transform estimated at `TRIM_ABOVE` or more, which every AVIF is."""
    assert estimate_cost(_tiny_jpeg(), Options(fmt="avif"), AVIF).memory >= TRIM_ABOVE
    kept_untrimmed = _kept_after_avif(TRIM_ABOVE - 1)
    kept_trimmed = _kept_after_avif(TRIM_ABOVE)
    assert kept_untrimmed > 20, kept_untrimmed
    assert kept_trimmed < kept_untrimmed / 2, (kept_trimmed, kept_untrimmed)


def _tiny_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), "teal").save(out, "JPEG")
    return out.getvalue()
