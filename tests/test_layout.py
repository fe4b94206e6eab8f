"""Layout boundaries that imports alone can break: `transformer/` stays pure imaging."""

from __future__ import annotations

import ast
from pathlib import Path

import pixserve.transformer

TRANSFORMER = Path(pixserve.transformer.__file__).resolve().parent
# Processes, threads interrupted from outside, the web and the cache are the caller's.
# (Threads of its own, for bands of one picture, are the transformer's: `bands.py`.)
FORBIDDEN_MODULES = {"ctypes", "multiprocessing", "subprocess", "flask", "cache"}
FORBIDDEN_CALLS = {"fork", "forkpty", "posix_spawn", "posix_spawnp", "system", "spawnv"}
FORBIDDEN_NAMES = {"ProcessPoolExecutor", "PyThreadState_SetAsyncExc"}


def _offences(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        found += [f"imports {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            found += [f"imports os.{a.name}" for a in node.names if a.name in FORBIDDEN_CALLS]
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
            and node.attr in FORBIDDEN_CALLS
        ):
            found.append(f"calls os.{node.attr}")
        if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_NAMES:
            found.append(f"uses {node.attr}")
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            found.append(f"uses {node.id}")
        if isinstance(node, ast.ImportFrom):
            found += [f"imports {a.name}" for a in node.names if a.name in FORBIDDEN_NAMES]
    return [f"{path.name}:{offence}" for offence in found]


def test_the_transformer_forks_nothing_and_imports_no_process_or_web_machinery() -> None:
    sources = sorted(TRANSFORMER.rglob("*.py"))
    assert len(sources) > 20  # the package's files, not an empty folder
    assert [offence for path in sources for offence in _offences(path)] == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nimport ctypes.util\nfrom multiprocessing import Pool\nos.fork()\n"
        "from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor\n"
    )
    assert sorted(_offences(sample)) == [
        "sample.py:calls os.fork",
        "sample.py:imports ProcessPoolExecutor",
        "sample.py:imports ctypes.util",
        "sample.py:imports multiprocessing",
    ]
