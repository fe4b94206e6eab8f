"""The entry files: where they live, how they are written whole, how they are found.

Layout: `<directory>/ab/cd/<key>.<ext>`, sharded so no folder grows huge. A write goes
to a locked temp file in the same folder and is moved in place with `os.replace`, so a
reader sees the whole file or none, and a writer killed half-way leaves only a temp
file, which `remove_if_abandoned` can tell from a write in progress. A shard folder is
removed with its last entry (each takes a block on disk, and there can be 65,792 of
them); a writer whose folder vanished under it makes it again.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .locking import is_same_file

TEMP_PREFIX = ".tmp-"
FOLDER_RETRIES = 5  # a write's folder removed under it this many times: give up
_SHARD = re.compile(r"[0-9a-f]{2}")
_ENTRY = re.compile(r"(?P<key>[0-9a-f]{8,})\.(?P<ext>[a-z0-9]{1,8})")


def entry_path(directory: Path, key: str, extension: str) -> Path:
    """Where the entry for `key` lives (whether or not it exists)."""
    if _ENTRY.fullmatch(f"{key}.{extension}") is None:
        raise ValueError(f"cache keys are lowercase hex digests, got {key!r}.{extension!r}")
    return directory / key[:2] / key[2:4] / f"{key}.{extension}"


@dataclass(frozen=True)
class Written:
    """What a finished write left on disk: enough to recognise that very file later."""

    path: Path
    inode: int
    size: int


def checksum(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def write_atomically(path: Path, data: bytes, mode: int = 0o600) -> Written:
    """Write `data` to `path` whole or not at all, with permissions `mode`; raises
    OSError when the disk refuses."""
    fd, temp = _temp_file_in(path.parent)
    try:
        if mode != 0o600:  # mkstemp's own
            os.fchmod(fd, mode)
        write_all(fd, data)
        info = os.fstat(fd)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    finally:
        os.close(fd)
    return Written(path, info.st_ino, info.st_size)


def _temp_file_in(folder: Path) -> tuple[int, str]:
    """A locked temp file in `folder`, made anew if another process removed it emptied."""
    for attempt in range(FOLDER_RETRIES):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            return _locked_temp_file(folder)
        except FileNotFoundError:
            if attempt == FOLDER_RETRIES - 1:
                raise  # emptied as fast as it is made: let the caller report it
    raise AssertionError("unreachable")


def _locked_temp_file(folder: Path) -> tuple[int, str]:
    """A new temp file, locked so start-up cleaning knows its writer is alive."""
    while True:
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        fcntl.flock(fd, fcntl.LOCK_EX)
        if is_same_file(fd, Path(temp)):
            return fd, temp
        os.close(fd)  # a cleaner took it for a dead writer's before we locked it


def write_all(fd: int, data: bytes) -> None:
    """`os.write` until every byte is down (a separate function so tests can stall it)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def shard_files(directory: Path) -> Iterator[Path]:
    """Every file in the `ab/cd/` shard folders: entries and temp files, nothing else."""
    for first in _subfolders(directory):
        for second in _subfolders(first):
            with contextlib.suppress(OSError):
                with os.scandir(second) as found:
                    for item in found:
                        if item.is_file(follow_symlinks=False):
                            yield Path(item.path)


def _subfolders(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as found:
            return [
                Path(item.path)
                for item in found
                if _SHARD.fullmatch(item.name) and item.is_dir(follow_symlinks=False)
            ]
    except OSError:
        return []


def parse_entry_name(path: Path) -> tuple[str, str] | None:
    """(key, extension) of an entry file's name; None for temp files and strangers."""
    match = _ENTRY.fullmatch(path.name)
    return None if match is None else (match["key"], match["ext"])


def remove(path: Path) -> int:
    """Delete `path` if it is there, and its shard folders if that emptied them; the
    bytes it held (0 if another process was first)."""
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    remove_empty_shards(path.parent)
    return size


def remove_empty_shards(folder: Path) -> None:
    """Remove the `ab/cd` folder `folder`, then `ab`, each only when empty."""
    for shard in (folder, folder.parent):
        if _SHARD.fullmatch(shard.name) is None:
            return
        try:
            os.rmdir(shard)
        except OSError as error:
            if error.errno != errno.ENOENT:
                return  # not empty (another entry, or a write starting), or not ours
