"""The cache's index: one SQLite database (WAL) that every worker process shares.

It holds one row per entry (key, extension, source name, size, checksum, created, last
accessed) and running totals kept by triggers, so the size bound, least-recently-used
order and statistics are the same for all workers and survive restarts. SQLite gives
what a hand-made index would have to earn: transactions across processes (a killed
worker's half-done transaction is rolled back), readers that never block the writer
in WAL mode, and `ORDER BY accessed` on an index for eviction.

Beside the bytes of the entries, the totals keep their footprint on disk: each file's
size rounded up to whole `ALLOCATION_UNIT`s, plus one unit for each `ab/` and `ab/cd/`
shard folder that holds an entry (a `shards` table counts them), so the bound covers
what `du` sees, folders included. The WAL is kept to a share of the bound
(`wal_bytes_for`), and its and the database's own size count against the bound too.

A removed index is made anew and rebuilt from the entry files on disk (`adopt`): their
bytes are counted again and their checksums recomputed, so the bound holds and what
was cached is still served, without a restart. A read-only folder is opened read-only:
lookups work, writes fail (and are reported) as they must.

Connections are per process and per thread: one made before `fork` is never used or
closed by the child (closing it could drop the parent's locks), and each is reopened
when the database file was removed or replaced under it (someone deleted the cache
folder while the server ran).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .files import checksum, parse_entry_name, shard_files
from .troubles import Troubles

log = logging.getLogger(__name__)

SCHEMA_VERSION = 2
BUSY_TIMEOUT = 10.0  # seconds a write waits for another process's transaction
# The unit a filesystem allocates (ext4, XFS, tmpfs: 4 KiB): a 300-byte entry takes one
# unit on disk, and so does each folder. Counting in units keeps the bound true to `du`.
ALLOCATION_UNIT = 4096
# The WAL is checkpointed once it holds this share of the cache's bound, and cut back
# to it after each checkpoint, within these limits. SQLite's default (1,000 pages, no
# cut) let it stay at 4 MiB, four times a 1 MiB cache. Measured per store
# (`benchmarks/cache_stores.py`, 20 kB entries, against the default): a 128 KiB WAL
# costs a 1 MiB cache nothing (1.02x) but a 1 GiB one 2.14x; 4 MiB, cut back, 0.93x.
WAL_SHARE = 1 / 64
WAL_MIN_BYTES = 128 * 1024
WAL_MAX_BYTES = 4 * 1024 * 1024
PAGE_BYTES = 4096  # SQLite's default page size
CHECKPOINT_PATIENCE_MS = 200  # how long a truncating checkpoint waits for readers

_UNITS = f"(({{size}} + {ALLOCATION_UNIT - 1}) / {ALLOCATION_UNIT} * {ALLOCATION_UNIT})"

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
        allocated INTEGER NOT NULL,
        folders INTEGER NOT NULL,
        hits INTEGER NOT NULL,
        misses INTEGER NOT NULL,
        since REAL NOT NULL
    )""",
    # The shard folders (`ab` and `abcd` for `ab/cd/`) holding entries, and how many.
    "CREATE TABLE shards (prefix TEXT PRIMARY KEY, entries INTEGER NOT NULL) WITHOUT ROWID",
    f"""CREATE TRIGGER entry_added AFTER INSERT ON entries BEGIN
        UPDATE totals SET entries = entries + 1, bytes = bytes + NEW.size,
            allocated = allocated + {_UNITS.format(size="NEW.size")};
        INSERT INTO shards VALUES (substr(NEW.key, 1, 2), 1)
            ON CONFLICT (prefix) DO UPDATE SET entries = entries + 1;
        INSERT INTO shards VALUES (substr(NEW.key, 1, 4), 1)
            ON CONFLICT (prefix) DO UPDATE SET entries = entries + 1;
    END""",
    f"""CREATE TRIGGER entry_removed AFTER DELETE ON entries BEGIN
        UPDATE totals SET entries = entries - 1, bytes = bytes - OLD.size,
            allocated = allocated - {_UNITS.format(size="OLD.size")};
        UPDATE shards SET entries = entries - 1
            WHERE prefix IN (substr(OLD.key, 1, 2), substr(OLD.key, 1, 4));
        DELETE FROM shards
            WHERE prefix IN (substr(OLD.key, 1, 2), substr(OLD.key, 1, 4)) AND entries = 0;
    END""",
    f"""CREATE TRIGGER entry_resized AFTER UPDATE OF size ON entries BEGIN
        UPDATE totals SET bytes = bytes - OLD.size + NEW.size,
            allocated = allocated - {_UNITS.format(size="OLD.size")}
                + {_UNITS.format(size="NEW.size")};
    END""",
    """CREATE TRIGGER shard_added AFTER INSERT ON shards BEGIN
        UPDATE totals SET folders = folders + 1;
    END""",
    """CREATE TRIGGER shard_removed AFTER DELETE ON shards BEGIN
        UPDATE totals SET folders = folders - 1;
    END""",
)

