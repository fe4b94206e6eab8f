"""thumbor's URLs side by side: real thumbor and pixserve's thumbor mount, same URLs.

Why: the conformance tests re-express what thumbor publishes; this asks thumbor itself.
It starts thumbor (the `make bench` install, PIL engine, file loader on the corpus) and
`pixserve serve` with `thumbor_prefix=/t` on free loopback ports, requests each URL from
both, and compares the answers: status, format, size (must match), and SSIM of the
pictures (quality 95 on both, so the comparison sees geometry and filters, not the
encoder). For `meta/` URLs it compares thumbor's JSON: target size and crop boxes.
`smart/` is listed to show the known difference: thumbor without detectors configured
falls back to its alignment, pixserve's attention crop looks at the pixels.

Run: `.venv/bin/python -m benchmarks thumbor_dialect` after `make bench` installed
thumbor (about a minute). Prints Markdown and writes `benchmarks/out/thumbor_dialect.md`.
"""

from __future__ import annotations

import io
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image, ImageOps
from skimage import data as skimage_data

from benchmarks import servers
from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import publish
from benchmarks.ssim import ssim_images
from pixserve.transformer.faces import find_faces

OUT = ROOT / "benchmarks" / "out" / "thumbor_dialect.md"
STREET = "photos/street-2725x2225.jpg"
LANDSCAPE = "orientation/Landscape_1.jpg"
CASES = (
    f"300x200/filters:quality(95)/{STREET}",
    f"300x200/left/top/filters:quality(95)/{STREET}",
    f"300x200/right/bottom/filters:quality(95)/{STREET}",
    f"-300x0/filters:quality(95)/{STREET}",
    f"0x-200/filters:quality(95)/{STREET}",
    f"origx300/filters:quality(95)/{STREET}",
    f"400x300/filters:focal(1800x400:2000x600):quality(95)/{STREET}",
    f"1000x1000:2000x1500/200x200/filters:quality(95)/{STREET}",
    f"fit-in/400x400/filters:quality(95)/{STREET}",
    f"adaptive-fit-in/200x300/filters:quality(95)/{STREET}",
    f"full-fit-in/300x300/filters:quality(95)/{LANDSCAPE}",
    f"stretch/300x300/filters:quality(95)/{LANDSCAPE}",
    "fit-in/400x400/filters:quality(95)/orientation/Landscape_6.jpg",
    "fit-in/300x300/filters:fill(white):quality(95)/orientation/Portrait_3.jpg",
    f"900x600/filters:quality(95)/{LANDSCAPE}",
    f"fit-in/900x600/filters:upscale():quality(95)/{LANDSCAPE}",
    f"filters:rotate(90):quality(95)/{LANDSCAPE}",
    f"300x0/filters:grayscale():quality(95)/{LANDSCAPE}",
    f"300x0/filters:blur(2):quality(95)/{LANDSCAPE}",
    f"300x0/filters:blur(4,1.5):quality(95)/{LANDSCAPE}",
    f"300x0/filters:blur(8):quality(95)/{LANDSCAPE}",
    f"300x0/filters:sharpen(2,1,true):quality(95)/{LANDSCAPE}",
    f"300x0/filters:sharpen(1.5,0.5,false):quality(95)/{STREET}",
    "trim/200x0/filters:format(png)/alpha/test-pattern.png",
    f"trim/300x0/filters:quality(95)/{LANDSCAPE}",
    f"300x0/filters:format(webp):quality(95)/{LANDSCAPE}",
    f"300x0/filters:format(png)/{LANDSCAPE}",
    "200x0/alpha/with-alpha.png",
    f"300x200/smart/filters:quality(95)/{STREET}",
    # watermarks (thumbor's docs' shapes), fill(blur), fill(auto): issue 25
    f"600x400/filters:watermark(alpha/with-alpha.png,-10,-10,50):quality(95)/{STREET}",
    f"600x400/filters:watermark(alpha/with-alpha.png,center,center,0,30):quality(95)/{STREET}",
    f"600x400/filters:watermark(alpha/with-alpha.png,10p,-20p,30,none,25):quality(95)/{STREET}",
    f"600x400/filters:watermark(alpha/with-alpha.png,repeat,repeat,40,15):quality(95)/{STREET}",
    f"600x400/filters:watermark(alpha/with-alpha.png,repeat,-5,0,20):quality(95)/{STREET}",
    f"fit-in/400x400/filters:fill(blur):quality(95)/{LANDSCAPE}",
    f"fit-in/400x400/filters:fill(auto):quality(95)/{LANDSCAPE}",
)
META_CASES = (
    f"meta/300x200/{STREET}",
    f"meta/300x200/left/top/{STREET}",
    f"meta/-300x0/{STREET}",
    f"meta/fit-in/400x400/{STREET}",
    f"meta/1000x1000:2000x1500/200x200/{STREET}",
    f"meta/400x300/filters:focal(1800x400:2000x600)/{STREET}",
)


