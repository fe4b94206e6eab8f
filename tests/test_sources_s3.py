"""Originals from S3: a real SeaweedFS on loopback (loopback/seaweed.py), read through boto3."""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image

from loopback.harness import free_port
from loopback.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed, running_seaweed
from pixserve.web.helpers import image_srcset, source_size
from tests.helpers import MakeApp, encode, gradient

pytestmark = pytest.mark.slow  # each module starts SeaweedFS

BUCKET = "user-uploads"
PHOTO = encode(gradient((800, 600)), "JPEG", quality=90)
ALPHA = encode(gradient((400, 300), "RGBA"), "PNG")


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    try:
        with running_seaweed(tmp_path_factory.mktemp("seaweed")) as running:
            running.client().create_bucket(Bucket=BUCKET)
            yield running
    except RuntimeError as error:
        pytest.skip(f"SeaweedFS could not start, so the S3 tests cannot run: {error}")


@pytest.fixture
def bucket(seaweed: Seaweed, monkeypatch: pytest.MonkeyPatch, request: Any) -> Any:
    """The bucket with fresh objects under a prefix of this test's own."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client = seaweed.client()
    prefix = f"{request.node.name.replace('[', '-').replace(']', '')}/"
    client.put_object(Bucket=BUCKET, Key=prefix + "2024/photo.jpg", Body=PHOTO)
    client.put_object(Bucket=BUCKET, Key=prefix + "alpha.png", Body=ALPHA)
    client.put_object(Bucket=BUCKET, Key=prefix + "notes.txt", Body=b"not an image")
    client.prefix = prefix
    return client


def uploads(seaweed: Seaweed, objects: Any, **settings: object) -> dict[str, object]:
    table: dict[str, object] = {
        "type": "s3",
        "bucket": BUCKET,
        "prefix": objects.prefix,
        "endpoint": seaweed.endpoint,
        "region": "us-east-1",
    }
    table.update(settings)
    return {"uploads": table}


@pytest.fixture
def s3_app(make_app: MakeApp, seaweed: Seaweed, bucket: Any) -> Flask:
    return make_app(sources=uploads(seaweed, bucket))


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def test_transforms_info_and_helpers_from_s3(s3_app: Flask) -> None:
    client = s3_app.test_client()
    response = client.get("/image/uploads/2024/photo.jpg?w=200&fmt=png")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/png" and size_of(response.data) == (200, 150)
    assert response.last_modified is not None
    cover = client.get("/image/uploads/alpha.png?w=64&h=64&fit=cover&fmt=webp")
    assert cover.status_code == 200 and size_of(cover.data) == (64, 64)
    info = client.get("/info/uploads/2024/photo.jpg").get_json()
    assert (info["name"], info["width"], info["height"]) == ("uploads/2024/photo.jpg", 800, 600)
    assert client.get("/image/uploads/notes.txt").status_code == 415
    with s3_app.test_request_context("/"):
        assert source_size("uploads/alpha.png") == (400, 300)
        assert "/image/uploads/alpha.png?w=320 320w" in image_srcset("uploads/alpha.png")


def test_within_the_ttl_hits_and_new_widths_need_no_round_trip(s3_app: Flask, bucket: Any) -> None:
    client = s3_app.test_client()
    first = client.get("/image/uploads/2024/photo.jpg?w=300")
    assert first.status_code == 200
    bucket.delete_object(Bucket=BUCKET, Key=bucket.prefix + "2024/photo.jpg")
    # the identity and the bytes are kept: a hit and a new width both work
    assert client.get("/image/uploads/2024/photo.jpg?w=300").headers["X-Cache"] == "HIT"
    other = client.get("/image/uploads/2024/photo.jpg?w=310")
    assert other.status_code == 200 and size_of(other.data) == (310, 232)


def test_a_replaced_object_gets_a_new_etag_after_the_ttl(
    make_app: MakeApp, seaweed: Seaweed, bucket: Any
) -> None:
    client = make_app(sources=uploads(seaweed, bucket), source_ttl=0).test_client()
    first = client.get("/image/uploads/2024/photo.jpg?w=100")
    assert (
        client.get("/image/uploads/2024/photo.jpg?w=100").headers["ETag"] == first.headers["ETag"]
    )
    replaced = encode(gradient((500, 500)), "JPEG")
    bucket.put_object(Bucket=BUCKET, Key=bucket.prefix + "2024/photo.jpg", Body=replaced)
    after = client.get("/image/uploads/2024/photo.jpg?w=100")
    assert after.headers["ETag"] != first.headers["ETag"] and size_of(after.data) == (100, 100)


def test_two_nodes_compute_the_same_etag(
    make_app: MakeApp, seaweed: Seaweed, bucket: Any, tmp_path: Path
) -> None:
    one = make_app(sources=uploads(seaweed, bucket), cache_dir=tmp_path / "node-1")
    two = make_app(sources=uploads(seaweed, bucket), cache_dir=tmp_path / "node-2")
    url = "/image/uploads/2024/photo.jpg?w=150"
    first, second = one.test_client().get(url), two.test_client().get(url)
    assert first.headers["X-Cache"] == second.headers["X-Cache"] == "MISS"
    assert first.headers["ETag"] == second.headers["ETag"]


def test_missing_objects_and_buckets_are_404(
    make_app: MakeApp, seaweed: Seaweed, bucket: Any
) -> None:
    client = make_app(sources=uploads(seaweed, bucket)).test_client()
    assert client.get("/image/uploads/2024/none.jpg").status_code == 404
    nowhere = make_app(sources=uploads(seaweed, bucket, bucket="no-such-bucket"))
    assert nowhere.test_client().get("/image/uploads/2024/photo.jpg").status_code == 404


def test_refused_credentials_are_a_502_logged_without_the_key(
    make_app: MakeApp,
    seaweed: Seaweed,
    bucket: Any,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "a-wrong-secret-key-0000")
    client = make_app(sources=uploads(seaweed, bucket)).test_client()
    with caplog.at_level(logging.WARNING):
        response = client.get("/image/uploads/2024/photo.jpg")
    assert response.status_code == 502
    assert response.get_json()["type"].endswith("origin-failed")
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "'uploads'" in logged and "credentials refused" in logged
    assert ACCESS_KEY not in logged and "a-wrong-secret-key" not in logged
    assert ACCESS_KEY not in response.get_data(as_text=True)


def test_an_unreachable_endpoint_is_a_502(make_app: MakeApp, bucket: Any) -> None:
    table = {
        "type": "s3",
        "bucket": BUCKET,
        "endpoint": f"http://127.0.0.1:{free_port()}",
        "region": "us-east-1",
    }
    response = make_app(sources={"uploads": table}).test_client().get("/image/uploads/a.jpg")
    assert response.status_code == 502


def test_with_seaweedfs_stopped_made_results_are_still_served(
    make_app: MakeApp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """stale-if-error on a real S3 store going away (issue 23): past `source_ttl` the
    results already made, and new widths from the kept original, are served; an
    object never fetched is a 502."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    try:
        store = running_seaweed(tmp_path / "own-seaweed")
        own = store.__enter__()
    except RuntimeError as error:
        pytest.skip(f"SeaweedFS could not start: {error}")
    try:
        client = own.client()
        client.create_bucket(Bucket=BUCKET)
        client.put_object(Bucket=BUCKET, Key="down/photo.jpg", Body=PHOTO)
        client.prefix = "down/"
        app = make_app(sources=uploads(own, client), source_ttl="1s", time_limit="3s")
        assert app.test_client().get("/image/uploads/photo.jpg?w=100").status_code == 200
    finally:
        store.__exit__(None, None, None)  # SeaweedFS stops
    time.sleep(1.2)
    web = app.test_client()
    made = web.get("/image/uploads/photo.jpg?w=100")
    assert made.status_code == 200 and made.headers["X-Cache"] == "HIT"
    assert web.get("/image/uploads/photo.jpg?w=50").status_code == 200
    assert web.get("/image/uploads/never.jpg").status_code in (502, 504)


