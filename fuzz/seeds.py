"""Write the fuzzer's starting inputs: a selector byte, then a real image file."""

from __future__ import annotations

import sys
from pathlib import Path

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


def main(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for index, name in enumerate(SEED_FILES):
        path = CORPUS / name
        if path.is_file():
            (directory / f"seed-{index}").write_bytes(bytes([index]) + path.read_bytes())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
