"""Many nodes, one bucket: two real `pixserve serve` nodes reading one SeaweedFS bucket,
no shared folder, behind Debian's nginx running the shipped config with
`hash $request_uri consistent` (the layout docs/deploy.md recommends)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from loopback.harness import Served, get, stop
from loopback.nginx_front import find_nginx, nginx_in_front
from loopback.seaweed import ACCESS_KEY, SECRET_KEY, Seaweed, running_seaweed
from tests.helpers import encode, gradient
from tests.live_server import live_server

NGINX = find_nginx()
pytestmark = [
    pytest.mark.nginx,
    pytest.mark.slow,
    pytest.mark.skipif(
        NGINX is None,
        reason="nginx is not installed (Debian's nginx package; .ci/run installs it when root)",
    ),
]
BUCKET = "fleet-originals"
TTL = 2


@pytest.fixture(scope="module")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seaweed]:
    try:
        with running_seaweed(tmp_path_factory.mktemp("seaweed")) as running:
            running.client().create_bucket(Bucket=BUCKET)
            yield running
    except RuntimeError as error:
        pytest.skip(f"SeaweedFS could not start, so the S3 tests cannot run: {error}")


def answered(node: Served) -> list[str]:
    """The image URLs this node answered, from its request log."""
    lines = [json.loads(line) for line in node.log.read_text().splitlines() if line]
    return [
        f"{line['path']}?{line['query']}"
        for line in lines
        if line.get("logger") == "pixserve.requests" and line["path"].startswith("/image/")
    ]


def test_two_nodes_share_one_bucket_behind_nginx(tmp_path: Path, seaweed: Seaweed) -> None:
    assert NGINX is not None
    client = seaweed.client()
    client.put_object(Bucket=BUCKET, Key="photo.jpg", Body=encode(gradient((800, 600)), "JPEG"))
    (tmp_path / "root").mkdir()  # each node's own, empty: the originals are in the bucket
    config = tmp_path / "pixserve.toml"
    config.write_text(
        f'source_ttl = {TTL}\n[sources.uploads]\ntype = "s3"\nbucket = "{BUCKET}"\n'
        f'endpoint = "{seaweed.endpoint}"\nregion = "us-east-1"\n'
    )
    env = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    args = ["--config", str(config)]
    root = tmp_path / "root"
    with (
        live_server(
            root, tmp_path / "cache-1", tmp_path / "one.log", env=env, args=args, workers=1
        ) as one,
        live_server(
            root, tmp_path / "cache-2", tmp_path / "two.log", env=env, args=args, workers=1
        ) as two,
        nginx_in_front(
            NGINX, one.port, tmp_path / "cache-1", tmp_path / "nginx", (two.port,)
        ) as front,
    ):
        url = "/image/uploads/photo.jpg?w=200&fmt=webp"
        _, from_one, _ = get(one.port, url)
        _, from_two, _ = get(two.port, url)
        assert from_one["X-Cache"] == from_two["X-Cache"] == "MISS"
        assert from_one["ETag"] == from_two["ETag"]  # one key for one object, on every node
        status, via_nginx, _ = get(front.port, url)
        assert status == 200 and via_nginx["ETag"] == from_one["ETag"]

        # nginx sends each URL to one node, and both nodes get a share
        urls = [f"/image/uploads/photo.jpg?w={width}&fmt=webp" for width in range(100, 130)]
        for each in urls:
            assert get(front.port, each)[0] == 200
        by_one, by_two = set(answered(one)) & set(urls), set(answered(two)) & set(urls)
        assert by_one and by_two and not by_one & by_two and by_one | by_two == set(urls)

        # replaced in the bucket: both nodes serve the new object within source_ttl
        client.put_object(Bucket=BUCKET, Key="photo.jpg", Body=encode(gradient((600, 600)), "JPEG"))
        time.sleep(TTL + 0.5)
        _, new_one, _ = get(one.port, url)
        _, new_two, _ = get(two.port, url)
        assert new_one["ETag"] == new_two["ETag"] != from_one["ETag"]

        # one node stopped: nginx retries its URLs on the other, no request lost
        stop(one.process)
        fresh = [f"/image/uploads/photo.jpg?w={width}&fmt=jpeg" for width in range(200, 230)]
        assert [get(front.port, each)[0] for each in fresh] == [200] * len(fresh)
        assert set(fresh) <= set(answered(two))