# Connections inherited through fork, or to a database removed since: never used, never
# closed, only kept from the GC (whose closing would touch files now another's).
_kept: list[sqlite3.Connection] = []


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
    footprint: int = 0  # the entries' allocated units and their shard folders, in bytes


@dataclass
class _Handle:
    pid: int
    inode: int
    connection: sqlite3.Connection
    read_only: bool = False


class Index:
    """Rows of the entries on disk; every method may raise sqlite3.Error or OSError."""

    def __init__(
        self,
        path: Path,
        troubles: Troubles,
        whole_folder: bool = True,
        wal_bytes: int = WAL_MIN_BYTES,
    ) -> None:
        self.path = path
        self.whole_folder = whole_folder  # bound the footprint, else the entries' bytes
        self.wal_bytes = wal_bytes  # checkpoint at, and cut back to, this WAL size
        self._troubles = troubles
        self._local = threading.local()
        self._gone: set[int] = set()  # inodes of databases seen removed (warned once)

    def connection(self) -> sqlite3.Connection:
        """This process's and thread's connection, (re)opened as needed."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None and handle.pid != os.getpid():
            _kept.append(handle.connection)
            handle = None
        if handle is not None and not self._still_there(handle.inode):
            # Not closed: closing the last connection to a WAL database deletes the
            # WAL by its name, which is now the new database's WAL.
            _kept.append(handle.connection)
            if handle.inode not in self._gone:  # the first thread here to notice
                self._gone.add(handle.inode)
                log.warning(
                    "the cache index %s was removed while in use; rebuilding it from the files",
                    self.path,
                )
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
        """Connect, making the database (under the folder's lock) when it is absent."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            with _folder_locked(self.path.parent):
                if not self.path.exists():
                    # A WAL left by the removed database would be replayed into the
                    # new one; processes still using the old one hold their own copies.
                    _unlink(f"{self.path}-wal", f"{self.path}-shm")
                    return self._open_writable()
        return self._open_writable()

    def _open_writable(self) -> _Handle:
        try:
            connection = self._connect()
        except sqlite3.OperationalError as error:
            if not _is_read_only(error, self.path):
                raise  # locked, disk full: not the file's fault
            return self._open_read_only()
        except sqlite3.DatabaseError as error:
            self._troubles.report("damaged", f"the cache index {self.path} is damaged ({error})")
            _unlink(str(self.path), f"{self.path}-wal", f"{self.path}-shm")
            connection = self._connect()
        return self._handle(connection, read_only=False)

    def _open_read_only(self) -> _Handle:
        """The index of a folder this process may not write: read as it is.

        `mode=ro` still needs the WAL's shared-memory file; on a read-only filesystem
        without one, `immutable` reads the database file alone (nothing can change it).
        """
        for flags in ("mode=ro", "immutable=1"):
            uri = f"file:{self.path}?{flags}"
            connection = sqlite3.connect(uri, timeout=BUSY_TIMEOUT, isolation_level=None, uri=True)
            try:
                (version,) = connection.execute("PRAGMA user_version").fetchone()
            except sqlite3.OperationalError:
                connection.close()
                continue
            if version != SCHEMA_VERSION:
                connection.close()
                raise sqlite3.OperationalError(
                    f"the read-only cache index has another layout (version {version})"
                )
            return self._handle(connection, read_only=True)
        raise sqlite3.OperationalError("the cache index cannot be opened, even read-only")

    def _handle(self, connection: sqlite3.Connection, read_only: bool) -> _Handle:
        handle = _Handle(os.getpid(), os.stat(self.path).st_ino, connection, read_only)
        return handle

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None)
        try:
            connection.execute(f"PRAGMA journal_size_limit = {self.wal_bytes}")
            connection.execute("PRAGMA journal_mode = WAL")
            pages = max(1, self.wal_bytes // PAGE_BYTES)
            connection.execute(f"PRAGMA wal_autocheckpoint = {pages}")
            connection.execute("PRAGMA synchronous = NORMAL")  # a crash loses no committed row
            (version,) = connection.execute("PRAGMA user_version").fetchone()
            if version != SCHEMA_VERSION:
                with _writing(connection):
                    self._create_schema(connection)
        except BaseException:
            connection.close()
            raise
        return connection

    def _create_schema(self, connection: sqlite3.Connection) -> None:
        (version,) = connection.execute("PRAGMA user_version").fetchone()
        if version == SCHEMA_VERSION:
            return  # another process made it while we waited for the lock
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        for (table,) in tables.fetchall():
            connection.execute(f'DROP TABLE "{table}"')  # an older layout: start empty
        for statement in _SCHEMA:
            connection.execute(statement)
        connection.execute("INSERT INTO totals VALUES (0, 0, 0, 0, 0, 0, 0, ?)", (time.time(),))
        connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        adopted = _adopt(connection, self.path.parent)
        if adopted:
            log.warning(
                "the cache index %s was made anew; %d entry files found on disk are counted"
                " and served again",
                self.path,
                adopted,
            )

    def overhead(self) -> int:
        """Bytes the index takes on disk now (database, WAL, shared memory)."""
        total = 0
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(OSError):
                total += os.stat(f"{self.path}{suffix}").st_blocks * 512
        return total

    def wal_size(self) -> int:
        """The WAL's size in bytes now (0 when there is none)."""
        try:
            return os.stat(f"{self.path}-wal").st_size
        except OSError:
            return 0

    def checkpoint(self) -> None:
        """Copy the WAL into the database and cut it to zero, when no reader needs it."""
        handle: _Handle | None = getattr(self._local, "handle", None)
        if handle is not None and handle.read_only:
            return
        connection = self.connection()
        # A truncating checkpoint holds writers back while it waits for readers: give
        # up soon (the next one comes in `CHECKPOINT_EVERY`) rather than stall stores.
        connection.execute(f"PRAGMA busy_timeout = {CHECKPOINT_PATIENCE_MS}")
        try:
            connection.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")

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
        overhead: int = 0,
    ) -> list[Removed]:
        """Record `entry` before its file is written, making room; the rows removed.

        The bound is on the footprint (allocated units and shard folders) plus
        `overhead`, the bytes outside the entries (the index's own files).
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
            if _footprint(connection, self.whole_folder) + overhead > max_bytes:
                removed += _least_recent(
                    connection, evict_to - overhead, entry.key, self.whole_folder
                )
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
        """Remove expired rows, then least recently used ones until the footprint is
        down to `target_bytes`."""
        connection = self.connection()
        with _writing(connection):
            removed = _expired(connection, expire_before) if expire_before is not None else []
            removed += _least_recent(connection, target_bytes, None, self.whole_folder)
        return removed

    def evict_some(self, at_least: int, keep: str) -> list[Removed]:
        """Remove least recently used rows (never `keep`) of at least `at_least` bytes:
        room on a full disk."""
        connection = self.connection()
        with _writing(connection):
            target = _footprint(connection, self.whole_folder) - at_least
            removed = _least_recent(connection, max(0, target), keep, self.whole_folder)
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
            entries, size, hits, misses, since, footprint = connection.execute(
                "SELECT entries, bytes, hits, misses, since, allocated + folders * ? FROM totals",
                (ALLOCATION_UNIT,),
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
            footprint,
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


def wal_bytes_for(max_bytes: int) -> int:
    """The WAL size a cache bounded at `max_bytes` checkpoints at (see `WAL_SHARE`)."""
    return int(min(WAL_MAX_BYTES, max(WAL_MIN_BYTES, max_bytes * WAL_SHARE)))


def _footprint(connection: sqlite3.Connection, whole_folder: bool) -> int:
    """The entries' allocated bytes and their shard folders' (or only their bytes)."""
    (total,) = connection.execute(
        "SELECT allocated + folders * ? FROM totals"
        if whole_folder
        else "SELECT bytes FROM totals",
        (ALLOCATION_UNIT,) if whole_folder else (),
    ).fetchone()
    return int(total)


def _allocated(size: int, whole_folder: bool) -> int:
    return -(-size // ALLOCATION_UNIT) * ALLOCATION_UNIT if whole_folder else size


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
    connection: sqlite3.Connection, target_bytes: int, keep: str | None, whole_folder: bool
) -> list[Removed]:
    """Delete the least recently used rows (never `keep`) until the footprint fits.

    Each row counts what its deletion frees: its file's units and the shard folders it
    leaves empty. Counting the file alone evicted up to three times too much: a small
    entry alone in its `ab/cd/` takes one unit for the file and two for the folders.
    """
    excess = _footprint(connection, whole_folder) - target_bytes
    if excess <= 0:
        return []
    removed: list[Removed] = []
    left: dict[str, int] = {}  # entries still in each shard folder as rows are chosen
    for key, ext, size in connection.execute(
        "SELECT key, ext, size FROM entries ORDER BY accessed"
    ):
        if excess <= 0:
            break
        if key == keep:
            continue
        removed.append(Removed(key, ext, size))
        excess -= _allocated(size, whole_folder)
        if whole_folder:
            excess -= ALLOCATION_UNIT * _folders_emptied(connection, left, key)
    connection.executemany("DELETE FROM entries WHERE key = ?", [(r.key,) for r in removed])
    return removed


def _folders_emptied(connection: sqlite3.Connection, left: dict[str, int], key: str) -> int:
    """How many of `key`'s shard folders (`ab`, `abcd`) its row leaves without entries,
    counting down `left` (read from the `shards` table the first time a folder comes)."""
    emptied = 0
    for prefix in (key[:2], key[:4]):  # as the triggers' `substr(key, 1, 2)` and `(1, 4)`
        if prefix not in left:
            row = connection.execute(
                "SELECT entries FROM shards WHERE prefix = ?", (prefix,)
            ).fetchone()
            left[prefix] = 0 if row is None else int(row[0])
        left[prefix] -= 1
        emptied += left[prefix] == 0
    return emptied


def _adopt(connection: sqlite3.Connection, directory: Path) -> int:
    """Rows for the entry files already on disk (a new index over an old folder).

    Each file is read for its checksum, so it is served again only as it is now; its
    source is unknown (`purge --source` will not find it; it ages out as usual).
    """
    adopted = 0
    for path in shard_files(directory):
        name = parse_entry_name(path)
        if name is None:
            continue
        try:
            with open(path, "rb") as file:
                info = os.fstat(file.fileno())
                data = file.read()
        except OSError:
            continue
        if not data:
            continue
        mtime = info.st_mtime
        cursor = connection.execute(
            "INSERT INTO entries VALUES (?, ?, '', ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
            (name[0], name[1], len(data), checksum(data), mtime, mtime),
        )
        adopted += cursor.rowcount
    return adopted


@contextlib.contextmanager
def _folder_locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive `flock` on the folder itself (one process makes the index)."""
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _unlink(*paths: str) -> None:
    for path in paths:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def _is_read_only(error: sqlite3.OperationalError, path: Path) -> bool:
    """Did opening fail because this process may not write the folder or the file?"""
    text = str(error).lower()
    if "readonly" in text or "read-only" in text:
        return True
    return path.exists() and not os.access(path.parent, os.W_OK)
