"""benchmarks/ is one package (issue 24): every published comparison is an entry of
`python -m benchmarks`, imports cleanly, and the package has no import cycle and no
`sys.path` edit. Nothing is measured here."""

from __future__ import annotations

import ast
import functools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from benchmarks.__main__ import entries
from benchmarks.rounds import in_turn, wait_until_idle

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
# What `make bench` installs (pyproject's `bench` extra) and `make test` does not: an
# entry that needs one imports only after `make bench`.
BENCH_ONLY = {"pyvips", "ssimulacra2", "matplotlib"}


def our_modules() -> list[Path]:
    """The package's Python files, not `make bench`'s installs under it (thumbor's
    virtualenv, the Node peers' node_modules)."""
    installed = (BENCHMARKS / ".venvs", BENCHMARKS / "node" / "node_modules")
    found = BENCHMARKS.rglob("*.py")
    return sorted(path for path in found if not any(map(path.is_relative_to, installed)))


def sibling_imports(path: Path) -> set[str]:
    """The package's modules `path` imports (at any depth of its code)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module == "benchmarks":
                found |= {alias.name for alias in node.names}
            elif node.module.startswith("benchmarks."):
                found.add(node.module.split(".")[1])
    return found


# Imported in a child, never in the test process: an entry's native libraries (pyvips
# loads its own libwebp) changed the bytes Pillow's WebP encoder writes for the tests
# that run after this module.
IMPORT_ALL = """
import importlib, json, sys
results = {}
for module in sys.argv[1:]:
    try:
        results[module] = "main" if callable(importlib.import_module(module).main) else "no main"
    except ModuleNotFoundError as error:
        results[module] = f"missing {error.name}"
print(json.dumps(results))
"""


@functools.cache
def imported() -> dict[str, str]:
    """Each entry's import, in a child: "main", or "missing MODULE"."""
    modules = [f"benchmarks.{name}" for name in entries()]
    child = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, *modules],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    results: dict[str, str] = json.loads(child.stdout)
    return results


def test_every_entry_is_listed_and_imports() -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--list"],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    names = entries()
    assert {"peers", "sharp_race", "page_race", "serving", "auto_quality"} <= set(names)
    for name in names:
        assert f"\n{name} " in f"\n{listed}"
        if not needs_bench_extras(f"benchmarks.{name}"):
            assert imported()[f"benchmarks.{name}"] == "main", name


def own_modules() -> list[Path]:
    """The package's Python files: not those of `make bench`'s virtualenvs
    (benchmarks/.venvs, thumbor's) or npm packages, which are installed there."""
    return sorted(
        path
        for path in BENCHMARKS.rglob("*.py")
        if not {".venvs", "node_modules"} & set(path.relative_to(BENCHMARKS).parts)
    )


def test_no_import_cycle_and_no_path_edits() -> None:
    graph = {path.stem: sibling_imports(path) for path in BENCHMARKS.glob("*.py")}
    for path in [*our_modules(), *(BENCHMARKS.parent / "loopback").glob("*.py")]:
        text = path.read_text()
        assert "sys.path" not in text.replace("on `sys.path`", ""), path
        # the parts both need live in loopback/, so neither imports the other's
        assert "from tests" not in text and "import tests" not in text, path

    def visit(name: str, trail: tuple[str, ...]) -> None:
        assert name not in trail, " -> ".join((*trail, name))
        for imported in graph.get(name, ()):
            visit(imported, (*trail, name))

    for name in graph:
        visit(name, ())


def run(*args: str, module: str = "benchmarks") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=BENCHMARKS.parent,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def needs_bench_extras(module: str) -> bool:
    """Whether importing `module` fails only for a `make bench` dependency."""
    result = imported()[module]
    if result.startswith("missing "):
        assert result.removeprefix("missing ").split(".")[0] in BENCH_ONLY, f"{module}: {result}"
        return True
    return False


@pytest.mark.parametrize("name", sorted(entries()))
def test_every_entry_starts_and_answers_help(name: str) -> None:
    """`python -m benchmarks NAME --help` parses the entry's arguments and runs nothing."""
    if needs_bench_extras(f"benchmarks.{name}"):
        pytest.skip(f"{name} imports a `make bench` dependency ({', '.join(sorted(BENCH_ONLY))})")
    helped = run(name, "--help")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.strip(), f"{name} --help printed nothing"


EXPERIMENTS = sorted(
    p.stem for p in (BENCHMARKS / "experiments").glob("*.py") if p.stem != "__init__"
)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_says_how_it_runs(name: str) -> None:
    """Experiments are not entries: each names the command that runs it."""
    doc = ast.get_docstring(ast.parse((BENCHMARKS / "experiments" / f"{name}.py").read_text()))
    assert f"python -m benchmarks.experiments.{name}" in (doc or "")


def test_an_unknown_entry_is_refused() -> None:
    refused = run("no_such_benchmark")
    assert refused.returncode == 2
    assert "invalid choice" in refused.stderr


REPEATED_RUN = 6  # issue 24: "no block of six or more lines is repeated inside benchmarks/"


def code_lines(path: Path) -> list[tuple[int, str]]:
    """The lines that carry code, stripped, with their numbers: imports, comments and
    docstring quotes are left out (every module starts with the same ones)."""
    skipped = ("#", "import ", "from ", '"""')
    numbered = enumerate(path.read_text().splitlines(), 1)
    return [
        (n, line.strip())
        for n, line in numbered
        if line.strip() and not line.strip().startswith(skipped)
    ]


def test_no_block_of_code_is_repeated() -> None:
    first_seen: dict[tuple[str, ...], tuple[Path, int]] = {}
    repeated = []
    modules = our_modules()
    for path in modules:
        lines = code_lines(path)
        for start in range(len(lines) - REPEATED_RUN + 1):
            run = tuple(line for _, line in lines[start : start + REPEATED_RUN])
            if sum(any(c.isalnum() for c in line) for line in run) < REPEATED_RUN - 1:
                continue  # closing brackets and the like
            here = (path, lines[start][0])
            there = first_seen.setdefault(run, here)
            if there[0] != path or here[1] - there[1] >= REPEATED_RUN:
                repeated.append(f"{there[0].name}:{there[1]} and {path.name}:{here[1]}")
    assert not repeated, "the same lines stand in two places: " + "; ".join(repeated)


def test_contenders_take_turns_going_first() -> None:
    contenders = ["pixserve", "next", "ipx"]
    orders = [in_turn(contenders, round_index) for round_index in range(4)]
    assert orders[0] == orders[2] == contenders
    assert orders[1] == orders[3] == contenders[::-1]


def test_a_busy_machine_is_waited_on_only_so_long() -> None:
    """A core kept busy is seen as busy, and the wait gives up at its bound."""
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            pass

    spinner = threading.Thread(target=spin)
    spinner.start()
    try:
        started = time.monotonic()
        busy = wait_until_idle(within=2)
        waited = time.monotonic() - started
    finally:
        stop.set()
        spinner.join()
    assert busy >= 1 / (os.cpu_count() or 1) / 2
    assert 2 <= waited < 10
