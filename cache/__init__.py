"""The on-disk result cache: bytes stored under a key, served back by path.

`disk` says how it is built and why (SQLite index, per-key locks, files served by path).
"""

from .disk import DiskCache, Freed
from .index import Summary

__all__ = ["DiskCache", "Freed", "Summary"]
