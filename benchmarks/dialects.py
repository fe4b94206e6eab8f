"""Dialect benchmark: what a thumbor or imgproxy URL costs over pixserve's own `/image`.

Why: a dialect URL is parsed, its signature checked and its options translated before
the same delivery `/image` uses; on a cache hit, where pixserve does least, that extra
work is the whole difference. This starts `pixserve serve` (one worker, one thread)
with both dialects mounted and times, over one keep-alive connection, cache hits of one
transform spelled three ways (one cache entry, one ETag): `/image`, a signed thumbor
URL and a signed imgproxy URL, then the same for URLs whose translation needs the
source's size (thumbor `focal()`, imgproxy `crop` by gravity). Each round requests
every URL once, in an order that rotates round by round, so background load hits all
alike; the report gives medians, p90 and each dialect's median as a ratio of `/image`'s.

Run: `.venv/bin/python -m benchmarks dialects` (about half a minute on 2 cores).
Prints a Markdown report and writes it to `benchmarks/out/dialects.md`.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from benchmarks.cases import ROOT
from benchmarks.request_path import Client, check_setup, expect, median_p90
from benchmarks.servers import BenchmarkError, Pixserve, measure_and_publish
from pixserve.dialects import imgproxy, thumbor

OUT = ROOT / "benchmarks" / "out" / "dialects.md"
THUMBOR_KEY = "benchmark-thumbor-key"
IMGPROXY_KEY, IMGPROXY_SALT = "736563726574", "68656c6c6f"
SOURCE = "photos/street-2725x2225.jpg"
ROUNDS = 300


def thumbor_url(path: str) -> str:
    return f"/thumbor/{thumbor.sign(THUMBOR_KEY, path)}/{path}"


def imgproxy_url(path: str) -> str:
    key, salt = bytes.fromhex(IMGPROXY_KEY), bytes.fromhex(IMGPROXY_SALT)
    return f"/imgproxy/{imgproxy.sign(key, salt, path)}{path}"


# Groups of URLs for one transform each: the first is `/image`, the baseline.
GROUPS: tuple[tuple[tuple[str, str], ...], ...] = (
    (
        ("/image", f"/image/{SOURCE}?w=300&h=200&fit=cover&fmt=webp"),
        ("imgproxy", imgproxy_url(f"/rs:fill:300:200/plain/local:///{SOURCE}@webp")),
    ),
    (  # thumbor's own window on whole source pixels (its meta's crop box), then resized
        ("/image", f"/image/{SOURCE}?crop=0,204,2725,1817&w=300&h=200&fit=fill&enlarge=1&fmt=webp"),
        ("thumbor", thumbor_url(f"300x200/filters:no_upscale():format(webp)/{SOURCE}")),
    ),
    (
        ("/image", f"/image/{SOURCE}?crop=0,0,1000,1000&w=250&h=250&fmt=webp"),
        (
            "thumbor, crop",
            thumbor_url(f"0x0:1000x1000/fit-in/250x250/filters:format(webp)/{SOURCE}"),
        ),
        (
            "imgproxy, crop by gravity",
            imgproxy_url(f"/c:1000:1000:nowe/rs:fit:250:250/plain/local:///{SOURCE}@webp"),
        ),
    ),
)


class PixserveWithDialects(Pixserve):
    """`pixserve serve` (one worker, one thread) with both dialects mounted, signed."""

    def __init__(self) -> None:
        super().__init__(workers=1, threads=1)

    def command(self) -> list[str]:
        settings = (
            "thumbor_prefix=/thumbor",
            f"thumbor_keys={THUMBOR_KEY}",
            "imgproxy_prefix=/imgproxy",
            f"imgproxy_keys={IMGPROXY_KEY}",
            f"imgproxy_salts={IMGPROXY_SALT}",
        )
        return [*super().command(), *(arg for item in settings for arg in ("--set", item))]


def measure(server: Pixserve, group: Sequence[tuple[str, str]]) -> list[tuple[str, list[float]]]:
    """Hits of every URL of a group, interleaved; checks they share one ETag."""
    client = Client(server.port)
    try:
        etags = set()
        for _, path in group:  # the first makes the entry, the others must hit it
            reply = client.get(path)
            expect(reply, path, 200, None, "image/webp")
            etags.add(reply.headers["ETag"])
        if len(etags) != 1:
            raise BenchmarkError(f"one transform, {len(etags)} ETags: {sorted(etags)}")
        times: list[list[float]] = [[] for _ in group]
        for round_number in range(ROUNDS):
            shift = round_number % len(group)
            for index in [*range(shift, len(group)), *range(shift)]:
                path = group[index][1]
                reply = client.get(path)
                expect(reply, path, 200, "HIT", "image/webp")
                times[index].append(reply.ms)
        return [(label, values) for (label, _), values in zip(group, times, strict=True)]
    finally:
        client.close()


def render(results: Sequence[Sequence[tuple[str, list[float]]]], seconds: float) -> str:
    lines = [
        "# Dialects: cache hits by URL spelling",
        "",
        f"`pixserve serve`, one worker, one thread; {ROUNDS} rounds per group, each URL",
        "once per round in a rotating order, over one keep-alive connection; one cache",
        f"entry per group. Source: `{SOURCE}`. Run took {seconds:.0f} s.",
        "",
        "| URL | median ms | p90 ms | median / `/image` |",
        "| --- | ---: | ---: | ---: |",
    ]
    for group in results:
        baseline = median_p90(group[0][1])[0]
        for label, values in group:
            median, p90 = median_p90(values)
            lines.append(f"| {label} | {median:.2f} | {p90:.2f} | {median / baseline:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    check_setup()
    return measure_and_publish(
        "dialects",
        PixserveWithDialects(),
        lambda server: [measure(server, group) for group in GROUPS],
        render,
        OUT,
    )


if __name__ == "__main__":
    sys.exit(main())