# thumbor's geometry as the reference (issue 25): cover crops of photos, each scored
# against a full decode cut at thumbor's own `meta` crop box and resized once with
# LANCZOS: thumbor's output, the thumbor mount's, and pixserve's own `fit=cover`.
GEOMETRY_CASES = (
    ("200x200", STREET),
    ("200x200", "photos/small-320x240.jpg"),
    ("300x200", "photos/flowers-1920x1080.jpg"),
    ("150x400", "photos/gain-map-3840x2160.jpg"),
    ("320x100/left/top", STREET),
    ("640x360/right/bottom", "photos/small-320x240.jpg"),
    ("500x500", "photos/concert-gray.jpg"),
    # plain resizes: the reference is the whole picture resized once
    ("fit-in/400x400", STREET),
    ("adaptive-fit-in/200x300", STREET),
    ("300x0", STREET),
    ("fit-in/1000x1000", "photos/flowers-1920x1080.jpg"),
)


# `smart` with thumbor's face and feature detectors on, against the thumbor mount, on a
# portrait (scikit-image's astronaut: NASA, public domain) in shapes that cut her out
# unless the window aims at her face.
PORTRAIT = "astronaut.png"
SMART_SIZES = ("300x100", "100x300", "200x200", "512x120", "120x400")


class SmartThumbor(servers.Thumbor):
    detectors = True


class PixserveWithThumbor(servers.Pixserve):
    """`pixserve serve` with thumbor's URLs at /t, unsafe ones allowed."""

    def command(self) -> list[str]:
        flags = ["--set", "thumbor_prefix=/t", "--set", "thumbor_allow_unsafe=true"]
        return [*super().command(), *flags]


def picture(body: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(body))
    image.load()
    return image


def compare(thumbor: servers.Server, pixserve: servers.Server, path: str) -> dict[str, Any]:
    theirs = thumbor.get(f"/unsafe/{path}")
    ours = pixserve.get(f"/t/unsafe/{path}")
    row: dict[str, Any] = {"path": path, "status": (theirs[0], ours[0])}
    if theirs[0] != 200 or ours[0] != 200:
        row["note"] = f"{theirs[2][:80]!r} / {ours[2][:80]!r}"
        return row
    their_image, our_image = picture(theirs[2]), picture(ours[2])
    row["format"] = (their_image.format, our_image.format)
    row["size"] = (their_image.size, our_image.size)
    if their_image.size == our_image.size:
        row["ssim"] = ssim_images(their_image.convert("RGB"), our_image.convert("RGB"))
    return row


def compare_meta(thumbor: servers.Server, pixserve: servers.Server, path: str) -> dict[str, Any]:
    theirs = json.loads(thumbor.get(f"/unsafe/{path}")[2])["thumbor"]
    ours = json.loads(pixserve.get(f"/t/unsafe/{path}")[2])["thumbor"]

    def crops(meta: dict[str, Any]) -> list[tuple[int, ...]]:
        return [
            tuple(round(op[edge]) for edge in ("left", "top", "right", "bottom"))
            for op in meta["operations"]
            if op["type"] == "crop"
        ]

    return {
        "path": path,
        "target": (theirs["target"], ours["target"]),
        "crops": (crops(theirs), crops(ours)),
    }


