"""`/info/<name>`: facts about a source, cached and revalidated like `/image`."""

from __future__ import annotations

import base64
import io
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import blurhash
import pytest
from flask.testing import FlaskClient
from PIL import Image

import pixserve.http.delivery
from pixserve.transformer.info import describe
from tests.helpers import MakeApp, encode, gradient

KEY = "k" * 32


def test_photo_facts(client: FlaskClient) -> None:
    response = client.get("/info/photo.jpg")
    assert response.status_code == 200 and response.mimetype == "application/json"
    facts = json.loads(response.get_data())
    assert facts["name"] == "photo.jpg"
    assert (facts["width"], facts["height"], facts["format"]) == (800, 600, "jpeg")
    assert facts["has_alpha"] is False and facts["frames"] == 1 and facts["orientation"] == 1
    assert facts["bytes"] > 0 and facts["dominant_color"].startswith("#")
    assert len(blurhash.components(facts["blurhash"])) == 2  # decodes: (x, y) components
    assert facts["placeholder"].startswith("data:image/webp;base64,")
    placeholder = Image.open(io.BytesIO(base64.b64decode(facts["placeholder"].split(",", 1)[1])))
    assert placeholder.width == 16 and abs(placeholder.height - 12) <= 1


def test_cached_and_revalidated(client: FlaskClient) -> None:
    first = client.get("/info/sub/alpha.png")
    second = client.get("/info/sub/alpha.png")
    assert (first.headers["X-Cache"], second.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.get_data() == second.get_data()
    assert first.headers["Cache-Control"] == "max-age=86400"
    again = client.get("/info/sub/alpha.png", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert json.loads(first.get_data())["has_alpha"] is True


def test_etag_differs_from_the_image(client: FlaskClient) -> None:
    assert (
        client.get("/info/photo.jpg").headers["ETag"]
        != client.get("/image/photo.jpg").headers["ETag"]
    )


def test_orientation_swaps_the_size(root: Path, client: FlaskClient) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    (root / "sideways.jpg").write_bytes(encode(gradient((80, 40)), "JPEG", exif=exif))
    facts = json.loads(client.get("/info/sideways.jpg").get_data())
    assert (facts["width"], facts["height"], facts["orientation"]) == (40, 80, 6)


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/info/missing.jpg", 404),
        ("/info/notes.txt", 415),
        ("/info/photo.jpg?w=10", 400),
        ("/info/../root/photo.jpg", 404),
        ("/info/photo.jpg?v=2", 200),
    ],
)
def test_errors(client: FlaskClient, path: str, status: int) -> None:
    assert client.get(path).status_code == status


def test_signed_like_image(make_app: MakeApp) -> None:
    from pixserve import sign_url

    client = make_app(signing_keys=(KEY,)).test_client()
    assert client.get("/info/photo.jpg").status_code == 403
    assert client.get(sign_url("/info/photo.jpg", KEY)).status_code == 200


def test_corpus_facts(corpus: Path) -> None:
    cmyk = describe((corpus / "color/cmyk-with-profile.jpg").read_bytes())
    assert cmyk["mode"] == "CMYK" and "SWOP" in cmyk["icc"]
    animated = describe((corpus / "animated/big-height.webp").read_bytes())
    assert animated["frames"] == 97 and (animated["width"], animated["height"]) == (13, 169)
    portrait = describe((corpus / "orientation/Portrait_6.jpg").read_bytes())
    assert (portrait["width"], portrait["height"]) == (450, 600)


def test_dominant_colour_of_a_flat_picture() -> None:
    facts = describe(encode(Image.new("RGB", (64, 48), (200, 30, 40)), "PNG"))
    red, green, blue = (int(facts["dominant_color"][i : i + 2], 16) for i in (1, 3, 5))
    assert abs(red - 200) < 8 and green < 40 and blue < 50


def test_concurrent_misses_share_one_describe(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen requests for one uncached /info: one decode, sixteen identical answers."""
    calls: list[int] = []

    def slow_describe(*args: Any, **kwargs: Any) -> dict[str, Any]:
        calls.append(1)
        time.sleep(0.3)  # long enough for every request to arrive while it runs
        return describe(*args, **kwargs)

    monkeypatch.setattr(pixserve.http.delivery, "describe", slow_describe)
    start = threading.Barrier(16)

    def get(_: int) -> tuple[int, bytes, str]:
        start.wait()
        response = client.get("/info/photo.jpg")
        return response.status_code, response.get_data(), response.headers["X-Cache"]

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(get, range(16)))
    assert len(calls) == 1
    assert {(status, body) for status, body, _ in answers} == {(200, answers[0][1])}
    assert sorted(cache for _, _, cache in answers) == ["HIT"] * 15 + ["MISS"]


def test_a_very_tall_strip_is_described() -> None:
    """Found by fuzzing: a 32x400000 picture made a placeholder taller than WebP holds
    (a 500 from /info); the thumbnail is now bounded both ways."""
    buffer = io.BytesIO()
    Image.new("RGB", (32, 400_000), (10, 120, 200)).save(buffer, "PNG")
    facts = describe(buffer.getvalue())
    assert (facts["width"], facts["height"]) == (32, 400_000)
    assert facts["placeholder"].startswith("data:image/webp;base64,")
    assert facts["dominant_color"] == "#0a78c8"
