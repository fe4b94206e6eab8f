"""pixserve against the servers a user would pick instead, in one run: `make bench`.

Why one run: timings on a shared 2-core machine drift; only contenders measured side
by side, alternated round by round, give ratios that hold. Every phase checks the
replies it times (status, format, size) and fails loudly on a surprise.

Phases (the issue's numbering):
1. cold transforms over HTTP, pixserve vs thumbor, same workers, 1 and 8 connections;
   the codec-floor ratio from pixserve's 1-connection latency against the in-process
   floor timed between the rounds;
2. cache hits and 3. 304 revalidations against a Flask `send_from_directory` server
   under the same server settings (and nginx where installed), serving the same bytes;
4. peak RSS of a worker after the cold phase (the 8 MP source among its work);
5. in-process ms per transform against source megapixels and output width, with
   libvips (one thread) as the per-image speed reference;
6. bytes and SSIM of each contender's output against a full-decode LANCZOS reference.

Writes `benchmarks/out/results.json`, then `report.py` turns it into
`docs/results.md` and `docs/results.png`. Settings: BENCH_ROUNDS (3),
BENCH_SECONDS (2, per cold run), BENCH_WORKERS (the CPU count), BENCH_CORPUS.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from PIL import Image

from benchmarks import engines, load, node_peers, profile_paths, report, servers
from benchmarks.cases import CASES, HIT_CASES, Case, Transform, check_corpus
from benchmarks.floor import Stages
from benchmarks.races import HIT_SECONDS, OUT, ROUNDS, SECONDS, WORKERS
from benchmarks.rounds import in_turn, wait_until_idle
from pixserve import transformer
from pixserve.config.settings import DEFAULT_THREADS

CONNECTIONS = (1, 8)
INPROC_REPEATS = 9  # per round-robin of the in-process engines
MEGAPIXELS = (0.5, 2.0, 6.0, 8.3)
WIDTHS = (100, 200, 300, 640, 1280, 2000)
RUN = f"{os.getpid()}x{time.time_ns() % 10**9}"


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def expect_image(
    server: servers.Server, path: str, fmt: str, cache: str | None = None
) -> tuple[bytes, dict[str, str]]:
    """GET `path` and fail unless it is a 200 of the right format (and cache state)."""
    status, headers, body = server.get(path)
    kind = headers.get("Content-Type", "")
    problems = []
    if status != 200:
        problems.append(f"status {status}")
    if kind != f"image/{fmt}":
        problems.append(f"Content-Type {kind!r}")
    if cache is not None and headers.get("X-Cache") != cache:
        problems.append(f"X-Cache {headers.get('X-Cache')!r}, expected {cache}")
    if problems:
        raise RuntimeError(f"{server.name} GET {path}: {'; '.join(problems)}: {body[:300]!r}")
    return body, headers


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from PIL import features

    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "busy_at_start": wait_until_idle(),
        "load_start": os.getloadavg(),
        "python": platform.python_version(),
        "pillow": f"Pillow {Image.__version__ if hasattr(Image, '__version__') else ''}",
        "codecs": (
            f"libjpeg-turbo {features.version('jpg')}, libwebp {features.version('webp')}, "
            f"libavif {features.version('avif')}"
        ),
        "thumbor": servers.thumbor_versions(),
        "vips": engines.vips_version(),
        "nginx": servers.nginx_version(),
        "load_generator": load.generator_name(),
        "workers": WORKERS,
        "rounds": ROUNDS,
        "seconds": SECONDS,
        "transformer_version": transformer.VERSION,
    }


def in_process() -> dict[str, Any]:
    """Per case: pixserve's transform, the staged codec floor and libvips, interleaved."""
    results: dict[str, Any] = {}
    for case in CASES:
        source = case.path.read_bytes()
        t = case.transform
        engines.pixserve(source, t), engines.codec_floor(source, t), engines.vips(source, t)
        times: dict[str, list[float]] = {"pixserve": [], "floor": [], "vips": []}
        stages: list[Stages] = []
        repeats = 3 if t.fmt == "avif" else INPROC_REPEATS
        for _ in range(ROUNDS * repeats):
            times["pixserve"].append(engines.clock(engines.pixserve, source, t))
            _, staged = engines.codec_floor(source, t)
            stages.append(staged)
            times["floor"].append(staged.total)
            times["vips"].append(engines.clock(engines.vips, source, t))
        results[case.label] = {
            "ms": {name: engines.median(values) for name, values in times.items()},
            "stages": {
                stage: engines.median([getattr(s, stage) for s in stages])
                for stage in engines.STAGES
            },
        }
        say(f"  in-process {case.label}: {results[case.label]['ms']}")
    return results


def floor_ms(case: Case, repeats: int) -> float:
    source = case.path.read_bytes()
    return engines.median(
        [engines.codec_floor(source, case.transform)[1].total for _ in range(repeats)]
    )


