"""The cache tells its owner what each store evicted (for the eviction metrics)."""

from __future__ import annotations

from pathlib import Path

from pixserve.cache import DiskCache, Freed
from tests.helpers import cache_key


def test_on_evict_hears_each_eviction_with_its_bytes(tmp_path: Path) -> None:
    heard: list[Freed] = []
    cache = DiskCache(tmp_path, max_bytes=1000, on_evict=heard.append, whole_folder=False)
    for n in range(4):
        cache.store(cache_key(n), "png", b"x" * 200, "src.jpg")
    assert heard == []  # 800 bytes fit
    cache.store(cache_key(4), "png", b"x" * 300, "src.jpg")  # 1100: down to 900
    assert heard == [Freed(entries=1, bytes=200)]
    assert cache.lookup(cache_key(0), ("png",)) is None


def test_expired_entries_count_as_evicted(tmp_path: Path) -> None:
    heard: list[Freed] = []
    cache = DiskCache(tmp_path, max_bytes=1 << 20, on_evict=heard.append)
    cache.store(cache_key(1), "png", b"x" * 100, "src.jpg")
    cache.store(cache_key(2), "png", b"y" * 50, "src.jpg")
    assert heard == []
    cache.max_age = 1e-9  # every earlier entry has now expired
    cache.store(cache_key(3), "png", b"z" * 10, "src.jpg")
    assert sum(freed.entries for freed in heard) == 2
    assert sum(freed.bytes for freed in heard) == 150
