"""Several forked processes hammer one cache under a tight limit; one is killed mid-run.

Each key has one known content, so every read can be checked. During the run each
process checks what it reads and that the entry files stay within the limit plus the
documented overshoot (one entry per writer in flight); at the end, after the start-up
recovery, the files are within the limit, the index agrees with them and every entry
is exactly its key's bytes.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
from pathlib import Path

import pytest

from pixserve.cache import DiskCache
from pixserve.cache.disk import INDEX_NAME, checksum
from pixserve.cache.files import TEMP_PREFIX, parse_entry_name, shard_files
from tests.helpers import cache_key

LIMIT = 24_000
KEYS = 48
MAX_SIZE = 3000
PROCESSES = 4
OPERATIONS = 300


def content(n: int) -> bytes:
    """Each key's one true content: its length and bytes both depend on the key."""
    size = 100 + (n * 389) % (MAX_SIZE - 100)
    return (cache_key(n).encode() * (size // 40 + 1))[:size]


def entry_bytes(directory: Path) -> int:
    total = 0
    for path in shard_files(directory):
        if not path.name.startswith(TEMP_PREFIX):
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass  # evicted while we looked
    return total


def hammer(cache: DiskCache, seed: int, operations: int) -> None:
    rng = random.Random(seed)
    for _ in range(operations):
        n = rng.randrange(KEYS)
        roll = rng.random()
        if roll < 0.55:
            found = cache.lookup(cache_key(n), ("webp",))
            if found is not None:
                try:
                    data = found.read_bytes()
                except FileNotFoundError:
                    continue  # evicted between lookup and read: the server recomputes then
                assert data == content(n), f"key {n}: {len(data)} bytes, not its content"
        elif roll < 0.95:
            with cache.single_flight(cache_key(n)):
                cache.store(cache_key(n), "webp", content(n), f"source-{n % 5}.jpg")
        elif roll < 0.98:
            cache.prune()
        else:
            cache.purge(f"source-{n % 5}.jpg")
        assert entry_bytes(cache.directory) <= LIMIT + PROCESSES * MAX_SIZE


@pytest.mark.slow  # five processes, 1,200 operations: about 20 s
def test_processes_share_one_bounded_cache(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, LIMIT, whole_folder=False)
    # the parent has used it: then fork
    cache.store(cache_key(0), "webp", content(0), "source-0.jpg")
    fork = multiprocessing.get_context("fork")
    workers = [
        fork.Process(target=hammer, args=(cache, seed, OPERATIONS)) for seed in range(PROCESSES)
    ]
    doomed = fork.Process(target=hammer, args=(cache, 99, 10**9))
    for process in [*workers, doomed]:
        process.start()
    for process in workers:
        process.join(timeout=120)
    os.kill(doomed.pid or 0, signal.SIGKILL)  # at whatever point it has reached
    doomed.join()
    assert [p.exitcode for p in workers] == [0] * PROCESSES
    assert doomed.exitcode == -signal.SIGKILL

    restarted = DiskCache(tmp_path, LIMIT, whole_folder=False)
    restarted.recover()
    files = list(shard_files(tmp_path))
    assert not [p for p in files if p.name.startswith(TEMP_PREFIX)]
    assert entry_bytes(tmp_path) <= LIMIT
    with sqlite3.connect(tmp_path / INDEX_NAME) as index:
        rows = {
            k: (ext, size, digest)
            for k, ext, size, digest in index.execute(
                "SELECT key, ext, size, checksum FROM entries"
            )
        }
        (counted,) = index.execute("SELECT bytes FROM totals").fetchone()
    index.close()
    assert counted == sum(size for _, size, _ in rows.values())  # the triggers kept count
    assert counted >= entry_bytes(tmp_path)
    truth = {cache_key(n): content(n) for n in range(KEYS)}
    for path in files:
        name = parse_entry_name(path)
        assert name is not None and name[0] in rows, f"{path.name} has no row"
        assert path.read_bytes() == truth[name[0]]
        assert rows[name[0]][2] == checksum(truth[name[0]])
    for n in range(KEYS):
        found = restarted.lookup(cache_key(n), ("webp",))
        assert found is None or found.read_bytes() == content(n)
