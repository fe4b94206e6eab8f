"""The per-process memos of the hit path: found sources, understood requests, and the
log line's cached parts, each never trusted past a change."""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pixserve.ops.logs import JsonFormatter
from pixserve.sources.local import find_source
from tests.helpers import MakeApp, encode, gradient


def test_an_unchanged_source_is_the_same_object(root: Path) -> None:
    first = find_source(root, "photo.jpg")
    assert first is not None and find_source(root, "photo.jpg") is first


def test_a_replaced_or_removed_source_is_looked_up_again(root: Path) -> None:
    first = find_source(root, "photo.jpg")
    assert first is not None
    replacement = root / "photo.new"
    replacement.write_bytes(encode(gradient((64, 48)), "JPEG"))
    os.replace(replacement, root / "photo.jpg")  # a new inode under the same name
    second = find_source(root, "photo.jpg")
    assert second is not None and second is not first and second.size != first.size
    (root / "photo.jpg").unlink()
    assert find_source(root, "photo.jpg") is None


def test_a_source_rewritten_in_place_with_its_mtime_set_back(root: Path) -> None:
    """Same inode, same size, same mtime: the ctime still tells."""
    photo = root / "photo.jpg"
    first = find_source(root, "photo.jpg")
    assert first is not None
    before = photo.stat()
    time.sleep(0.01)
    data = bytearray(photo.read_bytes())
    data[-3] ^= 0xFF
    photo.write_bytes(bytes(data))
    os.utime(photo, ns=(before.st_atime_ns, before.st_mtime_ns))
    again = find_source(root, "photo.jpg")
    assert again is not None and again is not first


def test_a_last_segment_turned_into_a_symlink_out_of_the_root(root: Path) -> None:
    assert find_source(root, "photo.jpg") is not None
    outside = root.parent / "outside.jpg"
    os.replace(root / "photo.jpg", outside)
    (root / "photo.jpg").symlink_to(outside)
    assert find_source(root, "photo.jpg") is None


def test_a_name_through_a_symlink_is_resolved_each_time(root: Path) -> None:
    (root / "alias.jpg").symlink_to(root / "photo.jpg")
    assert find_source(root, "alias.jpg") is not None
    (root / "alias.jpg").unlink()
    (root / "alias.jpg").symlink_to(root.parent)  # now a directory
    assert find_source(root, "alias.jpg") is None


def test_a_repeated_request_is_understood_once(make_app: MakeApp) -> None:
    """Same URL and negotiating headers: the same `ImageRequest`; another `Accept`,
    `Save-Data` or query: another one."""
    from flask import Flask

    from pixserve.http.request import image_request
    from pixserve.services import services

    app: Flask = make_app()

    def understood(url: str, **headers: str) -> object:
        with app.test_request_context(url, headers=headers):
            return image_request(services(), url.split("?")[0].removeprefix("/image/"))

    url = "/image/photo.jpg?w=100&q=auto"
    first = understood(url, Accept="image/webp")
    assert understood(url, Accept="image/webp") is first
    assert understood(url, Accept="image/avif") is not first
    assert understood(url, Accept="image/webp", **{"Save-Data": "on"}) is not first
    assert understood("/image/photo.jpg?q=auto&w=100", Accept="image/webp") is not first


@given(st.floats(min_value=0, max_value=4_000_000_000, allow_nan=False))
def test_the_log_timestamp_is_datetimes(created: float) -> None:
    expected = datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")
    assert JsonFormatter()._timestamp(created) == expected


def test_the_log_line_is_one_json_object(caplog: pytest.LogCaptureFixture) -> None:
    record = logging.LogRecord("x", logging.INFO, "f", 1, "GET /a é", (), None)
    record.fields = {"status": 200, "path": "/é"}
    line = JsonFormatter().format(record)
    assert line.startswith('{"ts": "') and '"msg": "GET /a é"' in line and '"path": "/é"' in line
