"""The sharp-based peers as loopback servers: Next.js' image optimizer and IPX.

Why these two: they are what web developers compare an image server with (both put
libvips behind sharp). Each runs as its users run it, one Node process: `next start`
of the minimal app in `benchmarks/node/` (its `public/photos` is the corpus' photos)
and IPX's own Node server (`benchmarks/node/ipx-server.mjs`). `make bench` installs
them from npm (`benchmarks/node/package-lock.json`) and builds the Next app; nothing
here installs anything. Kept apart from `servers.py` so that its start/stop helpers
can change without touching these.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

from benchmarks import servers
from benchmarks.cases import CORPUS, QUALITY, ROOT, Case
from loopback.harness import HOST, Served, answers, descendants, proportional_set_size

NODE_DIR = ROOT / "benchmarks" / "node"
NEXT_BIN = NODE_DIR / "node_modules" / "next" / "dist" / "bin" / "next"
NEXT_IMAGE_CACHE = NODE_DIR / ".next" / "cache" / "images"
IPX_SERVER = NODE_DIR / "ipx-server.mjs"
# Next scales the requested quality by 50/80 for AVIF (its image-optimizer transform);
# asking for this `q` gives sharp pixserve's AVIF quality. next.config.mjs allows it.
NEXT_AVIF_Q = round(QUALITY["avif"] * 80 / 50)


def node() -> str:
    found = shutil.which("node")
    if found is None:
        sys.exit("benchmarks: node is missing; `make bench` needs Node.js (Debian's nodejs)")
    return found


def check_node_peers() -> None:
    """Exit with a clear message unless `make bench` has installed and built the peers."""
    node()
    missing = [p for p in (NEXT_BIN, NODE_DIR / ".next" / "BUILD_ID") if not p.exists()]
    if missing:
        sys.exit(f"benchmarks: {missing} missing; `make bench` installs and builds them")


def total_peak_rss_mib(server: servers.Server) -> float:
    """The sum of every process' high-water resident set in the server's tree, in MiB.

    Why the sum: pixserve is a server master and its workers, a Node peer one process;
    what a host must provision is all of it.
    """
    process = server.process
    if process is None:
        return 0.0
    return sum(servers._status_kib(pid, "VmHWM") for pid in descendants(process.pid)) / 1024


class PeakMemory(threading.Thread):
    """The highest proportional set size (PSS) of each server's whole process tree,
    sampled every `every` seconds through the phases. A sum of peak resident sets
    counts the pages a master shares with its forked workers once per
    process; PSS splits each shared page between its sharers, so one Node process and
    three forked Python ones are measured alike."""

    def __init__(self, started: list[servers.Server], every: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.started, self.every = started, every
        self.peaks = {s.name: 0 for s in started}
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.every):
            for server in self.started:
                if server.process is not None:
                    pss = proportional_set_size(server.process.pid)
                    self.peaks[server.name] = max(self.peaks[server.name], pss)

    def stop(self) -> dict[str, float]:
        self.done.set()
        self.join()
        return {name: peak / (1 << 20) for name, peak in self.peaks.items()}


def cpu_seconds(server: servers.Server) -> float:
    """User + system CPU seconds used so far by the server's processes (and reaped kids)."""
    process = server.process
    if process is None:
        return 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in descendants(process.pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of stat; after ")" they are 11-14.
        total += sum(int(value) for value in fields[11:15])
    return total / ticks


class NodePeer(servers.Server):
    """One Node process; it is its own worker."""

    cache_header: str | None = None

    def __init__(self) -> None:
        # No forked workers to wait for: the harness' readiness check counts children.
        super().__init__(0)

    def worker_pids(self) -> list[int]:
        return [] if self.process is None else [self.process.pid]

    def _ready(self, served: Served) -> bool:
        """Its probe answers: it forks no workers to wait for."""
        return answers(self.probe)(served)

    def environment(self) -> dict[str, str]:
        return {**super().environment(), "NODE_ENV": "production"}

    def accept(self, case: Case) -> str | None:
        return None

    def path(self, case: Case, token: str | None) -> str:
        raise NotImplementedError

    def cached_entries(self) -> int | None:
        return None


class Next(NodePeer):
    """`next start` of benchmarks/node; `mozjpeg` picks Next's shipped JPEG encoder."""

    probe = "/"
    cache_header = "X-Nextjs-Cache"

    def __init__(self, mozjpeg: bool = False) -> None:
        self.mozjpeg = mozjpeg
        self.name = "next-mozjpeg" if mozjpeg else "next"
        super().__init__()

    def command(self) -> list[str]:
        return [node(), str(NEXT_BIN), "start", str(NODE_DIR), "-H", HOST]

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "PORT": str(self.port),
            "NEXT_TELEMETRY_DISABLED": "1",
            "NEXT_IMG_MOZJPEG": "1" if self.mozjpeg else "0",
        }

    def accept(self, case: Case) -> str:
        """Next picks the format from Accept (`formats` lists AVIF and WebP); else JPEG."""
        return f"image/{case.transform.fmt}"

    def path(self, case: Case, token: str | None) -> str:
        """`/_next/image`; the token (or `{v}`, filled by the load generator) busts its cache."""
        fmt = case.transform.fmt
        quality = NEXT_AVIF_Q if fmt == "avif" else QUALITY[fmt]
        source = quote(f"/{case.name}?v=", safe="") + (token or "0")
        return f"/_next/image?w={case.transform.width}&q={quality}&url={source}"

    def cached_entries(self) -> int:
        """Entries in Next's image cache (one folder per key), which both Nexts share."""
        try:
            return len(os.listdir(NEXT_IMAGE_CACHE))
        except FileNotFoundError:
            return 0


class IPX(NodePeer):
    """IPX's Node server over the corpus (no result cache: it computes every request)."""

    name = "ipx"
    probe = "/"

    def command(self) -> list[str]:
        return [node(), str(IPX_SERVER), str(CORPUS), str(self.port)]

    def path(self, case: Case, token: str | None) -> str:
        t = case.transform
        return f"/w_{t.width},f_{t.fmt},q_{QUALITY[t.fmt]}/{quote(case.name)}"


def clear_next_cache() -> None:
    """Start from an empty image cache (both Next instances write into the same one)."""
    shutil.rmtree(NEXT_IMAGE_CACHE, ignore_errors=True)


def versions() -> dict[str, str]:
    """Node, Next.js and IPX and the sharp/libvips each of them loads."""
    out = subprocess.run(
        [node(), str(NODE_DIR / "versions.cjs")],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    found: dict[str, str] = json.loads(out)
    return found