def geometry_row(
    thumbor: servers.Server, pixserve: servers.Server, size: str, name: str
) -> dict[str, Any]:
    """SSIM of thumbor's, the mount's and pixserve's own cover crop against the reference
    made from thumbor's crop box; the sizes each gave."""
    meta = json.loads(thumbor.get(f"/unsafe/meta/{size}/{name}")[2])["thumbor"]
    target = (round(meta["target"]["width"]), round(meta["target"]["height"]))
    boxes = [op for op in meta["operations"] if op["type"] == "crop"]
    with Image.open(CORPUS / name) as source:
        whole = ImageOps.exif_transpose(source).convert("RGB")
    if boxes:
        whole = whole.crop(tuple(boxes[0][edge] for edge in ("left", "top", "right", "bottom")))
    reference = whole.resize(target, Image.Resampling.LANCZOS)
    answers = {
        "thumbor": thumbor.get(f"/unsafe/{size}/filters:quality(95)/{name}"),
        "thumbor mount": pixserve.get(f"/t/unsafe/{size}/filters:quality(95)/{name}"),
    }
    if "fit-in" not in size and "x0" not in size:
        alignment = size.split("/")[1:]
        gravity = {"left": "west", "right": "east", "top": "north", "bottom": "south"}
        named = "".join(gravity[a] for a in reversed(alignment)) or "center"
        width, height = size.split("/")[0].split("x")
        query = f"w={width}&h={height}&fit=cover&gravity={named}&q=95&fmt=jpeg&enlarge=1"
        answers["pixserve cover"] = pixserve.get(f"/image/{name}?{query}")
    row: dict[str, Any] = {"case": f"{size}/{name}", "target": target, "scores": {}}
    for who, (status, _, body) in answers.items():
        if status != 200:
            row["scores"][who] = f"status {status}"
            continue
        image = picture(body).convert("RGB")
        same = image.size == target
        row["scores"][who] = (
            f"{ssim_images(reference, image):.3f}" if same else f"size {image.size}"
        )
    return row


def astronaut() -> Image.Image:
    """scikit-image's astronaut (NASA, public domain), a real portrait."""
    pixels = skimage_data.astronaut()  # type: ignore[no-untyped-call]  # skimage.data is unannotated
    return Image.fromarray(pixels)


def smart_row(thumbor: servers.Server, pixserve: servers.Server, size: str) -> dict[str, Any]:
    """Whether each keeps the face, how alike the two crops are, and where each put
    its focal point (`meta/`)."""
    path = f"{size}/smart/filters:quality(95)/{PORTRAIT}"
    theirs, ours = (
        picture(server.get(prefix + path)[2]).convert("RGB")
        for server, prefix in ((thumbor, "/unsafe/"), (pixserve, "/t/unsafe/"))
    )
    points = []
    for server, prefix in ((thumbor, "/unsafe/meta/"), (pixserve, "/t/unsafe/meta/")):
        meta = json.loads(server.get(f"{prefix}{size}/smart/{PORTRAIT}")[2])["thumbor"]
        found = [p for p in meta.get("focal_points", ()) if p.get("origin") == "Face Detection"]
        points.append(f"({found[0]['x']}, {found[0]['y']})" if found else "none")
    return {
        "size": size,
        "faces": (len(find_faces(theirs)), len(find_faces(ours))),
        "ssim": ssim_images(theirs, ours) if theirs.size == ours.size else None,
        "points": points,
    }


def detection_cost() -> list[str]:
    """Median milliseconds of `find_faces` on each picture, in this process."""
    lines = []
    for name, path in (("portrait", None), ("street photo", CORPUS / STREET)):
        image = astronaut() if path is None else Image.open(path)
        image.load()
        spent = []
        for _ in range(5):
            started = time.process_time()
            find_faces(image)
            spent.append(time.process_time() - started)
        lines.append(
            f"{name} ({image.width}x{image.height}): {statistics.median(spent) * 1000:.0f} ms"
        )
    return lines


