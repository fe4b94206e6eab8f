"""The workload: which images, which transforms, and how each server spells them.

Why one table: every contender must get the same image, the same output size and the
same encoder quality, and the report must name them the same way. A case knows its
pixserve query, its thumbor URL and its libvips call; nothing else decides them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
# `../shared/corpus` from the project root, as in CI; BENCH_CORPUS points elsewhere.
CORPUS = Path(os.environ.get("BENCH_CORPUS") or ROOT.parent / "shared" / "corpus").absolute()

STREET = "photos/street-2725x2225.jpg"
GAIN_MAP = "photos/gain-map-3840x2160.jpg"
ALPHA_PNG = "alpha/test-pattern.png"  # 1280x960 RGBA with partial transparency

# pixserve's default qualities (transformer/formats.py), given to every peer explicitly.
QUALITY = {"webp": 80, "jpeg": 75, "avif": 60}


@dataclass(frozen=True)
class Transform:
    """One output: a width, an optional square `cover` crop, a format."""

    width: int
    fmt: str
    cover: bool = False

    @property
    def label(self) -> str:
        box = f"{self.width}x{self.width} cover" if self.cover else f"{self.width} px"
        return f"{box} {self.fmt.upper()}"

    @property
    def query(self) -> str:
        """pixserve's query string."""
        if self.cover:
            return f"w={self.width}&h={self.width}&fit=cover&fmt={self.fmt}"
        return f"w={self.width}&fmt={self.fmt}"

    def thumbor_path(self, name: str) -> str:
        """thumbor's unsafe URL path: `WxH` (0 keeps the ratio), centred crop for a box."""
        height = self.width if self.cover else 0
        filters = f"filters:format({self.fmt}):quality({QUALITY[self.fmt]})"
        return f"/unsafe/{self.width}x{height}/{filters}/{quote(name)}"


WEBP_300 = Transform(300, "webp")
JPEG_640 = Transform(640, "jpeg")
AVIF_1280 = Transform(1280, "avif")
COVER_200 = Transform(200, "webp", cover=True)
TRANSFORMS = (WEBP_300, JPEG_640, AVIF_1280, COVER_200)


@dataclass(frozen=True)
class Case:
    """A source image and a transform."""

    name: str
    transform: Transform

    @property
    def label(self) -> str:
        return f"{Path(self.name).stem.split('-')[0]} → {self.transform.label}"

    @property
    def pixserve_path(self) -> str:
        return f"/image/{quote(self.name)}?{self.transform.query}"

    @property
    def thumbor_path(self) -> str:
        return self.transform.thumbor_path(self.name)

    @property
    def path(self) -> Path:
        return CORPUS / self.name


# Every transform on both photos; the PNG with alpha to the two WebP outputs. Animated
# GIF is left out: pixserve serves the first frame, so there is no like-for-like race.
CASES: tuple[Case, ...] = (
    *(Case(STREET, t) for t in TRANSFORMS),
    *(Case(GAIN_MAP, t) for t in TRANSFORMS),
    Case(ALPHA_PNG, WEBP_300),
    Case(ALPHA_PNG, COVER_200),
)
# The cache-hit and 304 phases serve stored files; their speed depends on the file's
# size, not on how it was made, so the four street outputs cover the range.
HIT_CASES: tuple[Case, ...] = tuple(c for c in CASES if c.name == STREET)


def check_corpus(paths: Iterable[Path] = ()) -> None:
    """Exit with a clear message when the shared corpus, or one of `paths` in it (every
    case's picture when none are named), is not where it should be."""
    wanted = list(paths) or [case.path for case in CASES]
    missing = sorted(str(path) for path in wanted if not path.is_file())
    if not CORPUS.is_dir() or missing:
        sys.exit(
            f"benchmarks: the image corpus is missing ({CORPUS}; missing: {missing}).\n"
            "It lives in ../shared/corpus/ next to the project root; "
            "set BENCH_CORPUS to use another folder."
        )
