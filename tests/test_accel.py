"""`accel_redirect`: cache hits answered with X-Accel-Redirect for nginx to send."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

from tests.helpers import MakeApp

PREFIX = "/_pixserve_cache/"
URL = "/image/photo.jpg?w=200&fmt=webp"


def test_a_hit_names_the_entry_file_for_nginx_and_sends_no_body(
    make_app: MakeApp, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "accel-cache"
    client = make_app(accel_redirect=PREFIX, cache_dir=cache_dir).test_client()
    miss = client.get(URL)
    assert miss.headers["X-Cache"] == "MISS" and "X-Accel-Redirect" not in miss.headers
    hit = client.get(URL)
    assert hit.status_code == 200 and hit.data == b""
    assert hit.headers["X-Cache"] == "HIT"
    location = hit.headers["X-Accel-Redirect"]
    assert location.startswith(PREFIX)
    entry = cache_dir / unquote(location.removeprefix(PREFIX))
    assert entry.read_bytes() == miss.data  # the very file nginx will send
    for header in ("Content-Type", "ETag", "Last-Modified", "Cache-Control"):
        assert hit.headers[header] == miss.headers[header]
    assert hit.headers["Content-Disposition"] == "inline; filename=photo.webp"
    assert client.head(URL).headers["X-Accel-Redirect"] == location
    revalidated = client.get(URL, headers={"If-None-Match": miss.headers["ETag"]})
    assert revalidated.status_code == 304 and "X-Accel-Redirect" not in revalidated.headers


def test_off_by_default(make_app: MakeApp) -> None:
    client = make_app().test_client()
    client.get(URL)
    hit = client.get(URL)
    assert "X-Accel-Redirect" not in hit.headers and len(hit.data) > 0
