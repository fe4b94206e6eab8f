"""A small bounded memo, least recently used out, safe to share between threads.

Why here: the cache remembers the entries it checked, and the server remembers sources
found and requests understood, all per process and bounded. `cache/` imports neither
Flask nor Pillow, so both sides may import this module.

Why not `cachetools.LRUCache` (8.0): it is not thread-safe either (its docs ask for a
lock around every call), and behind the same lock its Python-level `__getitem__` and
`__setitem__` measured 1.0-1.7x this `OrderedDict`'s C methods for a get and 1.9-3.6x
for a put past the bound (the commit that added this module has the figures). All
there is to write besides `OrderedDict` is the lock. Values are never None: `get`
answers None for a key it does not hold.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """At most `size` values; a `get` that finds one makes it the most recent, and a
    `put` past the bound forgets the least recent. Every method takes one lock."""

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError(f"an LRU holds at least one value, not {size}")
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            if len(self._values) > self.size:
                self._values.popitem(last=False)

    def pop(self, key: K, value: V | None = None) -> None:
        """Forget `key`; with `value`, only while it still holds that very value (what
        another thread put since is kept)."""
        with self._lock:
            if value is None or self._values.get(key) is value:
                self._values.pop(key, None)

    def __contains__(self, key: K) -> bool:
        with self._lock:
            return key in self._values

    def __len__(self) -> int:
        return len(self._values)

    def keys(self) -> list[K]:
        """The keys, least recent first (a copy)."""
        with self._lock:
            return list(self._values)