def cold_run(
    server: servers.Server, path: str, connections: int, prefix: str, slow: bool
) -> load.Rate:
    """A cold run of SECONDS (8x for `slow` cases: AVIF at 1280 px takes about a second
    of CPU), doubled (up to 32x) until each connection finished 2 requests, since a run
    that finished none measures nothing. Each attempt has its own tokens, so none finds
    what the one before left in the cache, and starts once the server has finished
    what the one before left unfinished (`settle`)."""
    seconds = SECONDS * (8 if slow else 1)
    while True:
        tokens = f"{prefix}-{seconds:g}s"
        rate = load.run(
            server.port, path, connections=connections, seconds=seconds, cold_prefix=tokens
        )
        if rate.requests >= 2 * connections or seconds >= 32 * SECONDS:
            return rate
        settle(server)
        seconds *= 2


def settle(server: servers.Server, limit: float = 120.0) -> None:
    """Wait until the server is idle: its processes' CPU time rising by less than a
    twentieth of a core over half a second. wrk stops waiting for the requests a run
    left unfinished, the server does not: after 8 connections of 1280 px AVIF each
    worker still holds its makers' work and a full queue, and the next run's requests
    would be answered 503 (overloaded) at once."""
    deadline = time.monotonic() + limit
    before = node_peers.cpu_seconds(server)
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = node_peers.cpu_seconds(server)
        if now - before < 0.025:
            return
        before = now


def cold(pix: servers.Pixserve, thumbor: servers.Thumbor) -> dict[str, Any]:
    """Phase 1: every request a miss, alternating the servers and their order per round."""
    rates: dict[str, list[dict[str, float]]] = {}
    floor_ratios: dict[str, list[float]] = {}
    for round_index in range(ROUNDS):
        for case_index, case in enumerate(CASES):
            order: list[servers.Server] = [pix, thumbor]
            if (round_index + case_index) % 2:
                order.reverse()
            for connections in CONNECTIONS:
                for server in order:
                    path = case.pixserve_path if server is pix else case.thumbor_path
                    prefix = f"{RUN}-{round_index}-{case_index}-{connections}"
                    slow = case.transform.fmt == "avif"
                    for each in order:  # neither still busy with the run before
                        settle(each)
                    rate = cold_run(server, path, connections, prefix, slow)
                    if rate.errors or rate.requests == 0:
                        raise RuntimeError(f"{server.name} {path}: {rate}")
                    key = f"{case.label}|{server.name}|{connections}"
                    rates.setdefault(key, []).append(rate.__dict__)
                    if server is pix and connections == 1:
                        repeats = 3 if case.transform.fmt == "avif" else 9
                        floor = floor_ms(case, repeats)
                        floor_ratios.setdefault(case.label, []).append(rate.p50_ms / floor)
            say(f"  cold round {round_index + 1}/{ROUNDS}: {case.label}")
    return {"rates": rates, "floor_ratios": floor_ratios}


def outputs(pix: servers.Pixserve, thumbor: servers.Thumbor) -> dict[str, Any]:
    """Phase 6: bytes, size and SSIM of each contender's output for each case."""
    from benchmarks import quality

    results: dict[str, Any] = {}
    for case in CASES:
        fmt = case.transform.fmt
        produced = {
            "pixserve": expect_image(pix, f"{case.pixserve_path}&v={RUN}-q", fmt, "MISS")[0],
            "thumbor": expect_image(thumbor, case.thumbor_path, fmt)[0],
            "libvips": engines.vips(case.path.read_bytes(), case.transform),
        }
        row: dict[str, dict[str, Any]] = {}
        for name, data in produced.items():
            size, similarity = quality.score(case, data)
            row[name] = {"bytes": len(data), "size": size, "ssim": similarity}
        sizes = {tuple(r["size"]) for r in row.values()}
        if len(sizes) != 1:
            raise RuntimeError(f"{case.label}: output sizes differ: {row}")
        results[case.label] = row
        say(f"  quality {case.label}: {row}")
    return results


