"""Rewrite `docs/results.md` and its charts from every race's saved figures.

`python -m benchmarks report` is the one writer of docs/results.md: it re-renders each
section whose race has saved its figures in `benchmarks/out/` (`peers`:
`results.json`, ratios first, and `results.png`; `sharp_race`: `sharp_race.json` and
`sharp_race.png` through `sharp_report.py`; `page_race`: `page_race.json`) and keeps
the others as they are. Each race calls its own section's writer when it finishes.
Why separate from the measuring: a report can be re-rendered without another run,
and the targets live in one table here, each judged by the same numbers the tables show.
"""

from __future__ import annotations

import math
import statistics
import sys
from pathlib import Path
from typing import Any

from benchmarks.cases import CASES, HIT_CASES, ROOT, Case
from benchmarks.results_md import (
    LEVERS_BEGIN,
    LEVERS_END,
    PAGE_BEGIN,
    PAGE_END,
    RESULTS_MD,
    SHARP_BEGIN,
    SHARP_END,
    kept_block,
    med,
    save_chart,
    saved,
    table,
    verdict,
)

CHART = ROOT / "docs" / "results.png"
OUT_JSON = ROOT / "benchmarks" / "out" / "results.json"
SSIM_EQUAL = 0.0005  # SSIMs equal to 3 decimals count as "no worse"
PIXSERVE_COLOUR, THUMBOR_COLOUR, VIPS_COLOUR, FLOOR_COLOUR = (
    "#1f77b4",
    "#d62728",
    "#2ca02c",
    "#7f7f7f",
)


