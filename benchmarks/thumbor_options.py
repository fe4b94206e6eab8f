"""thumbor's size, format and response filters side by side: thumbor itself and
pixserve's thumbor mount, same URLs (issue 25: proportion, max_bytes, max_age,
autojpg, cover, extract_focal).

As `thumbor_dialect.py` (whose servers this reuses): thumbor 7.8 from the `make bench`
install (PIL engine, file loader on the corpus) and `pixserve serve` with `/t`; each
URL from both, compared by status, format, size, bytes (against a `max_bytes` budget),
frames, `Cache-Control` and SSIM where the sizes match. Two of them show thumbor 7.8's
own limits: `cover()` needs its gifsicle engine (the PIL engine answers 500), and
`extract_focal()` reads the image URL after thumbor has percent-encoded it, so the
nested crop's `:` no longer matches and the nested URL is loaded as a file (404).

Run: `.venv/bin/python -m benchmarks thumbor_options` after `make bench` installed
thumbor (under a minute). Prints Markdown and writes `benchmarks/out/thumbor_options.md`.
"""

from __future__ import annotations

import re
import sys
import time
from typing import Any

from benchmarks import servers
from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import publish
from benchmarks.ssim import ssim_images
from benchmarks.thumbor_dialect import PixserveWithThumbor, picture

OUT = ROOT / "benchmarks" / "out" / "thumbor_options.md"
STREET = "photos/street-2725x2225.jpg"
OPAQUE_PNG = "alpha/rgb-16bit.png"
CASES = (
    f"300x200/filters:proportion(0.5):quality(95)/{STREET}",
    f"fit-in/400x400/filters:proportion(0.5):quality(95)/{STREET}",
    f"filters:proportion(0.1):quality(95)/{STREET}",
    f"300x0/filters:max_bytes(9000)/{STREET}",
    f"640x0/filters:format(webp):max_bytes(20000)/{STREET}",
    f"300x0/filters:max_bytes(3000)/{OPAQUE_PNG}",
    f"300x0/filters:max_age(60):quality(95)/{STREET}",
    f"300x0/filters:autojpg():quality(95)/{OPAQUE_PNG}",
    "200x0/filters:autojpg()/alpha/with-alpha.png",
    "filters:cover()/animated/rotating-squares.gif",
    f"300x300/filters:extract_focal():quality(95)/localhost:8888/unsafe/1800x400:2000x600/{STREET}",
)
_MAX_BYTES = re.compile(r"max_bytes\((\d+)\)")


class ThumborWithAutojpg(servers.Thumbor):
    """thumbor with `autojpg` enabled: thumbor 7.8 ships the filter but leaves it out
    of its default `FILTERS` (an unlisted filter is ignored), so a deployment whose URLs
    use it lists it; `AUTO_PNG_TO_JPG` stays off, so `autojpg()` turns it on."""

    def command(self) -> list[str]:
        command = super().command()
        config = self.temp / "thumbor.conf"
        extra = "FILTERS = BUILTIN_FILTERS + ['thumbor.filters.autojpg']\n"
        config.write_text(
            "from thumbor.filters import BUILTIN_FILTERS\n" + config.read_text() + extra
        )
        return command


def compare(thumbor: servers.Server, pixserve: servers.Server, path: str) -> dict[str, Any]:
    theirs = thumbor.get(f"/unsafe/{path}")
    ours = pixserve.get(f"/t/unsafe/{path}")
    row: dict[str, Any] = {"path": path, "status": (theirs[0], ours[0])}
    if theirs[0] != 200 or ours[0] != 200:
        row["note"] = " / ".join(_gist(reply[2]) for reply in (theirs, ours))
        return row
    their_image, our_image = picture(theirs[2]), picture(ours[2])
    row["format"] = (their_image.format, our_image.format)
    row["size"] = (their_image.size, our_image.size)
    row["bytes"] = (len(theirs[2]), len(ours[2]))
    row["frames"] = (getattr(their_image, "n_frames", 1), getattr(our_image, "n_frames", 1))
    row["cache"] = (theirs[1].get("Cache-Control", "-"), ours[1].get("Cache-Control", "-"))
    if their_image.size == our_image.size:
        row["ssim"] = ssim_images(their_image.convert("RGB"), our_image.convert("RGB"))
    return row


def _gist(body: bytes) -> str:
    """A body in a table cell: a picture's format, or an error page's first words."""
    try:
        return f"{picture(body).format} picture"
    except OSError:
        return repr(body[:60].decode("utf-8", "replace").replace("|", "/"))


def render(rows: list[dict[str, Any]], seconds: float) -> str:
    lines = [
        "# thumbor's size, format and response filters: thumbor vs pixserve's mount",
        "",
        f"{servers.thumbor_versions()}; corpus `{CORPUS}`; run took {seconds:.0f} s.",
        "",
        "| URL (after `/unsafe/`) | format | size | bytes | frames | Cache-Control | SSIM |",
        "| --- | --- | --- | --- | --- | --- | ---: |",
    ]
    for row in rows:
        if "note" in row:
            lines.append(f"| `{row['path']}` | status {row['status']} | {row['note']} |||||")
            continue
        sizes = " / ".join("x".join(map(str, size)) for size in row["size"])
        budget = _MAX_BYTES.search(row["path"])
        within = f" (budget {budget[1]})" if budget else ""
        ssim = f"{row['ssim']:.3f}" if "ssim" in row else "sizes differ"
        lines.append(
            f"| `{row['path']}` | {' / '.join(row['format'])} | {sizes} "
            f"| {' / '.join(map(str, row['bytes']))}{within} "
            f"| {' / '.join(map(str, row['frames']))} | {' / '.join(row['cache'])} | {ssim} |"
        )
    return "\n".join(lines) + "\n"


def main() -> int:
    if servers.thumbor_missing("thumbor_options"):
        return 1
    started = time.perf_counter()
    with ThumborWithAutojpg(2) as thumbor, PixserveWithThumbor(1) as pixserve:
        rows = [compare(thumbor, pixserve, path) for path in CASES]
    publish(render(rows, time.perf_counter() - started), OUT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
