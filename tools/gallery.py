"""Draw a contact sheet: every corpus picture through a grid of operations (`make gallery`).

Rows are source images from ../shared/corpus, columns are queries; each cell is what
`/image/<name>?<query>` would return, drawn on a checkerboard so transparency shows.
Written to gallery/contact-sheet.png, for a person to look at.
"""

from __future__ import annotations

import io
import sys
from pathlib import Path
from urllib.parse import parse_qsl

from PIL import Image, ImageDraw

from pixserve.transformer import FORMATS, TransformError, parse_options, transform

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"
OUT = ROOT / "gallery" / "contact-sheet.png"
CELL = 150
LABEL = 28

SOURCES = (
    "photos/street-2725x2225.jpg",
    "photos/flowers-1920x1080.jpg",
    "photos/concert-gray.jpg",
    "photos/cosmos-2048x858.avif",
    "orientation/Portrait_6.jpg",
    "orientation/Landscape_8.jpg",
    "color/cmyk-with-profile.jpg",
    "color/cmyk-no-profile.jpg",
    "alpha/embedgravitybird.png",
    "alpha/palette-alpha.png",
    "alpha/grey-8bit-alpha.png",
    "animated/animated-loop-3.gif",
    "formats/fax-1bit.tif",
    "formats/relax.jp2",
)
QUERIES = (
    "w=140",
    "w=140&h=140&fit=cover",
    "w=140&h=140&fit=cover&gravity=entropy",
    "w=140&h=140&fit=cover&gravity=attention",
    "w=140&h=140&fit=contain&bg=ffcc00",
    "w=140&rot=90",
    "w=140&flip=h",
    "w=140&blur=3",
    "w=140&sharpen=2",
    "w=140&gray=1",
    "w=140&trim=20",
    "w=140&fmt=jpeg&q=30",
    "w=140&brightness=15",
    "w=140&saturation=1.8",
    "w=140&colorize=30,ff8800",
    "w=140&radius=24&fmt=png",
    "w=140&pixelate=10",
)


def checkerboard(size: tuple[int, int]) -> Image.Image:
    board = Image.new("RGB", size, (255, 255, 255))
    draw = ImageDraw.Draw(board)
    for y in range(0, size[1], 10):
        for x in range((y // 10 % 2) * 10, size[0], 20):
            draw.rectangle((x, y, x + 9, y + 9), fill=(220, 220, 220))
    return board


def render(source: bytes, query: str) -> Image.Image | str:
    try:
        options = parse_options(parse_qsl(query))
        fmt = FORMATS[options.fmt] if options.fmt != "auto" else FORMATS["png"]
        result = transform(source, options, fmt)
    except TransformError as error:
        return f"{error.status}"
    with Image.open(io.BytesIO(result.data)) as image:
        image.load()
        return image.convert("RGBA")


def main() -> int:
    if not CORPUS.is_dir():
        print(f"gallery: the corpus is not at {CORPUS}", file=sys.stderr)
        return 1
    width = LABEL * 7 + CELL * len(QUERIES)
    height = LABEL + CELL * len(SOURCES)
    sheet = Image.new("RGB", (width, height), (250, 250, 250))
    draw = ImageDraw.Draw(sheet)
    for column, query in enumerate(QUERIES):
        x = LABEL * 7 + column * CELL
        draw.text((x + 2, 2), query.replace("w=140&", "").replace("h=140&", ""), fill=(0, 0, 0))
    for row, name in enumerate(SOURCES):
        y = LABEL + row * CELL
        draw.text((4, y + CELL // 2), name.split("/")[-1][:30], fill=(0, 0, 0))
        source = (CORPUS / name).read_bytes()
        for column, query in enumerate(QUERIES):
            x = LABEL * 7 + column * CELL
            cell = render(source, query)
            if isinstance(cell, str):
                draw.text((x + 40, y + 60), cell, fill=(200, 0, 0))
                continue
            cell.thumbnail((CELL - 6, CELL - 6))
            board = checkerboard(cell.size)
            board.paste(cell, mask=cell.getchannel("A"))
            sheet.paste(board, (x + 3, y + 3))
    OUT.parent.mkdir(exist_ok=True)
    sheet.save(OUT)
    print(OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