class Figures:
    """Accessors over the saved results, by case label."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results

    def cold(self, case: Case, server: str, connections: int) -> list[dict[str, float]]:
        runs: list[dict[str, float]] = self.r["cold"]["rates"][
            f"{case.label}|{server}|{connections}"
        ]
        return runs

    def cold_ratio(self, case: Case, connections: int) -> float:
        return med(self.cold(case, "pixserve", connections), "rps") / med(
            self.cold(case, "thumbor", connections), "rps"
        )

    def quality(self, case: Case) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.r["quality"][case.label]
        return found

    def bytes_ratio(self, case: Case, peer: str = "thumbor") -> float:
        q = self.quality(case)
        return float(q["pixserve"]["bytes"]) / float(q[peer]["bytes"])

    def ssim_delta(self, case: Case, peer: str = "thumbor") -> float:
        q = self.quality(case)
        return float(q["pixserve"]["ssim"]) - float(q[peer]["ssim"])

    def inproc(self, case: Case) -> dict[str, float]:
        found: dict[str, float] = self.r["in_process"][case.label]["ms"]
        return found

    def floor_ratio(self, case: Case) -> float:
        return float(statistics.median(self.r["cold"]["floor_ratios"][case.label]))

    def served(self, phase: str, case: Case, server: str) -> float | None:
        runs = self.r[phase].get(f"{case.label}|{server}")
        return med(runs, "rps") if runs else None

    def exponent(self, engine: str) -> float:
        """Slope of log(ms) against log(megapixels) between the smallest and largest."""
        points = sorted((float(mp), v[engine]) for mp, v in self.r["scaling"]["megapixels"].items())
        (mp0, t0), (mp1, t1) = points[0], points[-1]
        return math.log(t1 / t0) / math.log(mp1 / mp0)


def photo_cases() -> list[Case]:
    return [c for c in CASES if c.path.suffix == ".jpg"]


def targets(f: Figures) -> list[str]:
    rows = []
    photos = photo_cases()
    worst_floor = max(photos, key=f.floor_ratio)
    rows.append(
        [
            "codec floor: cold request ≤ 1.1x bare decode+resize+encode",
            f"{f.floor_ratio(CASES[0]):.2f}x ({CASES[0].label}); worst "
            f"{f.floor_ratio(worst_floor):.2f}x ({worst_floor.label})",
            verdict(all(f.floor_ratio(c) <= 1.1 for c in photos)),
        ]
    )
    for connections in (1, 8):
        ratios = {c.label: f.cold_ratio(c, connections) for c in CASES}
        worst = min(CASES, key=lambda c: ratios[c.label])
        geo = math.exp(statistics.mean(math.log(v) for v in ratios.values()))
        rows.append(
            [
                f"cold req/s ≥ 1.1x thumbor ({connections} conn.)",
                f"{ratios[CASES[0].label]:.2f}x ({CASES[0].label}); geometric mean {geo:.2f}x; "
                f"worst {ratios[worst.label]:.2f}x ({worst.label})",
                verdict(all(v >= 1.1 for v in ratios.values())),
            ]
        )
    worst_bytes = max(CASES, key=f.bytes_ratio)
    worst_ssim = min(CASES, key=f.ssim_delta)
    rows.append(
        [
            "files no larger than thumbor's (within 2%)",
            f"worst {f.bytes_ratio(worst_bytes):.3f}x ({worst_bytes.label})",
            verdict(all(f.bytes_ratio(c) <= 1.02 for c in CASES)),
        ]
    )
    rows.append(
        [
            "SSIM no worse than thumbor's",
            f"worst {f.ssim_delta(worst_ssim):+.4f} ({worst_ssim.label})",
            verdict(all(f.ssim_delta(c) >= -SSIM_EQUAL for c in CASES)),
        ]
    )
    vips_cases = [
        c for c in photos if c.transform.fmt in ("webp", "jpeg") and not c.transform.cover
    ]
    ratios = {c.label: f.inproc(c)["vips"] / f.inproc(c)["pixserve"] for c in vips_cases}
    rows.append(
        [
            "per image ≥ 1.2x faster than libvips (1 thread), JPEG → 300 WebP, 640 JPEG",
            "; ".join(f"{v:.2f}x ({k})" for k, v in ratios.items()),
            verdict(all(v >= 1.2 for v in ratios.values())),
        ]
    )
    hit = {
        c.label: (f.served("hits", c, "pixserve") or 0) / (f.served("hits", c, "static") or 1)
        for c in HIT_CASES
    }
    rows.append(
        [
            "cache hits ≥ 0.9x the static-file ceiling (same server)",
            "; ".join(f"{v:.2f}x ({k.split('→ ')[1]})" for k, v in hit.items()),
            verdict(all(v >= 0.9 for v in hit.values())),
        ]
    )
    first = HIT_CASES[0]
    revalidation = (f.served("revalidations", first, "pixserve") or 0) / (
        f.served("revalidations", first, "static") or 1
    )
    rows.append(
        [
            "304s ≥ 1.0x the static-file ceiling",
            f"{revalidation:.2f}x",
            verdict(revalidation >= 1.0),
        ]
    )
    rss = f.r["rss"]["pixserve"]
    rows.append(
        [
            "peak RSS per worker < 150 MB (8 MP source)",
            f"{rss * 1.048576:.0f} MB ({rss:.0f} MiB); thumbor {f.r['rss']['thumbor']:.0f} MiB",
            verdict(rss * 1.048576 < 150),
        ]
    )
    exponent = f.exponent("pixserve")
    rows.append(
        [
            "cost grows sub-linearly with source megapixels (downscale)",
            f"ms ∝ MP^{exponent:.2f} (libvips MP^{f.exponent('vips'):.2f})",
            verdict(exponent < 1.0),
        ]
    )
    return table(["target", "measured (ratio)", "verdict"], rows)


def cold_tables(f: Figures) -> list[str]:
    rows = []
    for case in CASES:
        rows.append(
            [
                case.label,
                f"{f.cold_ratio(case, 1):.2f}x",
                f"{f.cold_ratio(case, 8):.2f}x",
                f"{f.bytes_ratio(case):.3f}x",
                f"{f.ssim_delta(case):+.4f}",
                f"{f.floor_ratio(case):.2f}x",
            ]
        )
    lines = ["## Cold transforms: pixserve against thumbor", ""]
    lines += table(
        [
            "case",
            "req/s ratio, 1 conn.",
            "req/s ratio, 8 conn.",
            "bytes ratio",
            "SSIM difference",
            "pixserve p50 / codec floor",
        ],
        rows,
    )
    rows = []
    for case in CASES:
        for server in ("pixserve", "thumbor"):
            cells = [case.label if server == "pixserve" else "", server]
            for connections in (1, 8):
                runs = f.cold(case, server, connections)
                cells += [
                    f"{med(runs, 'rps'):.1f}",
                    f"{med(runs, 'p50_ms'):.1f}",
                    f"{med(runs, 'p99_ms'):.1f}",
                ]
            rows.append(cells)
    lines += ["Absolute figures (medians over the rounds; latency in ms):", ""]
    lines += table(
        ["case", "server", "req/s @1", "p50 @1", "p99 @1", "req/s @8", "p50 @8", "p99 @8"], rows
    )
    return lines


def quality_table(f: Figures) -> list[str]:
    rows = []
    for case in CASES:
        q = f.quality(case)
        size = "x".join(str(v) for v in q["pixserve"]["size"])
        cells = [case.label, size]
        for name in ("pixserve", "thumbor", "libvips"):
            cells += [f"{q[name]['bytes']:,}", f"{q[name]['ssim']:.4f}"]
        rows.append(cells)
    lines = ["## Output quality: bytes and SSIM against a full-decode LANCZOS reference", ""]
    return lines + table(
        [
            "case",
            "size",
            "pixserve bytes",
            "SSIM",
            "thumbor bytes",
            "SSIM",
            "libvips bytes",
            "SSIM",
        ],
        rows,
    )


def in_process_table(f: Figures) -> list[str]:
    rows = []
    for case in CASES:
        ms = f.inproc(case)
        stages = f.r["in_process"][case.label]["stages"]
        rows.append(
            [
                case.label,
                f"{ms['vips'] / ms['pixserve']:.2f}x",
                f"{ms['pixserve'] / ms['floor']:.2f}x",
                f"{ms['pixserve']:.1f}",
                f"{ms['floor']:.1f}",
                f"{ms['vips']:.1f}",
                f"{stages['decode']:.1f}",
                f"{stages['resize']:.1f}",
                f"{stages['encode']:.1f}",
            ]
        )
    lines = [
        "## Per image, in-process: pixserve's transform against libvips and the codec floor",
        "",
        "Where the time goes: the codec floor's stages (open + shrink-on-load + decode, "
        "resize, encode), timed inside the same runs. Milliseconds, medians.",
        "",
    ]
    return lines + table(
        [
            "case",
            "libvips / pixserve",
            "pixserve / floor",
            "pixserve ms",
            "floor ms",
            "libvips ms",
            "decode",
            "resize",
            "encode",
        ],
        rows,
    )


def hits_table(f: Figures) -> list[str]:
    servers = ["pixserve", "static", "nginx"]
    rows = []
    for phase, cases in (("hits", HIT_CASES), ("revalidations", HIT_CASES[:1])):
        for case in cases:
            values = {s: f.served(phase, case, s) for s in servers}
            static = values["static"] or 1
            nginx = values["nginx"]
            rows.append(
                [
                    f"{'hit' if phase == 'hits' else '304'}: {case.label}",
                    f"{(values['pixserve'] or 0) / static:.2f}x",
                    f"{(values['pixserve'] or 0) / nginx:.2f}x" if nginx else "n/a",
                    f"{values['pixserve'] or 0:,.0f}",
                    f"{static:,.0f}",
                    f"{nginx:,.0f}" if nginx else "not installed",
                ]
            )
    lines = [
        "## Cache hits and 304s (8 connections)",
        "",
        "static: Flask `send_from_directory` of the same bytes under `pixserve serve`'s "
        "server settings (the ceiling for a hit in this WSGI stack); nginx: the same "
        "files with `sendfile`.",
        "",
    ]
    return lines + table(
        [
            "request",
            "pixserve / static",
            "pixserve / nginx",
            "pixserve req/s",
            "static req/s",
            "nginx req/s",
        ],
        rows,
    )


def scaling_table(f: Figures) -> list[str]:
    mp = f.r["scaling"]["megapixels"]
    widths = f.r["scaling"]["widths"]
    lines = [
        "## Cost as the work grows (in-process, ms, medians)",
        "",
        "Source megapixels: the gain-map photo resized to each size and re-encoded "
        "alike (JPEG q90), to 300 px WebP. Output width: the street photo to WebP.",
        "",
    ]
    rows = [
        [f"{float(k):g} MP", f"{v['pixserve']:.1f}", f"{v['floor']:.1f}", f"{v['vips']:.1f}"]
        for k, v in mp.items()
    ]
    lines += table(["source", "pixserve", "codec floor", "libvips"], rows)
    rows = [[f"{k} px", f"{v['pixserve']:.1f}", f"{v['vips']:.1f}"] for k, v in widths.items()]
    lines += table(["output width", "pixserve", "libvips"], rows)
    return lines


def profile_tables(f: Figures) -> list[str]:
    profile = f.r.get("profile")
    if not profile:
        return []
    lines = [
        "## Where the time goes (profile)",
        "",
        "cProfile of pixserve's app in-process (Flask test client, no HTTP server), "
        "street photo to 300 px WebP: the share of the app's time in each part. A cold "
        "request is codec work (decode, resize, encode: what thumbor does too, on the same "
        "libraries); a hit is Python work around one `send_file`, which the static "
        "ceiling does alone.",
        "",
    ]
    for path_name, title in (("cold", "cold request"), ("hit", "cache hit")):
        shares = dict(profile[path_name])
        total = shares.pop("total_ms")
        rows = [[part, f"{share * 100:.0f}%"] for part, share in shares.items()]
        rows.append(
            [
                "everything else (Flask, werkzeug, pipeline steps)",
                f"{(1 - sum(shares.values())) * 100:.0f}%",
            ]
        )
        lines += [f"{title.capitalize()}: {total:.2f} ms a request under the profiler.", ""]
        lines += table([f"{title}: part", "share"], rows)
    return lines


def header(r: dict[str, Any]) -> list[str]:
    m = r["machine"]
    return [
        "# Benchmark results",
        "",
        "Made by `make bench` (`python -m benchmarks peers`) in "
        f"{m['run_seconds'] / 60:.1f} minutes "
        f"on {m['cpus']} CPUs ({m['cpu_model']}), load average "
        f"{m['load_start'][0]:.2f} at the start and {m['load_end'][0]:.2f} at the end. "
        f"Python {m['python']}; pixserve with {m['pillow']} ({m['codecs']}), "
        f"transformer version {m['transformer_version']}; {m['thumbor']}; {m['vips']} via "
        f"pyvips; nginx {m['nginx'] or 'not installed'}; load generator: "
        f"{m['load_generator']}.",
        "",
        f"Same cores, same images, same transforms and qualities, same workers: pixserve "
        f"`--workers {m['workers']}` (granian, default threads), thumbor "
        f"`--processes {m['workers']}`, static server and nginx {m['workers']} workers. "
        f"Every phase alternates the contenders in {m['rounds']} rounds (cold runs "
        f"{m['seconds']:g} s each) and reports medians. Ratios are pixserve's figure over "
        f"the peer's: above 1 is better for req/s and speed, below 1 for bytes.",
        "",
    ]


def method_notes() -> list[str]:
    return [
        "## Method",
        "",
        "- **Cold**: every request carries its own `v=` token, so each is a pixserve "
        "cache miss (cache written, as in production); thumbor runs with result storage "
        "and storage off, so it computes every request. thumbor gets the same quality "
        "per request (`filters:quality()`), pixserve's AVIF speed and baseline JPEG "
        "(`PROGRESSIVE_JPEG = False`), and auto-orientation on.",
        "- **Codec floor**: in-process open + `draft()` (nearest DCT scale above the "
        "output) + decode + LANCZOS resize of the exact extent (reducing_gap 3) + crop + "
        "encode with pixserve's settings, nothing else; timed "
        "between the cold rounds and compared with pixserve's 1-connection p50.",
        "- **libvips**: `thumbnail_buffer` (shrink-on-load, lanczos3) + `webpsave` "
        "(effort 4) / `jpegsave` (optimised Huffman) / `heifsave` (AV1, effort = 9 - "
        "pixserve's AVIF speed), `VIPS_CONCURRENCY=1`, operation cache off.",
        "- **Quality**: reference = full decode (no draft), EXIF orientation, ICC to sRGB, "
        "LANCZOS straight to the output size (cover: then a centred crop); outputs get "
        "their embedded profile applied; alpha is composited on mid-grey; SSIM on luma "
        "(`benchmarks/ssim.py`). SSIMs equal to 3 decimals count as no worse.",
        "- **Read the 8-connection ratios with care**: thumbor's `--processes` workers "
        "accept connections in bursts, so with 8 keep-alive connections one process often "
        "takes all of them and thumbor then runs on one core (its req/s at 8 connections "
        "is about its 1-connection figure in the absolute table). The 1-connection ratio "
        "is the like-for-like codec race.",
        "- The animated GIF case is left out: pixserve serves a GIF's first frame, so "
        "there is no like-for-like race yet.",
        "",
    ]


def chart(f: Figures) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(13, 9.5))
    labels = [c.label for c in CASES]
    positions = range(len(CASES))
    top = axes[0][0]
    width = 0.4
    pix = [med(f.cold(c, "pixserve", 8), "rps") for c in CASES]
    thu = [med(f.cold(c, "thumbor", 8), "rps") for c in CASES]
    top.barh(
        [p - width / 2 for p in positions], pix, width, label="pixserve", color=PIXSERVE_COLOUR
    )
    top.barh([p + width / 2 for p in positions], thu, width, label="thumbor", color=THUMBOR_COLOUR)
    for p, (a, b) in zip(positions, zip(pix, thu, strict=True), strict=True):
        top.text(max(a, b) * 1.02, p, f"{a / b:.2f}x", va="center", fontsize=8)
    top.set_yticks(list(positions), labels, fontsize=8)
    top.invert_yaxis()
    top.set_xlabel("cold requests/s, 8 connections (higher is better)")
    top.set_title("Cold transforms over HTTP, same workers")
    top.legend(loc="lower right")

    ax = axes[0][1]
    width = 0.27
    series = [("pixserve", PIXSERVE_COLOUR), ("floor", FLOOR_COLOUR), ("vips", VIPS_COLOUR)]
    for index, (name, colour) in enumerate(series):
        values = [f.inproc(c)[name] for c in CASES]
        shown = (
            "libvips (1 thread)" if name == "vips" else ("codec floor" if name == "floor" else name)
        )
        ax.barh(
            [p + (index - 1) * width for p in positions], values, width, label=shown, color=colour
        )
    ax.set_xscale("log")
    ax.set_yticks(list(positions), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("ms per image, in-process (log scale, lower is better)")
    ax.set_title("Per-image transform time")
    ax.legend(loc="lower right", fontsize=8)

    ax = axes[1][0]
    mp = sorted((float(k), v) for k, v in f.r["scaling"]["megapixels"].items())
    xs = [k for k, _ in mp]
    for name, colour, shown in (
        ("pixserve", PIXSERVE_COLOUR, "pixserve"),
        ("floor", FLOOR_COLOUR, "codec floor"),
        ("vips", VIPS_COLOUR, "libvips"),
    ):
        ax.plot(xs, [v[name] for _, v in mp], marker="o", color=colour, label=shown)
    first = mp[0][1]["pixserve"]
    ax.plot(xs, [first * x / xs[0] for x in xs], linestyle=":", color="black", label="linear")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [f"{x:g}" for x in xs])
    ax.minorticks_off()
    ax.set_xlabel("source megapixels (log)")
    ax.set_ylabel("ms to a 300 px WebP (log)")
    ax.set_title("Cost against source size: shrink-on-load keeps it sub-linear")
    ax.legend(fontsize=8)

    ax = axes[1][1]
    widths = sorted((int(k), v) for k, v in f.r["scaling"]["widths"].items())
    plotted = (("pixserve", PIXSERVE_COLOUR, "pixserve"), ("vips", VIPS_COLOUR, "libvips"))
    for key, colour, label in plotted:
        values = [v[key] for _, v in widths]
        ax.plot([k for k, _ in widths], values, marker="o", color=colour, label=label)
    ax.set_xlabel("output width, px (street photo, 6 MP, to WebP)")
    ax.set_ylabel("ms per image")
    ax.set_title("Cost against output width")
    ax.legend(fontsize=8)

    m = f.r["machine"]
    title = f"pixserve benchmark — {m['cpus']} CPUs, {m['workers']} workers each; "
    save_chart(figure, title + "see docs/results.md", CHART)


def write(results: dict[str, Any]) -> None:
    f = Figures(results)
    lines = header(results)
    if RESULTS_MD.exists():  # the sharp and page races' sections, from their own runs
        kept = RESULTS_MD.read_text(encoding="utf-8")
        lines += kept_block(kept, SHARP_BEGIN, SHARP_END)
        lines += kept_block(kept, PAGE_BEGIN, PAGE_END)
        lines += kept_block(kept, LEVERS_BEGIN, LEVERS_END)
    lines += ["## Targets", ""] + targets(f)
    lines += [f"![benchmark chart]({CHART.name})", ""]
    lines += cold_tables(f) + quality_table(f) + in_process_table(f)
    lines += hits_table(f)
    rss = results["rss"]
    lines += [
        "## Memory",
        "",
        f"Peak resident set (VmHWM) of the largest worker after the cold phase, whose work "
        f"includes the 8.3 MP gain-map photo: pixserve {rss['pixserve']:.0f} MiB, thumbor "
        f"{rss['thumbor']:.0f} MiB. After the hit phase: "
        + ", ".join(f"{k} {v:.0f} MiB" for k, v in results["rss_static"].items())
        + ".",
        "",
    ]
    lines += profile_tables(f) + scaling_table(f) + method_notes()
    RESULTS_MD.write_text("\n".join(lines), encoding="utf-8")
    chart(f)
    print(
        f"(written {RESULTS_MD.relative_to(ROOT)} and {CHART.relative_to(ROOT)})", file=sys.stderr
    )


def main() -> int:
    """Rewrite each section whose race's results are saved; the others stay."""
    from benchmarks import page_race, sharp_report

    writers = {
        "peers": (Path(OUT_JSON), write),
        "sharp_race": (sharp_report.OUT_JSON, sharp_report.write),
        "page_race": (page_race.OUT_JSON, page_race.write),
    }
    rewritten = [entry for entry, (path, _) in writers.items() if path.is_file()]
    for entry in rewritten:
        path, writer = writers[entry]
        writer(saved(path, entry))
    for entry in writers.keys() - set(rewritten):
        print(f"kept {entry}'s section: no saved results (python -m benchmarks {entry})")
    return 0 if rewritten else 1


if __name__ == "__main__":
    sys.exit(main())
