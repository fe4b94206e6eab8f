"""wrk runs for the deployment benchmarks: bounded in time, loopback only.

Why wrk: a load generator in C takes little of the 2 cores from the servers it
measures (Debian's `wrk` package). `cold` gives every request its own `v=` token, so
each one is a miss all the way down; `hot` repeats one URL. Each run reports
requests/s and p50/p99 latency, and fails loudly on any error or non-2xx answer.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = r"""
local counter = 0
function init(args)
  base, mode, prefix, accept = args[1], args[2], args[3], args[4]
  sep = string.find(base, "?", 1, true) and "&" or "?"
  headers = {}
  if accept ~= nil and accept ~= "" then headers["Accept"] = accept end
end
function request()
  local path = base
  if mode == "cold" then
    counter = counter + 1
    path = base .. sep .. "v=" .. prefix .. "-" .. counter
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
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int


def wrk_path() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: apt-get install wrk (Debian's package)")
    return found


def run(
    port: int,
    path: str,
    *,
    mode: str = "hot",
    seconds: float = 5,
    connections: int = 8,
    accept: str = "",
    tag: str = "run",
) -> Rate:
    """One wrk run against 127.0.0.1:port; `mode` is "hot" (one URL) or "cold"."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_SCRIPT)
    try:
        command = [
            wrk_path(),
            "-t2",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            script.name,
            f"http://127.0.0.1:{port}",
            "--",
            path,
            mode,
            tag,
            accept,
        ]
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    finally:
        Path(script.name).unlink()
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    figures = json.loads(line.removeprefix("WRKJSON "))
    if figures["errors"]:
        raise RuntimeError(f"{figures['errors']} errors or non-2xx answers:\n{done.stdout}")
    return Rate(
        rps=figures["requests"] / (figures["micros"] / 1e6),
        p50_ms=figures["p50"] / 1000,
        p99_ms=figures["p99"] / 1000,
        requests=figures["requests"],
    )
