"""The load generator: wrk when it is installed, else a small asyncio HTTP/1.1 client.

Why wrk: it is a real load generator written in C, so on a 2-core machine it takes
little CPU from the servers it measures; the asyncio client is the fallback where wrk
cannot be installed, and says so in the report (it costs more CPU per request, which
lowers every server's figure alike). Both keep one keep-alive connection per slot,
run for a fixed time, and report requests/s and p50/p99 latency. Loopback only.

A "cold" run gives every request its own `v=` token, so each is a cache miss in
pixserve (thumbor, with result storage off, computes every request anyway); a path
holding `{v}` gets the token there instead (Next.js' `url=/photo.jpg?v={v}`).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
# Where a cold run puts its per-request token when the path names the spot (Next.js
# keys its cache on the `url` parameter's own query); without it, `v=` is appended.
COLD_SLOT = "{v}"

_WRK_SCRIPT = r"""
local counter = 0
function init(args)
  base, mode, prefix, inm, accept = args[1], args[2], args[3], args[4], args[5]
  sep = string.find(base, "?", 1, true) and "&" or "?"
  headers = {}
  if inm ~= nil and inm ~= "" then headers["If-None-Match"] = inm end
  if accept ~= nil and accept ~= "" then headers["Accept"] = accept end
end
function request()
  local path = base
  if mode == "cold" then
    counter = counter + 1
    local token = prefix .. "-" .. counter
    local at = string.find(base, "{v}", 1, true)
    if at then
      path = string.sub(base, 1, at - 1) .. token .. string.sub(base, at + 3)
    else
      path = base .. sep .. "v=" .. token
    end
  end
  return wrk.format("GET", path, headers)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\": %d, \"micros\": %d, \"p50\": %d, \"p99\": %d, \"errors\": %d}\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout + e.status))
end
"""


@dataclass(frozen=True)
class Rate:
    """One timed run: throughput and latency percentiles."""

    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int


def median_rate(rates: list[Rate]) -> Rate:
    """Several rounds of one run as one: medians of the rates, requests and errors summed."""
    return Rate(
        rps=statistics.median(rate.rps for rate in rates),
        p50_ms=statistics.median(rate.p50_ms for rate in rates),
        p99_ms=statistics.median(rate.p99_ms for rate in rates),
        requests=sum(rate.requests for rate in rates),
        errors=sum(rate.errors for rate in rates),
    )


@dataclass(frozen=True)
class Load:
    """One load run's settings, as `run` takes them, for either generator."""

    port: int
    path: str
    connections: int
    seconds: float
    cold_prefix: str | None
    if_none_match: str | None
    accept: str | None


def wrk_path() -> str | None:
    return shutil.which("wrk")


def generator_name() -> str:
    if wrk_path() is None:
        return "asyncio HTTP/1.1 client (wrk not installed)"
    version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout
    return (version.splitlines() or ["wrk"])[0].split(" [")[0]


def run(
    port: int,
    path: str,
    *,
    connections: int,
    seconds: float,
    cold_prefix: str | None = None,
    if_none_match: str | None = None,
    accept: str | None = None,
) -> Rate:
    """Load `path` on loopback for `seconds` with `connections` keep-alive connections."""
    load = Load(port, path, connections, seconds, cold_prefix, if_none_match, accept)
    if wrk_path() is not None:
        return _run_wrk(load)
    return asyncio.run(_run_asyncio(load))


def run_cleanly(port: int, path: str, **settings: Any) -> Rate:
    """`run`, failing loudly when any answer was an error."""
    rate = run(port, path, **settings)
    if rate.errors:
        raise RuntimeError(f"{rate.errors} errors or 4xx/5xx answers for {path}")
    return rate


def _run_wrk(load: Load) -> Rate:
    port, path, connections, seconds = load.port, load.path, load.connections, load.seconds
    cold_prefix, if_none_match, accept = load.cold_prefix, load.if_none_match, load.accept
    with tempfile.TemporaryDirectory(prefix="pixserve-wrk-") as temp:
        script = Path(temp) / "bench.lua"
        script.write_text(_WRK_SCRIPT, encoding="utf-8")
        command = [
            "wrk",
            "-t1",  # one thread drives 8 connections easily and leaves the cores to servers
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            f"http://{HOST}:{port}/",
            "--",
            path,
            "cold" if cold_prefix else "fixed",
            cold_prefix or "",
            if_none_match or "",
            accept or "",
        ]
        out = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 60, check=True
        ).stdout
    line = next((line for line in out.splitlines() if line.startswith("WRKJSON ")), None)
    if line is None:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(line[len("WRKJSON ") :])
    return Rate(
        rps=data["requests"] / (data["micros"] / 1e6),
        p50_ms=data["p50"] / 1000,
        p99_ms=data["p99"] / 1000,
        requests=data["requests"],
        errors=data["errors"],
    )


async def _run_asyncio(load: Load) -> Rate:
    port, path, connections, seconds = load.port, load.path, load.connections, load.seconds
    cold_prefix, if_none_match, accept = load.cold_prefix, load.if_none_match, load.accept
    latencies: list[float] = []
    errors = 0
    counter = 0
    separator = "&" if "?" in path else "?"
    extra = f"If-None-Match: {if_none_match}\r\n" if if_none_match else ""
    extra += f"Accept: {accept}\r\n" if accept else ""
    started = time.perf_counter()
    deadline = started + seconds

    async def one_connection() -> None:
        nonlocal errors, counter
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while time.perf_counter() < deadline:
                target = path
                if cold_prefix:
                    counter += 1
                    token = f"{cold_prefix}-{counter}"
                    if COLD_SLOT in path:
                        target = path.replace(COLD_SLOT, token)
                    else:
                        target = f"{path}{separator}v={token}"
                request = f"GET {target} HTTP/1.1\r\nHost: {HOST}\r\n{extra}\r\n"
                begin = time.perf_counter()
                writer.write(request.encode())
                head = await reader.readuntil(b"\r\n\r\n")
                status = int(head.split(b" ", 2)[1])
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length:
                    await reader.readexactly(length)
                latencies.append(time.perf_counter() - begin)
                if status >= 400:
                    errors += 1
        finally:
            writer.close()

    await asyncio.gather(*(one_connection() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    ordered = sorted(latencies) or [0.0]
    return Rate(
        rps=len(latencies) / elapsed,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000,
        requests=len(latencies),
        errors=errors,
    )
