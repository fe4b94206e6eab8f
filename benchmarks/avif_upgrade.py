"""AVIF without the wait: what the first AVIF-capable visitor waits for, and how soon the
AVIF is served after it.

Why: with `avif` on, a cold request negotiated to AVIF used to wait for the AVIF encode.
With `avif_upgrade` it gets the WebP at once while the AVIF is made in the background.
This starts two `pixserve serve` processes on free loopback ports (one worker with four
threads each, `avif` on, a fresh cache each), the same code with one setting apart:

- upgrade: `avif_upgrade` on (the default);
- sync: `avif_upgrade` off: the first request waits for its AVIF.

For each corpus photo at each width, under `fmt=auto` (negotiated to AVIF) and
`fmt=best` (a `q=auto` search per accepted format, AVIF among them), each round asks
each server for a URL never asked before (a new `v=`), with Chrome's `Accept`, and
times the first byte of the answer (the status line and headers: the body is made
before them either way). The upgrade server is then asked again at `--rate` requests
per second until its answer is final (the `v=` URL's `immutable` max-age, not the
stand-in's short one): how many requests got the stand-in first, and how long after
the first request the final answer was served. The two servers alternate which goes
first round by round, and neither is asked anything while the other's background
encode may still run.

Reports, per mode and width, the median (min-max) over photos and rounds of the ratio
of first-byte times upgrade/sync, of each server's first-byte time in ms, of the
stand-ins answered before the final answer and of the seconds until it; each mode's CPU
seconds on each server (the price of the stand-in: one more decode, resize and encode
per cold URL; the sync server is sent as many repeated requests as the upgrade server
got, so the hits weigh the same on both); and the load average before and after.

Run: `.venv/bin/python -m benchmarks avif_upgrade` (a few minutes on 2 cores; `--rounds`,
`--rate`). Prints a Markdown report and writes it to `benchmarks/out/avif_upgrade.md`.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import spread
from loopback.harness import HOST, answers, children, free_port, serving

PHOTOS = ("street-2725x2225.jpg", "gain-map-3840x2160.jpg", "flowers-1920x1080.jpg")
WIDTHS = (640, 1280)
# fmt=auto (negotiated to AVIF) and fmt=best (a q=auto search in each accepted format).
MODES = {"auto": "", "best": "&fmt=best"}
ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"  # Chrome's
OUT = ROOT / "benchmarks" / "out" / "avif_upgrade.md"
GIVE_UP_AFTER = 120.0  # seconds of asking for an AVIF that never comes


@dataclass
class Case:
    """One photo at one width: each round's first-byte times and the upgrade's progress."""

    upgrade_ms: list[float] = field(default_factory=list)
    sync_ms: list[float] = field(default_factory=list)
    before_avif: list[int] = field(default_factory=list)  # stand-ins answered first
    until_avif_s: list[float] = field(default_factory=list)


@contextmanager
def server(name: str, upgrade: bool, work: Path) -> Iterator[tuple[int, int]]:
    """A `pixserve serve` on a free port: its port and its master's pid."""
    port = free_port()
    cache_dir = work / f"cache-{name}"
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(CORPUS / "photos")]
    command += ["--cache-dir", str(cache_dir), "--port", str(port)]
    command += ["--workers", "1", "--threads", "4"]
    env = {**os.environ, "PIXSERVE_AVIF": "1", "PIXSERVE_AVIF_UPGRADE": "1" if upgrade else "0"}
    log = work / f"{name}.log"
    with serving(command, port, log, env=env, ready=answers("/healthz", 200)) as served:
        yield port, served.process.pid


