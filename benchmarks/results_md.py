"""docs/results.md (the site's Benchmark results page): where each race writes its
section, between its markers, and the Markdown helpers they share. Every report writer
imports this (and nothing of each other), so re-rendering one section keeps the others."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

RESULTS_MD = Path(__file__).resolve().parents[1] / "docs" / "results.md"
# Each section's markers: written by one race, carried over by the others' writes.
SHARP_BEGIN = "<!-- sharp-race: written by benchmarks/sharp_report.py -->"
SHARP_END = "<!-- /sharp-race -->"
PAGE_BEGIN = "<!-- page-race: written by benchmarks/page_race.py -->"
PAGE_END = "<!-- /page-race -->"
# Issue 14's hand-written findings (profile, levers), kept when the rest is re-rendered.
LEVERS_BEGIN = "<!-- levers: written by hand from benchmarks/levers.py and avif_speeds.py -->"
LEVERS_END = "<!-- /levers -->"


def publish(report: str, out: Path) -> None:
    """Print a benchmark's report and keep it in benchmarks/out/ (what its docstring
    promises), saying where."""
    report = report if report.endswith("\n") else report + "\n"
    print(report, end="")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(report, encoding="utf-8")
    print(f"(written to {out.relative_to(out.parents[2])})", file=sys.stderr)


def med(runs: Sequence[dict[str, float]], field: str) -> float:
    return statistics.median(run[field] for run in runs)


def table_head(header: Sequence[str]) -> list[str]:
    """A table's header row and rule: the first column text, the rest figures."""
    return [
        "| " + " | ".join(header) + " |",
        "| --- | " + " | ".join("---:" for _ in header[1:]) + " |",
    ]


def print_row(*cells: object) -> None:
    """Print one Markdown table row as soon as it is measured (long runs show progress)."""
    print("| " + " | ".join(str(cell) for cell in cells) + " |", flush=True)


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    return table_head(header) + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def spread(values: Sequence[float], unit: str = "", figure: str = "{:.2f}") -> str:
    """Median and, in brackets, min-max over the rounds: how every race reports a figure
    (`figure` formats each number: `"{:,.0f}"` for requests per second)."""
    low, middle, high = (
        figure.format(v) for v in (min(values), statistics.median(values), max(values))
    )
    return f"{middle}{unit} ({low}-{high})"


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def insert(document: str, block: list[str], begin: str, end: str) -> str:
    """Put (or replace) the block in docs/results.md, after its opening paragraphs."""
    text = "\n".join(block)
    if begin in document and end in document:
        head, rest = document.split(begin, 1)
        return head + text + rest.split(end, 1)[1]
    marker = "\n## Targets"
    if marker in document:
        head, tail = document.split(marker, 1)
        return head + "\n" + text + "\n" + marker + tail
    return document + "\n" + text + "\n"


def kept_block(document: str, begin: str, end: str) -> list[str]:
    """The current block, for a writer to carry over when it re-renders the rest."""
    if begin not in document or end not in document:
        return []
    inside = document.split(begin, 1)[1].split(end, 1)[0]
    return [begin + inside + end, ""]


def save_chart(figure: Any, title: str, path: Path) -> None:
    """Title, lay out and save one of docs/results.md's charts at the size the page shows."""
    import matplotlib.pyplot as plt  # the bench extras only; the figure was made with it

    figure.suptitle(title, fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def saved(path: Path, entry: str) -> Any:
    """The figures a race saved, for re-rendering its section; a clear stop when absent."""
    if not path.is_file():
        raise SystemExit(f"no saved results at {path}: run `python -m benchmarks {entry}` first")
    return json.loads(path.read_text(encoding="utf-8"))
