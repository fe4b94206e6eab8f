"""Readiness: can this node serve? Its source root reads, its cache folder writes and
its cache's disk is not full.

The answers name what is wrong without naming a path (responses never reveal the
server's paths); the operator knows where `root` and `cache_dir` are.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from pixserve.cache import DiskCache


def readiness_problems(root: Path, cache: DiskCache) -> list[str]:
    """What keeps the node from serving well; empty when it is ready."""
    cache_dir = cache.directory
    problems = []
    try:
        with os.scandir(root) as entries:
            next(entries, None)
    except OSError as error:
        problems.append(f"the source root cannot be read ({error.strerror or error})")
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        # An unnamed temp file (O_TMPFILE): nothing is left behind, even if killed here.
        with tempfile.TemporaryFile(dir=cache_dir, prefix=".ready-"):
            pass
    except OSError as error:
        problems.append(f"the cache folder is not writable ({error.strerror or error})")
    problems.extend(cache.condition())
    return problems
