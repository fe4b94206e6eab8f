"""Every shell block of every page is run here as written, or names the test that runs
what it does (a block that needs root, another server, or fixed ports). A new block
fails `test_every_shell_block_is_accounted_for` until it is given one or the other."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from loopback.harness import answers, free_port, serving
from pixserve.web.samples import draw_samples

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
SHELL_BLOCK = re.compile(r"```(?:sh|bash|console|shell)\n(.*?)```", re.S)
BIN = Path(sys.executable).parent

# Blocks run elsewhere, by their first line: why not here, and where instead.
ELSEWHERE = {
    "make run": "CI runs `make test`; `make run`'s server is the one tests/test_readme.py "
    "starts, with the Makefile's settings",
    "# in a checkout of pixserve: build the wheel": "tests/test_packaging.py builds the "
    "wheel and installs it into a fresh virtualenv",
    "export PIXSERVE_ROOT=/srv/images PROMETHEUS_MULTIPROC_DIR": "gunicorn and uWSGI are "
    "not pixserve's server; the wsgi.py it names runs in tests/test_docs.py",
    "sudo rm /etc/nginx/sites-enabled/default": "needs root on a host; tests/test_nginx.py "
    "runs the shipped config with unprivileged workers reading the cache through a group",
    "mkdir -p /tmp/seaweed": "takes SeaweedFS' fixed default ports; tests/test_sources_s3.py "
    "runs the same steps on free ports",
}


def shell_blocks() -> list[tuple[str, str]]:
    return [
        (f"{page.relative_to(ROOT)}", block)
        for page in PAGES
        for block in SHELL_BLOCK.findall(page.read_text())
    ]


def commands(block: str) -> list[str]:
    """The block's command lines, continuations joined, comments dropped."""
    joined = block.replace("\\\n", " ")
    return [line.split("  #", 1)[0].strip() for line in joined.splitlines() if line.strip()]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A project folder with the samples drawn, the venv's commands first on PATH and
    the default cache folder inside it."""
    draw_samples(tmp_path / "samples")
    return tmp_path


def environment(workdir: Path, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{BIN}:{os.environ['PATH']}",
        "XDG_CACHE_HOME": str(workdir / "xdg-cache"),
        **more,
    }


@contextmanager
def served(line: str, workdir: Path, env: dict[str, str]) -> Iterator[int]:
    """`line` (a `pixserve serve` command) on a free port until the block ends."""
    port = free_port()
    words = shlex.split(line)
    assignments = [word for word in words if re.fullmatch(r"[A-Z_]+=.*", word)]
    words = [word for word in words if word not in assignments]
    if "--port" in words:
        words[words.index("--port") + 1] = str(port)
    else:
        words += ["--port", str(port)]
    env = {**env, **dict(word.split("=", 1) for word in assignments)}
    with serving(
        words, port, workdir / "serve.log", env=env, cwd=workdir, ready=answers("/readyz", 200)
    ):
        yield port


def test_every_shell_block_is_accounted_for() -> None:
    run_here = {
        "pixserve serve --config pixserve.toml",
        "pixserve samples samples",
        "pixserve cache stats",
    }
    for where, block in shell_blocks():
        first = commands(block)[0]
        assert any(first.startswith(key) for key in (*ELSEWHERE, *run_here)), (where, first)


def test_the_readme_serves_its_own_toml(workdir: Path) -> None:
    """The README's `pixserve serve --config pixserve.toml`, with its TOML as written
    but for `root` (the samples instead of /srv/images)."""
    readme = (ROOT / "README.md").read_text()
    toml = re.search(r"```toml\n(# pixserve.toml\n.*?)```", readme, re.S)
    assert toml is not None
    (workdir / "pixserve.toml").write_text(
        toml[1].replace('root = "/srv/images"', f'root = "{workdir / "samples"}"')
    )
    (line,) = (c for _, b in shell_blocks() for c in commands(b) if "--config pixserve.toml" in c)
    with served(line, workdir, environment(workdir)) as port:
        status = subprocess.run(
            [
                "curl",
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                f"http://127.0.0.1:{port}/image/sunset.jpg?w=640&fmt=webp",
            ],
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    assert status == "200"


def test_the_dialects_page_serves_thumbor_and_imgproxy_urls(workdir: Path) -> None:
    """docs/dialects.md's block as written; its Python example's signed URLs answer."""
    page = (ROOT / "docs" / "dialects.md").read_text()
    (block,) = (b for b in SHELL_BLOCK.findall(page) if "pixserve samples samples" in b)
    first, serve = commands(block)
    subprocess.run(shlex.split(first), cwd=workdir, env=environment(workdir), check=True)
    (example,) = re.findall(r"```python\n(.*?)```", page, re.S)
    with served(serve, workdir, environment(workdir)) as port:
        urls = (
            subprocess.run(
                [sys.executable, "-c", example], capture_output=True, text=True, check=True
            )
            .stdout.replace("127.0.0.1:8000", f"127.0.0.1:{port}")
            .split()
        )
        assert len(urls) == 2
        for url in urls:
            status = subprocess.run(
                ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", url],
                capture_output=True,
                text=True,
                timeout=60,
            ).stdout
            assert status == "200", url


def test_the_cache_commands_run_as_written(workdir: Path) -> None:
    page = (ROOT / "docs" / "operations.md").read_text()
    (block,) = (b for b in SHELL_BLOCK.findall(page) if b.startswith("pixserve cache stats"))
    env = environment(workdir, PIXSERVE_ROOT=str(workdir / "samples"))
    for line in [*commands(block), "pixserve cache stats"]:
        result = subprocess.run(
            shlex.split(line), cwd=workdir, env=env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{line}:\n{result.stdout}{result.stderr}"
    assert "entries" in result.stdout