def cpu_seconds(master: int) -> float:
    """CPU time of the server so far: its master and workers, every thread, and the
    encoder processes they waited for."""
    ticks = 0
    for pid in (master, *children(master)):
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        ticks += sum(int(value) for value in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")


def first_byte(port: int, url: str) -> tuple[float, str, bool]:
    """Seconds until the status line and headers arrive, the answer's type, and whether
    it is final (a `v=` URL's long `immutable` max-age, not the stand-in's short one)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=GIVE_UP_AFTER)
    try:
        started = time.perf_counter()
        connection.request("GET", url, headers={"Accept": ACCEPT})
        response = connection.getresponse()
        seconds = time.perf_counter() - started
        response.read()
        if response.status != 200:
            raise SystemExit(f"avif_upgrade.py: {url} answered {response.status}")
        final = "immutable" in response.getheader("Cache-Control", "")
        return seconds, response.getheader("Content-Type", ""), final
    finally:
        connection.close()


def until_avif(port: int, url: str, rate: float, started: float) -> tuple[int, float]:
    """After the first request (sent at `started`, answered by the stand-in), ask again at
    `rate` per second until the final answer comes (the AVIF; under `fmt=best` whichever
    format won): the stand-ins answered and the seconds since `started`."""
    stand_ins = 1
    while True:
        if time.perf_counter() - started > GIVE_UP_AFTER:
            raise SystemExit(f"avif_upgrade.py: no AVIF for {url} after {GIVE_UP_AFTER} s")
        time.sleep(max(0.0, started + stand_ins / rate - time.perf_counter()))
        if first_byte(port, url)[2]:
            return stand_ins, time.perf_counter() - started
        stand_ins += 1


def upgraded(port: int, url: str, rate: float, case: Case) -> None:
    started = time.perf_counter()
    seconds, kind, final = first_byte(port, url)
    assert not final, f"{url}: the upgrade server's first answer was final ({kind})"
    case.upgrade_ms.append(seconds * 1000)
    stand_ins, until = until_avif(port, url, rate, started)
    case.before_avif.append(stand_ins)
    case.until_avif_s.append(until)


def synchronous(port: int, url: str, case: Case) -> None:
    seconds, kind, final = first_byte(port, url)
    assert final, f"{url}: the sync server's first answer was a stand-in ({kind})"
    case.sync_ms.append(seconds * 1000)


Results = dict[tuple[str, int], dict[str, Case]]  # by (mode, width), then photo


def run(rounds: int, rate: float) -> tuple[Results, dict[str, tuple[float, float]]]:
    """Each mode's rounds, and each mode's CPU seconds on the upgrade and sync servers."""
    results = {(m, w): {photo: Case() for photo in PHOTOS} for m in MODES for w in WIDTHS}
    cpu: dict[str, tuple[float, float]] = {}
    with tempfile.TemporaryDirectory(prefix="avif-upgrade-") as folder:
        work = Path(folder)
        with server("upgrade", True, work) as upgrade, server("sync", False, work) as sync:
            for mode, query in MODES.items():
                started = cpu_seconds(upgrade[1]), cpu_seconds(sync[1])
                for round_number in range(rounds):
                    for width in WIDTHS:
                        for photo, case in results[mode, width].items():
                            url = f"/image/{photo}?w={width}&v=r{round_number}{query}"
                            if round_number % 2:
                                synchronous(sync[0], url, case)
                            upgraded(upgrade[0], url, rate, case)
                            if not round_number % 2:
                                synchronous(sync[0], url, case)
                            for _ in range(case.before_avif[-1]):  # hits, as the other got
                                first_byte(sync[0], url)
                    print(f"{mode}: round {round_number + 1}/{rounds} done", file=sys.stderr)
                cpu[mode] = (
                    cpu_seconds(upgrade[1]) - started[0],
                    cpu_seconds(sync[1]) - started[1],
                )
    return results, cpu


WHOLE, TENTHS = "{:.0f}", "{:.1f}"


def report(
    results: Results, cpu: dict[str, tuple[float, float]], rounds: int, rate: float, loads: str
) -> str:
    lines = [
        "# AVIF without the wait: first byte with the upgrade against a synchronous AVIF",
        "",
        f"{len(PHOTOS)} corpus photos ({', '.join(PHOTOS)}), {rounds} rounds, each URL cold;",
        f"the upgrade server asked again at {rate:g} requests/s until its answer was final.",
        f"Load average {loads}.",
        "",
        "| fmt | width | first byte, upgrade/sync | upgrade ms (WebP) | sync ms (AVIF) "
        "| stand-ins before the final answer | seconds until it |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for (mode, width), cases in results.items():
        ratios = [
            u / s
            for case in cases.values()
            for u, s in zip(case.upgrade_ms, case.sync_ms, strict=True)
        ]
        upgrade = [ms for case in cases.values() for ms in case.upgrade_ms]
        sync = [ms for case in cases.values() for ms in case.sync_ms]
        before = [float(n) for case in cases.values() for n in case.before_avif]
        until = [s for case in cases.values() for s in case.until_avif_s]
        lines.append(
            f"| {mode} | {width} | {spread(ratios, 'x')} | {spread(upgrade, figure=WHOLE)} "
            f"| {spread(sync, figure=WHOLE)} | {spread(before, figure=WHOLE)} "
            f"| {spread(until, figure=TENTHS)} |"
        )
    lines += [
        "",
        "Server CPU seconds for all of a mode's URLs (the upgrade's includes its stand-ins and"
        " background encodes; the sync server was sent as many repeated requests, as hits):",
        "",
    ]
    for mode, (ours, theirs) in cpu.items():
        lines.append(f"- fmt={mode}: upgrade {ours:.1f}, sync {theirs:.1f} ({ours / theirs:.2f}x)")
    lines += ["", "Per photo (median first byte, ms, upgrade / sync):", ""]
    for (mode, width), cases in results.items():
        for photo, case in cases.items():
            lines.append(
                f"- fmt={mode} {width} px {photo}: {statistics.median(case.upgrade_ms):.0f} / "
                f"{statistics.median(case.sync_ms):.0f}"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second")
    arguments = parser.parse_args()
    missing = [photo for photo in PHOTOS if not (CORPUS / "photos" / photo).is_file()]
    if missing:
        sys.exit(f"avif_upgrade.py: corpus photos missing in {CORPUS}: {', '.join(missing)}")
    before = os.getloadavg()
    results, cpu = run(arguments.rounds, arguments.rate)
    after = os.getloadavg()
    loads = f"{before[0]:.1f} before, {after[0]:.1f} after (1-minute)"
    text = report(results, cpu, arguments.rounds, arguments.rate, loads)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