def hits_and_revalidations(pix: servers.Pixserve) -> dict[str, Any]:
    """Phases 2 and 3: pixserve hits and 304s against static servers of the same bytes."""
    results: dict[str, Any] = {"hits": {}, "revalidations": {}}
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-static-") as folder:
        root = Path(folder)
        os.chmod(root, 0o755)
        names: dict[str, str] = {}
        for index, case in enumerate(HIT_CASES):
            body, _ = expect_image(pix, case.pixserve_path, case.transform.fmt)
            names[case.label] = f"{index}.{case.transform.fmt}"
            (root / names[case.label]).write_bytes(body)
            os.chmod(root / names[case.label], 0o644)
        static = servers.Static(WORKERS, pix.threads or DEFAULT_THREADS, root)
        nginx = servers.Nginx(WORKERS, root) if servers.Nginx.available() else None
        with contextlib.ExitStack() as stack:
            contenders: list[servers.Server] = [pix, stack.enter_context(static)]
            if nginx is not None:
                contenders.append(stack.enter_context(nginx))
            for round_index in range(ROUNDS):
                for case in HIT_CASES:
                    order = in_turn(contenders, round_index)
                    for server in order:
                        path = (
                            case.pixserve_path if server is pix else f"/static/{names[case.label]}"
                        )
                        body, headers = expect_image(
                            server, path, case.transform.fmt, "HIT" if server is pix else None
                        )
                        etag = headers["Etag" if "Etag" in headers else "ETag"]
                        status, _, _ = server.get(path, {"If-None-Match": etag})
                        if status != 304:
                            raise RuntimeError(f"{server.name} {path}: If-None-Match gave {status}")
                        for phase, inm in (("hits", None), ("revalidations", etag)):
                            if phase == "revalidations" and case is not HIT_CASES[0]:
                                continue  # a 304 carries no body: one file size is enough
                            rate = load.run(
                                server.port,
                                path,
                                connections=8,
                                seconds=HIT_SECONDS,
                                if_none_match=inm,
                            )
                            if rate.errors:
                                raise RuntimeError(f"{server.name} {path}: {rate}")
                            key = f"{case.label}|{server.name}"
                            results[phase].setdefault(key, []).append(rate.__dict__)
                say(f"  hits round {round_index + 1}/{ROUNDS}")
            results["rss"] = {s.name: s.peak_rss_mib() for s in contenders}
    return results


def make_sources(folder: Path) -> dict[float, bytes]:
    """The gain-map photo at each size in MEGAPIXELS, all re-encoded alike (JPEG q90)."""
    with Image.open(next(c.path for c in CASES if "gain-map" in c.name)) as original:
        full = original.convert("RGB")
    sources = {}
    for megapixels in MEGAPIXELS:
        scale = min(1.0, (megapixels * 1e6 / (full.width * full.height)) ** 0.5)
        size = (round(full.width * scale), round(full.height * scale))
        buffer = io.BytesIO()
        full.resize(size, Image.Resampling.LANCZOS).save(buffer, "JPEG", quality=90)
        sources[megapixels] = buffer.getvalue()
        (folder / f"{megapixels}mp.jpg").write_bytes(buffer.getvalue())
    return sources


def scaling() -> dict[str, Any]:
    """Phase 5: in-process ms against source megapixels and against output width."""
    repeats = ROUNDS * 5
    by_mp: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-mp-") as folder:
        sources = make_sources(Path(folder))
    for megapixels, source in sources.items():
        t = Transform(300, "webp")
        times: dict[str, list[float]] = {"pixserve": [], "floor": [], "vips": []}
        for _ in range(repeats):
            times["pixserve"].append(engines.clock(engines.pixserve, source, t))
            times["floor"].append(engines.codec_floor(source, t)[1].total)
            times["vips"].append(engines.clock(engines.vips, source, t))
        by_mp[str(megapixels)] = {k: engines.median(v) for k, v in times.items()}
    by_width: dict[str, dict[str, float]] = {}
    street = CASES[0].path.read_bytes()
    for width in WIDTHS:
        t = Transform(width, "webp")
        times = {"pixserve": [], "vips": []}
        for _ in range(max(3, repeats // (1 + width // 640))):
            times["pixserve"].append(engines.clock(engines.pixserve, street, t))
            times["vips"].append(engines.clock(engines.vips, street, t))
        by_width[str(width)] = {k: engines.median(v) for k, v in times.items()}
    say(f"  scaling: {by_mp} {by_width}")
    return {"megapixels": by_mp, "widths": by_width}


def main() -> int:
    check_corpus()
    servers.check_peers()
    started = time.perf_counter()
    results: dict[str, Any] = {"machine": machine()}
    say(f"benchmarks: {results['machine']}")
    say("phase 5/6: in-process engines")
    results["in_process"] = in_process()
    # The default threads: requests past the transforms running at once (2 a process)
    # wait their turn, as thumbor queues them.
    pix = servers.Pixserve(WORKERS)
    thumbor = servers.Thumbor(WORKERS)
    with pix, thumbor:
        for case in CASES:  # warm both up; also proves every URL works
            expect_image(pix, case.pixserve_path, case.transform.fmt)
            expect_image(thumbor, case.thumbor_path, case.transform.fmt)
        say("phase 6: output quality")
        results["quality"] = outputs(pix, thumbor)
        say("phase 1: cold transforms")
        results["cold"] = cold(pix, thumbor)
        results["rss"] = {"pixserve": pix.peak_rss_mib(), "thumbor": thumbor.peak_rss_mib()}
        say("phases 2-3: cache hits and 304s")
        hits = hits_and_revalidations(pix)
    results["hits"] = hits["hits"]
    results["revalidations"] = hits["revalidations"]
    results["rss_static"] = hits["rss"]
    say("profile: where a cold request's and a hit's time goes")
    results["profile"] = profile_paths.profile()
    say("phase 5: cost against megapixels and width")
    results["scaling"] = scaling()
    results["machine"]["load_end"] = os.getloadavg()
    results["machine"]["run_seconds"] = time.perf_counter() - started
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    report.write(results)
    say(f"benchmarks: done in {results['machine']['run_seconds']:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
