"""AVIF encoder speed per output size, against the sharp-based peers' AVIF (issue 14).

Why: AVIF's speed setting trades CPU for bytes and quality, and the issue's goal is
pixserve's AVIF no worse than Next.js' and IPX's (SSIM within 0.002, bytes within 2%).
This asks each peer (Next.js: sharp effort 3; IPX: sharp's default effort 4) for the
AVIF of each case once, then encodes pixserve's transform at each speed, and prints
bytes, SSIM (against the full-decode LANCZOS reference, as the races score) and the
CPU of the transform (`process_time`, all of libavif's threads; median of 3), which
other work on a shared machine inflates far less than wall time.
Usage: `python -m benchmarks avif_speeds` (SPEEDS, default "8,7,6,5"; WIDTHS, default
"320,640,1280"). `make node-peers` must have installed the peers.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time

from benchmarks import node_peers, quality
from benchmarks.cases import GAIN_MAP, QUALITY, STREET, Case, Transform, check_corpus
from benchmarks.results_md import print_row
from benchmarks.sharp_race import Contender, expect
from pixserve.transformer import FORMATS, EncoderSettings, parse_options, transform
from pixserve.transformer.encode import avif_speed
from pixserve.transformer.pipeline import upright_size

SPEEDS = [int(s) for s in os.environ.get("SPEEDS", "8,7,6,5").split(",")]
WIDTHS = [int(w) for w in os.environ.get("WIDTHS", "320,640,1280").split(",")]
REPEATS = 3


def peer_outputs(cases: list[Case]) -> dict[str, dict[str, tuple[int, float]]]:
    """Each peer's AVIF of each case: bytes and SSIM."""
    found: dict[str, dict[str, tuple[int, float]]] = {}
    node_peers.clear_next_cache()
    with contextlib.ExitStack() as stack:
        peers = [
            Contender(stack.enter_context(node_peers.Next())),
            Contender(stack.enter_context(node_peers.IPX())),
        ]
        for index, case in enumerate(cases):
            for peer in peers:
                body = expect(peer, case, f"avif-speeds-{os.getpid()}-{index}", None)
                found.setdefault(case.label, {})[peer.name] = (
                    len(body),
                    quality.score(case, body)[1],
                )
    node_peers.clear_next_cache()
    return found


def at_speed(case: Case, speed: int) -> tuple[int, float, float]:
    """pixserve's output at `speed`: bytes, SSIM, median CPU milliseconds."""
    source = case.path.read_bytes()
    options = parse_options([("w", str(case.transform.width)), ("fmt", "avif")])
    encoder = EncoderSettings(avif_speed=speed)
    times = []
    for _ in range(REPEATS):
        started = time.process_time()
        data = transform(source, options, FORMATS["avif"], encoder=encoder).data
        times.append((time.process_time() - started) * 1000)
    return len(data), quality.score(case, data)[1], statistics.median(times)


def main() -> int:
    check_corpus()
    node_peers.check_node_peers()
    cases = [
        Case(photo, Transform(width, "avif")) for photo in (STREET, GAIN_MAP) for width in WIDTHS
    ]
    peers = peer_outputs(cases)
    print(f"AVIF q{QUALITY['avif']}; pixserve's default speed for each size is marked *")
    print("| case | encoder | bytes | SSIM | CPU ms |")
    print("| --- | --- | ---: | ---: | ---: |")
    for case in cases:
        for name, (size, similarity) in peers[case.label].items():
            print_row(case.label, name, f"{size:,}", f"{similarity:.4f}", "")
        shown = upright_size(case.path.read_bytes())
        width = case.transform.width
        pixels = width * round(shown[1] * width / shown[0])
        for speed in SPEEDS:
            size, similarity, cpu = at_speed(case, speed)
            mark = "*" if avif_speed(pixels) == speed else ""
            print_row(
                case.label,
                f"pixserve speed {speed}{mark}",
                f"{size:,}",
                f"{similarity:.4f}",
                f"{cpu:.0f}",
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
