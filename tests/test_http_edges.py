"""HTTP edges of a real signed `pixserve serve`: OPTIONS, multi-part Range, the
signature's one spelling, and client hints that cannot multiply a signed URL."""

from __future__ import annotations

import io
import json
import string
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PIL import Image

from loopback.harness import Served, get
from pixserve.cache import DiskCache
from pixserve.http.signing import signature
from pixserve.web.helpers import DEFAULT_WIDTHS

from .helpers import encode, gradient
from .live_server import live_server

KEY = "edge-key-" + "x" * 24
SOURCE_WIDTH = 1500  # narrower than the ladder's top, so the ladder is capped

pytestmark = pytest.mark.slow  # real pixserve serve processes


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("edges")
    (folder / "root").mkdir()
    picture = encode(gradient((SOURCE_WIDTH, 1000)), "JPEG", quality=85)
    (folder / "root" / "wide.jpg").write_bytes(picture)
    (folder / "root" / "small.png").write_bytes(encode(gradient((120, 90)), "PNG"))
    return folder


@pytest.fixture(scope="module")
def live(folder: Path) -> Iterator[Served]:
    env = {"PIXSERVE_SIGNING_KEYS": KEY, "PIXSERVE_CLIENT_HINTS": "true"}
    with live_server(folder / "root", folder / "cache", folder / "log", env=env) as live:
        yield live


def signed(path: str, canonical_query: str = "") -> str:
    s = signature(KEY, path, canonical_query)
    return f"{path}?{canonical_query}&s={s}" if canonical_query else f"{path}?s={s}"


@pytest.mark.parametrize(
    "path",
    [
        "/image/small.png",
        "/image/no-such-file.png",
        "/image/../etc/passwd",
        "/info/small.png",
        "/healthz",
        "/readyz",
        "/metrics",
        "/",
    ],
)
def test_options_is_405_with_allow_on_every_route(live: Served, path: str) -> None:
    status, headers, body = get(live.port, path, method="OPTIONS")
    assert status == 405
    assert set(headers["Allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}
    assert "Access-Control-Allow-Origin" not in headers
    assert json.loads(body)["status"] == 405


def test_options_on_a_path_that_is_no_route_is_404(live: Served) -> None:
    status, headers, _ = get(live.port, "/nowhere/at/all", method="OPTIONS")
    assert status == 404 and "Allow" not in headers


@pytest.mark.parametrize(
    ("ranges", "width"),
    [("bytes=0-10,20-30", 71), ("bytes=0-0, -1", 72), ("bytes=0-5,0-5", 73), ("items=0-1", 74)]
    + [("bytes=x", 75)],
)
def test_ranges_that_are_not_one_byte_range_get_the_whole_body(
    live: Served, ranges: str, width: int
) -> None:
    url = signed("/image/small.png", f"w={width}")
    status, headers, body = get(live.port, url, {"Range": ranges})  # made now
    assert (status, headers["X-Cache"]) == (200, "MISS")
    assert "Content-Range" not in headers
    status, headers, again = get(live.port, url, {"Range": ranges})  # served from the cache
    assert (status, headers["X-Cache"], again) == (200, "HIT", body)
    assert "Content-Range" not in headers
    assert int(headers["Content-Length"]) == len(body) > 30
    assert body == get(live.port, url)[2]


def test_one_range_is_still_partial_and_past_the_end_still_416(live: Served) -> None:
    url = signed("/image/small.png", "w=50")
    _, _, whole = get(live.port, url)
    status, headers, part = get(live.port, url, {"Range": "bytes=2-9"})
    assert status == 206 and part == whole[2:10]
    assert headers["Content-Range"] == f"bytes 2-9/{len(whole)}"
    assert get(live.port, url, {"Range": "bytes=99999999-"})[0] == 416


@pytest.mark.parametrize(
    "respell",
    [
        lambda s: s + "=",
        lambda s: s + "%3D",
        lambda s: s[:7] + "!!" + s[7:],
        lambda s: s[:-1] + _spare_bits_changed(s[-1]),
    ],
    ids=["padding", "encoded-padding", "stray-characters", "spare-bits"],
)
def test_other_spellings_of_a_right_signature_are_403(
    live: Served, respell: Callable[[str], str]
) -> None:
    query = "w=40"
    right = signature(KEY, "/image/small.png", query)
    assert get(live.port, f"/image/small.png?{query}&s={right}")[0] == 200
    status, headers, body = get(live.port, f"/image/small.png?{query}&s={respell(right)}")
    assert status == 403 and json.loads(body)["param"] == "s"
    assert headers["Cache-Control"] == "no-store"


def test_hints_under_signing_reach_only_the_srcset_ladder(live: Served, folder: Path) -> None:
    url = signed("/image/wide.jpg", "fmt=webp")
    ladder = [w for w in DEFAULT_WIDTHS if w <= SOURCE_WIDTH] + [SOURCE_WIDTH]
    hints = [(dpr, width) for dpr in ("1", "2", "2.625", "3") for width in range(90, 4000, 397)]
    assert len(hints) == 40
    before = DiskCache(folder / "cache", 1 << 30).stats().entries
    widths: set[int] = set()
    for dpr, width in hints:
        status, headers, body = get(live.port, url, {"Sec-CH-DPR": dpr, "Sec-CH-Width": str(width)})
        assert status == 200 and headers["Content-Type"] == "image/webp"
        assert "Sec-CH-Width" in headers["Vary"]
        served = _webp_width(body)
        assert served in ladder
        assert served >= min(width, SOURCE_WIDTH)  # never blurrier than asked for
        widths.add(served)
    made = DiskCache(folder / "cache", 1 << 30).stats().entries - before
    assert 3 <= len(widths) == made <= len(ladder)


def _spare_bits_changed(last: str) -> str:
    """Another base64url character that decodes to the same last byte (43 characters
    carry 258 bits for a 256-bit digest: the last one's two low bits are spare)."""
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return alphabet[alphabet.index(last) ^ 1]


def _webp_width(body: bytes) -> int:
    with Image.open(io.BytesIO(body)) as image:
        return image.width
