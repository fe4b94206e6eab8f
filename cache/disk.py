"""A bounded on-disk cache of transform results, shared by worker processes, crash-safe.

Design. Entries are plain files at `<directory>/ab/cd/<key>.<ext>` (see `files`), so a
hit is served by path (`send_file`: Range, `sendfile`). An SQLite index in WAL mode
(see `index`) records each entry's size, checksum, source name and last access; every
worker and every CLI command share it, so the byte bound, least-recently-used order and
hit counters hold across processes and restarts. A per-key `flock` (see `locking`)
makes concurrent misses for one key wait for a single transform.

Why SQLite directly, not python-diskcache, and no filelock/portalocker:
- diskcache names its files itself and hands values back as open files or bytes; its
  file paths are internals, and serving by path is the point of the cache. Its LRU
  writes to the database on every get, and its locks (`recipes.Lock`) are rows a
  killed worker leaves held until they expire.
- sqlite3 is in the standard library and gives, for a hundred lines, what an index
  shared by processes needs: transactions across processes that a killed worker
  cannot leave half done, concurrent readers, and an index on last access.
- filelock leaves its lock files in place by design (deleting them races); one per
  key ever missed would grow without bound. `locking` is forty lines of `fcntl.flock`
  that remove their files safely, and the kernel drops a dead holder's lock.

The bound is on the whole folder as `du` counts it: the entries' allocated blocks,
their shard folders (removed with their last entry) and the index's own files (the
database, a WAL kept to 1/64 of the bound, its shared memory). A store records its
row (making room first, least recently used out, down to `EVICT_TO` of the limit,
each row counted with the shard folders it empties) before the file is written, and
the evicted files are deleted before it writes, so the index never counts less than
the files on disk. Overshoot above `max_bytes` is at most
`SLACK` at rest (the WAL growing between two stores, the folder itself and its
`locks`); while writes run, add for each the older file of the same key it replaces
and files evicted by another process in the instant before it deletes them (at most
another `SLACK` measured at 1 MiB); a worker killed
mid-write leaves a temp file that `recover` (run at start-up) or `prune` deletes.

The hit path. A hit costs one `stat` once this process has checked the entry: the
first hit of each entry in each process reads the row and the file and compares the
checksum (a truncated, zero-byte or altered file is deleted and recomputed); later
hits compare the file's inode, size, mtime and ctime with what was checked (entries
younger than `SETTLED_AFTER` are read and compared at every hit). The ctime is what
catches a file altered in place with its mtime set back: no one can set a ctime. Hits are recorded
in memory and written to the index in one transaction per second (or per 1,000 hits),
so LRU order lags by up to a second and a killed worker loses at most that. Measured
(`benchmarks/cache_hits.py`, one worker and thread, 2 busy cores): 1,277 hits/s with
the index against 1,253 with the 0.1 cache (`stat` + `utime`), within the noise;
`lookup` 7.0 µs against 6.9 µs, and 36 µs for a 20 kB entry still being settled.

Failures. Any OSError or SQLite error is logged once per condition (`troubles`) and the
caller serves the result uncached: a cache problem never fails a request. A removed
cache folder is made anew at the next write; a removed index is rebuilt from the files.
A full disk (`ENOSPC`) makes the store evict least recently used entries and try once
more; `condition` tells readiness when the disk is full all the same. A read-only
folder is still served from: lookups need no write, and hits are recorded when they
can be.
"""

from __future__ import annotations

import atexit
import contextlib
import errno
import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .files import (
    TEMP_PREFIX,
    Written,
    checksum,
    entry_path,
    parse_entry_name,
    remove,
    shard_files,
    write_atomically,
)
from .index import Entry, Index, Removed, Summary, wal_bytes_for
from .locking import lock_path, remove_if_abandoned, unlock_path
from .lru import LRU
from .troubles import Troubles

log = logging.getLogger(__name__)

