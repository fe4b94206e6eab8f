"""Watermarks and frames through the production server (`pixserve serve`, granian, two
workers) from a real HTTP origin on loopback and from the local root: pixels, one
origin fetch per watermark per `source_ttl` for the whole node, 4xx problems for a
missing, bombed or non-image watermark, thumbor's and imgproxy's URLs, and a changed
watermark changing the results."""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from PIL import Image

from loopback.harness import Served
from tests.helpers import MakeApp, encode
from tests.live_server import live_server
from tests.origin_server import Origin, Route, running_origin

BLUE = (0, 120, 200)
SIGNING_KEY = "a-signing-key-of-some-length"
RED = (255, 0, 0)
GREEN = (0, 200, 0)
PHOTO = encode(Image.new("RGB", (800, 600), BLUE), "JPEG", quality=95)
LOGO = encode(Image.new("RGBA", (60, 30), (*RED, 255)), "PNG")
# A header that says 20000x20000 over a few hundred bytes: decoding it would take 400 MB.
BOMB = encode(Image.new("1", (20000, 20000)), "PNG")


@dataclass
class Node:
    live: Served
    origin: Origin
    root: Path


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    folder = tmp_path_factory.mktemp("watermarks")
    root = folder / "root"
    (root / "marks").mkdir(parents=True)
    (root / "photo.jpg").write_bytes(PHOTO)
    (root / "marks" / "local.png").write_bytes(LOGO)
    (root / "marks" / "notes.png").write_bytes(b"not an image at all")
    with running_origin() as origin:
        origin.routes.update(
            {
                "/marks/logo.png": Route(LOGO, etag='"logo-1"'),
                "/marks/bomb.png": Route(BOMB, etag='"bomb"'),
            }
        )
        mounts = {"cdn": {"type": "http", "base": origin.base + "marks/", "allow_private": True}}
        env = {
            "PIXSERVE_SOURCES": json.dumps(mounts),
            "PIXSERVE_SOURCE_TTL": "3600",
            "PIXSERVE_THUMBOR_PREFIX": "/thumbor",
            "PIXSERVE_THUMBOR_ALLOW_UNSAFE": "true",
            "PIXSERVE_THUMBOR_SOURCES": f"=,{origin.host}:{origin.port}/marks=cdn",
            "PIXSERVE_IMGPROXY_PREFIX": "/imgproxy",
            "PIXSERVE_IMGPROXY_ALLOW_INSECURE": "true",
            "PIXSERVE_IMGPROXY_SOURCES": f"local:///=,{origin.base}marks/=cdn",
            "PIXSERVE_IMGPROXY_WATERMARK": "marks/local.png",
        }
        with live_server(root, folder / "cache", workers=2, env=env) as live:
            yield Node(live, origin, root)


def get(node: Node, path: str) -> tuple[int, dict[str, str], bytes]:
    url = f"http://127.0.0.1:{node.live.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            return response.status, lower(response.headers.items()), response.read()
    except urllib.error.HTTPError as error:
        return error.code, lower(error.headers.items()), error.read()