def test_a_watermark_from_s3_is_drawn_and_follows_its_object(
    make_app: MakeApp, seaweed: Seaweed, bucket: Any
) -> None:
    """`wm` names an object of the S3 mount; a replaced object (after `source_ttl`, 0
    here) gives new results, and deleting it makes the URL a 400 naming `wm`."""
    red = encode(Image.new("RGBA", (40, 20), (255, 0, 0, 255)), "PNG")
    bucket.put_object(Bucket=BUCKET, Key=bucket.prefix + "marks/logo.png", Body=red)
    client = make_app(sources=uploads(seaweed, bucket), source_ttl=0).test_client()
    path = "/image/uploads/2024/photo.jpg?w=200&wm=uploads/marks/logo.png&wm_gravity=northwest"
    first = client.get(path + "&fmt=png")
    assert first.status_code == 200
    with Image.open(io.BytesIO(first.data)) as image:
        assert image.convert("RGB").getpixel((5, 5)) == (255, 0, 0)
    green = encode(Image.new("RGBA", (40, 20), (0, 255, 0, 255)), "PNG")
    bucket.put_object(Bucket=BUCKET, Key=bucket.prefix + "marks/logo.png", Body=green)
    second = client.get(path + "&fmt=png")
    assert second.headers["ETag"] != first.headers["ETag"]
    with Image.open(io.BytesIO(second.data)) as image:
        assert image.convert("RGB").getpixel((5, 5)) == (0, 255, 0)
    bucket.delete_object(Bucket=BUCKET, Key=bucket.prefix + "marks/logo.png")
    gone = client.get(path + "&fmt=jpeg")
    assert gone.status_code == 400 and "wm" in gone.get_json()["detail"]