EVICT_TO = 0.9  # after eviction, the cache holds at most this fraction of its limit
FLIGHT_TIMEOUT = 15.0  # seconds a miss waits for another process making the same result
FLUSH_EVERY = 1.0  # seconds between writes of recorded hits to the index...
FLUSH_AT = 1000  # ...or sooner, at this many distinct entries hit
CHECKED_MAX = 16384  # entries whose check this process remembers (least recently hit out)
# A file is remembered as checked only once its mtime is this much older than the
# check: a change made later then always moves the mtime, even on filesystems with
# coarse (up to 2 s) timestamps, so inode + size + mtime tell it apart (git's rule
# for "racily clean" files). Younger files are read and compared at each hit.
SETTLED_AFTER = 2.0
INDEX_NAME = "index.sqlite3"
LOCKS_NAME = "locks"
# What the folder may hold above `max_bytes` at rest: the WAL growing between two
# stores (it is counted at each store, cut back to `wal_bytes_for` at each
# checkpoint, and truncated before a store past `WAL_CUT_AT` times that), the cache
# folder itself, `locks` and its lock files. While stores run, files other workers
# just evicted can add as much again for an instant. Tested at a
# 1 MiB bound (`tests/test_cache_hardening.py`: 1.17-1.28 MB at the busiest).
SLACK = 256 * 1024
WAL_CUT_AT = 2  # a WAL this many times its checkpoint size is cut back before a store
CHECKPOINT_EVERY = 10.0  # seconds between truncating WAL checkpoints (from `flush`)
FULL_DISK_FREES = 0.05  # on ENOSPC, evict at least this fraction of `max_bytes`...
DISK_FULL_BELOW = 64 * 1024  # ...and readiness says "full" below this much free space
_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)

_CacheError = (OSError, sqlite3.Error)


@dataclass(frozen=True)
class _Checked:
    """An entry file this process has checked against its row, and how to recognise it."""

    ext: str
    identity: tuple[int, int, int, int]  # inode, size, mtime_ns, ctime_ns
    created: float
    path: Path  # where it is, made once (building a Path showed in a hit's profile)


@dataclass(frozen=True)
class Freed:
    """What a purge, prune or recovery deleted."""

    entries: int
    bytes: int


