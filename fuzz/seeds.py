"""Write the fuzzer's starting inputs: a selector byte, then a real image file."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pillow_heif
from PIL import Image

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
SEED_FILES = (
    "photos/small-320x240.jpg",
    "alpha/bgbn4a08.png",
    "alpha/with-alpha.png",
    "animated/rotating-squares.gif",
    "animated/rotating-squares.webp",
    "orientation/Landscape_6.jpg",
    "formats/relax.jp2",
    "color/cmyk-no-profile.jpg",
)


def made_seeds() -> list[bytes]:
    """HEIC and ICO, which the corpus has none of, made here."""
    pillow_heif.register_heif_opener()
    picture = Image.linear_gradient("L").resize((48, 32)).convert("RGBA")
    seeds = []
    for fmt, params in (("HEIF", {"quality": 80}), ("ICO", {"sizes": [(32, 32), (16, 16)]})):
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **params)
        seeds.append(buffer.getvalue())
    return seeds


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    files = [path.read_bytes() for name in SEED_FILES if (path := CORPUS / name).is_file()]
    for index, data in enumerate(files + made_seeds()):
        (directory / f"seed-{index}").write_bytes(bytes([index]) + data)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