def comparison_lines(title: str, rows: list[dict[str, Any]], seconds: float) -> list[str]:
    """The report's head and its table of `compare` rows (long URLs shortened)."""
    lines = [
        title,
        "",
        f"{servers.thumbor_versions()}; corpus `{CORPUS}`; run took {seconds:.0f} s.",
        "",
        "| URL (after `/unsafe/`) | format thumbor / pixserve | size thumbor / pixserve | SSIM |",
        "| --- | --- | --- | ---: |",
    ]
    for row in rows:
        shown = row["path"] if len(row["path"]) < 90 else row["path"][:60] + "..."
        if "note" in row:
            lines.append(f"| `{shown}` | status {row['status']} | {row['note']} | |")
            continue
        sizes = " / ".join("x".join(map(str, size)) for size in row["size"])
        ssim = f"{row['ssim']:.3f}" if "ssim" in row else "sizes differ"
        lines.append(f"| `{shown}` | {' / '.join(row['format'])} | {sizes} | {ssim} |")
    return lines


def render(
    rows: list[dict[str, Any]],
    metas: list[dict[str, Any]],
    geometry: list[dict[str, Any]],
    smart: list[dict[str, Any]],
    seconds: float,
) -> str:
    title = "# thumbor URLs: thumbor itself vs pixserve's thumbor mount"
    lines = comparison_lines(title, rows, seconds)
    lines += [
        "",
        "| meta URL | target thumbor / pixserve | crops thumbor / pixserve |",
        "| --- | --- | --- |",
    ]
    for meta in metas:
        targets = " / ".join(f"{t['width']}x{t['height']}" for t in meta["target"])
        crops = " / ".join(str(c) for c in meta["crops"])
        lines.append(f"| `{meta['path']}` | {targets} | {crops} |")
    who = ("thumbor", "thumbor mount", "pixserve cover")
    lines += [
        "",
        "Exact geometry: SSIM against a full decode cut at thumbor's `meta` crop box (if "
        "any) and resized once (LANCZOS) to thumbor's size, quality 95 everywhere:",
        "",
        "| case | target | " + " | ".join(who) + " |",
        "| --- | --- | " + " | ".join("---:" for _ in who) + " |",
    ]
    for row in geometry:
        target = "x".join(map(str, row["target"]))
        cells = " | ".join(row["scores"].get(name, "-") for name in who)
        lines.append(f"| `{row['case']}` | {target} | {cells} |")
    lines += [
        "",
        f"`smart` with thumbor's face and feature detectors on, `{PORTRAIT}` (512x512):",
        "",
        "| size | faces kept thumbor / mount | SSIM | face focal point thumbor / mount |",
        "| --- | --- | ---: | --- |",
    ]
    for row in smart:
        similar = "sizes differ" if row["ssim"] is None else f"{row['ssim']:.3f}"
        faces = " / ".join(map(str, row["faces"]))
        lines.append(f"| {row['size']} | {faces} | {similar} | {' / '.join(row['points'])} |")
    lines += ["", "Face detection, CPU per picture (one thread): " + "; ".join(detection_cost())]
    return "\n".join(lines) + "\n"


def main() -> int:
    if servers.thumbor_missing("thumbor_dialect"):
        return 1
    started = time.perf_counter()
    # thumbor forks its workers (with one process it would not, and the probe waits for
    # a child), so it gets two.
    with servers.Thumbor(2) as thumbor, PixserveWithThumbor(1) as pixserve:
        rows = [compare(thumbor, pixserve, path) for path in CASES]
        metas = [compare_meta(thumbor, pixserve, path) for path in META_CASES]
        geometry = [geometry_row(thumbor, pixserve, *case) for case in GEOMETRY_CASES]
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-smart-") as folder:
        astronaut().save(Path(folder) / PORTRAIT)
        SmartThumbor.root = PixserveWithThumbor.root = Path(folder)
        with SmartThumbor(2) as thumbor, PixserveWithThumbor(1) as pixserve:
            smart = [smart_row(thumbor, pixserve, size) for size in SMART_SIZES]
    report = render(rows, metas, geometry, smart, time.perf_counter() - started)
    publish(report, OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
