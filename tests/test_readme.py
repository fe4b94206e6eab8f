"""Every example of the README and the docs works as written against `make run`: the
samples drawn by `pixserve samples`, served by `pixserve serve` with the index on. Their
image and info URLs, the URL API table's examples and the URLs their Jinja examples
render to are all requested from that server, and must answer 200."""

from __future__ import annotations

import html
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import render_template_string

from loopback.harness import Served
from pixserve import Config, create_app
from pixserve.web.samples import draw_samples
from tests.live_server import live_server

pytestmark = pytest.mark.slow  # a real pixserve serve, some 60 transforms

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", ROOT / "SECURITY.md", *sorted((ROOT / "docs").glob("*.md"))]
README = (ROOT / "README.md").read_text()
URL_API = (ROOT / "docs" / "url-api.md").read_text()
URL = re.compile(r"/(?:image|info)/[\w./-]+(?:\?[^\s\"'<>`)\]]*)?")
# What Chromium sends for images: the README's URLs are for browsers.
ACCEPT = "image/avif,image/webp,image/apng,image/*,*/*;q=0.8"
# The URL API table's examples are queries; each is tried on the sample it is for:
# `frame` on the animation, lossless and palette output on the graphic (lossless WebP
# of the 2400-px photo takes longer than `time_limit` on a busy 2-core machine), the
# rest on the photo.
SAMPLE_FOR = {"frame=": "spiral.gif", "lossless=": "badge.png", "png8=": "badge.png"}
STILL_SAMPLE = "sunset.jpg"


# Pages whose URLs are for another server than `make run`'s: mounts of S3 and HTTP
# origins (checked against a real SeaweedFS and origin in tests/test_sources*.py),
# thumbor/imgproxy mounts (checked in tests/dialects/), and the measurements' corpus
# photos (benchmarks/, whose results page is results.md).
OTHER_SERVERS = ("sources.md", "dialects.md", "performance.md", "quality.md", "results.md")


def for_make_run() -> str:
    """Every page's text but those written for other servers."""
    return "\n".join(page.read_text() for page in PAGES if page.name not in OTHER_SERVERS)


def urls_in(text: str) -> list[str]:
    found = (match.rstrip(".,;:") for match in URL.findall(html.unescape(text)))
    return sorted(set(found))


def table_examples() -> list[str]:
    """The last cell of each URL API table row, when it is a query in backticks."""
    queries = []
    for line in URL_API.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`\?[^`]+`", cells[-1]):
            queries.append(cells[-1].strip("`"))
    return queries


def jinja_examples() -> list[str]:
    return [
        block
        for page in PAGES
        for block in re.findall(r"```jinja\n(.*?)```", page.read_text(), re.S)
    ]


@pytest.fixture(scope="module")
def samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("make-run") / "samples"
    draw_samples(folder)
    return folder


@pytest.fixture(scope="module")
def make_run(samples: Path) -> Iterator[Served]:
    """`make run`'s server: the samples, the index on, text logs, the Makefile's presets."""
    presets = re.search(r"^PRESETS := (.*)$", (ROOT / "Makefile").read_text(), re.M)
    assert presets is not None, "the Makefile's PRESETS, which `make run` sets"
    env = {"PIXSERVE_INDEX": "1", "PIXSERVE_LOG_FORMAT": "text", "PIXSERVE_PRESETS": presets[1]}
    folder = samples.parent
    with live_server(samples, folder / "cache", folder / "log", workers=1, env=env) as live:
        yield live


def status_of(live: Served, url: str) -> int:
    request = urllib.request.Request(f"http://127.0.0.1:{live.port}{url}")
    request.add_header("Accept", ACCEPT)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status: int = response.status
            return status
    except urllib.error.HTTPError as error:
        return error.code


def test_the_pages_have_examples_to_check() -> None:
    assert len(urls_in(README)) >= 5 and len(table_examples()) >= 20
    assert "/image/sunset.jpg?w=300&fmt=webp" in urls_in(for_make_run())
    assert len(jinja_examples()) >= 2  # the README's and Getting started's


def test_every_url_of_every_page_answers(make_run: Served) -> None:
    urls = urls_in(for_make_run())
    failed = {url: status for url in urls if (status := status_of(make_run, url)) != 200}
    assert failed == {}
    assert status_of(make_run, "/") == 200  # the gallery


def test_every_url_api_example_answers(make_run: Served) -> None:
    failed = {}
    for query in table_examples():
        name = next((sample for key, sample in SAMPLE_FOR.items() if key in query), STILL_SAMPLE)
        url = f"/image/{name}{query}"
        if (status := status_of(make_run, url)) != 200:
            failed[url] = status
    assert failed == {}


def test_the_jinja_examples_render_to_urls_that_answer(
    make_run: Served, samples: Path, tmp_path: Path
) -> None:
    app = create_app(Config(root=samples, cache_dir=tmp_path / "cache", index=True))
    with app.test_request_context():
        rendered = "".join(render_template_string(block) for block in jinja_examples())
    urls = urls_in(rendered)
    assert len(urls) >= 20  # every srcset candidate too
    assert 'class="hero" data-id="7"' in rendered and 'width="600" height="400"' in rendered
    failed = {url: status for url in urls if (status := status_of(make_run, url)) != 200}
    assert failed == {}
