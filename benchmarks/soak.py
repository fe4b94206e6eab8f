"""Soak: ten minutes of mixed traffic against one `pixserve serve` with its defaults,
one worker killed along the way.

Why (issue 13): a server is trusted under hours of ordinary and hostile traffic, not
one burst. Client threads send, at random: cold transforms of the corpus (photos,
alpha, animation, EXIF orientations; a new `v=` each time, random width and format,
some `q=auto`), cache hits of a fixed set of URLs, conditional requests that must be
304s, bad queries that must be 400s, and the corpus's hostile files (decompression
bombs, truncated and corrupt files) that must be 4xx. `/healthz` is polled every
0.5 s on fresh connections and the server's RSS (master and workers) sampled every
2 s. A third of the way in, one worker is killed with SIGKILL; granian replaces it.

Pass: no 5xx but admission 503s (`overloaded`); no answer of the wrong class (a 200
where a 4xx was due, a 4xx for a good request); connection errors only around the
kill; RSS flat once each worker's bounded memos have filled (recent requests, replayed
hits, checked entries, kept decodes: about ten minutes of this traffic), so the last
minute's median within 1.1x the half-way minute's in a 20-minute run.

Run: `.venv/bin/python -m benchmarks soak [--minutes 10] [--clients 6]`. Prints a
Markdown report, also written to `benchmarks/out/soak.md`.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from benchmarks.cases import CORPUS, ROOT
from loopback.harness import children, free_port, get, serving

OUT = ROOT / "benchmarks" / "out" / "soak.md"
GOOD_FOLDERS = ("photos", "alpha", "animated", "orientation")
BAD_QUERIES = (
    "w=-1",
    "w=abc",
    "fmt=bmp",
    "nonsense=1",
    "w=100&w=200",
    "q=101",
    "fit=sideways",
    "crop=1,2,3",
)
WIDTHS = (120, 320, 480, 640, 960, 1280, 1600)
FORMATS = ("jpeg", "webp", "avif", "png", "auto")
# How often each kind of request is sent, out of the total.
MIX = {"cold": 3, "hit": 6, "not_modified": 3, "bad": 2, "hostile": 1}
# What each kind must get: statuses counted as right.
RIGHT = {
    "cold": {200},
    "hit": {200},
    "not_modified": {304},
    "bad": {400},
    "hostile": {413, 415, 422},
}
KILL_GRACE = 15.0  # seconds after the kill in which connection errors are the kill's


class Tally:
    """Every answer, by kind; thread-safe."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: dict[str, Counter[int]] = {kind: Counter() for kind in MIX}
        self.slugs: Counter[str] = Counter()  # of 5xx answers
        self.slow: list[str] = []  # the first requests answered 503 by the time limit
        self.wrong: list[str] = []
        self.errors: list[tuple[float, str, str]] = []  # (time, kind, error)

    def note(self, kind: str, path: str, status: int, body: bytes) -> None:
        with self.lock:
            self.statuses[kind][status] += 1
            if status >= 500:
                slug = _slug(body)
                self.slugs[slug] += 1
                if slug != "overloaded" and len(self.slow) < 8:
                    self.slow.append(f"{status} {slug} {path}")
            elif status not in RIGHT[kind] and len(self.wrong) < 20:
                self.wrong.append(f"{kind} {path} -> {status}")

    def failed(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.errors.append((time.monotonic(), kind, type(error).__name__))


def _slug(body: bytes) -> str:
    try:
        return str(json.loads(body).get("type", "")).rsplit(":", 1)[-1] or "?"  # urn:...:slug
    except (ValueError, AttributeError):
        return "not problem+json"


def lay_out(root: Path) -> tuple[list[str], list[str]]:
    """Copy the corpus's good and hostile files into `root`; their names."""
    good: list[str] = []
    for folder in GOOD_FOLDERS:
        for path in sorted((CORPUS / folder).iterdir()):
            if path.is_file() and path.suffix.lower() != ".md":
                shutil.copy(path, root / f"{folder}-{path.name}")
                good.append(f"{folder}-{path.name}")
    hostile: list[str] = []
    for path in sorted((CORPUS / "hostile").iterdir()):
        shutil.copy(path, root / f"hostile-{path.name}")
        hostile.append(f"hostile-{path.name}")
    return good, hostile


class Traffic:
    """What the clients send."""

    def __init__(self, port: int, good: list[str], hostile: list[str], tally: Tally) -> None:
        self.port, self.good, self.hostile, self.tally = port, good, hostile, tally
        self.hits = [
            f"/image/{name}?w={width}&fmt=webp" for name in good[:10] for width in (160, 480)
        ]
        self.etags: dict[str, str] = {}
        self.counter = 0
        self.lock = threading.Lock()
        self.senders: dict[str, Callable[[random.Random], None]] = {
            "cold": self.cold,
            "hit": self.hit,
            "not_modified": self.not_modified,
            "bad": self.bad,
            "hostile": self.hostile_file,
        }

    def warm(self) -> None:
        """Make the hit set and learn its ETags (counted as cold work)."""
        for path in self.hits:
            status, headers, body = get(self.port, path, timeout=120)
            self.tally.note("cold", path, status, body)
            if status == 200:
                self.etags[path] = headers["ETag"]

    def send(self, random_: random.Random) -> None:
        kind = random_.choices(list(MIX), weights=list(MIX.values()))[0]
        try:
            self.senders[kind](random_)
        except OSError as error:
            self.tally.failed(kind, error)

    def _ask(self, kind: str, path: str, headers: dict[str, str] | None = None) -> None:
        status, _, body = get(self.port, path, headers, timeout=60)
        self.tally.note(kind, path, status, body)

    def cold(self, random_: random.Random) -> None:
        with self.lock:
            self.counter += 1
            version = self.counter
        name = random_.choice(self.good)
        query = f"w={random_.choice(WIDTHS)}&fmt={random_.choice(FORMATS)}&v=soak{version}"
        if random_.random() < 0.2:
            query += "&q=auto"
        self._ask("cold", f"/image/{name}?{query}", {"Accept": "image/avif,image/webp,*/*"})

    def hit(self, random_: random.Random) -> None:
        self._ask("hit", random_.choice(self.hits))

    def not_modified(self, random_: random.Random) -> None:
        path = random_.choice(list(self.etags))
        self._ask("not_modified", path, {"If-None-Match": self.etags[path]})

    def bad(self, random_: random.Random) -> None:
        name = random_.choice(self.good)
        self._ask("bad", f"/image/{name}?{random_.choice(BAD_QUERIES)}")

    def hostile_file(self, random_: random.Random) -> None:
        name = random_.choice(self.hostile)
        self._ask("hostile", f"/image/{name}?w={random_.choice(WIDTHS)}")


def workers_rss(master: int) -> int:
    """RSS of the master and its workers (not the short-lived children of work done
    apart, which come and go with their transforms)."""
    total = 0
    for pid in (master, *children(master)):
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except FileNotFoundError:
            pass
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    if not CORPUS.is_dir():
        sys.exit(f"the shared corpus is absent (looked in {CORPUS})")
    duration = args.minutes * 60
    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="pixserve-soak-") as temp:
        work = Path(temp)
        (work / "root").mkdir()
        good, hostile = lay_out(work / "root")
        port = free_port()
        command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(work / "root")]
        command += ["--cache-dir", str(work / "cache"), "--port", str(port)]
        with serving(command, port, work / "server.log") as served:
            master = served.process.pid
            traffic = Traffic(port, good, hostile, tally)
            traffic.warm()
            started = time.monotonic()
            stop = threading.Event()
            rss: list[tuple[float, int]] = []
            healthz: list[float] = []

            def client(seed: int) -> None:
                random_ = random.Random(seed)
                while not stop.is_set():
                    traffic.send(random_)

            def poll() -> None:
                while not stop.is_set():
                    probe_started = time.monotonic()
                    try:
                        get(port, "/healthz", timeout=30)
                        healthz.append(time.monotonic() - probe_started)
                    except OSError:
                        healthz.append(30.0)
                    stop.wait(0.5)

            def sample() -> None:
                while not stop.is_set():
                    rss.append((time.monotonic() - started, workers_rss(master)))
                    stop.wait(2)

            threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
            threads += [threading.Thread(target=poll), threading.Thread(target=sample)]
            for thread in threads:
                thread.start()
            stop.wait(duration / 3)
            killed_at = time.monotonic()
            victim = children(master)[0]
            os.kill(victim, signal.SIGKILL)
            stop.wait(duration - (time.monotonic() - started))
            stop.set()
            for thread in threads:
                thread.join()
            log_tail = served.log.read_text(errors="replace").splitlines()[-2000:]
    print(report(args, tally, rss, healthz, killed_at, started, victim, log_tail))


