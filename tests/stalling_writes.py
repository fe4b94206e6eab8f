"""`pixserve` whose first cache write, across all workers, stops half-way for good.

For the kill -9 test: the worker that stalls writes its pid to the file named by
TEST_PIXSERVE_STALL_MARKER (created exclusively, so only the first write stalls) and
sleeps with half the bytes in its temp file, waiting to be killed.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from pixserve import cache
from pixserve.cli.main import main

MARKER = Path(os.environ["TEST_PIXSERVE_STALL_MARKER"])
write_all = cache.files.write_all


def write_half_then_stall(fd: int, data: bytes) -> None:
    try:
        marker = os.open(MARKER, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
    except FileExistsError:
        write_all(fd, data)  # not the first write: behave
        return
    write_all(fd, data[: len(data) // 2])
    os.write(marker, str(os.getpid()).encode())
    os.close(marker)
    time.sleep(3600)


cache.files.write_all = write_half_then_stall
sys.exit(main(sys.argv[1:]))
