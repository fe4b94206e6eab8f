"""The demo page in a real browser: headless Chromium (Debian's package) via Playwright.

Checks what a person would: the srcset candidate that `sizes` implies is the one
fetched, at two viewports and pixel ratios, and no image on the page is shown wider
than the pixels it fetched; the hero loads eagerly with high priority; placeholders go
once pictures load (no haze behind transparency); the animated sample moves; captions
do not break mid-word; negotiation gives Chromium a modern format and a JPEG-only
client JPEG; a second visit is served from the browser's cache; no image on the page
is broken. Screenshots are kept in `browser-artifacts/`.
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

from loopback.harness import Served
from pixserve.web.helpers import DEFAULT_WIDTHS
from pixserve.web.samples import draw_samples
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
    assert "fmt=webp" in current  # the one <source type> (AVIF is off by default)
    # the variant is really that many pixels wide; naturalWidth is it over the density
    assert pixel_width(current, "image/webp") == candidate
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
    assert len(chromium) == 5
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


CHROMIUM_ACCEPT = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
EVERY_IMAGE_LOADED = "() => [...document.images].every(i => i.complete && i.naturalWidth > 0)"


def open_loaded_gallery(browser: Any, gallery: Served, width: int, dpr: float) -> Any:
    """The gallery with every lazy image woken and loaded."""
    page = open_gallery(browser, gallery, width, dpr)
    page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
    page.wait_for_load_state("networkidle")
    page.wait_for_function(EVERY_IMAGE_LOADED, timeout=30_000)
    page.evaluate("() => window.scrollTo(0, 0)")
    return page


def fetched_image(url: str) -> Image.Image:
    request = urllib.request.Request(url, headers={"Accept": CHROMIUM_ACCEPT})
    with urllib.request.urlopen(request, timeout=60) as response:
        return Image.open(io.BytesIO(response.read()))


@pytest.mark.parametrize(("width", "dpr"), [(400, 2), (1280, 1)])
def test_no_image_is_shown_wider_than_the_pixels_it_fetched(
    browser: Any, gallery: Served, width: int, dpr: float
) -> None:
    page = open_loaded_gallery(browser, gallery, width, dpr)
    shown = page.evaluate(
        "() => [...document.images].map(i => [i.currentSrc, i.getBoundingClientRect().width])"
    )
    assert len(shown) >= 10
    upscaled = []
    for url, slot in shown:
        with fetched_image(url) as image:
            if slot * dpr > image.width + 0.5:
                upscaled.append((url, f"{slot:.1f} CSS px x {dpr} > {image.width} px"))
    assert upscaled == []
    page.context.close()


def test_the_hero_loads_eagerly_with_high_priority(browser: Any, gallery: Served) -> None:
    page = open_gallery(browser, gallery, 1280, 1)
    loading, priority = page.evaluate(
        "() => { const img = document.querySelector('#hero img');"
        " return [img.loading, img.fetchPriority]; }"
    )
    assert (loading, priority) == ("eager", "high")
    grid = page.evaluate("() => [...document.querySelectorAll('#grid img')].map(i => i.loading)")
    assert grid and set(grid) == {"lazy"}
    page.context.close()


def test_placeholders_go_once_pictures_load(browser: Any, gallery: Served) -> None:
    page = open_loaded_gallery(browser, gallery, 1280, 1)
    backgrounds = page.evaluate(
        "() => [...document.querySelectorAll('img[onload]')]"
        ".map(i => [i.alt, getComputedStyle(i).backgroundImage])"
    )
    assert len(backgrounds) >= 5  # the hero and the grid
    assert [alt for alt, background in backgrounds if "data:" in background] == []
    # The badge's transparent corner shows the grid's checkerboard, grey, not a pink haze.
    badge = page.locator("#grid img[alt='badge.png']")
    badge.scroll_into_view_if_needed()
    with Image.open(io.BytesIO(badge.screenshot())) as shot:
        red, green, blue = shot.convert("RGB").getpixel((3, 3))
    assert max(red, green, blue) - min(red, green, blue) <= 4, (red, green, blue)
    page.context.close()


def test_the_animated_sample_moves(browser: Any, gallery: Served) -> None:
    page = open_loaded_gallery(browser, gallery, 1280, 1)
    spiral = page.locator("#grid img[alt='spiral.gif']")
    with fetched_image(spiral.evaluate("i => i.currentSrc")) as image:
        assert getattr(image, "n_frames", 1) >= 8
    spiral.scroll_into_view_if_needed()
    first = spiral.screenshot(animations="allow")
    page.wait_for_timeout(250)
    second = spiral.screenshot(animations="allow")
    assert first != second  # the browser shows the frames, not one still
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "spiral-1.png").write_bytes(first)
    (ARTIFACTS / "spiral-2.png").write_bytes(second)
    page.context.close()


# Each word of each caption (a hyphen may end a word: breaking there is fine) must sit
# on one line: a word split over two lines has two boxes.
SPLIT_WORDS = """() => {
  const split = [];
  for (const caption of document.querySelectorAll('figcaption')) {
    const walker = document.createTreeWalker(caption, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const word of node.textContent.matchAll(/[^\\s-]+-?/g)) {
        const range = document.createRange();
        range.setStart(node, word.index);
        range.setEnd(node, word.index + word[0].length);
        const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
        if (lines.size > 1) split.push(word[0]);
      }
    }
  }
  return split;
}"""


def test_captions_do_not_break_mid_word_on_a_phone(browser: Any, gallery: Served) -> None:
    page = open_loaded_gallery(browser, gallery, 400, 2)
    assert page.evaluate("() => document.querySelectorAll('#grid figcaption').length") >= 4
    assert page.evaluate(SPLIT_WORDS) == []
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "gallery-400.png"), full_page=True)
    page.context.close()
