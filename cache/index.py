"""The cache's index: one SQLite database (WAL) that every worker process shares.

It holds one row per entry (key, extension, source name, size, checksum, created, last
accessed) and running totals kept by triggers, so the size bound, least-recently-used
order and statistics are the same for all workers and survive restarts. SQLite gives
what a hand-made index would have to earn: transactions across processes (a killed
worker's half-done transaction is rolled back), readers that never block the writer
in WAL mode, and `ORDER BY accessed` on an index for eviction.

Connections are per process and per thread: one made before `fork` is never used or
closed by the child (closing it could drop the parent's locks), and each is reopened
when the database file was removed or replaced under it (someone deleted the cache
folder while the server ran).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .troubles import Troubles

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
BUSY_TIMEOUT = 10.0  # seconds a write waits for another process's transaction

_SCHEMA = (
    """CREATE TABLE entries (
        key TEXT PRIMARY KEY,
        ext TEXT NOT NULL,
        source TEXT NOT NULL,
        size INTEGER NOT NULL,
        checksum TEXT NOT NULL,
        created REAL NOT NULL,
        accessed REAL NOT NULL
    ) WITHOUT ROWID""",
    "CREATE INDEX entries_by_access ON entries (accessed)",
    "CREATE INDEX entries_by_creation ON entries (created)",
    "CREATE INDEX entries_by_source ON entries (source)",
    """CREATE TABLE totals (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        entries INTEGER NOT NULL,
        bytes INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        misses INTEGER NOT NULL,
        since REAL NOT NULL
    )""",
    """CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size;
    END""",
    """CREATE TRIGGER entry_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size;
    END""",
    """CREATE TRIGGER entry_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - OLD.size + NEW.size;
    END""",
)

# Connections inherited through fork: never used, never closed, only kept from the GC.
_inherited: list[sqlite3.Connection] = []


@dataclass(frozen=True)
class Entry:
    key: str
    ext: str
    source: str
    size: int
    checksum: str
    created: float
    accessed: float


@dataclass(frozen=True)
class Removed:
    """A row deleted from the index, whose file must now be deleted too."""

    key: str
    ext: str
    size: int


@dataclass(frozen=True)
class Summary:
    entries: int
    bytes: int
    hits: int
    misses: int
    since: float
    oldest: tuple[float, str] | None  # created, source name
    least_recent: tuple[float, str] | None  # last accessed, source name


@dataclass
class _Handle:
    pid: int
    inode: int
    connection: sqlite3.Connection


class Index:
    """Rows of the entries on disk; every method may raise sqlite3.Error or OSError."""

    def __init__(self, path: Path, troubles: Troubles) -> None:
        self.path = path
        self._troubles = troubles
        self._local = threading.local()
        self._current_inode = -1  # of the file the latest connection opened

    def connection(self) -> sqlite3.Connection:
        """This process's and thread's connection, (re)opened as needed."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None and handle.pid != os.getpid():
            _inherited.append(handle.connection)
            handle = None
        if handle is not None and not self._still_there(handle.inode):
            handle.connection.close()
            if handle.inode == self._current_inode:  # the first thread here to notice
                log.warning("the cache index %s was removed while in use; starting anew", self.path)
            handle = None
        if handle is None:
            handle = self._open()
            self._local.handle = handle
        return handle.connection

    def close(self) -> None:
        """Close this thread's connection (before a fork, or when done)."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        self._local.handle = None
        if handle is not None and handle.pid == os.getpid():
            handle.connection.close()

    def _still_there(self, inode: int) -> bool:
        try:
            return os.stat(self.path).st_ino == inode
        except FileNotFoundError:
            return False

    def _open(self) -> _Handle:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            connection = self._connect()
        except sqlite3.DatabaseError as error:
            if isinstance(error, sqlite3.OperationalError):
                raise  # locked, read-only, disk full: not the file's fault
            self._troubles.report("damaged", f"the cache index {self.path} is damaged ({error})")
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{self.path}{suffix}")
            connection = self._connect()
        handle = _Handle(os.getpid(), os.stat(self.path).st_ino, connection)
        self._current_inode = handle.inode
        return handle

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            connection.execute("PRAGMA synchronous = NORMAL")  # a crash loses no committed row
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                with _writing(connection):
                    self._create_schema(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    @staticmethod
    def _create_schema(connection: sqlite3.Connection) -> None:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return  # another process made it while we waited for the lock
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables.fetchall():
            connection.execute(f'DROP TABLE "{table}"')  # an older layout: start empty
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute("INSERT INTO totals VALUES (0, 0, 0, 0, 0, ?)", (time.time(),))
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def find(self, key: str) -> Entry | None:
        row = (
            self.connection()
            .execute(
                "SELECT key, ext, source, size, checksum, created, accessed"
                " FROM entries WHERE key = ?",
                (key,),
            )
            .fetchone()
        )
        return None if row is None else Entry(*row)

    def holds(self, key: str, checksum: str) -> bool:
        """Is the row for `key` still the one with `checksum` (not evicted or replaced)?"""
        found = (
            self.connection()
            .execute("SELECT 1 FROM entries WHERE key = ? AND checksum = ?", (key, checksum))
            .fetchone()
        )
        return found is not None

    def reserve(
        self,
        entry: Entry,
        *,
        max_bytes: int,
        evict_to: int,
        expire_before: float | None,
        accessed: Mapping[str, float],
        hits: int,
    ) -> list[Removed]:
        """Record `entry` before its file is written, making room; the rows removed.

        Reserving first means the index never counts less than the files on disk: a
        writer killed before its file lands leaves only a row, which ages out.
        """
        connection = self.connection()
        with _writing(connection):
            _record_accesses(connection, accessed, hits)
            removed = _expired(connection, expire_before) if expire_before is not None else []
            connection.execute(
                "INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET"
                " ext = excluded.ext, source = excluded.source, size = excluded.size,"
                " checksum = excluded.checksum, created = excluded.created,"
                " accessed = excluded.accessed",
                (
                    entry.key,
                    entry.ext,
                    entry.source,
                    entry.size,
                    entry.checksum,
                    entry.created,
                    entry.accessed,
                ),
            )
            connection.execute("UPDATE totals SET misses = misses + 1")
            if _total_bytes(connection) > max_bytes:
                removed += _least_recent(connection, evict_to, keep=entry.key)
        return removed

    def record_accesses(self, accessed: Mapping[str, float], hits: int) -> None:
        """Write a batch of hits: last-access times and the hit counter."""
        connection = self.connection()
        with _writing(connection):
            _record_accesses(connection, accessed, hits)

    def forget(self, key: str, checksum: str) -> bool:
        """Delete `key`'s row if it is still the one with `checksum`; True if it was."""
        connection = self.connection()
        with _writing(connection):
            cursor = connection.execute(
                "DELETE FROM entries WHERE key = ? AND checksum = ?", (key, checksum)
            )
        return cursor.rowcount > 0

    def evict(self, target_bytes: int, expire_before: float | None) -> list[Removed]:
        """Remove expired rows, then least recently used ones down to `target_bytes`."""
        connection = self.connection()
        with _writing(connection):
            removed = _expired(connection, expire_before) if expire_before is not None else []
            removed += _least_recent(connection, target_bytes, keep=None)
        return removed

    def remove_source(self, source: str) -> list[Removed]:
        """Remove every row made from the source image `source`."""
        connection = self.connection()
        with _writing(connection):
            rows = connection.execute(
                "SELECT key, ext, size FROM entries WHERE source = ?", (source,)
            ).fetchall()
            connection.execute("DELETE FROM entries WHERE source = ?", (source,))
        return [Removed(*row) for row in rows]

    def remove_all(self) -> list[Removed]:
        """Remove every row and restart the hit counters."""
        connection = self.connection()
        with _writing(connection):
            rows = connection.execute("SELECT key, ext, size FROM entries").fetchall()
            connection.execute("DELETE FROM entries")
            connection.execute("UPDATE totals SET hits = 0, misses = 0, since = ?", (time.time(),))
        return [Removed(*row) for row in rows]

    def names(self) -> set[tuple[str, str]]:
        """(key, extension) of every row: the files that belong on disk."""
        rows = self.connection().execute("SELECT key, ext FROM entries").fetchall()
        return {(key, ext) for key, ext in rows}

    def summary(self) -> Summary:
        connection = self.connection()
        with _reading(connection):
            entries, size, hits, misses, since = connection.execute(
                "SELECT entries, bytes, hits, misses, since FROM totals"
            ).fetchone()
            oldest = connection.execute(
                "SELECT created, source FROM entries ORDER BY created LIMIT 1"
            ).fetchone()
            least_recent = connection.execute(
                "SELECT accessed, source FROM entries ORDER BY accessed LIMIT 1"
            ).fetchone()
        return Summary(
            entries,
            size,
            hits,
            misses,
            since,
            None if oldest is None else (oldest[0], oldest[1]),
            None if least_recent is None else (least_recent[0], least_recent[1]),
        )