def _by_minute(rss: list[tuple[float, int]]) -> str:
    minutes: dict[int, list[int]] = {}
    for at, size in rss:
        minutes.setdefault(int(at // 60), []).append(size)
    medians = [statistics.median(sizes) / 2**20 for _, sizes in sorted(minutes.items())]
    return ", ".join(f"{median:,.0f}" for median in medians)


def report(
    args: argparse.Namespace,
    tally: Tally,
    rss: list[tuple[float, int]],
    healthz: list[float],
    killed_at: float,
    started: float,
    victim: int,
    log_tail: list[str],
) -> str:
    lines = [
        f"# Soak: {args.minutes:g} minutes, {args.clients} clients, one worker killed",
        "",
        f"Worker {victim} killed with SIGKILL at {killed_at - started:.0f} s. Load average at "
        f"the end: {os.getloadavg()[0]:.1f}.",
        "",
        "| kind | requests | statuses | right |",
        "| --- | ---: | --- | ---: |",
    ]
    for kind, statuses in tally.statuses.items():
        total = sum(statuses.values())
        right = sum(n for status, n in statuses.items() if status in RIGHT[kind])
        shown = ", ".join(f"{n}x {status}" for status, n in sorted(statuses.items()))
        lines.append(f"| {kind} | {total:,} | {shown} | {right / max(1, total):.1%} |")
    five_hundreds = sum(tally.slugs.values())
    other_5xx = five_hundreds - tally.slugs.get("overloaded", 0)
    near_kill = [e for e in tally.errors if 0 <= e[0] - killed_at <= KILL_GRACE]
    elsewhere = [e for e in tally.errors if e not in near_kill]
    health = sorted(healthz)
    p99 = health[min(len(health) - 1, int(len(health) * 0.99))] if health else float("nan")
    half = rss[-1][0] / 2
    second = [b for t, b in rss if half - 30 <= t < half + 30] or [b for _, b in rss]
    last = [b for t, b in rss if t >= rss[-1][0] - 60]
    growth = statistics.median(last) / statistics.median(second)
    tracebacks = sum(1 for line in log_tail if "Traceback" in line)
    lines += [
        "",
        f"- 5xx: {five_hundreds} ({dict(tally.slugs)}); other than admission 503s: "
        f"**{other_5xx}**{': ' + '; '.join(tally.slow) if tally.slow else ''}.",
        f"- Answers of the wrong class: {sum(1 for _ in tally.wrong)} {tally.wrong[:5]}.",
        f"- Connection errors: {len(near_kill)} within {KILL_GRACE:g} s of the kill, "
        f"**{len(elsewhere)}** elsewhere {Counter(k for _, k, _ in elsewhere)}.",
        f"- `/healthz`: {len(health)} probes, p99 {p99:.2f} s, max {max(health):.2f} s.",
        f"- RSS (master and workers): half-way minute median "
        f"{statistics.median(second) / 2**20:,.0f} MiB, last minute median "
        f"{statistics.median(last) / 2**20:,.0f} MiB "
        f"(**{growth:.2f}x**), max {max(b for _, b in rss) / 2**20:,.0f} MiB.",
        f"- RSS by minute (median, MiB): {_by_minute(rss)}.",
        f"- Tracebacks in the server's log (last 2,000 lines): {tracebacks}.",
        "",
    ]
    text = "\n".join(lines)
    OUT.parent.mkdir(exist_ok=True)
    OUT.write_text(text)
    return text


if __name__ == "__main__":
    main()
