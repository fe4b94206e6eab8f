"""`python -m benchmarks --list`, or `python -m benchmarks NAME [ARGS...]`."""

from __future__ import annotations

import argparse
import ast
import importlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
# Programs that are parts of others, not benchmarks: the static-file server the peers
# race starts.
HELPERS = {"__main__", "static_app"}
# How long each entry takes on this project's idle 2-core machine, as each measured
# itself (its docstring or its docs/results.md section); "-" when it rewrites from saved results.
DURATIONS = {
    "peers": "16 min",
    "sharp_race": "12 min",
    "page_race": "1.5 min",
    "serving": "5.5 min",
    "layouts": "3 min",
    "stress": "1 min",
    "request_path": "1 min",
    "dialects": "0.5 min",
    "isolation": "1 min",
    "soak": "10 min",
    "auto_quality": "30 min",
    "auto_quality_floors": "10 min",
    "auto_quality_server": "10 min",
    "cache_hits": "1 min",
    "cache_stores": "1 min",
    "encoders": "1 min",
    "nginx_throughput": "1 min",
    "sources": "1 min",
    "thumbor_dialect": "1 min",
    "thumbor_filters": "0.5 min",
    "filters_cost": "1 min",
    "max_bytes": "1 min",
    "thumbor_options": "0.5 min",
    "report": "-",
}


def entries() -> dict[str, str]:
    """Every module of the package that runs as a program: its name, its first line."""
    found = {}
    for path in sorted(HERE.glob("*.py")):
        text = path.read_text()
        if path.stem in HELPERS or '__name__ == "__main__"' not in text:
            continue
        doc = ast.get_docstring(ast.parse(text)) or ""
        found[path.stem] = doc.splitlines()[0] if doc else ""
    return found


def takes_options(name: str) -> bool:
    """Whether the entry parses its command line with argparse (and so answers `--help`)."""
    return "argparse" in (HERE / f"{name}.py").read_text()


def main() -> int:
    known = entries()
    argv = sys.argv[1:]
    if argv and argv[0] in known:  # the rest is the entry's own (`serving --help`)
        module = importlib.import_module(f"benchmarks.{argv[0]}")
        if argv[1:2] in (["-h"], ["--help"]) and not takes_options(argv[0]):
            # An entry driven by environment variables or words, not options: its
            # docstring is its usage, and handing it `--help` would start the run.
            print(module.__doc__)
            return 0
        sys.argv = [f"python -m benchmarks {argv[0]}", *argv[1:]]
        status = module.main()
        return status if isinstance(status, int) else 0  # an entry's failure fails the run
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("name", nargs="?", choices=sorted(known), help="the benchmark to run")
    parser.add_argument("--list", action="store_true", help="name every benchmark")
    parser.parse_args(argv)
    for name, line in known.items():
        print(f"{name:<18} {DURATIONS.get(name, 'a few min'):>9}  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
