"""The demo page in a real browser: headless Chromium (Debian's package) via Playwright.

Checks what a person would: the srcset candidate that `sizes` implies is the one
fetched, at two viewports and pixel ratios; negotiation gives Chromium a modern format
and a JPEG-only client JPEG; a second visit is served from the browser's cache; no
image on the page is broken. A screenshot is kept in `browser-artifacts/`.
"""

from __future__ import annotations

import io
import math
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from pixserve.web.helpers import DEFAULT_WIDTHS
from pixserve.web.samples import draw_samples
from tests.harness import Served
from tests.live_server import live_server

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[1] / "browser-artifacts"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium at /usr/bin/chromium (Debian package chromium; .ci/run installs it)",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    folder = tmp_path_factory.mktemp("browser")
    draw_samples(folder / "root")
    with live_server(folder / "root", folder / "cache", env={"PIXSERVE_INDEX": "1"}) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


def open_gallery(browser: Any, gallery: Served, width: int, dpr: float, **context: Any) -> Any:
    page = browser.new_context(
        viewport={"width": width, "height": 900}, device_scale_factor=dpr, **context
    ).new_page()
    page.requests = []
    page.on("request", lambda request: page.requests.append(request.url))
    page.goto(f"http://127.0.0.1:{gallery.port}/", wait_until="networkidle")
    return page


def expected_candidate(slot_css_px: float, dpr: float, source_width: int) -> int:
    """What the srcset rules pick: the narrowest candidate covering slot x DPR."""
    candidates = sorted({w for w in DEFAULT_WIDTHS if w <= source_width} | {source_width})
    needed = slot_css_px * dpr
    return next((w for w in candidates if w >= math.floor(needed)), candidates[-1])


def pixel_width(url: str, accept: str) -> int:
    request = urllib.request.Request(url, headers={"Accept": accept})
    with urllib.request.urlopen(request, timeout=60) as response:
        with Image.open(io.BytesIO(response.read())) as image:
            return image.width


@pytest.mark.parametrize(("width", "dpr"), [(400, 2), (1280, 1)])
def test_the_hero_fetches_the_candidate_sizes_implies(
    browser: Any, gallery: Served, width: int, dpr: float
) -> None:
    page = open_gallery(browser, gallery, width, dpr)
    current, natural, complete, slot = page.evaluate(
        """() => { const img = document.querySelector('#hero img');
                   return [img.currentSrc, img.naturalWidth, img.complete,
                           img.getBoundingClientRect().width]; }"""
    )
    candidate = expected_candidate(slot, dpr, source_width=2400)  # sunset.jpg
    assert complete and natural > 0
    assert f"w={candidate}" in current, (current, slot, dpr)
    assert current in page.requests  # fetched, not just chosen
    assert "fmt=avif" in current  # the first <source type> Chromium supports
    # the variant is really that many pixels wide; naturalWidth is it over the density
    assert pixel_width(current, "image/avif") == candidate
    assert natural == round(candidate / (candidate / slot))
    page.context.close()


THUMBS_DECODED = (
    "() => [...document.querySelectorAll('#thumbs img')]"
    ".every(i => i.complete && i.naturalWidth > 0)"
)


def thumbnail_types(browser: Any, gallery: Served, **context: Any) -> dict[str, str]:
    """Content-Type of each thumbnail (fmt=auto) the browser fetched, by source name."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}, **context).new_page()
    types: dict[str, str] = {}

    def record(response: Any) -> None:
        if "fit=cover&h=160&w=160" in response.url:
            name = response.url.split("/image/")[1].split("?")[0]
            types[name] = response.headers["content-type"]

    page.on("response", record)
    page.goto(f"http://127.0.0.1:{gallery.port}/", wait_until="networkidle")
    assert page.evaluate(THUMBS_DECODED)
    page.context.close()
    return types


def test_negotiation_gives_chromium_a_modern_format_and_a_jpeg_client_jpeg(
    browser: Any, gallery: Served
) -> None:
    chromium = thumbnail_types(browser, gallery)  # Chromium's own Accept header
    assert len(chromium) == 4
    assert set(chromium.values()) <= {"image/webp", "image/avif"}
    jpeg_only = thumbnail_types(browser, gallery, extra_http_headers={"Accept": "image/jpeg"})
    assert jpeg_only["sunset.jpg"] == "image/jpeg"
    assert not set(jpeg_only.values()) & {"image/webp", "image/avif"}


def test_a_second_visit_is_served_from_the_browser_cache(browser: Any, gallery: Served) -> None:
    page = open_gallery(browser, gallery, 1280, 1)
    log_before = gallery.log.read_text().count("GET /image/")
    page.goto(f"http://127.0.0.1:{gallery.port}/", wait_until="networkidle")
    fetched_again = gallery.log.read_text().count("GET /image/") - log_before
    images = page.evaluate("() => document.querySelectorAll('img').length")
    assert images >= 10
    assert fetched_again == 0, f"{fetched_again} image requests reached the server again"
    page.context.close()


def test_no_broken_image_and_a_screenshot(browser: Any, gallery: Served) -> None:
    page = open_gallery(browser, gallery, 1280, 1)
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")  # wake lazy images
    page.wait_for_load_state("networkidle")
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
    broken = page.evaluate(
        "() => [...document.images].filter(i => i.naturalWidth === 0)"
        ".map(i => i.currentSrc || i.src)"
    )
    assert broken == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("() => window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / "gallery.png"), full_page=True)
    assert (ARTIFACTS / "gallery.png").stat().st_size > 10_000
    page.context.close()
