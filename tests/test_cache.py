from __future__ import annotations

import errno
import fcntl
import logging
import os
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from pixserve.cache import DiskCache
from pixserve.cache import files as cache_files
from pixserve.cache.disk import WAL_CUT_AT
from pixserve.cache.index import Entry, Index, wal_bytes_for
from pixserve.cache.troubles import Troubles
from tests.helpers import cache_key

KEY = "0123456789abcdef0123456789abcdef01234567"
MiB = 1 << 20


def warnings_about(caplog: pytest.LogCaptureFixture, text: str) -> int:
    return len([r for r in caplog.records if r.levelno == logging.WARNING and text in r.message])


def test_store_then_lookup(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    assert cache.lookup(KEY, ("webp",)) is None
    path = cache.store(KEY, "webp", b"data", "src.jpg")
    assert path == tmp_path / "01" / "23" / f"{KEY}.webp"
    assert cache.lookup(KEY, ("png", "webp")) == path
    assert cache.lookup(KEY, ("png",)) is None  # another format's entry is not this one
    assert path.read_bytes() == b"data"
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left


def test_another_process_finds_the_entry(tmp_path: Path) -> None:
    """A second instance on the same folder (another worker, a restart) sees the entry."""
    path = DiskCache(tmp_path, MiB).store(KEY, "png", b"data", "src.jpg")
    assert DiskCache(tmp_path, MiB).lookup(KEY, ("png",)) == path


def test_empty_results_are_not_stored(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    assert cache.store(KEY, "png", b"", "src.jpg") is None
    assert cache.lookup(KEY, ("png",)) is None


def test_a_result_larger_than_the_cache_is_not_stored(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, 1000, whole_folder=False)
    assert cache.store(KEY, "png", b"x" * 1001, "src.jpg") is None
    assert cache.total_bytes() == 0


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda path: path.write_bytes(b""), id="zero bytes"),
        pytest.param(lambda path: path.write_bytes(path.read_bytes()[:3]), id="truncated"),
        pytest.param(lambda path: path.write_bytes(b"DATA"), id="same size, other bytes"),
        pytest.param(lambda path: path.write_bytes(b"data and more"), id="longer"),
    ],
)
def test_a_damaged_entry_is_deleted_not_served(
    tmp_path: Path, damage: object, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DiskCache(tmp_path, MiB)
    path = cache.store(KEY, "png", b"data", "src.jpg")
    assert path is not None and cache.lookup(KEY, ("png",)) == path  # checked once
    damage(path)  # type: ignore[operator]
    for reader in (cache, DiskCache(tmp_path, MiB)):  # this process and a fresh one
        assert reader.lookup(KEY, ("png",)) is None
    assert not path.exists()
    assert warnings_about(caplog, "damaged") == 1
    assert cache.store(KEY, "png", b"data", "src.jpg") == path  # made anew
    assert cache.lookup(KEY, ("png",)) == path and path.read_bytes() == b"data"


def test_an_entry_altered_in_place_after_its_check_is_caught(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    path = cache.store(KEY, "png", b"data", "src.jpg")
    assert path is not None
    settled = time.time() - 10
    os.utime(path, (settled, settled))  # old enough to be remembered as checked
    assert cache.lookup(KEY, ("png",)) == path
    with open(path, "r+b") as file:
        file.write(b"DATA")  # same size, same inode: only the mtime moves
    assert cache.lookup(KEY, ("png",)) is None


def test_a_file_without_its_row_is_not_served(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    assert cache.stats().entries == 0  # the index exists (a new one adopts the files)
    path = cache.path_for(KEY, "png")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"planted")
    assert cache.lookup(KEY, ("png",)) is None


def test_keys_must_be_digests(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    for bad in ("../../etc", "ABCDEF0123", "0123"):
        with pytest.raises(ValueError):
            cache.path_for(bad, "png")


def test_evicts_least_recently_used_not_oldest(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=1000, whole_folder=False)
    for n in range(4):
        assert cache.store(cache_key(n), "png", b"x" * 200, "src.jpg") is not None
    assert cache.lookup(cache_key(0), ("png",)) is not None  # the oldest is now the most recent
    cache.store(cache_key(4), "png", b"x" * 200, "src.jpg")  # 1000 bytes: at the limit
    cache.store(cache_key(5), "png", b"x" * 200, "src.jpg")  # over: evict down to 90%
    remaining = {n for n in range(6) if cache.lookup(cache_key(n), ("png",)) is not None}
    assert remaining == {0, 3, 4, 5}
    assert cache.total_bytes() <= 900
    assert cache.stats().bytes == cache.total_bytes()


def test_the_bound_counts_every_process(tmp_path: Path) -> None:
    one, two = (
        DiskCache(tmp_path, 1000, whole_folder=False),
        DiskCache(tmp_path, 1000, whole_folder=False),
    )
    for n in range(10):
        (one if n % 2 else two).store(cache_key(n), "png", b"x" * 150, "src.jpg")
        assert one.total_bytes() <= 1000
    assert one.stats().entries == two.stats().entries == 6  # 900 bytes: 90% of the limit


def test_hits_from_another_instance_count_for_lru(tmp_path: Path) -> None:
    writer, reader = (
        DiskCache(tmp_path, 1000, whole_folder=False),
        DiskCache(tmp_path, 1000, whole_folder=False),
    )
    for n in range(5):
        writer.store(cache_key(n), "png", b"x" * 200, "src.jpg")
    assert reader.lookup(cache_key(0), ("png",)) is not None
    reader.flush()
    writer.store(cache_key(5), "png", b"x" * 200, "src.jpg")
    assert writer.lookup(cache_key(0), ("png",)) is not None
    assert writer.lookup(cache_key(1), ("png",)) is None


def test_entries_expire_after_max_age(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = DiskCache(tmp_path, MiB, max_age=60)
    cache.store(cache_key(1), "png", b"old", "src.jpg")
    assert cache.lookup(cache_key(1), ("png",)) is not None
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    assert cache.lookup(cache_key(1), ("png",)) is None
    assert DiskCache(tmp_path, MiB, max_age=60).lookup(cache_key(1), ("png",)) is None
    cache.store(cache_key(2), "png", b"new", "src.jpg")  # a store also deletes the expired
    assert not cache.path_for(cache_key(1), "png").exists()
    assert cache.lookup(cache_key(2), ("png",)) is not None


def test_purge_one_source_and_all_its_variants(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    for n in range(3):
        cache.store(cache_key(n), "webp", b"a" * 10, "photos/a.jpg")
    cache.store(cache_key(9), "webp", b"b" * 10, "photos/b.jpg")
    freed = cache.purge("photos/a.jpg")
    assert (freed.entries, freed.bytes) == (3, 30)
    assert [n for n in (0, 1, 2, 9) if cache.lookup(cache_key(n), ("webp",))] == [9]
    assert cache.stats().entries == 1 and cache.total_bytes() == 10


def test_purge_everything(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    for n in range(3):
        cache.store(cache_key(n), "webp", b"a" * 10, "a.jpg")
    cache.lookup(cache_key(0), ("webp",))
    freed = cache.purge()
    assert (freed.entries, freed.bytes) == (3, 30)
    stats = cache.stats()
    assert (stats.entries, stats.bytes, stats.hits, stats.misses) == (0, 0, 0, 0)
    assert cache.total_bytes() == 0 and cache.lookup(cache_key(0), ("webp",)) is None


def test_prune_evicts_down_to_a_lowered_limit(tmp_path: Path) -> None:
    DiskCache(tmp_path, MiB).store(cache_key(1), "png", b"x" * 600, "a.jpg")
    DiskCache(tmp_path, MiB).store(cache_key(2), "png", b"x" * 600, "a.jpg")
    freed = DiskCache(tmp_path, 1000, whole_folder=False).prune()
    assert (freed.entries, freed.bytes) == (1, 600)
    assert DiskCache(tmp_path, 1000, whole_folder=False).lookup(cache_key(2), ("png",)) is not None


def test_stats_count_hits_and_misses(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    before = time.time()
    cache.store(cache_key(1), "png", b"one", "one.jpg")  # the first use creates the index
    cache.store(cache_key(2), "png", b"two", "two.jpg")
    for _ in range(3):
        cache.lookup(cache_key(2), ("png",))
    stats = DiskCache(tmp_path, MiB).stats()  # another process: hits not yet written
    assert (stats.entries, stats.bytes, stats.misses) == (2, 6, 2)
    stats = cache.stats()
    assert stats.hits == 3 and before <= stats.since <= time.time()
    assert stats.oldest is not None and stats.oldest[1] == "one.jpg"
    assert stats.least_recent is not None and stats.least_recent[1] == "one.jpg"


def test_recover_deletes_what_dead_writers_left(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    kept = cache.store(cache_key(1), "png", b"kept", "a.jpg")
    assert kept is not None
    dead_temp = kept.parent / f"{cache_files.TEMP_PREFIX}dead"
    dead_temp.write_bytes(b"half a fi")
    live_temp = kept.parent / f"{cache_files.TEMP_PREFIX}live"
    live_temp.write_bytes(b"being written")
    orphan = cache.path_for(cache_key(2), "png")  # in another shard folder
    orphan.parent.mkdir(parents=True, exist_ok=True)
    orphan.write_bytes(b"no row knows me")
    stranger = kept.parent / "README"
    stranger.write_text("not ours")
    with open(live_temp, "rb") as writer:
        fcntl.flock(writer.fileno(), fcntl.LOCK_EX)  # a live writer holds its temp file
        freed = cache.recover()
    assert (freed.entries, freed.bytes) == (2, len(b"half a fi") + len(b"no row knows me"))
    assert not dead_temp.exists() and not orphan.exists()
    assert live_temp.exists() and stranger.exists() and kept.exists()


def test_unwritable_directory_logs_once_and_returns_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory should be")
    cache = DiskCache(blocker / "cache", MiB)
    with caplog.at_level(logging.WARNING):
        assert cache.store(cache_key(1), "png", b"data", "src.jpg") is None
        assert cache.store(cache_key(2), "png", b"data", "src.jpg") is None
        assert cache.lookup(cache_key(1), ("png",)) is None
        with cache.single_flight(cache_key(1)) as locked:
            assert not locked
    assert warnings_about(caplog, "uncached") == 3  # index reads, index writes, locks


def test_a_full_disk_logs_once_and_recovers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache = DiskCache(tmp_path, MiB)

    def disk_full(fd: int, data: bytes) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patch:
        patch.setattr(cache_files, "write_all", disk_full)
        for n in range(3):
            assert cache.store(cache_key(n), "png", b"data", "src.jpg") is None
    assert warnings_about(caplog, "No space left") == 1
    assert cache.stats().entries == 0 and cache.total_bytes() == 0  # no row, no temp file
    with caplog.at_level(logging.INFO):
        assert cache.store(cache_key(1), "png", b"data", "src.jpg") is not None
    assert any("works again" in r.message for r in caplog.records)


def test_a_removed_directory_is_made_anew(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cache = DiskCache(tmp_path / "cache", MiB)
    cache.store(cache_key(1), "png", b"data", "src.jpg")
    shutil.rmtree(tmp_path / "cache")
    assert cache.lookup(cache_key(1), ("png",)) is None
    assert cache.store(cache_key(1), "png", b"data", "src.jpg") is not None
    assert cache.lookup(cache_key(1), ("png",)) is not None
    assert cache.stats().entries == 1
    assert warnings_about(caplog, "removed") == 1


def test_single_flight_makes_the_second_caller_wait(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    events: list[str] = []
    first_holds = threading.Event()

    def second() -> None:
        first_holds.wait()
        with cache.single_flight(KEY) as locked:
            events.append(f"second locked={locked}")

    thread = threading.Thread(target=second)
    thread.start()
    with cache.single_flight(KEY) as locked:
        assert locked
        first_holds.set()
        thread.join(timeout=0.2)  # gives the second caller time to (wrongly) get in
        events.append("first done")
    thread.join()
    assert events == ["first done", "second locked=True"]
    assert list((tmp_path / "locks").iterdir()) == []  # lock files do not pile up


def test_single_flight_gives_up_after_its_timeout(tmp_path: Path) -> None:
    holder, waiter = DiskCache(tmp_path, MiB), DiskCache(tmp_path, MiB, flight_timeout=0.05)
    with holder.single_flight(KEY), waiter.single_flight(KEY) as locked:
        assert not locked
    with waiter.single_flight(KEY) as locked:
        assert locked  # and the lock is free again afterwards


def spread_key(n: int) -> str:
    """Keys in different `ab/cd/` shard folders."""
    return f"{n % 256:02x}{n * 7 % 256:02x}" + f"{n:036x}"


def test_emptied_shard_folders_are_removed(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    for n in range(20):
        cache.store(spread_key(n), "png", b"x" * 100, "src.jpg")
    shards = {path.name for path in tmp_path.iterdir() if len(path.name) == 2}
    assert len(shards) == 20
    cache.purge("src.jpg")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["index.sqlite3"] + [
        name for name in ["index.sqlite3-shm", "index.sqlite3-wal"] if (tmp_path / name).exists()
    ]


def test_the_bound_counts_blocks_folders_and_the_index(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    for n in range(400):
        assert cache.store(spread_key(n), "png", b"x" * 100, "src.jpg") is not None
    stats = cache.stats()
    folders = {path.parent for path in cache_files.shard_files(tmp_path)}
    folders |= {folder.parent for folder in folders}
    assert stats.footprint == stats.entries * 4096 + len(folders) * 4096
    index = sum(path.stat().st_blocks * 512 for path in tmp_path.glob("index.sqlite3*"))
    assert stats.footprint + index <= MiB
    assert stats.entries < 200  # 100-byte files take a 4 KiB block and up to two folders


def test_the_wal_is_kept_small_and_truncated_now_and_then(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    wal = tmp_path / "index.sqlite3-wal"
    for n in range(300):
        cache.store(spread_key(n), "png", b"x" * 100, "src.jpg")
        assert wal.stat().st_size <= 256 * 1024
    cache._checkpointed_at = 0.0  # a truncating checkpoint is due at the next flush
    cache.flush()
    assert wal.stat().st_size == 0


def test_a_new_index_adopts_the_entry_files_on_disk(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, MiB)
    paths = [cache.store(cache_key(n), "png", bytes([n]) * 500, "src.jpg") for n in range(5)]
    cache.close()
    for name in ("index.sqlite3", "index.sqlite3-wal", "index.sqlite3-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    fresh = DiskCache(tmp_path, MiB)
    assert [fresh.lookup(cache_key(n), ("png",)) for n in range(5)] == paths
    assert (fresh.stats().entries, fresh.stats().bytes) == (5, 2500)


def test_an_eviction_frees_what_the_bound_needs_and_no_more(tmp_path: Path) -> None:
    """Small entries each alone in their `ab/cd/`: a row's deletion frees its file's
    unit and two folders. Counting the file alone evicted three times too much."""
    index = Index(tmp_path / "index.sqlite3", Troubles())
    limit, evict_to, unit = 200 * 4096, 180 * 4096, 4096
    footprints = []
    for n in range(200):
        entry = Entry(spread_key(n), "png", "src.jpg", 100, "sum", n, n)
        evicted = index.reserve(
            entry, max_bytes=limit, evict_to=evict_to, expire_before=None, accessed={}, hits=0
        )
        if evicted:
            footprints.append(index.summary().footprint)
    assert footprints, "the bound was reached"
    # Down to the target, short of it by less than one entry with its folders.
    assert all(evict_to - 3 * unit < footprint <= evict_to for footprint in footprints)


def test_a_wal_grown_past_twice_its_size_is_cut_before_a_store(tmp_path: Path) -> None:
    """A reader's snapshot keeps checkpoints from starting the WAL over, so it grows;
    counted as it is, it would evict entries for room it gives back soon after."""
    cache = DiskCache(tmp_path, MiB)
    cache.store(spread_key(0), "png", b"x" * 100, "src.jpg")
    wal = tmp_path / "index.sqlite3-wal"
    reader = sqlite3.connect(tmp_path / "index.sqlite3", isolation_level=None)
    reader.execute("BEGIN")
    reader.execute("SELECT count(*) FROM entries").fetchone()  # holds its snapshot
    n = 1
    while wal.stat().st_size <= WAL_CUT_AT * wal_bytes_for(MiB):
        cache.store(spread_key(n), "png", b"x" * 100, "src.jpg")
        n += 1
    reader.execute("COMMIT")
    reader.close()
    cache.store(spread_key(n), "png", b"x" * 100, "src.jpg")
    assert wal.stat().st_size <= wal_bytes_for(MiB)
