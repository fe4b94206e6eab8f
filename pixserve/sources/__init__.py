"""Where originals come from, and each one's identity (what keys and ETags hash)."""

from pixserve.sources.local import Source, find_source

__all__ = ["Source", "find_source"]
