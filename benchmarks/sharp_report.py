"""Turn `out/sharp_race.json` into docs/results.md's sharp-peers section and `sharp_race.png`.

Why a section between markers: `report.py` renders the rest of docs/results.md from the
thumbor/libvips run and keeps this block as it is, so either race can be re-run (or
all of docs/results.md re-rendered: `python -m benchmarks report`) without the other.
"""

from __future__ import annotations

import statistics
import sys
from typing import Any

from benchmarks.cases import ROOT
from benchmarks.results_md import (
    RESULTS_MD,
    SHARP_BEGIN,
    SHARP_END,
    insert,
    med,
    save_chart,
    spread,
    table,
    verdict,
)

OUT_JSON = ROOT / "benchmarks" / "out" / "sharp_race.json"
CHART = ROOT / "docs" / "sharp_race.png"
PEERS = ("ipx", "next")
COLD_TARGET = 1.1  # issue 14: cold req/s at least 1.1x IPX and Next.js
SSIM_SLACK = 0.002  # issue 14: SSIM no lower than the peer's minus this
BYTES_TARGET = 1.02  # issue 14: bytes no more than this times the peer's


class Race:
    """Accessors over the saved race, by case label."""

    def __init__(self, results: dict[str, Any]) -> None:
        self.r = results
        self.scored = list(results["quality"])
        raced = {key.split("|")[0] for key in results["cold"]}
        self.labels = [label for label in self.scored if label in raced]
        self.connections: list[int] = results["machine"]["connections"]

    def runs(self, label: str, server: str, connections: int) -> list[dict[str, float]]:
        found: list[dict[str, float]] = self.r["cold"].get(f"{label}|{server}|{connections}", [])
        return found

    def ratios(self, label: str, peer: str, connections: int) -> list[float]:
        """pixserve's req/s over the peer's, round by round (same round, same case)."""
        ours = self.runs(label, "pixserve", connections)
        theirs = self.runs(label, peer, connections)
        return [a["rps"] / b["rps"] for a, b in zip(ours, theirs, strict=True)]

    def ratio(self, label: str, peer: str, connections: int) -> float:
        return statistics.median(self.ratios(label, peer, connections))

    def spread(self, label: str, peer: str, connections: int) -> str:
        values = self.ratios(label, peer, connections)
        if not values:
            return "not raced"
        return spread(values, "x")

    def quality(self, label: str) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = self.r["quality"][label]
        return found

    def hit_rate(self, phase: str, label: str, server: str) -> float:
        return med(self.r[phase][f"{label}|{server}"], "rps")

    def hit_ratios(self, phase: str, label: str, over: tuple[str, str]) -> list[float]:
        """Round by round, pixserve's req/s in `phase` over `over`'s (phase, server)."""
        ours = self.r[phase][f"{label}|pixserve"]
        theirs = self.r[over[0]][f"{label}|{over[1]}"]
        return [a["rps"] / b["rps"] for a, b in zip(ours, theirs, strict=True)]

    def hit_spread(self, phase: str, label: str, over: tuple[str, str]) -> str:
        return spread(self.hit_ratios(phase, label, over), "x")