def lower(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    return {name.lower(): value for name, value in headers}


def picture(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image.convert("RGB")


def close(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 12 for a, b in zip(pixel, colour, strict=False))


def test_a_watermark_from_the_origin_is_drawn_and_fetched_once(node: Node) -> None:
    query = "wm=cdn/logo.png&wm_gravity=southeast&wm_dx=10&wm_dy=10&fmt=png"
    for width in (400, 300, 200, 400):
        status, headers, body = get(node, f"/image/photo.jpg?w={width}&{query}")
        assert status == 200, body
        image = picture(body)
        height = width * 3 // 4
        assert close(image.getpixel((width - 12, height - 12)), RED)
        assert close(image.getpixel((width - 8, height - 8)), BLUE)
        assert close(image.getpixel((width // 2, height // 2)), BLUE)
    # four results (one a hit) on two workers: the watermark came from the origin once
    assert len(node.origin.requests_for("/marks/logo.png")) == 1


def test_a_local_watermark_with_opacity_and_scale(node: Node) -> None:
    status, _, body = get(
        node, "/image/photo.jpg?w=400&wm=marks/local.png&wm_opacity=0.5&wm_w=50&fmt=png"
    )
    assert status == 200
    image = picture(body)
    # 50% of 400 is 200 wide (100 tall), centred, half red over blue
    assert close(image.getpixel((200, 150)), (128, 60, 100))
    assert close(image.getpixel((101, 101)), (128, 60, 100))
    assert close(image.getpixel((99, 150)), BLUE)


@pytest.mark.parametrize(
    ("query", "status", "words"),
    [
        ("wm=cdn/missing.png", 400, "no image named"),
        ("wm=marks/missing.png", 400, "no image named"),
        ("wm=cdn/bomb.png", 422, "too large"),
        ("wm=marks/notes.png", 415, "not an image"),
        ("wm_gravity=north", 400, "give wm too"),
    ],
)
def test_bad_watermarks_are_problems_naming_wm(
    node: Node, query: str, status: int, words: str
) -> None:
    answered, headers, body = get(node, f"/image/photo.jpg?w=100&{query}")
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert words in problem["detail"] and "wm" in problem["detail"]


def test_thumbor_and_imgproxy_urls_draw_watermarks(node: Node) -> None:
    host = f"{node.origin.host}:{node.origin.port}"
    status, _, body = get(
        node,
        f"/thumbor/unsafe/300x200/filters:watermark({host}/marks/logo.png,-10,-10,0)"
        ":format(png)/photo.jpg",
    )
    assert status == 200, body
    image = picture(body)
    assert image.size == (300, 200)
    assert close(image.getpixel((300 - 12, 200 - 12)), RED)
    assert close(image.getpixel((300 - 8, 200 - 8)), BLUE)
    # imgproxy: the server's default watermark (imgproxy_watermark), north-west, 5 in
    status, _, body = get(
        node, "/imgproxy/insecure/w:300/wm:1:nowe:5:5/plain/local:///photo.jpg@png"
    )
    assert status == 200, body
    image = picture(body)
    assert close(image.getpixel((6, 6)), RED) and close(image.getpixel((3, 3)), BLUE)
    encoded_url = base64.urlsafe_b64encode(f"{node.origin.base}marks/logo.png".encode()).decode()
    status, _, body = get(
        node,
        f"/imgproxy/insecure/w:300/wm:1:soea:0:0/wmu:{encoded_url.rstrip('=')}"
        "/plain/local:///photo.jpg@png",
    )
    assert status == 200, body
    assert close(picture(body).getpixel((298, 223)), RED)


def test_a_changed_watermark_changes_the_results(node: Node) -> None:
    path = "/image/photo.jpg?w=200&wm=marks/changing.png&fmt=png"
    mark = node.root / "marks" / "changing.png"
    mark.write_bytes(encode(Image.new("RGBA", (20, 20), (*RED, 255)), "PNG"))
    _, first, body = get(node, path)
    assert close(picture(body).getpixel((100, 75)), RED)
    assert get(node, path)[1]["etag"] == first["etag"]
    mark.write_bytes(encode(Image.new("RGBA", (20, 20), (*GREEN, 255)), "PNG"))
    os.utime(mark, ns=(1_800_000_000_000_000_000, 1_800_000_000_000_000_000))
    _, second, body = get(node, path)
    assert second["etag"] != first["etag"]
    assert close(picture(body).getpixel((100, 75)), GREEN)


def test_a_frame_from_the_origin(node: Node) -> None:
    patch = Image.new("RGBA", (12, 12), 0)
    for x in range(1, 11):
        for y in range(1, 11):
            if not (4 <= x <= 7 and 4 <= y <= 7):
                patch.putpixel((x, y), (*GREEN, 255))
    for i in range(5, 7):  # stretch the middle; the content sits 3 in on every side
        patch.putpixel((i, 0), (0, 0, 0, 255))
        patch.putpixel((0, i), (0, 0, 0, 255))
    for i in range(4, 8):
        patch.putpixel((i, 11), (0, 0, 0, 255))
        patch.putpixel((11, i), (0, 0, 0, 255))
    node.origin.routes["/marks/frame.9.png"] = Route(encode(patch, "PNG"), etag='"f"')
    status, _, body = get(node, "/image/photo.jpg?w=200&ninepatch=cdn/frame.9.png&fmt=png")
    assert status == 200, body
    image = picture(body)
    assert image.size == (206, 156)
    assert close(image.getpixel((1, 1)), GREEN) and close(image.getpixel((103, 78)), BLUE)


def test_a_changed_origin_watermark_gives_new_results_after_the_ttl(
    make_app: MakeApp, root: Path
) -> None:
    """With `source_ttl` 0 every request revalidates the watermark at the origin."""
    (root / "photo.jpg").write_bytes(PHOTO)
    with running_origin() as origin:
        origin.routes["/marks/logo.png"] = Route(LOGO, etag='"1"')
        mounts = {"cdn": {"type": "http", "base": origin.base + "marks/", "allow_private": True}}
        app: Flask = make_app(sources=mounts, source_ttl=0)
        client = app.test_client()
        path = "/image/photo.jpg?w=200&wm=cdn/logo.png&fmt=png"
        first = client.get(path)
        assert first.status_code == 200
        assert client.get(path).headers["ETag"] == first.headers["ETag"]
        green = encode(Image.new("RGBA", (60, 30), (*GREEN, 255)), "PNG")
        origin.routes["/marks/logo.png"] = Route(green, etag='"2"')
        second = client.get(path)
        assert second.headers["ETag"] != first.headers["ETag"]
        assert close(picture(second.data).getpixel((100, 75)), GREEN)


def test_the_signature_covers_the_watermark(make_app: MakeApp, root: Path) -> None:
    """A signed URL cannot be given another watermark, or moved: `wm_*` are signed."""
    from pixserve.http.signing import sign_url

    (root / "marks").mkdir()
    (root / "marks" / "a.png").write_bytes(LOGO)
    (root / "marks" / "b.png").write_bytes(LOGO)
    client = make_app(signing_keys=(SIGNING_KEY,)).test_client()
    signed = sign_url("/image/photo.jpg?w=200&wm=marks/a.png&wm_gravity=southeast", SIGNING_KEY)
    assert client.get(signed).status_code == 200
    assert client.get(signed.replace("marks/a.png", "marks/b.png")).status_code == 403
    assert client.get(signed.replace("southeast", "northwest")).status_code == 403
    assert client.get(signed + "&wm_opacity=0.1").status_code == 403
