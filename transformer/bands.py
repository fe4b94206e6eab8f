"""A big resize split into two horizontal bands, the second on a helper thread.

Pillow's resize is one C call on one core (it releases the GIL), where libvips runs
its steps over every core: this is what a lone request loses to the sharp-based
peers. Split in two, the resize of a lone request takes about half the time while the
other core is idle; when every core is busy it costs the same CPU, as each band also
reads only the few rows its filter needs from the other band (about 1%).

Each band is Pillow's own resize of its part of the same source region, with the same
filter weights per output row, so there is no seam. The pixels may differ from the
unsplit resize's by the rounding between the two passes: Pillow runs the cheaper pass
first, which for a band can be the vertical one (tests/test_bands.py).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

Box = tuple[float, float, float, float]

# Below this many source pixels the hand-off to the helper thread (tens of
# microseconds) is a visible share of the resize (`benchmarks/bands.py`).
SPLIT_FROM_PIXELS = 250_000
# Pillow premultiplies alpha around a resize; done once here, not once per band.
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}
_SPLITTABLE = frozenset({"L", "RGB", "RGBX", "CMYK", "RGBA", "LA", "I", "F"})
# Enough helpers for the transforms a worker runs at once (`transforms_per_process`).
HELPERS = 2


class _Helpers:
    """The process's helper threads, made on first use and anew in a forked child
    (whose parent's threads did not come along)."""

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(HELPERS, thread_name_prefix="pixserve-band")
            return self._pool


_HELPERS = _Helpers()


def resize(
    image: Image.Image,
    size: tuple[int, int],
    box: Box | None,
    reducing_gap: float | None,
) -> Image.Image:
    """`image.resize(size, LANCZOS, box, reducing_gap)`, in two bands when it is big
    enough and Pillow would not first reduce by an integer factor."""
    box = box or (0.0, 0.0, float(image.width), float(image.height))
    source_pixels = (box[2] - box[0]) * (box[3] - box[1])
    if (
        image.mode not in _SPLITTABLE
        or size[1] < 2
        or source_pixels < SPLIT_FROM_PIXELS
        or _reduces_first(box, size, reducing_gap)
    ):
        return image.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=reducing_gap)
    working = image.convert(_PREMULTIPLIED[image.mode]) if image.mode in _PREMULTIPLIED else image
    split = size[1] // 2
    rows_per_output_row = (box[3] - box[1]) / size[1]

    def band(first: int, last: int) -> Image.Image:
        top = box[1] + first * rows_per_output_row
        bottom = box[3] if last == size[1] else box[1] + last * rows_per_output_row
        return working.resize(
            (size[0], last - first), Image.Resampling.LANCZOS, box=(box[0], top, box[2], bottom)
        )

    lower = _HELPERS.pool().submit(band, split, size[1])
    upper = band(0, split)
    out = Image.new(working.mode, size)
    out.paste(upper, (0, 0))
    out.paste(lower.result(), (0, split))
    return out.convert(image.mode) if working is not image else out


def _reduces_first(box: Box, size: tuple[int, int], reducing_gap: float | None) -> bool:
    """Whether Pillow's resize would shrink by an integer factor before its filter
    (then the filter's own work is small, and banding the reduce is not exact)."""
    if reducing_gap is None:
        return False
    across = (box[2] - box[0]) / size[0] / reducing_gap
    down = (box[3] - box[1]) / size[1] / reducing_gap
    return int(across) > 1 or int(down) > 1