def targets(race: Race) -> list[str]:
    rows = []
    for peer in PEERS:
        for connections in race.connections:
            ratios = {label: race.ratio(label, peer, connections) for label in race.labels}
            worst = min(ratios, key=lambda label: ratios[label])
            met = sum(v >= COLD_TARGET for v in ratios.values())
            rows.append(
                [
                    f"cold req/s ≥ {COLD_TARGET}x {peer} ({connections} conn.)",
                    f"{met} of {len(ratios)} cases; worst {ratios[worst]:.2f}x ({worst})",
                    verdict(met == len(ratios)),
                ]
            )
    for peer in PEERS:
        deltas = {
            label: race.quality(label)["pixserve"]["ssim"] - race.quality(label)[peer]["ssim"]
            for label in race.scored
        }
        sizes = {
            label: race.quality(label)["pixserve"]["bytes"] / race.quality(label)[peer]["bytes"]
            for label in race.scored
        }
        worst_ssim = min(deltas, key=lambda label: deltas[label])
        worst_bytes = max(sizes, key=lambda label: sizes[label])
        rows.append(
            [
                f"SSIM ≥ {peer}'s - {SSIM_SLACK}",
                f"worst {deltas[worst_ssim]:+.4f} ({worst_ssim})",
                verdict(all(v >= -SSIM_SLACK for v in deltas.values())),
            ]
        )
        rows.append(
            [
                f"bytes ≤ {BYTES_TARGET}x {peer}'s",
                f"worst {sizes[worst_bytes]:.3f}x ({worst_bytes})",
                verdict(all(v <= BYTES_TARGET for v in sizes.values())),
            ]
        )
    rows += hit_targets(race)
    rss = race.r["rss"]
    rows.append(
        [
            "peak RSS (whole process tree) below each peer's",
            f"pixserve {rss['pixserve']:.0f} MiB; "
            + ", ".join(f"{k} {v:.0f} MiB" for k, v in rss.items() if k != "pixserve"),
            verdict(all(rss["pixserve"] < rss[p] for p in PEERS)),
        ]
    )
    pss = race.r.get("pss")
    if pss:
        rows.append(
            [
                "peak PSS (whole process tree, shared pages split) below each peer's",
                f"pixserve {pss['pixserve']:.0f} MiB; "
                + ", ".join(f"{k} {v:.0f} MiB" for k, v in pss.items() if k != "pixserve"),
                verdict(all(pss["pixserve"] < pss[p] for p in PEERS)),
            ]
        )
    return table(["target (issue 14)", "measured", "verdict"], rows)


# Above this load average at the start, other work shared the machine with the race.
QUIET_LOAD = 1.5
SHARED = " (other engineers' work shared the machine)"


def pss_lines(results: dict[str, Any]) -> list[str]:
    """The peak proportional set size, which splits the pages pixserve's forked
    workers share with their master instead of counting them once per process."""
    if "pss" not in results:
        return []
    return [
        "Peak proportional set size (PSS: each shared page split between the processes "
        "sharing it), sampled every 0.5 s over all phases, summed over each server's "
        "processes: " + ", ".join(f"{k} {v:.0f} MiB" for k, v in results["pss"].items()) + ".",
        "",
    ]


def cold_table(race: Race) -> list[str]:
    header = ["case"]
    for connections in race.connections:
        header += [f"vs IPX @{connections}", f"vs Next @{connections}"]
    header += ["SSIM pixserve / IPX / Next", "bytes vs Next"]
    rows = []
    for label in race.scored:
        row = [label]
        for connections in race.connections:
            row += [race.spread(label, peer, connections) for peer in PEERS]
        q = race.quality(label)
        row.append(" / ".join(f"{q[name]['ssim']:.3f}" for name in ("pixserve", *PEERS)))
        row.append(f"{q['pixserve']['bytes'] / q['next']['bytes']:.3f}x")
        rows.append(row)
    return table(header, rows)


def mozjpeg_table(race: Race) -> list[str]:
    rows = []
    for label in race.labels:
        q = race.quality(label)
        if "next-mozjpeg" not in q:
            continue
        row = [label]
        row += [race.spread(label, "next-mozjpeg", c) for c in race.connections]
        names = ("pixserve", "next", "next-mozjpeg")
        row += [
            " / ".join(f"{q[name]['bytes']:,}" for name in names),
            " / ".join(f"{q[name]['ssim']:.4f}" for name in names),
        ]
        rows.append(row)
    header = ["JPEG case", *(f"vs Next mozjpeg @{c}" for c in race.connections)]
    header += ["bytes pixserve / Next / Next mozjpeg", "SSIM pixserve / Next / Next mozjpeg"]
    return table(header, rows)


