"""Advisory file locks (`flock`) that die with their holder, and lock files that vanish.

`flock` is held by an open file and released by the kernel when its process dies,
even by SIGKILL, so a killed worker can never leave a lock held. Each lock file is
removed by whoever releases it; a waiter that locked a file just removed retries on a
fresh one (it checks the name still leads to the inode it locked), which keeps the
locks folder empty without two holders ever believing they own the same name.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

POLL_FIRST = 0.002  # seconds between tries while another process holds a lock...
POLL_MAX = 0.02  # ...doubling up to this, so waiters learn of a release within 20 ms


def is_same_file(fd: int, path: Path) -> bool:
    """True when `path` still names the file open as `fd` (nobody removed or replaced it)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino)


def lock_path(path: Path, timeout: float) -> int | None:
    """An open, exclusively locked fd for `path` (created if absent); None after `timeout`."""
    deadline = time.monotonic() + timeout
    pause = POLL_FIRST
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        os.close(fd)
                        return None
                    time.sleep(pause)
                    pause = min(pause * 2, POLL_MAX)
            if is_same_file(fd, path):
                return fd
            os.close(fd)  # its holder removed it while we waited: lock the new one
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise


def unlock_path(fd: int, path: Path) -> None:
    """Remove the lock file, then release it (the order waiters rely on)."""
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
    finally:
        os.close(fd)


def remove_if_abandoned(path: Path) -> bool:
    """Delete `path` when no live process holds its lock; True if it was deleted.

    Writers lock their temp files, so this tells a killed writer's leftover from a
    write in progress, whatever the file's age.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        if not is_same_file(fd, path):
            return False
        os.unlink(path)
        return True
    finally:
        os.close(fd)
