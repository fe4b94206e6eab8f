"""Find a source image under the root, refusing anything that leads outside it.

Every refusal is the same `None` (a 404 to the client), so the server never tells
whether a forbidden path exists.

A name found once is remembered per process, so a repeated request (a cache hit)
costs one `lstat` here instead of resolving every segment (`realpath` was a tenth of
a hit's time in `benchmarks/profile_paths.py`). The memo is trusted only while the
file is the one checked: same device, inode, size, mtime and ctime (no one can set a
ctime back). A removed, replaced or rewritten file, or a last segment turned into a
symlink, fails that test and is looked up in full again. Names that reached their
file through a symlink under the root are never remembered: they are resolved and
checked against the root every time, as a symlink can be pointed elsewhere without
touching the file it led to.
"""

from __future__ import annotations

import contextlib
import functools
import os
import stat
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from werkzeug.security import safe_join

from pixserve.cache.lru import LRU
from pixserve.transformer import SNIFF_BYTES, sniff_format


@dataclass(frozen=True)
class LocalSource:
    """A file under the root; its version is its mtime and size."""

    name: str
    path: Path
    mtime_ns: int
    size: int
    format: str | None  # Pillow's format name from the magic bytes; None if not an image

    @property
    def version(self) -> str:
        return f"file:{self.mtime_ns}:{self.size}"

    @property
    def last_modified(self) -> datetime:
        return datetime.fromtimestamp(self.mtime_ns / 1e9, UTC)

    def read(self) -> bytes:
        return self.path.read_bytes()


def forbidden(name: str) -> bool:
    """Dotfiles, dot-directories (so `..` too), NUL bytes and empty segments."""
    if "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    return any(part == "" or part.startswith(".") for part in name.split("/"))


@functools.lru_cache(maxsize=16)
def _real_root(root: str) -> str:
    """The root with its symlinks resolved, once per process (it is the same every time)."""
    return os.path.realpath(root)


@functools.lru_cache(maxsize=4096)
def _sniffed(real: str, mtime_ns: int, size: int) -> str | None:
    """The format from a file's first bytes, read once per version of the file."""
    with open(real, "rb") as file:
        return sniff_format(file.read(SNIFF_BYTES))


FOUND_MAX = 4096  # names whose lookup this process remembers (least recently found out)


@dataclass(frozen=True)
class _Found:
    """A name resolved and checked once: where its file is, and how to recognise it."""

    real: str
    identity: tuple[int, int, int, int, int]  # device, inode, size, mtime_ns, ctime_ns
    source: LocalSource


_found: LRU[tuple[Path, str], _Found] = LRU(FOUND_MAX)


def find_source(root: Path, name: str) -> LocalSource | None:
    """The regular file `name` under `root`, after resolving symlinks, or None.

    A repeated name gets the same `LocalSource` object while its file is unchanged.
    """
    remembered = _found.get((root, name))
    if remembered is not None:
        with contextlib.suppress(OSError):
            if _identity(os.lstat(remembered.real)) == remembered.identity:
                return remembered.source
        _found.pop((root, name), remembered)
    return _look_up(root, name)


def _look_up(root: Path, name: str) -> LocalSource | None:
    """The full lookup: refuse, join, resolve, check the root, stat, sniff."""
    if forbidden(name):
        return None
    joined = safe_join(str(root), name)
    if joined is None:
        return None
    try:
        real_root = _real_root(str(root))
        real = os.path.realpath(joined)
        if os.path.commonpath([real_root, real]) != real_root:
            return None  # a symlink that leads out of the root
        info = os.stat(real)
        if not stat.S_ISREG(info.st_mode):
            return None
        sniffed = _sniffed(real, info.st_mtime_ns, info.st_size)
    except (OSError, ValueError):
        return None  # missing, unreadable, a directory, a name too long...
    source = LocalSource(
        name=name,
        path=Path(real),
        mtime_ns=info.st_mtime_ns,
        size=info.st_size,
        format=sniffed,
    )
    # Only a path with no symlink below the root is remembered (see the module's doc).
    if real == os.path.join(real_root, os.path.relpath(joined, root)):
        _found.put((root, name), _Found(real, _identity(info), source))
    return source


def _identity(info: os.stat_result) -> tuple[int, int, int, int, int]:
    return (info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns, info.st_ctime_ns)