def absolute_table(race: Race) -> list[str]:
    names = ["pixserve", "ipx", "next"]
    header = ["case"] + [f"{n} @{c}" for c in race.connections for n in names]
    rows = []
    for label in race.labels:
        row = [label]
        for connections in race.connections:
            row += [f"{med(race.runs(label, n, connections), 'rps'):.1f}" for n in names]
        rows.append(row)
    return table(header, rows)


def cpu_table(race: Race) -> list[str]:
    """CPU ms per cold request by server (medians over the rounds), the peers' over
    pixserve's (above 1, pixserve spends less), and the cores each server kept busy at
    1 connection in the cold race (its req/s times its CPU per request)."""
    found: dict[str, list[float]] = race.r.get("cpu", {})
    if not found:
        return []
    names = ("pixserve", *PEERS)
    labels = list(dict.fromkeys(key.split("|")[0] for key in found))
    rows = []
    for label in labels:
        cpu = {name: statistics.median(found[f"{label}|{name}"]) for name in names}
        row = [label, f"{cpu['pixserve']:.0f}"]
        for peer in PEERS:
            row += [f"{cpu[peer]:.0f}", f"{cpu[peer] / cpu['pixserve']:.2f}x"]
        for name in names:
            runs = race.runs(label, name, 1)
            row.append(f"{med(runs, 'rps') * cpu[name] / 1000:.2f}" if runs else "-")
        rows.append(row)
    header = ["case", "pixserve ms"]
    for peer in PEERS:
        header += [f"{peer} ms", f"{peer} / pixserve"]
    header += [f"cores busy @1: {name}" for name in names]
    return table(header, rows)


def hit_targets(race: Race) -> list[list[str]]:
    """Issue 14's hit targets, as medians of per-round ratios."""
    labels = sorted({key.split("|")[0] for key in race.r["hits"]})
    over_next = {label: race.hit_ratios("hits", label, ("hits", "next")) for label in labels}
    over_hits = {
        label: race.hit_ratios("revalidations", label, ("hits", "pixserve")) for label in labels
    }
    connections = race.r["machine"]["hit_connections"]
    return [
        [
            f"hits of a repeated URL ≥ 1.0x next ({connections} conn.)",
            "; ".join(f"{race.hit_spread('hits', k, ('hits', 'next'))} ({k})" for k in labels),
            verdict(all(statistics.median(v) >= 1.0 for v in over_next.values())),
        ],
        [
            "pixserve 304s at least as fast as its hits",
            "; ".join(
                f"{race.hit_spread('revalidations', k, ('hits', 'pixserve'))} ({k})" for k in labels
            ),
            verdict(all(statistics.median(v) >= 1.0 for v in over_hits.values())),
        ],
    ]


def hits_table(race: Race) -> list[str]:
    """Medians of the rates, and the median (min-max) of the per-round ratios."""
    rows = []
    for phase in ("hits", "revalidations"):
        labels = sorted({key.split("|")[0] for key in race.r[phase]})
        for label in labels:
            ours = race.hit_rate(phase, label, "pixserve")
            theirs = race.hit_rate(phase, label, "next")
            shown = "hit" if phase == "hits" else "304"
            rows.append(
                [
                    f"{shown}: {label}",
                    f"{ours:,.0f}",
                    f"{theirs:,.0f}",
                    race.hit_spread(phase, label, (phase, "next")),
                ]
            )
    return table(["request", "pixserve req/s", "Next req/s", "pixserve / Next"], rows)