@contextlib.contextmanager
def _writing(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock at once (no deadlock on upgrade)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


@contextlib.contextmanager
def _reading(connection: sqlite3.Connection) -> Iterator[None]:
    """One read transaction: a consistent snapshot across several queries."""
    connection.execute("BEGIN")
    try:
        yield
    finally:
        connection.execute("COMMIT")


def _total_bytes(connection: sqlite3.Connection) -> int:
    (total,) = connection.execute("SELECT bytes FROM totals").fetchone()
    return int(total)


def _record_accesses(
    connection: sqlite3.Connection, accessed: Mapping[str, float], hits: int
) -> None:
    connection.executemany(
        "UPDATE entries SET accessed = ? WHERE key = ? AND accessed < ?",
        [(when, key, when) for key, when in accessed.items()],
    )
    if hits:
        connection.execute("UPDATE totals SET hits = hits + ?", (hits,))


def _expired(connection: sqlite3.Connection, before: float) -> list[Removed]:
    rows = connection.execute(
        "SELECT key, ext, size FROM entries WHERE created < ?", (before,)
    ).fetchall()
    connection.execute("DELETE FROM entries WHERE created < ?", (before,))
    return [Removed(*row) for row in rows]


def _least_recent(
    connection: sqlite3.Connection, target_bytes: int, keep: str | None
) -> list[Removed]:
    """Delete the least recently used rows (never `keep`) until the total fits."""
    excess = _total_bytes(connection) - target_bytes
    if excess <= 0:
        return []
    removed: list[Removed] = []
    for key, ext, size in connection.execute(
        "SELECT key, ext, size FROM entries ORDER BY accessed"
    ):
        if excess <= 0:
            break
        if key == keep:
            continue
        removed.append(Removed(key, ext, size))
        excess -= size
    connection.executemany("DELETE FROM entries WHERE key = ?", [(r.key,) for r in removed])
    return removed
