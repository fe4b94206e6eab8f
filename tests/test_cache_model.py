"""The cache against a simple model, by hypothesis: random puts, gets, evictions,
restarts, source changes, purges, damaged files and dead writers' leftovers.

After every step: the entry files stay within the limit (and dead writers' temp files
are the only overshoot, until the next start-up), the index never counts less than the
files, and a get returns exactly the bytes last put under its key or nothing.
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from pixserve.cache import DiskCache
from pixserve.cache.files import TEMP_PREFIX, parse_entry_name, shard_files

pytestmark = pytest.mark.slow  # hundreds of stateful runs: half a minute

LIMIT = 4096
MAX_SIZE = 1500
SOURCES = ("a.jpg", "photos/b.png", "c d.webp")
EXTENSIONS = ("webp",)

sources = st.sampled_from(SOURCES)
variants = st.integers(0, 3)


class CacheAgainstModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.directory = Path(tempfile.mkdtemp(prefix="pixserve-model-"))
        self.cache = DiskCache(self.directory, LIMIT, whole_folder=False)
        self.model: dict[str, bytes] = {}  # what a get may return; absent: nothing
        self.source_of: dict[str, str] = {}
        self.versions = dict.fromkeys(SOURCES, 0)  # stands for the source's mtime and size
        self.leftovers = 0  # bytes of temp files dead writers left

    def key(self, source: str, variant: int) -> str:
        identity = f"{source}\n{self.versions[source]}\n{variant}"
        return hashlib.blake2b(identity.encode(), digest_size=20).hexdigest()

    @rule(
        source=sources, variant=variants, size=st.integers(1, MAX_SIZE), fill=st.binary(min_size=1)
    )
    def put(self, source: str, variant: int, size: int, fill: bytes) -> None:
        key = self.key(source, variant)
        data = (fill * size)[:size]
        assert self.cache.store(key, "webp", data, source) is not None
        self.model[key], self.source_of[key] = data, source
        found = self.cache.lookup(key, EXTENSIONS)  # the newest entry is never the one evicted
        assert found is not None and found.read_bytes() == data

    @rule(source=sources, variant=variants)
    def get(self, source: str, variant: int) -> None:
        key = self.key(source, variant)
        found = self.cache.lookup(key, EXTENSIONS)
        if found is not None:
            assert key in self.model, "an entry that was never put, or was purged or damaged"
            assert found.read_bytes() == self.model[key]

    @rule(source=sources)
    def change_source(self, source: str) -> None:
        self.versions[source] += 1  # new keys: the old entries are never asked for again

    @rule()
    def prune(self) -> None:
        self.cache.prune()
        assert self.leftovers == 0 or self.disk_bytes(temps=True) == self.disk_bytes()
        self.leftovers = 0

    @rule()
    def restart(self) -> None:
        self.cache.close()
        self.cache = DiskCache(self.directory, LIMIT, whole_folder=False)
        self.cache.recover()  # what the app factory does at start-up
        self.leftovers = 0

    @rule(source=sources)
    def purge(self, source: str) -> None:
        self.cache.purge(source)
        for key in [k for k, s in self.source_of.items() if s == source]:
            self.model.pop(key, None)
            assert self.cache.lookup(key, EXTENSIONS) is None

    @precondition(lambda self: bool(self.entry_files()))
    @rule(
        data=st.data(),
        kind=st.sampled_from(["truncate", "flip", "zeros", "append"]),
        at=st.integers(0, MAX_SIZE),
    )
    def damage(self, data: st.DataObject, kind: str, at: int) -> None:
        """What a crash, a full disk or bit rot may do to a file in place."""
        path = data.draw(st.sampled_from(sorted(self.entry_files())))
        original = path.read_bytes()
        at %= len(original)
        damaged = {
            "truncate": original[:at],
            "flip": original[:at] + bytes([original[at] ^ 0x20]) + original[at + 1 :],
            "zeros": bytes(len(original)),
            "append": original + b"\0",
        }[kind]
        path.write_bytes(damaged)
        name = parse_entry_name(path)
        assert name is not None
        if damaged != original:
            assert self.cache.lookup(name[0], EXTENSIONS) is None
            self.model.pop(name[0], None)

    @rule(size=st.integers(1, 2000))
    def writer_killed_mid_write(self, size: int) -> None:
        folder = self.directory / "de" / "ad"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{TEMP_PREFIX}{self.leftovers}-{size}").write_bytes(b"\0" * size)
        self.leftovers += size

    @invariant()
    def bounded(self) -> None:
        assert self.disk_bytes() <= LIMIT
        assert self.disk_bytes(temps=True) <= LIMIT + self.leftovers

    @invariant()
    def index_never_counts_less_than_the_files(self) -> None:
        assert self.cache.stats().bytes >= self.disk_bytes()

    def entry_files(self) -> list[Path]:
        return [p for p in shard_files(self.directory) if not p.name.startswith(TEMP_PREFIX)]

    def disk_bytes(self, temps: bool = False) -> int:
        files = shard_files(self.directory) if temps else self.entry_files()
        return sum(path.stat().st_size for path in files)

    def teardown(self) -> None:
        self.cache.close()
        shutil.rmtree(self.directory)


CacheAgainstModel.TestCase.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
test_cache_against_model = CacheAgainstModel.TestCase