def hit_cpu_table(race: Race) -> list[str]:
    """CPU time per request of each server's process tree (median over rounds)."""
    rows = []
    for phase in ("hits", "revalidations"):
        for label in sorted({key.split("|")[0] for key in race.r[phase]}):
            ours = race.r[phase][f"{label}|pixserve"]
            theirs = race.r[phase][f"{label}|next"]
            if "cpu_us" not in ours[0]:
                return []  # a race from before CPU time was recorded
            ratios = [b["cpu_us"] / a["cpu_us"] for a, b in zip(ours, theirs, strict=True)]
            shown = "hit" if phase == "hits" else "304"
            rows.append(
                [
                    f"{shown}: {label}",
                    f"{med(ours, 'cpu_us'):,.0f}",
                    f"{med(theirs, 'cpu_us'):,.0f}",
                    spread(ratios, "x"),
                ]
            )
    header = ["request", "pixserve CPU µs/req", "Next CPU µs/req", "Next's / pixserve's"]
    return table(header, rows)


def hits_only(results: dict[str, Any]) -> list[str]:
    """The report of a hits-only race (`BENCH_PHASES=hits`): its tables, to print."""
    race = Race({"quality": {}, "cold": {}, **results})
    m = results["machine"]
    load = (
        f"load average {m['load_start'][0]:.2f} at the start and {m['load_end'][0]:.2f} at the end"
    )
    return [
        f"Hits and 304s of a repeated URL, {m['hit_connections']} connections, "
        f"{m['rounds']} rounds of {m['hit_seconds']:g} s, {load}; pixserve `--workers "
        f"{m['workers']}` (default threads) against {m.get('next', 'Next.js')}.",
        "",
        *table(
            ["target (issue 14)", "measured: median (min-max) of per-round ratios", "verdict"],
            hit_targets(race),
        ),
        *hits_table(race),
        "CPU time per request (server process trees; above 1: pixserve uses less):",
        "",
        *hit_cpu_table(race),
    ]


def section(results: dict[str, Any]) -> list[str]:
    race = Race(results)
    m = results["machine"]
    load_start, load_end = m["load_start"][0], m.get("load_end", [0.0])[0]
    lines = [
        SHARP_BEGIN,
        "## Against the sharp-based peers: Next.js and IPX (issue 14)",
        "",
        "`python -m benchmarks sharp_race`, "
        f"{m['run_seconds'] / 60:.1f} minutes on {m['cpus']} CPUs, "
        f"load average {load_start:.2f} at the start and {load_end:.2f} at the end"
        f"{SHARED if load_start > QUIET_LOAD else ' (nothing else ran: the end is the race)'}. "
        f"{m['next']}; {m['ipx']}; Node {m['node']}; pixserve transformer version "
        f"{m['transformer_version']}, `--workers {m['workers']}` (gthread, default threads); "
        f"load generator: {m['load_generator']}. {m['rounds']} rounds, cold runs "
        f"{m['seconds']:g} s each, contenders alternating within a round, their order "
        "rotating. Ratios are pixserve's req/s over the peer's in the same round: the "
        "median, and in brackets the min-max over the rounds.",
        "",
        "Next.js: `next start` of `benchmarks/node/`, `deviceSizes` = the widths raced, "
        "`formats` AVIF and WebP (chosen by `Accept`, JPEG when neither is accepted), "
        "`experimental.imgOptMozjpeg: false` (baseline JPEG like pixserve's; its shipped "
        "mozjpeg is raced on the JPEG cases below), sharp's concurrency as Next sets it "
        "(half the cores), AVIF asked with `q=96`, which Next maps to sharp's quality 60 "
        "(pixserve's), effort 3 (Next's). IPX: `createIPX` + `ipxFSStorage` + "
        "`createIPXNodeServer`, `sharp.cache(false)`, `jpegProgressive: false`, sharp's "
        "default concurrency (all cores). Checked on every run: each cold probe a miss and "
        "its repeat a hit (`X-Cache`, `X-Nextjs-Cache`; IPX keeps no results and sends no "
        "such header), and after each cold run one new cache entry per request.",
        "",
        "### Targets",
        "",
        *targets(race),
        f"![pixserve against Next.js and IPX]({CHART.name})",
        "",
        "### Cold transforms: pixserve's req/s over the peer's",
        "",
        *cold_table(race),
        "Next.js with its shipped JPEG setting (mozjpeg, progressive), JPEG cases only:",
        "",
        *mozjpeg_table(race),
        "Absolute cold req/s (medians over the rounds):",
        "",
        *absolute_table(race),
        "### CPU per cold request",
        "",
        "CPU milliseconds each server's whole process tree spends on one cold request, "
        "requests sent one after another (medians over the rounds; every case, AVIF "
        "too). This is each server's own cost, which the machine's other work hardly "
        "changes; req/s on a shared machine also measures how much of the cores each "
        "server's threads win. A peer's CPU over pixserve's above 1 means pixserve "
        "spends less. The last columns: the cores each server kept busy in the cold race "
        "at 1 connection (its req/s times its CPU per request; the machine's other work "
        "lowers all of them alike). libvips runs a request's decode, resize and encode "
        "of strips as a pipeline of threads; pixserve runs them one after another but "
        "splits a big resize into two bands on two threads (`transformer/bands.py`), "
        "which is how either keeps more than one core busy at 1 connection.",
        "",
        *cpu_table(race),
        f"### Hits and 304s of a repeated URL ({m['hit_connections']} connections)",
        "",
        "IPX keeps no results: its repeated URL is a cold request.",
        "",
        *hits_table(race),
        "CPU time per request (server process trees; above 1: pixserve uses less):",
        "",
        *hit_cpu_table(race),
        "### Memory",
        "",
        "Peak resident set (VmHWM) summed over each server's processes after all phases: "
        + ", ".join(f"{k} {v:.0f} MiB" for k, v in results["rss"].items())
        + " (pixserve: the server's master and its workers).",
        "",
        *pss_lines(results),
        SHARP_END,
    ]
    return lines


