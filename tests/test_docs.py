"""The documentation: the site builds strictly, the settings reference is the code's,
and every repository path a Markdown page names exists (issue 24)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pixserve.config.reference import render
from pixserve.config.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[1]
MARKDOWN = sorted([ROOT / "README.md", ROOT / "SECURITY.md", *(ROOT / "docs").glob("*.md")])
# A Markdown link's target, and a path in backticks under one of the repository's folders.
LINK = re.compile(r"\]\(([^)\s]+)\)")
REPO_PATH = re.compile(
    r"`((?:benchmarks|tests|pixserve|transformer|cache|docs|deploy|fuzz|tools)/[\w./-]+)`"
)


def test_the_settings_reference_is_made_from_the_code() -> None:
    undocumented = [name for name, row in SETTINGS.items() if not row.doc.strip()]
    assert not undocumented, "each setting needs its doc= line"
    written = (ROOT / "docs" / "settings.md").read_text()
    assert written == render(), (
        "docs/settings.md differs from the code: "
        "python -m pixserve.config.reference > docs/settings.md"
    )


@pytest.mark.parametrize("page", MARKDOWN, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_linked_or_named_repository_path_exists(page: Path) -> None:
    text = page.read_text()
    missing = []
    for target in LINK.findall(text):
        if re.match(r"[a-z]+:|#", target):
            continue
        path = target.split("#", 1)[0]
        if path and not (page.parent / path).exists():
            missing.append(target)
    for named in REPO_PATH.findall(text):
        named = named.rstrip(".")
        if not any(mark in named for mark in "*<{") and not (ROOT / named).exists():
            missing.append(named)
    assert missing == []


@pytest.mark.skipif(
    shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None,
    reason="mkdocs is not installed (the test extra has it)",
)
def test_the_site_builds_strictly(tmp_path: Path) -> None:
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site" / "settings" / "index.html").is_file()


PYTHON_BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# What a snippet of a page assumes is there: an app of the user's own (the extension's
# snippets add pixserve to it) and the images folder they name.
PRELUDE = 'from flask import Flask\napp = Flask("docs_example")\n'


def python_examples() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}#{number}", block)
        for page in MARKDOWN
        for number, block in enumerate(PYTHON_BLOCK.findall(page.read_text()))
    ]


@pytest.mark.parametrize(("where", "block"), python_examples(), ids=lambda v: str(v)[:40])
def test_every_python_example_runs(where: str, block: str, tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    environment = {"PATH": "/usr/bin:/bin", "PIXSERVE_ROOT": str(tmp_path / "images")}
    environment["PIXSERVE_CACHE_DIR"] = str(tmp_path / "cache")
    result = subprocess.run(
        [sys.executable, "-c", PRELUDE + block],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, f"{where}:\n{result.stderr}"


def test_there_are_python_examples() -> None:
    assert len(python_examples()) >= 4


# A repository path in the code's comments and docstrings (and the build files): an
# outcome under benchmarks/out/ is written by its benchmark, not kept in the repository.
CODE_PATH = re.compile(
    r"(?<![\w./-])((?:benchmarks|tests|pixserve|transformer|cache|docs|deploy|fuzz|tools)"
    r"/[\w/.-]*\w\.(?:py|md|conf|toml|json|png|mjs|cjs|sh|jpg))"
)
CODE = [
    path
    for folder in ("pixserve", "transformer", "cache", "tests", "benchmarks", "fuzz", "tools")
    for path in sorted((ROOT / folder).rglob("*.py"))
    if "node_modules" not in path.parts and ".venvs" not in path.parts
] + [
    ROOT / "Makefile",
    ROOT / "pyproject.toml",
    ROOT / "deploy" / "nginx.conf",
    ROOT / ".ci" / "run",
]


def test_every_repository_path_named_in_the_code_exists() -> None:
    missing = {
        f"{path.relative_to(ROOT)}: {named}"
        for path in CODE
        for named in CODE_PATH.findall(path.read_text())
        if not named.startswith("benchmarks/out/") and not (ROOT / named).exists()
    }
    assert missing == set()
