from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from cache import DiskCache

KEY = "0123456789abcdef0123456789abcdef01234567"


def key(n: int) -> str:
    return f"{n:040x}"


def test_store_then_lookup(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 1 << 20)
    assert cache.lookup(KEY, ("webp",)) is None
    path = cache.store(KEY, "webp", b"data")
    assert path == tmp_path / "01" / "23" / f"{KEY}.webp"
    assert cache.lookup(KEY, ("png", "webp")) == path
    assert path.read_bytes() == b"data"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_zero_byte_entries_are_never_served(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 1 << 20)
    path = cache.path_for(KEY, "jpg")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")
    assert cache.lookup(KEY, ("jpg",)) is None


def test_keys_must_be_digests(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 1 << 20)
    with pytest.raises(ValueError):
        cache.path_for("../../etc", "png")


def test_evicts_least_recently_used(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=1000)
    for n in range(4):
        path = cache.store(key(n), "png", b"x" * 200)
        assert path is not None
        os.utime(path, (1000 + n, 1000 + n))  # stored in order 0, 1, 2, 3
    assert cache.lookup(key(0), ("png",)) is not None  # 0 is now the most recently used
    cache.store(key(4), "png", b"x" * 200)  # 1000 bytes: at the limit
    cache.store(key(5), "png", b"x" * 200)  # over: evict down to 90%
    remaining = {n for n in range(6) if cache.lookup(key(n), ("png",)) is not None}
    assert cache.total_bytes() <= 900
    assert 0 in remaining and 5 in remaining
    assert 1 not in remaining and 2 not in remaining


def test_unwritable_directory_logs_once_and_returns_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    cache = DiskCache(blocker / "cache", 1 << 20)
    with caplog.at_level(logging.WARNING):
        assert cache.store(key(1), "png", b"data") is None
        assert cache.store(key(2), "png", b"data") is None
    assert len([r for r in caplog.records if "cannot write" in r.message]) == 1
    assert cache.lookup(key(1), ("png",)) is None
