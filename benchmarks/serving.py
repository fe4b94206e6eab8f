"""Serving benchmark: `pixserve serve` as it is against another revision, same app.

Why: issue 22 moved `pixserve serve` from a gunicorn worker of pixserve's own to
granian, and its admission from "503 at once past the threads" to a bounded queue.
This measures both claims side by side, in alternating rounds, each server on its own
cache folder over the corpus' photos (`../shared/corpus`, `BENCH_CORPUS`):

- hits and 304s of one repeated URL at 4 and 64 keep-alive connections;
- cold misses (every request its own `v=`, `decoded_cache=0`, so each decodes) of the
  street photo to 640 px WebP at 1, 4 and 32 connections;
- a burst: 64 connections of small cold misses (`small-320x240.jpg?w=64&fmt=webp`, a
  gallery page's thumbnails) for `--seconds`, counting the 503 answers.

The first two use one layout for both servers (`--workers 2 --threads 8`), the burst
each server's defaults. Every figure is a median over `--rounds` rounds, with the
min-max; ratios are this tree's over the other revision's.

Run: `.venv/bin/python -m benchmarks serving --against 0f6e7e4` (about 5 minutes on
2 cores). The other revision runs from its `git archive` on PYTHONPATH in this
virtualenv: before issue 22 that needs gunicorn (`pip install 'gunicorn>=27,<28'`,
in the `bench` extra). Prints a Markdown report and writes it to
`benchmarks/out/serving.md`. Loopback only; wrk when installed (`load.py`).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks import load
from benchmarks.cache_hits import exported
from benchmarks.cases import CORPUS, ROOT
from benchmarks.results_md import publish, spread
from benchmarks.rounds import in_turn, wait_until_idle
from loopback.harness import free_port, get, serving

OUT = ROOT / "benchmarks" / "out" / "serving.md"
HIT = "/image/photos/street-2725x2225.jpg?w=300&fmt=webp"
COLD = "/image/photos/street-2725x2225.jpg?w=640&fmt=webp"
SMALL = "/image/photos/small-320x240.jpg?w=64&fmt=webp"
LAYOUT = ["--workers", "2", "--threads", "8"]  # the layout, for both servers


@dataclass(frozen=True)
class Case:
    """One timed load: what, how many connections, and how each request is made."""

    name: str
    path: str
    connections: int
    cold: bool = False
    revalidate: bool = False


CASES = [
    Case("hits", HIT, 4),
    Case("hits", HIT, 64),
    Case("304s", HIT, 4, revalidate=True),
    Case("304s", HIT, 64, revalidate=True),
    Case("cold 640 px WebP", COLD, 1, cold=True),
    Case("cold 640 px WebP", COLD, 4, cold=True),
    Case("cold 640 px WebP", COLD, 32, cold=True),
]


@contextlib.contextmanager
def server(
    name: str, work: Path, checkout: Path | None, layout: list[str], env: dict[str, str]
) -> Iterator[int]:
    """`pixserve serve` of this tree (or of `checkout`) over the corpus: its port."""
    port = free_port()
    cache = work / f"cache-{name}-{port}"
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--root", str(CORPUS)]
    command += ["--cache-dir", str(cache), "--port", str(port), *layout]
    environment = {**os.environ, "PIXSERVE_LOG_FORMAT": "json", **env}
    if checkout is not None:
        environment["PYTHONPATH"] = str(checkout)
    log = work / f"{name}-{port}.log"
    with serving(command, port, log, env=environment, cwd=checkout or ROOT):
        time.sleep(1.0)  # every worker up
        yield port


def timed(port: int, case: Case, seconds: float, round_index: int) -> load.Rate:
    etag = None
    if case.revalidate:
        etag = get(port, case.path)[1]["ETag"]
    prefix = f"r{round_index}-{port}" if case.cold else None
    return load.run(
        port,
        case.path,
        connections=case.connections,
        seconds=seconds,
        cold_prefix=prefix,
        if_none_match=etag,
    )


def burst(port: int, seconds: float, round_index: int) -> tuple[int, int]:
    """(requests, 503 answers) for 64 connections of small cold misses."""
    rate = load.run(
        port, SMALL, connections=64, seconds=seconds, cold_prefix=f"b{round_index}-{port}"
    )
    return rate.requests, rate.errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", help="a git revision to compare with")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4)
    args = parser.parse_args()
    wait_until_idle()
    names = ["this tree"] + ([f"at {args.against}"] if args.against else [])
    rates: dict[tuple[str, int, str], list[float]] = {}
    bursts: dict[str, list[tuple[int, int]]] = {name: [] for name in names}
    with (
        tempfile.TemporaryDirectory(prefix="pixserve-serving-") as temp,
        contextlib.ExitStack() as stack,
    ):
        work = Path(temp)
        trees: dict[str, Path | None] = {"this tree": None}
        if args.against:
            trees[names[1]] = stack.enter_context(exported(args.against, work))
        cold_env = {"PIXSERVE_DECODED_CACHE": "0"}
        ports = {
            name: stack.enter_context(server(name, work, tree, LAYOUT, cold_env))
            for name, tree in trees.items()
        }
        for port in ports.values():  # the hit's result made, and each worker warm
            assert get(port, HIT)[0] == 200
            load.run(port, HIT, connections=8, seconds=1)
        for round_index in range(args.rounds):
            order = in_turn(names, round_index)
            for case in CASES:
                for name in order:
                    rate = timed(ports[name], case, args.seconds, round_index)
                    if rate.errors:
                        print(f"{name}: {case} answered {rate.errors} errors", flush=True)
                    answered = (rate.requests - rate.errors) / args.seconds  # 503s are no work
                    rates.setdefault((case.name, case.connections, name), []).append(answered)
            print(f"round {round_index + 1} of {args.rounds} done", flush=True)
        stack.close()  # the layout servers stop; the burst runs each one's defaults
        with contextlib.ExitStack() as defaults:
            ports = {
                name: defaults.enter_context(server(f"{name}-defaults", work, tree, [], {}))
                for name, tree in trees.items()
            }
            for round_index in range(args.rounds):
                order = in_turn(names, round_index)
                for name in order:
                    bursts[name].append(burst(ports[name], args.seconds, round_index))
    report = render(args, names, rates, bursts)
    publish(report, OUT)


def render(
    args: argparse.Namespace,
    names: list[str],
    rates: dict[tuple[str, int, str], list[float]],
    bursts: dict[str, list[tuple[int, int]]],
) -> str:
    lines = [
        "# Serving: `pixserve serve` side by side",
        "",
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end; "
        f"{load.generator_name()}; {args.rounds} alternating rounds of {args.seconds:g} s; "
        f"layout `{' '.join(LAYOUT)}`; median req/s answered 200 or 304 (min-max): a 503 "
        "answered at once is not counted as served.",
        "",
        "| case | connections | " + " | ".join(names) + (" | ratio |" if len(names) > 1 else ""),
        "| --- | ---: | "
        + " | ".join("---:" for _ in names)
        + (" | ---: |" if len(names) > 1 else ""),
    ]
    for case in dict.fromkeys((case.name, case.connections) for case in CASES):
        cells = [spread(rates[(*case, name)], figure="{:,.0f}") for name in names]
        if len(names) > 1:
            ours, theirs = (rates[(*case, name)] for name in names)
            pairs = [a / b for a, b in zip(ours, theirs, strict=True)]
            cells.append(spread(pairs, "x"))
        lines.append(f"| {case[0]} | {case[1]} | " + " | ".join(cells) + " |")
    lines += [
        "",
        f"Burst: 64 connections of `{SMALL}` with a new `v=` each, {args.seconds:g} s, "
        "each server's default layout:",
        "",
        "| server | requests per round | errors (503s) per round |",
        "| --- | --- | --- |",
    ]
    for name in names:
        lines.append(
            f"| {name} | {', '.join(f'{r:,.0f}' for r, _ in bursts[name])} | "
            f"{', '.join(f'{e:,.0f}' for _, e in bursts[name])} |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