class DiskCache:
    """Store bytes under a hex key; look them up as a path to serve.

    `on_evict` is told what each store evicted (least recently used or expired
    entries), so a caller can count evictions without the cache knowing how.
    `whole_folder=False` bounds only the entries' bytes, leaving out their blocks,
    folders and the index (for tests that reason in bytes with tiny bounds);
    `wal_bytes` overrides the WAL's checkpoint size (`wal_bytes_for(max_bytes)`).
    """

    def __init__(
        self,
        directory: Path,
        max_bytes: int,
        max_age: float = 0,
        flight_timeout: float = FLIGHT_TIMEOUT,
        on_evict: Callable[[Freed], None] | None = None,
        *,
        whole_folder: bool = True,
        wal_bytes: int | None = None,
        file_mode: int = 0o600,
    ) -> None:
        self.directory = Path(directory)
        self.file_mode = file_mode  # of the entries' files (another user may send them)
        self.max_bytes = max_bytes
        self.max_age = max_age  # seconds since an entry was written; 0: no expiry
        self.flight_timeout = flight_timeout
        self.on_evict = on_evict
        self._troubles = Troubles()
        self._index = Index(
            self.directory / INDEX_NAME,
            self._troubles,
            whole_folder,
            wal_bytes_for(max_bytes) if wal_bytes is None else wal_bytes,
        )
        self._checked: LRU[str, _Checked] = LRU(CHECKED_MAX)
        self._lock = threading.Lock()
        self._accessed: dict[str, float] = {}
        self._hits = 0
        self._flushed_at = time.monotonic()
        self._checkpointed_at = time.monotonic()
        self._disk_full = False  # the last store failed for space even after evicting
        _in_use.add(self)

    def path_for(self, key: str, extension: str) -> Path:
        """Where the entry for `key` lives (whether or not it exists)."""
        return entry_path(self.directory, key, extension)

    # The request path

    def lookup(self, key: str, extensions: tuple[str, ...]) -> Path | None:
        """The stored entry for `key` under any of `extensions`, or None.

        Only a file whose size and checksum match its row is ever returned.
        """
        now = time.time()
        checked = self._checked.get(key)
        if (
            checked is not None
            and checked.ext in extensions
            and not self._expired(checked.created, now)
        ):
            with contextlib.suppress(OSError):
                if _identity(os.stat(checked.path)) == checked.identity:
                    self._record_hit(key, now)
                    return checked.path
        if checked is not None:
            self._checked.pop(key, checked)
        return self._check(key, extensions, now)

    def _check(self, key: str, extensions: tuple[str, ...], now: float) -> Path | None:
        """Look `key` up in the index and compare its file with the row, byte for byte."""
        try:
            entry = self._index.find(key)
        except _CacheError as error:
            self._troubles.report(
                "index read", f"cannot read the cache index in {self.directory}: {error}"
            )
            return None
        self._troubles.clear("index read")
        if entry is None or entry.ext not in extensions or self._expired(entry.created, now):
            return None
        path = self.path_for(key, entry.ext)
        try:
            with open(path, "rb") as file:
                info = os.fstat(file.fileno())
                data = file.read()
        except FileNotFoundError:
            return None  # still being written, or lost
        except OSError as error:
            self._troubles.report("read", f"cannot read the cache in {self.directory}: {error}")
            return None
        self._troubles.clear("read")
        if len(data) != entry.size or checksum(data) != entry.checksum:
            self._discard_damaged(entry, path, len(data))
            return None
        if now - max(info.st_mtime_ns, info.st_ctime_ns) / 1e9 >= SETTLED_AFTER:
            self._checked.put(key, _Checked(entry.ext, _identity(info), entry.created, path))
        self._record_hit(key, now)
        return path

    def _discard_damaged(self, entry: Entry, path: Path, found_size: int) -> None:
        log.warning(
            "cache entry %s is damaged (%d bytes, %d expected, or another checksum); deleting it",
            path,
            found_size,
            entry.size,
        )
        with contextlib.suppress(*_CacheError):
            if self._index.forget(entry.key, entry.checksum):
                remove(path)

    def store(self, key: str, extension: str, data: bytes, source: str) -> Path | None:
        """Write an entry atomically for the source image named `source`.

        None when it was not stored: empty, larger than the whole cache, or the disk or
        the index refused (logged once per condition).
        """
        path = self.path_for(key, extension)
        if not 0 < len(data) <= self.max_bytes:
            return None
        now = time.time()
        entry = Entry(key, extension, source, len(data), checksum(data), now, now)
        accessed, hits = self._take_hits()
        try:
            evicted = self._index.reserve(
                entry,
                max_bytes=self.max_bytes,
                evict_to=int(self.max_bytes * EVICT_TO),
                expire_before=now - self.max_age if self.max_age else None,
                accessed=accessed,
                hits=hits,
                overhead=self._overhead(),
            )
        except _CacheError as error:
            self._troubles.report(
                "index write", f"cannot update the cache index in {self.directory}: {error}"
            )
            return None
        self._troubles.clear("index write")
        self._forget_files(evicted)
        written = self._write(path, entry, data)
        if written is None or not self._still_reserved(entry, written):
            return None
        return path

    def _write(self, path: Path, entry: Entry, data: bytes) -> Written | None:
        """Write the reserved entry's file; on a full disk, make room and try once more."""
        for attempt in range(2):
            try:
                written = write_atomically(path, data, self.file_mode)
            except OSError as error:
                full = error.errno in _DISK_FULL
                if full and attempt == 0 and self._make_room(entry):
                    continue
                self._disk_full = full
                self._troubles.report(
                    "write", f"cannot write to the cache in {self.directory}: {error}"
                )
                with contextlib.suppress(*_CacheError):
                    self._index.forget(entry.key, entry.checksum)
                return None
            self._disk_full = False
            self._troubles.clear("write")
            return written
        return None

    def _make_room(self, entry: Entry) -> bool:
        """Evict least recently used entries for a store the disk refused; True if any."""
        at_least = max(2 * entry.size, int(self.max_bytes * FULL_DISK_FREES))
        try:
            evicted = self._index.evict_some(at_least, keep=entry.key)
        except _CacheError:
            return False
        freed = self._forget_files(evicted)
        self._troubles.report(
            "full disk",
            f"the disk of the cache in {self.directory} is full; evicted {len(evicted)}"
            f" entries ({freed} bytes) to make room",
            consequence="",
        )
        return bool(evicted)

    def _overhead(self) -> int:
        """What the bound counts besides the entries: the index's files.

        A WAL grown past `WAL_CUT_AT` times its size (readers kept the automatic
        checkpoints from starting it over) is cut back first: counted as it is, it
        evicted entries for room it gave back at the next checkpoint.
        """
        if not self._index.whole_folder:
            return 0
        if self._index.wal_size() > WAL_CUT_AT * self._index.wal_bytes:
            with contextlib.suppress(*_CacheError):
                self._index.checkpoint()
        return self._index.overhead()

    def _forget_files(self, evicted: list[Removed]) -> int:
        """Delete the files of evicted rows and tell `on_evict`; the bytes freed."""
        freed = self._delete(evicted)
        if evicted and self.on_evict is not None:
            self.on_evict(Freed(len(evicted), freed))
        return freed

    def condition(self) -> list[str]:
        """What keeps the cache from storing now, for readiness (no paths named)."""
        if self._disk_full:
            return ["the cache's disk is full (writes fail even after evicting)"]
        try:
            disk = os.statvfs(self.directory)
        except OSError:
            return []  # a missing folder is made anew; readiness checks writability
        if disk.f_bavail * disk.f_frsize < DISK_FULL_BELOW or (
            disk.f_files > 0 and disk.f_favail == 0
        ):
            return ["the cache's disk is full"]
        return []

    def _still_reserved(self, entry: Entry, written: Written) -> bool:
        """False (and the file deleted) when another process evicted the row meanwhile."""
        with contextlib.suppress(*_CacheError):
            if self._index.holds(entry.key, entry.checksum):
                return True
            with contextlib.suppress(OSError):
                info = os.stat(written.path)
                if (info.st_ino, info.st_size) == (written.inode, written.size):
                    remove(written.path)
            return False
        return True  # the index cannot say: keep the file, `recover` settles it later

    @contextlib.contextmanager
    def single_flight(self, key: str) -> Iterator[bool]:
        """Hold `key`'s lock across processes while making its result.

        Waits up to `flight_timeout` for another holder; yields False when it gave up
        waiting (or cannot lock at all), and the caller makes the result anyway.
        """
        path = self.directory / LOCKS_NAME / self.path_for(key, "lock").name
        fd: int | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = lock_path(path, self.flight_timeout)
        except OSError as error:
            self._troubles.report("lock", f"cannot lock in the cache at {self.directory}: {error}")
        else:
            self._troubles.clear("lock")
            if fd is None:
                log.info(
                    "waited %.0f s for %s from another worker; making it here",
                    self.flight_timeout,
                    key,
                )
        try:
            yield fd is not None
        finally:
            if fd is not None:
                unlock_path(fd, path)

    def _record_hit(self, key: str, now: float) -> None:
        with self._lock:
            self._accessed[key] = now
            self._hits += 1
            due = (
                len(self._accessed) >= FLUSH_AT
                or time.monotonic() - self._flushed_at >= FLUSH_EVERY
            )
        if due:
            self.flush()

    def _take_hits(self) -> tuple[dict[str, float], int]:
        with self._lock:
            accessed, hits = self._accessed, self._hits
            self._accessed, self._hits = {}, 0
            self._flushed_at = time.monotonic()
        return accessed, hits

    def flush(self) -> None:
        """Write the hits recorded in memory (last-access times, hit count) to the index;
        now and then, cut the WAL back to nothing (a truncating checkpoint)."""
        if time.monotonic() - self._checkpointed_at >= CHECKPOINT_EVERY:
            self._checkpointed_at = time.monotonic()
            with contextlib.suppress(*_CacheError):
                self._index.checkpoint()
        accessed, hits = self._take_hits()
        if not accessed and not hits:
            return
        try:
            self._index.record_accesses(accessed, hits)
        except _CacheError as error:
            self._troubles.report(
                "index write", f"cannot update the cache index in {self.directory}: {error}"
            )

    def _expired(self, created: float, now: float) -> bool:
        return bool(self.max_age) and created < now - self.max_age

    def _delete(self, removed: list[Removed]) -> int:
        """Delete the files of rows taken out of the index; the bytes freed."""
        freed = 0
        for row in removed:
            self._checked.pop(row.key)
            with contextlib.suppress(OSError):
                freed += remove(self.path_for(row.key, row.ext))
        return freed

    # Maintenance: start-up and the `pixserve cache` commands

    def recover(self) -> Freed:
        """Delete what killed processes left: temp and lock files, files without a row.

        Safe while other processes use the cache: a temp or lock file is deleted only
        when no live process holds its lock, an entry file only when its row is gone.
        Closes this thread's index connection, so nothing open crosses a later fork.
        """
        removed = freed = 0
        try:
            known = self._index.names()
            for path in shard_files(self.directory):
                if path.name.startswith(TEMP_PREFIX):
                    size = _size(path)
                    if remove_if_abandoned(path):
                        removed, freed = removed + 1, freed + size
                    continue
                name = parse_entry_name(path)
                if name is None or name in known:
                    continue
                row = self._index.find(name[0])
                if row is None or row.ext != name[1]:  # not stored since we listed the rows
                    size = remove(path)
                    removed, freed = removed + (size > 0), freed + size
            with contextlib.suppress(OSError):
                for lock in (self.directory / LOCKS_NAME).iterdir():
                    remove_if_abandoned(lock)
        except _CacheError as error:
            self._troubles.report(
                "index read", f"cannot check the cache in {self.directory}: {error}"
            )
        finally:
            self._index.close()
        return Freed(removed, freed)

    def prune(self) -> Freed:
        """Recover, then delete expired and least recently used entries down to the limit."""
        recovered = self.recover()
        self.flush()  # evict by this process's latest hits too
        expire_before = time.time() - self.max_age if self.max_age else None
        removed = self._index.evict(self.max_bytes - self._overhead(), expire_before)
        return Freed(recovered.entries + len(removed), recovered.bytes + self._delete(removed))

    def purge(self, source: str | None = None) -> Freed:
        """Delete every entry, or every entry made from the source image `source`."""
        if source is not None:
            removed = self._index.remove_source(source)
            return Freed(len(removed), self._delete(removed))
        self.flush()  # so that hits recorded before the purge do not count after it
        removed = self._index.remove_all()
        freed = self._delete(removed)
        leftovers = self.recover()  # files no row knew of, dead writers' temp files
        return Freed(len(removed) + leftovers.entries, freed + leftovers.bytes)

    def stats(self) -> Summary:
        """Entries, bytes, hit counters and the oldest entries, as the index has them."""
        self.flush()
        return self._index.summary()

    def total_bytes(self) -> int:
        """Bytes in entry and temp files on disk right now (a scan: for tests and checks)."""
        return sum(_size(path) for path in shard_files(self.directory))

    def close(self) -> None:
        """Write pending hits and close this thread's index connection."""
        self.flush()
        self._index.close()


_in_use: weakref.WeakSet[DiskCache] = weakref.WeakSet()


@atexit.register
def _flush_all() -> None:
    """A worker exiting normally writes its last second of hits."""
    for cache in list(_in_use):
        cache.flush()


def _identity(info: os.stat_result) -> tuple[int, int, int, int]:
    """What tells a checked file from one changed since, even with its mtime set back."""
    return (info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
