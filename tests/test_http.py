"""The `/image` route through Flask's test client: status codes, headers, caching."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from werkzeug.test import TestResponse

from pixserve.transformer import sniff_format
from tests.helpers import MakeApp, decoded, encode, gradient, problem

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
MIMETYPES = {
    "JPEG": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "AVIF": "image/avif",
    "GIF": "image/gif",
}


def picture(response: TestResponse) -> Image.Image:
    return decoded(response.get_data())


def test_resize_to_webp(client: FlaskClient) -> None:
    response = client.get("/image/photo.jpg?w=300&fmt=webp")
    assert response.status_code == 200
    assert response.mimetype == "image/webp"
    assert picture(response).size == (300, 225)
    assert response.content_length == len(response.get_data())
    etag, weak = response.get_etag()
    assert etag and not weak
    assert response.headers["Cache-Control"] == "max-age=86400"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Disposition"] == "inline; filename=photo.webp"
    assert response.last_modified is not None
    assert "Vary" not in response.headers  # fmt was given, nothing negotiated


@pytest.mark.parametrize(
    "query", ["w=100", "w=100&fmt=png", "w=50&h=50&fit=cover&fmt=gif", "fmt=avif&w=64", "q=40"]
)
@pytest.mark.parametrize("accept", [CHROME, "*/*", "image/webp"])
def test_content_type_matches_the_magic_bytes(client: FlaskClient, query: str, accept: str) -> None:
    for name in ("photo.jpg", "sub/alpha.png", "opaque.webp", "clear.webp"):
        response = client.get(f"/image/{name}?{query}", headers={"Accept": accept})
        assert response.status_code == 200
        sniffed = sniff_format(response.get_data()[:32])
        assert sniffed is not None and response.mimetype == MIMETYPES[sniffed]
        extension = response.headers["Content-Disposition"].rsplit(".", 1)[1]
        assert extension == {"JPEG": "jpg"}.get(sniffed, sniffed.lower())


@pytest.mark.parametrize(
    ("name", "accept", "avif", "mimetype"),
    [
        ("photo.jpg", CHROME, False, "image/webp"),
        ("photo.jpg", CHROME, True, "image/avif"),
        ("photo.jpg", "image/png,*/*", True, "image/jpeg"),
        ("sub/alpha.png", "*/*", True, "image/png"),
        ("clear.webp", "*/*", True, "image/png"),
        ("opaque.webp", "*/*", True, "image/jpeg"),
    ],
)
def test_auto_format_negotiation_says_vary_accept(
    make_app: MakeApp, name: str, accept: str, avif: bool, mimetype: str
) -> None:
    # The negotiation alone; the WebP answered while an AVIF is made: test_upgrade.py.
    client = make_app(avif=avif, avif_upgrade=False).test_client()
    response = client.get(f"/image/{name}?w=100", headers={"Accept": accept})
    assert response.status_code == 200
    assert response.mimetype == mimetype
    assert "Accept" in response.vary


def test_accept_changes_the_etag(client: FlaskClient) -> None:
    webp = client.get("/image/photo.jpg?w=100", headers={"Accept": "image/webp"})
    jpeg = client.get("/image/photo.jpg?w=100", headers={"Accept": "image/jpeg"})
    assert webp.get_etag() != jpeg.get_etag()


def test_miss_then_hit_with_identical_bytes(client: FlaskClient) -> None:
    miss = client.get("/image/photo.jpg?w=200&fmt=webp")
    hit = client.get("/image/photo.jpg?w=200&fmt=webp")
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("MISS", "HIT")
    assert miss.get_data() == hit.get_data()
    for header in (
        "ETag",
        "Content-Type",
        "Content-Length",
        "Cache-Control",
        "Last-Modified",
        "Content-Disposition",
        "X-Content-Type-Options",
    ):
        assert miss.headers[header] == hit.headers[header], header


def test_fallback_hits_the_cache_too(client: FlaskClient) -> None:
    client.get("/image/clear.webp?w=50", headers={"Accept": "*/*"})
    hit = client.get("/image/clear.webp?w=50", headers={"Accept": "*/*"})
    assert hit.headers["X-Cache"] == "HIT" and hit.mimetype == "image/png"


def test_spellings_of_one_transform_share_the_cache(client: FlaskClient) -> None:
    first = client.get("/image/photo.jpg?w=100&fmt=jpg&dpr=1.0")
    second = client.get("/image/photo.jpg?fmt=jpeg&w=100")
    assert second.headers["X-Cache"] == "HIT"
    assert first.get_etag() == second.get_etag()


def test_if_none_match_gives_304(client: FlaskClient) -> None:
    first = client.get("/image/photo.jpg?w=120", headers={"Accept": CHROME})
    etag = first.headers["ETag"]
    again = client.get("/image/photo.jpg?w=120", headers={"Accept": CHROME, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag
    assert "Accept" in again.vary
    assert again.headers["Cache-Control"] == "max-age=86400"
    other = client.get("/image/photo.jpg?w=120", headers={"If-None-Match": '"nope"'})
    assert other.status_code == 200


def test_304_does_not_decode_or_touch_the_cache(
    client: FlaskClient, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    etag = client.get("/image/photo.jpg?w=130&fmt=png").headers["ETag"]

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow was opened for a 304")

    monkeypatch.setattr(Image, "open", refuse)
    monkeypatch.setattr("pixserve.http.delivery.transform", refuse)
    response = client.get("/image/photo.jpg?w=130&fmt=png", headers={"If-None-Match": etag})
    assert response.status_code == 304


def test_if_modified_since_gives_304(client: FlaskClient) -> None:
    first = client.get("/image/photo.jpg?w=90")
    response = client.get(
        "/image/photo.jpg?w=90", headers={"If-Modified-Since": first.headers["Last-Modified"]}
    )
    assert response.status_code == 304


def test_head_has_the_headers_and_no_body(client: FlaskClient) -> None:
    get = client.get("/image/photo.jpg?w=140&fmt=png")
    head = client.head("/image/photo.jpg?w=140&fmt=png")
    assert head.status_code == 200 and head.get_data() == b""
    for header in ("ETag", "Content-Type", "Content-Length", "Cache-Control"):
        assert head.headers[header] == get.headers[header]


@pytest.mark.parametrize("warm", [False, True])
def test_range_requests(client: FlaskClient, warm: bool) -> None:
    whole = client.get("/image/photo.jpg?w=150&fmt=png").get_data() if warm else None
    part = client.get("/image/photo.jpg?w=150&fmt=png", headers={"Range": "bytes=0-9"})
    assert part.status_code == 206
    assert part.headers["Content-Range"].startswith("bytes 0-9/")
    assert len(part.get_data()) == 10
    if whole is not None:
        assert part.get_data() == whole[:10]
    unsatisfiable = client.get(
        "/image/photo.jpg?w=150&fmt=png", headers={"Range": "bytes=99999999-"}
    )
    assert unsatisfiable.status_code == 416


def test_no_transformation_serves_the_original(client: FlaskClient, root: Path) -> None:
    response = client.get("/image/photo.jpg", headers={"Accept": "image/jpeg"})
    assert response.get_data() == (root / "photo.jpg").read_bytes()


def test_changed_source_gets_a_new_etag_and_new_bytes(client: FlaskClient, root: Path) -> None:
    first = client.get("/image/photo.jpg?w=100&fmt=png")
    (root / "photo.jpg").write_bytes(encode(gradient((800, 600)).rotate(180), "JPEG"))
    stat = (root / "photo.jpg").stat()
    os.utime(root / "photo.jpg", ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    second = client.get("/image/photo.jpg?w=100&fmt=png")
    assert second.headers["X-Cache"] == "MISS"
    assert first.get_etag() != second.get_etag()
    assert first.get_data() != second.get_data()


def test_version_token_changes_the_etag_only(client: FlaskClient) -> None:
    plain = client.get("/image/photo.jpg?w=100&fmt=png")
    versioned = client.get("/image/photo.jpg?w=100&fmt=png&v=2")
    assert plain.get_etag() != versioned.get_etag()
    assert plain.get_data() == versioned.get_data()


def test_etag_is_stable_across_app_instances(make_app: MakeApp, tmp_path: Path) -> None:
    one = make_app().test_client().get("/image/photo.jpg?w=100&fmt=webp")
    two = (
        make_app(cache_dir=tmp_path / "other").test_client().get("/image/photo.jpg?w=100&fmt=webp")
    )
    assert two.headers["X-Cache"] == "MISS"
    assert one.headers["ETag"] == two.headers["ETag"]


def test_max_age_comes_from_config(make_app: MakeApp) -> None:
    response = make_app(max_age=60).test_client().get("/image/photo.jpg?w=10")
    assert response.headers["Cache-Control"] == "max-age=60"


@pytest.mark.parametrize(
    ("query", "param"),
    [
        ("w=0", "w"),
        ("w=abc", "w"),
        ("fit=squash", "fit"),
        ("fmt=tiff", "fmt"),
        ("q=500", "q"),
        ("dpr=9", "dpr"),
        ("size=10", "size"),
        ("w=10&w=20", "w"),
        ("v=a%20b", "v"),
    ],
)
def test_bad_query_is_400_naming_the_parameter(client: FlaskClient, query: str, param: str) -> None:
    body = problem(client.get(f"/image/photo.jpg?{query}"), 400)
    assert body["param"] == param
    assert param in str(body["detail"])


@pytest.mark.parametrize(
    "path",
    [
        "/image/missing.jpg",
        "/image/../root/photo.jpg",
        "/image/%2e%2e/root/photo.jpg",
        "/image/%252e%252e/root/photo.jpg",
        "/image/sub/%252e%252e%252fphoto.jpg",
        "/image/..%2f..%2froot%2fphoto.jpg",
        "/image/sub/%2e%2e/%2e%2e/root/photo.jpg",
        "/image/sub%2f..%2f..%2froot%2fphoto.jpg",
        "/image/..%5croot%5cphoto.jpg",
        "/image//etc/passwd",
        "/image/%2fetc%2fpasswd",
        "/image/.hidden.jpg",
        "/image/sub/../photo.jpg",
        "/image/photo.jpg%00.png",
        "/image/sub",
        "/image/" + "a" * 5000 + ".jpg",
        "/image/outside.jpg",
    ],
)
def test_anything_outside_the_root_is_the_same_404(
    client: FlaskClient, root: Path, path: str
) -> None:
    (root.parent / "secret.jpg").write_bytes((root / "photo.jpg").read_bytes())
    (root / "outside.jpg").symlink_to(root.parent / "secret.jpg")
    body = problem(client.get(path), 404)
    assert body["title"] == "Not Found"


def test_symlink_inside_the_root_is_served(client: FlaskClient, root: Path) -> None:
    (root / "alias.jpg").symlink_to(root / "photo.jpg")
    assert client.get("/image/alias.jpg?w=10").status_code == 200


@pytest.mark.parametrize("name", ["notes.txt", "drawing.svg"])
def test_not_an_image_is_415(client: FlaskClient, name: str) -> None:
    body = problem(client.get(f"/image/{name}"), 415)
    assert "svg" not in json.dumps(body).lower() or name == "drawing.svg"


def test_broken_image_is_422(client: FlaskClient, root: Path) -> None:
    data = (root / "photo.jpg").read_bytes()
    (root / "broken.jpg").write_bytes(data[: len(data) // 3])
    problem(client.get("/image/broken.jpg?w=100"), 422)
    problem(client.get("/image/broken.jpg"), 422)


def test_too_many_pixels_is_422(make_app: MakeApp) -> None:
    client = make_app(max_source_pixels=1000).test_client()
    body = problem(client.get("/image/photo.jpg?w=10"), 422)
    assert "480000 pixels" in str(body["detail"])


def test_unwritable_cache_still_serves(make_app: MakeApp, tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("not a directory")
    client = make_app(cache_dir=blocker / "cache").test_client()
    for _ in range(2):
        response = client.get("/image/photo.jpg?w=100&fmt=png")
        assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"


def test_other_routes_and_methods_are_problems(client: FlaskClient) -> None:
    problem(client.get("/nothing-here"), 404)
    response = client.post("/image/photo.jpg")
    problem(response, 405)
    assert "GET" in response.headers["Allow"]


def test_index_page_is_off_by_default(client: FlaskClient) -> None:
    problem(client.get("/"), 404)


@pytest.mark.slow  # fetches every URL the page names
def test_index_page_shows_the_images(make_app: MakeApp) -> None:
    client = make_app(index=True).test_client()
    page = client.get("/").get_data(as_text=True).replace("&amp;", "&")
    assert 'src="/image/photo.jpg?fit=cover&h=160&w=160"' in page  # a thumbnail
    assert "<picture>" in page and 'type="image/webp"' in page
    assert 'type="image/avif"' not in page  # the avif setting is off by default
    assert "320w" in page and "640w" in page and "800w" in page
    assert "1080w" not in page  # the 800-px photo is never offered wider than it is
    assert ".hidden" not in page and "notes.txt" not in page and "drawing.svg" not in page
    sources = re.findall(r'(?:src|srcset)="([^"]+)"', page)
    urls = {url.split(" ")[0] for group in sources for url in group.split(", ")}
    assert len(urls) > 20
    for url in urls:
        assert client.get(url).status_code == 200, url


def test_app_is_a_flask_app(app: Flask) -> None:
    assert "pixserve" in app.extensions


def test_relative_cache_dir_is_taken_from_the_working_directory(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    client = make_app(cache_dir=Path("relative-cache")).test_client()
    assert client.get("/image/photo.jpg?w=60").headers["X-Cache"] == "MISS"
    hit = client.get("/image/photo.jpg?w=60")
    assert hit.status_code == 200 and hit.headers["X-Cache"] == "HIT"
    assert list((tmp_path / "relative-cache").glob("*/*/*"))


def test_entry_evicted_between_lookup_and_send_is_recomputed(
    app: Flask, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cache = app.extensions["pixserve"].cache
    monkeypatch.setattr(cache, "lookup", lambda key, extensions: tmp_path / "gone.png")
    response = app.test_client().get("/image/photo.jpg?w=70&fmt=png")
    assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
