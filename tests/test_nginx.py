"""Debian's nginx running the shipped `deploy/nginx.conf` in front of a real pixserve.

Whether a request reached pixserve is read from pixserve's own log: nginx sends its
request id upstream and to the client, and pixserve logs the id of every request.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopback.harness import Served, get
from loopback.nginx_front import Front, find_nginx, nginx_in_front

from .helpers import encode, gradient
from .live_server import live_server, request_lines

NGINX = find_nginx()
pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(
        NGINX is None,
        reason="nginx is not installed (Debian's nginx package; .ci/run installs it when root)",
    ),
]

CHROME = {"Accept": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"}
FIREFOX = {"Accept": "image/avif,image/webp,*/*"}
JPEG_ONLY = {"Accept": "image/jpeg"}
ACCEL = "/_pixserve_cache/"


@dataclass(frozen=True)
class Stack:
    pixserve: Served
    nginx: Front
    cache_dir: Path

    def via_nginx(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return get(self.nginx.port, path, headers)

    def direct(
        self, path: str, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        return get(self.pixserve.port, path, headers)

    def requests(self) -> list[dict[str, object]]:
        """The requests pixserve answered, as it logged them."""
        return request_lines(self.pixserve)

    def reached_pixserve(self, request_id: str) -> list[dict[str, object]]:
        """pixserve's log lines for this request id (nginx's id, sent upstream)."""
        return [line for line in self.requests() if line["request_id"] == request_id]

    def answers_to(self, url: str) -> list[object]:
        """The statuses pixserve answered to `url`, in order."""
        path, _, query = url.partition("?")
        return [
            line["status"]
            for line in self.requests()
            if (line["path"], line["query"]) == (path, query)
        ]


def _stack(*settings: str) -> Iterator[Stack]:
    """pixserve and nginx in front, as the recipe sets them up on a host: nginx's
    workers unprivileged, reading pixserve's cache through a shared group
    (`cache_file_mode` 0640), in a folder they may only traverse through it (pytest's
    own temporary folders are the test user's alone)."""
    assert NGINX is not None
    folder = Path(tempfile.mkdtemp(prefix="pixserve-nginx-"))
    folder.chmod(0o750)
    try:
        root = folder / "root"
        root.mkdir()
        (root / "photo.jpg").write_bytes(encode(gradient((800, 600)), "JPEG", quality=90))
        args = ["--set", f"accel_redirect={ACCEL}", "--set", "cache_file_mode=0640", *settings]
        cache_dir = folder / "cache"
        with live_server(root, cache_dir, folder / "pixserve.log", args=args) as pixserve:
            with nginx_in_front(NGINX, pixserve.port, cache_dir, folder / "nginx") as front:
                yield Stack(pixserve, front, cache_dir)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    yield from _stack()


def test_a_repeated_request_is_an_nginx_hit_that_never_reaches_pixserve(stack: Stack) -> None:
    url = "/image/photo.jpg?w=300&fmt=webp"
    status, first, body = stack.via_nginx(url)
    assert status == 200 and first["X-Cache-Status"] == "MISS"
    assert len(stack.reached_pixserve(first["X-Request-ID"])) == 1
    assert first["Server-Timing"].startswith("decode;dur=")  # from the request that made it
    for _ in range(3):
        status, again, same = stack.via_nginx(url)
        assert status == 200 and again["X-Cache-Status"] == "HIT" and same == body
        assert again["ETag"] == first["ETag"] and again["Content-Type"] == "image/webp"
        assert again["Cache-Control"] == "max-age=86400"  # pixserve's, kept
        assert "Server-Timing" not in again  # not replayed on hits
        assert again["X-Request-ID"] != first["X-Request-ID"]
        assert stack.reached_pixserve(again["X-Request-ID"]) == []


def test_browsers_get_their_own_cached_variant_of_one_url(stack: Stack) -> None:
    url = "/image/photo.jpg?w=240"  # fmt=auto: the format depends on Accept
    _, chrome, chrome_body = stack.via_nginx(url, CHROME)
    _, jpeg, jpeg_body = stack.via_nginx(url, JPEG_ONLY)
    assert chrome["X-Cache-Status"] == jpeg["X-Cache-Status"] == "MISS"
    assert chrome["Content-Type"] == "image/webp" and jpeg["Content-Type"] == "image/jpeg"
    assert chrome["ETag"] != jpeg["ETag"] and "Accept" in chrome["Vary"]
    for headers, expected_type, expected_body in (
        (CHROME, "image/webp", chrome_body),
        (JPEG_ONLY, "image/jpeg", jpeg_body),
        (FIREFOX, "image/webp", chrome_body),  # another spelling, the same class
        ({"Accept": "image/webp;q=0, image/jpeg"}, "image/jpeg", jpeg_body),  # refused WebP
        ({}, "image/jpeg", jpeg_body),
    ):
        status, hit, body = stack.via_nginx(url, headers)
        assert status == 200 and hit["X-Cache-Status"] == "HIT", headers
        assert hit["Content-Type"] == expected_type and body == expected_body, headers
        assert stack.reached_pixserve(hit["X-Request-ID"]) == []


def test_a_conditional_request_gets_a_304_through_nginx(stack: Stack) -> None:
    url = "/image/photo.jpg?w=200&fmt=jpeg"
    _, first, _ = stack.via_nginx(url)
    status, headers, body = stack.via_nginx(url, {"If-None-Match": first["ETag"]})
    assert status == 304 and body == b"" and headers["ETag"] == first["ETag"]
    assert stack.reached_pixserve(headers["X-Request-ID"]) == []
    status, _, body = stack.via_nginx(url, {"If-None-Match": '"another"'})
    assert status == 200 and body


def test_an_expired_entry_is_revalidated_with_pixserves_304() -> None:
    for stack in _stack("--set", "max_age=1"):
        url = "/image/photo.jpg?w=210&fmt=webp"
        _, first, body = stack.via_nginx(url)
        deadline = time.monotonic() + 20
        while True:  # until the entry is a second old and nginx asks pixserve again
            status, again, same = stack.via_nginx(url)
            if again["X-Cache-Status"] != "HIT" or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # STALE: nginx answered with the old entry while it revalidated in the background
        assert again["X-Cache-Status"] in ("REVALIDATED", "STALE")
        assert status == 200 and same == body and again["ETag"] == first["ETag"]
        while not (answers := stack.answers_to(url)[1:]) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert answers == [304]  # pixserve answered nginx's If-None-Match, nothing more
        while True:  # nginx finishes its background update a moment after the 304
            status, refreshed, same = stack.via_nginx(url)
            if refreshed["X-Cache-Status"] != "UPDATING" or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert refreshed["X-Cache-Status"] == "HIT" and same == body
        assert stack.answers_to(url)[1:] == [304]  # and still nothing more reached pixserve


def test_pixserve_cache_hits_are_sent_by_nginx_through_x_accel_redirect(stack: Stack) -> None:
    url = "/image/photo.jpg?w=260"
    _, direct, direct_body = stack.direct(url, CHROME)  # in pixserve's cache, not nginx's
    status, via, body = stack.via_nginx(url, CHROME)
    assert status == 200 and body == direct_body
    (line,) = stack.reached_pixserve(via["X-Request-ID"])
    assert line["cache"] == "HIT" and line["accel"] is True and line["bytes"] == 0
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control", "Vary"):
        assert via[header] == direct[header], header
    assert via["X-Cache"] == "HIT" and via["X-Content-Type-Options"] == "nosniff"
    assert via["Content-Disposition"] == "inline; filename=photo.webp"
    status, part, piece = stack.via_nginx(url, {**CHROME, "Range": "bytes=10-19"})
    assert status == 206 and piece == direct_body[10:20]
    assert part["Content-Range"] == f"bytes 10-19/{len(direct_body)}"


def test_the_cache_folder_and_operator_endpoints_are_not_public(stack: Stack) -> None:
    stack.direct("/image/photo.jpg?w=50&fmt=png")
    entry = next(path for path in stack.cache_dir.rglob("*.png"))
    relative = entry.relative_to(stack.cache_dir).as_posix()
    assert stack.via_nginx(ACCEL + relative)[0] == 404  # internal: only via X-Accel-Redirect
    for path in ("/metrics", "/healthz", "/readyz"):
        assert stack.via_nginx(path)[0] == 404
        assert stack.direct(path)[0] == 200


def test_the_recipe_names_folders_a_stock_debian_nginx_has() -> None:
    """`nginx -t` of the recipe as shipped fails on a folder nginx will not make: the
    proxy cache's parent must be one Debian's nginx package installs."""
    text = (Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf").read_text()
    cache_path = Path(text.split("proxy_cache_path ", 1)[1].split()[0])
    assert cache_path.parent == Path("/var/lib/nginx")
    if Path("/etc/debian_version").exists():
        assert cache_path.parent.is_dir()
