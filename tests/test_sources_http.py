"""Originals from an HTTP origin: a real origin on loopback (tests/origin_server.py)."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, render_template_string
from PIL import Image

from loopback.harness import free_port
from pixserve import ConfigError
from pixserve.cli.main import main
from pixserve.web.helpers import image_srcset, source_size
from tests.helpers import MakeApp, encode, gradient, metric_samples
from tests.origin_server import Origin, Route, running_origin

PHOTO = encode(gradient((800, 600)), "JPEG", quality=90)
ALPHA = encode(gradient((400, 300), "RGBA"), "PNG")
MODIFIED = 1_700_000_000.0


@pytest.fixture
def origin() -> Iterator[Origin]:
    with running_origin() as running:
        running.routes.update(
            {
                "/media/photo.jpg": Route(PHOTO, etag='"photo-1"', last_modified=MODIFIED),
                "/media/sub/alpha.png": Route(ALPHA, last_modified=MODIFIED),
                "/media/notes.txt": Route(b"<html>not an image</html>", etag='"n"'),
            }
        )
        yield running


def mount(origin: Origin, **settings: object) -> dict[str, object]:
    table: dict[str, object] = {"type": "http", "base": origin.base + "media/"}
    table.update({"allow_private": True, **settings})
    return {"cms": table}


@pytest.fixture
def cms_app(make_app: MakeApp, origin: Origin) -> Flask:
    return make_app(sources=mount(origin))


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def fetches(origin: Origin, path: str = "/media/photo.jpg") -> int:
    return len(origin.requests_for(path))


def test_transforms_and_info_from_the_origin(cms_app: Flask, origin: Origin) -> None:
    client = cms_app.test_client()
    response = client.get("/image/cms/photo.jpg?w=200&fmt=webp")
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "image/webp" and size_of(response.data) == (200, 150)
    cropped = client.get("/image/cms/sub/alpha.png?w=100&h=100&fit=cover")
    assert cropped.status_code == 200 and size_of(cropped.data) == (100, 100)
    info = client.get("/info/cms/photo.jpg").get_json()
    assert (info["name"], info["width"], info["height"]) == ("cms/photo.jpg", 800, 600)
    assert response.last_modified is not None
    assert response.last_modified.timestamp() == MODIFIED
    # the origin's Content-Type says text/html: the bytes decided
    assert client.get("/image/cms/notes.txt").status_code == 415


def test_a_hit_costs_no_origin_round_trip(cms_app: Flask, origin: Origin) -> None:
    client = cms_app.test_client()
    first = client.get("/image/cms/photo.jpg?w=120")
    again = client.get("/image/cms/photo.jpg?w=120")
    assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("MISS", "HIT")
    assert first.headers["ETag"] == again.headers["ETag"]
    assert fetches(origin) == 1


def test_a_srcset_ladder_fetches_its_original_once(cms_app: Flask, origin: Origin) -> None:
    client = cms_app.test_client()
    widths = (320, 480, 640, 750, 828, 1080, 1200, 1920, 2048, 3840)
    for width in widths:
        assert client.get(f"/image/cms/photo.jpg?w={min(width, 800)}").status_code == 200
    assert fetches(origin) == 1


def test_concurrent_misses_fetch_once(cms_app: Flask, origin: Origin) -> None:
    origin.routes["/media/photo.jpg"].delay = 0.4
    statuses: list[int] = []

    def ask(width: int) -> None:
        statuses.append(cms_app.test_client().get(f"/image/cms/photo.jpg?w={width}").status_code)

    threads = [threading.Thread(target=ask, args=(100 + i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 6
    assert fetches(origin) == 1


def test_after_the_ttl_a_conditional_request_revalidates(make_app: MakeApp, origin: Origin) -> None:
    client = make_app(sources=mount(origin), source_ttl=0).test_client()
    first = client.get("/image/cms/photo.jpg?w=100")
    second = client.get("/image/cms/photo.jpg?w=100")
    assert second.headers["ETag"] == first.headers["ETag"]
    assert second.headers["X-Cache"] == "HIT"
    asked = origin.requests_for("/media/photo.jpg")
    assert len(asked) == 2 and asked[1].headers.get("If-None-Match") == '"photo-1"'
    # replaced at the origin: new bytes, new ETag, new result
    origin.routes["/media/photo.jpg"] = Route(
        encode(gradient((640, 640)), "JPEG"), etag='"photo-2"'
    )
    third = client.get("/image/cms/photo.jpg?w=100")
    assert third.headers["ETag"] != first.headers["ETag"]
    assert size_of(third.data) == (100, 100)


def test_without_an_etag_last_modified_and_length_identify(
    make_app: MakeApp, origin: Origin
) -> None:
    client = make_app(sources=mount(origin), source_ttl=0).test_client()
    assert client.get("/image/cms/sub/alpha.png?w=50").status_code == 200
    assert client.get("/image/cms/sub/alpha.png?w=50").headers["X-Cache"] == "HIT"
    asked = origin.requests_for("/media/sub/alpha.png")
    assert asked[1].headers.get("If-Modified-Since") == "Tue, 14 Nov 2023 22:13:20 GMT"


def test_within_the_ttl_a_replaced_original_keeps_its_results(
    make_app: MakeApp, origin: Origin
) -> None:
    client = make_app(sources=mount(origin), source_ttl=3600).test_client()
    first = client.get("/image/cms/photo.jpg?w=100")
    origin.routes["/media/photo.jpg"] = Route(encode(gradient((640, 640)), "JPEG"), etag='"2"')
    assert client.get("/image/cms/photo.jpg?w=100").headers["ETag"] == first.headers["ETag"]
    assert fetches(origin) == 1


def test_helpers_read_the_size_from_the_origin(cms_app: Flask, origin: Origin) -> None:
    with cms_app.test_request_context("/"):
        assert source_size("cms/photo.jpg") == (800, 600)
        srcset = image_srcset("cms/photo.jpg", widths=(320, 640, 1080))
    assert "/image/cms/photo.jpg?w=320 320w" in srcset and "800w" in srcset
    assert fetches(origin) == 1


@pytest.mark.parametrize(
    ("route", "status", "slug"),
    [
        (Route(status=404), 404, None),
        (Route(status=403), 404, None),
        (Route(b"oops", status=500), 502, "origin-failed"),
        (Route(b"oops", status=503), 502, "origin-failed"),
        (Route(reset=True), 502, "origin-failed"),
        (Route(PHOTO, delay=3), 504, "origin-timeout"),
        (Route(PHOTO, trickle=0.05), 504, "origin-timeout"),
        (Route(endless=True), 422, "image-too-large"),
        # sends more than it says: read as declared, so a cut image
        (Route(PHOTO, declared_length=10), 422, "undecodable-image"),
        (Route(PHOTO[:1000], declared_length=10_000_000), 422, "image-too-large"),
    ],
    ids=[
        "404",
        "403",
        "500",
        "503",
        "reset",
        "slow-headers",
        "slow-body",
        "endless",
        "longer-than-declared",
        "declared-too-big",
    ],
)
def test_origin_failures_are_problems_never_500(
    make_app: MakeApp, origin: Origin, route: Route, status: int, slug: str | None
) -> None:
    origin.routes["/media/broken.jpg"] = route
    app = make_app(sources=mount(origin), time_limit=1.5, max_source_bytes=200_000)
    started = time.monotonic()
    response = app.test_client().get("/image/cms/broken.jpg?w=10")
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    if slug is not None:
        assert response.get_json()["type"].endswith(slug)
    assert time.monotonic() - started < 6  # the time limit holds, whatever the origin does


def test_failures_are_not_cached(make_app: MakeApp, origin: Origin) -> None:
    origin.routes["/media/flaky.jpg"] = Route(b"down", status=500)
    client = make_app(sources=mount(origin)).test_client()
    assert client.get("/image/cms/flaky.jpg").status_code == 502
    origin.routes["/media/flaky.jpg"] = Route(PHOTO, etag='"f"')
    assert client.get("/image/cms/flaky.jpg").status_code == 200


def test_a_refused_connection_is_a_502(make_app: MakeApp, tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{free_port()}/"
    app = make_app(sources={"cms": {"type": "http", "base": base, "allow_private": True}})
    response = app.test_client().get("/image/cms/photo.jpg")
    assert response.status_code == 502 and response.get_json()["type"].endswith("origin-failed")


def test_redirects_to_allowed_places_are_followed(make_app: MakeApp, origin: Origin) -> None:
    origin.routes["/media/moved.jpg"] = Route(status=301, location="/media/photo.jpg")
    client = make_app(sources=mount(origin)).test_client()
    response = client.get("/image/cms/moved.jpg?w=80")
    assert response.status_code == 200 and size_of(response.data) == (80, 60)


def test_too_many_redirects_is_a_502(make_app: MakeApp, origin: Origin) -> None:
    origin.routes["/media/loop.jpg"] = Route(status=302, location="/media/loop.jpg")
    client = make_app(sources=mount(origin)).test_client()
    assert client.get("/image/cms/loop.jpg").status_code == 502
    assert fetches(origin, "/media/loop.jpg") == 4  # the first request and three redirects


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]:{port}/media/photo.jpg",
        "http://127.0.0.2:{port}/media/photo.jpg",
        "http://0.0.0.0:{port}/media/photo.jpg",
        "file:///etc/passwd",
    ],
)
def test_redirects_to_refused_addresses_are_not_followed(
    make_app: MakeApp, origin: Origin, target: str
) -> None:
    # Only 127.0.0.1 is allowed; the redirect leads elsewhere.
    origin.routes["/media/trap.jpg"] = Route(status=302, location=target.format(port=origin.port))
    app = make_app(sources=mount(origin, allow_private=["127.0.0.1/32"]))
    started = time.monotonic()
    response = app.test_client().get("/image/cms/trap.jpg")
    assert response.status_code == 502
    assert time.monotonic() - started < 2  # refused before connecting, not timed out
    assert fetches(origin, "/media/photo.jpg") == 0


def test_a_redirect_to_a_private_address_is_refused_with_no_connection(
    make_app: MakeApp,
) -> None:
    """127.0.0.2 is a second origin listening: it must never see a request."""
    with running_origin("127.0.0.2") as private, running_origin() as public:
        private.routes["/secret.jpg"] = Route(PHOTO)
        public.routes["/media/trap.jpg"] = Route(status=307, location=private.base + "secret.jpg")
        app = make_app(sources=mount(public, allow_private=["127.0.0.1/32"]))
        response = app.test_client().get("/image/cms/trap.jpg")
        assert response.status_code == 502
        assert response.get_json()["type"].endswith("origin-address-refused")
        assert private.seen == []


def test_private_origins_need_allow_private(make_app: MakeApp, origin: Origin) -> None:
    table = {"cms": {"type": "http", "base": origin.base + "media/"}}
    response = make_app(sources=table).test_client().get("/image/cms/photo.jpg")
    assert response.status_code == 502
    assert response.get_json()["type"].endswith("origin-address-refused")
    assert "127.0.0.1" not in response.get_data(as_text=True)
    assert origin.seen == []


def test_keys_cannot_leave_the_base(cms_app: Flask, origin: Origin) -> None:
    client = cms_app.test_client()
    assert client.get("/image/cms/../secret.jpg").status_code == 404
    assert client.get("/image/cms/.hidden.jpg").status_code == 404
    assert client.get("/image/cms/a%3Fb%23c.jpg").status_code == 404
    assert [seen.path for seen in origin.seen] == ["/media/a%3Fb%23c.jpg"]


def test_signing_covers_the_mount_and_key(make_app: MakeApp, origin: Origin) -> None:
    app = make_app(sources=mount(origin), signing_keys=("k" * 32,))
    client = app.test_client()
    assert client.get("/image/cms/photo.jpg?w=100").status_code == 403
    with app.test_request_context("/"):
        from pixserve.web.helpers import image_url

        signed = image_url("cms/photo.jpg", w=100)
    assert client.get(signed).status_code == 200
    moved = signed.replace("/image/cms/photo.jpg", "/image/photo.jpg")
    assert client.get(moved).status_code == 403


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"type": "http", "base": "ftp://example.com/"}, "only http and https"),
        ({"type": "http", "base": "file:///etc/"}, "only http and https"),
        ({"type": "http", "base": "https://user:pw@example.com/"}, "no user or password"),
        ({"type": "gopher"}, "must be"),
        ({"type": "s3", "bucket": "b-1", "aws_secret_access_key": "x"}, "AWS chain"),
        ({"type": "http", "base": "https://e.com/", "allow_private": ["nope"]}, "allow_private"),
    ],
)
def test_bad_mounts_stop_start_up(
    make_app: MakeApp, table: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        make_app(sources={"cms": table})


def test_a_mount_and_a_folder_with_one_name_are_refused(make_app: MakeApp, root: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        make_app(sources={"sub": {"type": "http", "base": "https://example.com/"}})
    assert "sources.sub" in str(raised.value) and str(root / "sub") in str(raised.value)


def test_local_files_are_served_beside_mounts(cms_app: Flask) -> None:
    response = cms_app.test_client().get("/image/photo.jpg?w=100")
    assert response.status_code == 200 and size_of(response.data) == (100, 75)


def test_fetches_are_counted_timed_and_in_server_timing(make_app: MakeApp, origin: Origin) -> None:
    origin.routes["/media/broken.jpg"] = Route(b"down", status=500)
    client = make_app(sources=mount(origin), source_ttl=0).test_client()
    miss = client.get("/image/cms/photo.jpg?w=90")
    assert re.match(r"fetch;dur=[0-9.]+, decode;dur=", miss.headers["Server-Timing"])
    client.get("/image/cms/photo.jpg?w=90")  # revalidated: a 304 from the origin
    client.get("/image/cms/missing.jpg")
    client.get("/image/cms/broken.jpg")
    found = metric_samples(client.get("/metrics").get_data(as_text=True))
    fetches = {
        dict(labels)["outcome"]: value
        for (name, labels), value in found.items()
        if name == "pixserve_source_fetches_total" and dict(labels)["source"] == "cms"
    }
    assert fetches == {"fetched": 1, "not_modified": 1, "not_found": 1, "failed": 1}
    assert found[("pixserve_source_fetched_bytes_total", (("source", "cms"),))] == len(PHOTO)
    assert found[("pixserve_source_fetch_seconds_count", (("source", "cms"),))] == 4


def test_pixserve_config_shows_mounts_as_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import tomllib

    from pixserve.cli.main import main

    monkeypatch.delenv("PIXSERVE_CONFIG", raising=False)
    file = tmp_path / "p.toml"
    file.write_text(
        f'root = "{tmp_path}"\nsource_ttl = 30\n'
        '[sources.cms]\ntype = "http"\nbase = "https://cms.example.com/media"\n'
        'allow_private = ["10.0.0.0/8"]\n'
        '[sources.uploads]\ntype = "s3"\nbucket = "user-uploads"\nprefix = "originals/"\n'
    )
    assert main(["config", "--config", str(file)]) == 0
    printed = tomllib.loads(capsys.readouterr().out)
    assert printed["source_ttl"] == 30
    assert printed["sources"]["cms"] == {
        "type": "http",
        "base": "https://cms.example.com/media/",
        "allow_private": ["10.0.0.0/8"],
    }
    assert printed["sources"]["uploads"]["bucket"] == "user-uploads"


def test_mounts_from_the_environment_as_json(root: Path) -> None:
    from pixserve.config.layers import load_config

    tables = '{"cms": {"type": "http", "base": "https://cms.example.com/"}}'
    config = load_config({"PIXSERVE_ROOT": str(root), "PIXSERVE_SOURCES": tables})
    assert list(config.sources.sources) == ["cms"]
    with pytest.raises(ConfigError, match="sources"):
        load_config({"PIXSERVE_ROOT": str(root), "PIXSERVE_SOURCES": "cms=https://x"})


def test_purge_name_drops_the_kept_original_too(
    make_app: MakeApp, origin: Origin, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pixserve.cli.main import main

    assert (
        make_app(sources=mount(origin)).test_client().get("/image/cms/photo.jpg").status_code == 200
    )
    assert (
        make_app(sources=mount(origin)).test_client().get("/image/cms/photo.jpg?w=9").status_code
        == 200
    )
    assert fetches(origin) == 1  # a second app on the same cache found it kept
    status = main(["cache", "purge", "--cache-dir", str(tmp_path / "cache"), "cms/photo.jpg"])
    assert status == 0 and "purged 2 entries of cms/photo.jpg" in capsys.readouterr().out
    again = make_app(sources=mount(origin)).test_client().get("/image/cms/photo.jpg")
    assert again.status_code == 200 and again.headers["X-Cache"] == "MISS"
    assert fetches(origin) == 2


@pytest.mark.parametrize(
    ("address", "default", "with_allow_private"),
    [
        ("127.0.0.1", "loopback", None),
        ("::1", "loopback", None),
        ("10.1.2.3", "private", None),
        ("172.16.0.1", "private", None),
        ("192.168.1.1", "private", None),
        ("fc00::1", "private", None),
        ("100.64.0.1", "CGNAT", None),
        ("169.254.169.254", "link-local", "link-local"),
        ("fe80::1", "link-local", "link-local"),
        ("::ffff:127.0.0.1", "IPv4-mapped", "IPv4-mapped"),
        ("::ffff:8.8.8.8", "IPv4-mapped", "IPv4-mapped"),
        ("2002:7f00:1::1", "IPv4 address inside", "IPv4 address inside"),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "IPv4 address inside", "IPv4 address inside"),
        ("64:ff9b::7f00:1", "IPv4 address inside", "IPv4 address inside"),
        ("::7f00:1", "IPv4 address inside", "IPv4 address inside"),
        ("0.0.0.0", "unspecified", "unspecified"),
        ("::", "unspecified", "unspecified"),
        ("224.0.0.1", "multicast", "multicast"),
        ("ff02::1", "multicast", "multicast"),
        ("255.255.255.255", "broadcast", "broadcast"),
        ("8.8.8.8", None, None),
        ("2606:4700:4700::1111", None, None),
    ],
)
def test_address_verdicts(
    address: str, default: str | None, with_allow_private: str | None
) -> None:
    import ipaddress

    from pixserve.sources.safety import refusal

    parsed = ipaddress.ip_address(address)
    for allow, expected in ((False, default), (True, with_allow_private)):
        verdict = refusal(parsed, allow)
        assert (verdict is None) == (expected is None), (address, allow, verdict)
        if expected is not None:
            assert verdict is not None and expected in verdict
    listed = (ipaddress.ip_network("10.0.0.0/8"),)
    if address == "10.1.2.3":
        assert refusal(parsed, listed) is None
    elif address == "192.168.1.1":
        assert refusal(parsed, listed) is not None


def test_cache_warm_fills_the_cache_from_a_mount(
    origin: Origin,
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pixserve.cli.main import main

    monkeypatch.delenv("PIXSERVE_CONFIG", raising=False)
    file = tmp_path / "p.toml"
    file.write_text(
        f'[sources.cms]\ntype = "http"\nbase = "{origin.base}media/"\nallow_private = true\n'
    )
    argv = ["cache", "warm", "--config", str(file), "--root", str(root)]
    argv += ["--cache-dir", str(tmp_path / "warm"), "--widths", "100,200,300", "--fmt", "webp"]
    assert main([*argv, "cms/photo.jpg"]) == 0
    assert "warmed 3 variants: 3 made" in capsys.readouterr().out
    assert fetches(origin) == 1


def test_an_evicted_original_is_fetched_again(
    make_app: MakeApp, origin: Origin, tmp_path: Path
) -> None:
    client = make_app(sources=mount(origin), source_ttl=3600).test_client()
    first = client.get("/image/cms/photo.jpg?w=100")
    kept = list((tmp_path / "cache" / "originals").rglob("*.orig"))
    assert len(kept) == 1 and kept[0].read_bytes() == PHOTO
    kept[0].unlink()  # as an eviction would
    origin.routes["/media/photo.jpg"] = Route(encode(gradient((640, 640)), "JPEG"), etag='"2"')
    second = client.get("/image/cms/photo.jpg?w=200")
    assert second.status_code == 200 and fetches(origin) == 2
    # the replaced object was noticed: later requests are keyed by its new version
    third = client.get("/image/cms/photo.jpg?w=100")
    assert third.headers["ETag"] != first.headers["ETag"] and size_of(third.data) == (100, 100)
    assert fetches(origin) == 2


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for the name `localhost` (and no address)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed, so no certificate for the HTTPS origin")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost"]
        + ["-addext", "subjectAltName=DNS:localhost"],
        check=True,
        capture_output=True,
    )
    return cert, key


def test_https_origins_are_verified_by_name_at_the_checked_address(
    make_app: MakeApp,
    certificate: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with running_origin(tls=certificate) as origin:
        origin.routes["/media/photo.jpg"] = Route(PHOTO, etag='"tls"')

        def status(base: str, cache: str) -> int:
            table = {"cms": {"type": "http", "base": base, "allow_private": True}}
            app = make_app(sources=table, cache_dir=tmp_path / cache)
            return app.test_client().get("/image/cms/photo.jpg?w=50").status_code

        by_name = f"https://localhost:{origin.port}/media/"
        assert status(by_name, "untrusted") == 502  # a certificate no CA vouches for
        monkeypatch.setenv("SSL_CERT_FILE", str(certificate[0]))  # now trusted
        assert status(by_name, "trusted") == 200  # connected to 127.0.0.1, verified as localhost
        by_address = f"https://127.0.0.1:{origin.port}/media/"
        assert status(by_address, "mismatch") == 502  # the certificate names localhost only


@pytest.fixture
def failing_mounts(origin: Origin) -> dict[str, object]:
    """`cms` on a real origin (photo.jpg there, the rest missing or failing) and
    `down`, an origin nobody listens on."""
    origin.routes["/media/broken.jpg"] = Route(b"oops", status=500)
    down = {"type": "http", "base": f"http://127.0.0.1:{free_port()}/", "allow_private": True}
    return {**mount(origin), "down": down}


def test_a_page_never_fails_for_a_remote_image(
    make_app: MakeApp, failing_mounts: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """The template helpers on a missing, failing or unreachable remote original write
    the plain URL and log it, as they do for a local file (issue 23: the page was a
    404 or 502); the image URL itself answers the problem."""
    app = make_app(sources=failing_mounts)
    names = ["cms/photo.jpg", "cms/missing.jpg", "cms/broken.jpg", "down/photo.jpg"]

    @app.get("/page")
    def page() -> str:
        return render_template_string(
            "{% for name in names %}{{ picture(name, '', '100vw') }}\n{% endfor %}", names=names
        )

    response = app.test_client().get("/page")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "/image/cms/photo.jpg?w=320" in html  # the good one has its ladder
    for name in names[1:]:
        assert f'src="/image/{name}"' in html
        assert any(name in record.getMessage() for record in caplog.records)


def test_cache_warm_on_remote_mounts_reports_each_failure(
    failing_mounts: dict[str, object], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "pixserve.toml"
    tables = "".join(
        f"[sources.{name}]\n" + "".join(f"{k} = {json.dumps(v)}\n" for k, v in table.items())
        for name, table in failing_mounts.items()
        if isinstance(table, dict)
    )
    config.write_text(f'root = "{tmp_path}"\ncache_dir = "{tmp_path / "cache"}"\n{tables}')
    argv = ["cache", "warm", "--config", str(config), "--widths", "100", "--fmt", "webp"]
    status = main([*argv, "cms/photo.jpg", "cms/missing.jpg", "cms/broken.jpg", "down/a.jpg"])
    out, err = capsys.readouterr()
    assert status == 1 and "Traceback" not in out
    # (the origin's own server may print a traceback for the connection pixserve dropped)
    assert not re.search(r'File ".*/pixserve/', err), err
    assert "1 made, 0 already cached, 3 failed" in out
    assert "/image/cms/missing.jpg?fmt=webp: 404 no image named" in err
    assert "/image/cms/broken.jpg?fmt=webp: 502 source 'cms': the origin answered 500" in err
    assert "/image/down/a.jpg?fmt=webp: 502 source 'down': cannot connect" in err


def test_an_origin_outage_serves_what_was_known(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture
) -> None:
    """Past `source_ttl`, an origin that is down no longer turns the mount into 502s:
    made results are served, new ones made from the kept original, for up to
    `source_stale_if_error` (issue 23); an original never seen is still a 502."""
    with running_origin() as origin:
        origin.routes["/media/photo.jpg"] = Route(PHOTO, etag='"p"')
        app = make_app(sources=mount(origin), source_ttl="1s")
        strict = make_app(sources=mount(origin), source_ttl="1s", source_stale_if_error=0)
        client, strict_client = app.test_client(), strict.test_client()
        assert client.get("/image/cms/photo.jpg?w=100").status_code == 200
        assert strict_client.get("/image/cms/photo.jpg?w=100").status_code == 200
    time.sleep(1.2)  # the origin is gone (connections refused) and the ttl has passed
    made = client.get("/image/cms/photo.jpg?w=100")
    assert made.status_code == 200 and made.headers["X-Cache"] == "HIT"
    new = client.get("/image/cms/photo.jpg?w=60")  # from the kept original's bytes
    assert new.status_code == 200 and size_of(new.data)[0] == 60
    assert client.get("/image/cms/other.jpg").status_code == 502
    assert strict_client.get("/image/cms/photo.jpg?w=100").status_code == 502
    warnings = [r for r in caplog.records if "stale-if-error" in r.getMessage()]
    assert len(warnings) == 1  # once per original per outage
    metrics = metric_samples(client.get("/metrics").get_data(as_text=True))
    assert (
        metrics[("pixserve_source_fetches_total", (("outcome", "stale"), ("source", "cms")))] >= 2
    )


def test_a_page_waits_once_for_an_origin_that_is_down(make_app: MakeApp, origin: Origin) -> None:
    """Five images of a page on an origin that does not answer: the first waits its
    time limit, the others are written as plain URLs at once (the page waits one time
    limit, not five); the image URLs themselves still ask the origin."""
    for number in range(5):
        origin.routes[f"/media/slow{number}.jpg"] = Route(PHOTO, delay=5)
    app = make_app(sources=mount(origin), time_limit="1s")

    @app.get("/page")
    def page() -> str:
        return render_template_string(
            "{% for n in range(5) %}{{ picture('cms/slow%d.jpg' % n, '', '100vw') }}{% endfor %}"
        )

    started = time.monotonic()
    response = app.test_client().get("/page")
    waited = time.monotonic() - started
    assert response.status_code == 200 and waited < 3, waited
    html = response.get_data(as_text=True)
    assert all(f'src="/image/cms/slow{n}.jpg"' in html for n in range(5))
