"""Faces, where a smart crop (`gravity=attention`, thumbor's `smart`, imgproxy's
`g:sm`) aims its window before it looks at anything else.

The detector is thumbor's own: OpenCV's Haar cascade `haarcascade_frontalface_alt`
(shipped in opencv-python-headless 4.x; OpenCV 5 no longer ships the cascades) with
thumbor's parameters (scale step 1.2, 4 neighbours, faces at least a fifteenth of the
picture's short side), so a thumbor user's smart crops keep the faces thumbor kept.
It runs on a grey copy whose short side is `DETECTION_SHORT_SIDE`: there thumbor's
smallest face is the cascade's own 20-pixel window, so no face thumbor would find is
too small, and the work is bounded whatever the picture's size (CPU on one thread:
32 ms for a 512x512 portrait, 44 ms for the 2725x2225 street photo;
`python -m benchmarks thumbor_dialect`).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

CASCADE = "haarcascade_frontalface_alt.xml"
SCALE_STEP = 1.2
NEIGHBOURS = 4
SMALLEST_FACE = 1 / 15  # of the picture's short side, as thumbor's get_min_size_for
CASCADE_WINDOW = 20  # pixels: the cascade's trained size, its smallest face
DETECTION_SHORT_SIDE = round(CASCADE_WINDOW / SMALLEST_FACE)
DETECTION_LONG_SIDE = 4 * DETECTION_SHORT_SIDE  # a 4096x800 strip is looked at 1200x234
# thumbor's face detector moves each box up by 12% of its height to keep the hair.
HAIR = 0.12


@dataclass(frozen=True)
class Face:
    """A face's box as fractions of the picture: left, top, width, height."""

    left: float
    top: float
    width: float
    height: float

    @property
    def area(self) -> float:
        return self.width * self.height


@functools.cache
def _cascade() -> Any:
    import cv2  # imported on the first smart crop: most servers never make one
    import cv2.data

    cv2.setNumThreads(1)  # a worker's threads already share its cores
    return cv2.CascadeClassifier(os.path.join(cv2.data.haarcascades, CASCADE))


def find_faces(image: Image.Image) -> tuple[Face, ...]:
    """The faces in `image`, largest first."""
    width, height = image.size
    scale = min(
        1.0, DETECTION_SHORT_SIDE / min(width, height), DETECTION_LONG_SIDE / max(width, height)
    )
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    grey = image.convert("L")
    if size != image.size:
        grey = grey.resize(size, Image.Resampling.BOX)
    smallest = max(CASCADE_WINDOW, round(min(size) * SMALLEST_FACE))
    boxes = _cascade().detectMultiScale(
        np.asarray(grey), SCALE_STEP, NEIGHBOURS, minSize=(smallest, smallest)
    )
    faces = [
        Face(left / size[0], top / size[1], box_w / size[0], box_h / size[1])
        for left, top, box_w, box_h in (tuple(int(v) for v in box) for box in boxes)
    ]
    return tuple(sorted(faces, key=lambda face: -face.area))


def centre_of(faces: tuple[Face, ...]) -> tuple[float, float]:
    """Where the window aims: the faces' centres (each moved up to keep the hair, as
    thumbor does) weighed by their areas, as fractions of the picture."""
    total = sum(face.area for face in faces)
    x = sum((face.left + face.width / 2) * face.area for face in faces) / total
    y = sum((_with_hair(face) + face.height / 2) * face.area for face in faces) / total
    return (x, y)


def _with_hair(face: Face) -> float:
    """thumbor's face box top: 12% of its height higher, unless that leaves the picture."""
    raised = face.top - face.height * HAIR
    return raised if raised >= 0 else face.top