def chart(results: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    race = Race(results)
    figure, axes = plt.subplots(1, len(race.connections), figsize=(13, 7), sharey=True)
    positions = list(range(len(race.labels)))
    width = 0.4
    colours = {"ipx": "#9467bd", "next": "#111111"}
    for ax, connections in zip(axes, race.connections, strict=True):
        for index, peer in enumerate(PEERS):
            values = [race.ratio(label, peer, connections) for label in race.labels]
            spreads = [race.ratios(label, peer, connections) for label in race.labels]
            low = [v - min(s) for v, s in zip(values, spreads, strict=True)]
            high = [max(s) - v for v, s in zip(values, spreads, strict=True)]
            ax.barh(
                [p + (index - 0.5) * width for p in positions],
                values,
                width,
                xerr=[low, high],
                label=f"vs {peer}",
                color=colours[peer],
                alpha=0.8,
            )
        ax.set_xscale("log")
        ax.axvline(1.0, color="grey", linestyle=":")
        ax.axvline(COLD_TARGET, color="red", linestyle="--", label=f"target {COLD_TARGET}x")
        ax.set_yticks(positions, race.labels, fontsize=8)
        ax.invert_yaxis()
        ax.set_xlabel(
            f"pixserve cold req/s over the peer's, {connections} conn. (higher is better)"
        )
        ax.legend(loc="lower right", fontsize=8)
    m = results["machine"]
    title = f"pixserve against Next.js and IPX, cold — {m['cpus']} CPUs; medians, bars min-max "
    save_chart(figure, title + "over rounds", CHART)


def write(results: dict[str, Any]) -> None:
    existing = RESULTS_MD.read_text(encoding="utf-8") if RESULTS_MD.exists() else ""
    RESULTS_MD.write_text(
        insert(existing, section(results), SHARP_BEGIN, SHARP_END), encoding="utf-8"
    )
    chart(results)
    print(f"(written the sharp race into {RESULTS_MD.name} and {CHART.name})", file=sys.stderr)
