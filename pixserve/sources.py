"""Find a source image under the root, refusing anything that leads outside it.

Every refusal is the same `None` (a 404 to the client), so the server never tells
whether a forbidden path exists.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import safe_join

from transformer import SNIFF_BYTES, sniff_format


@dataclass(frozen=True)
class Source:
    """A source file's identity: what the ETag and cache key are made of."""

    name: str
    path: Path
    mtime_ns: int
    size: int
    format: str | None  # Pillow's format name from the magic bytes; None if not an image

    @property
    def mtime(self) -> float:
        return self.mtime_ns / 1e9

    def read(self) -> bytes:
        return self.path.read_bytes()


def _forbidden(name: str) -> bool:
    """Dotfiles, dot-directories (so `..` too), NUL bytes and empty segments."""
    if "\x00" in name or "\\" in name or name.startswith("/"):
        return True
    return any(part == "" or part.startswith(".") for part in name.split("/"))


def find_source(root: Path, name: str) -> Source | None:
    """The regular file `name` under `root`, after resolving symlinks, or None."""
    if _forbidden(name):
        return None
    joined = safe_join(str(root), name)
    if joined is None:
        return None
    try:
        real_root = os.path.realpath(root)
        real = os.path.realpath(joined)
        if os.path.commonpath([real_root, real]) != real_root:
            return None  # a symlink that leads out of the root
        with open(real, "rb") as file:
            info = os.fstat(file.fileno())
            if not stat.S_ISREG(info.st_mode):
                return None
            head = file.read(SNIFF_BYTES)
    except (OSError, ValueError):
        return None  # missing, unreadable, a directory, a name too long...
    return Source(
        name=name,
        path=Path(real),
        mtime_ns=info.st_mtime_ns,
        size=info.st_size,
        format=sniff_format(head),
    )
