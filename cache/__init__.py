"""The on-disk result cache: bytes stored under a key, served back by path."""

from .disk import DiskCache

__all__ = ["DiskCache"]
