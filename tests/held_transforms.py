"""`pixserve` whose transforms of `v=hold-...` URLs wait until the test releases them.

For the signal tests: requests stay in flight for as long as a test needs, without
relying on anything being slow. A held transform creates a file `started-<n>` in
TEST_PIXSERVE_HOLD_DIR, waits until `release` exists there (at most 60 s), then
transforms as usual. Other URLs are not held.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pixserve.http.delivery
from pixserve.cli.main import main
from pixserve.transformer import Options, Result

HOLD_DIR = Path(os.environ["TEST_PIXSERVE_HOLD_DIR"])
real_transform = pixserve.http.delivery.transform


def held_transform(source: bytes, options: Options, *args: Any, **kwargs: Any) -> Result:
    if (options.version or "").startswith("hold"):
        tempfile.NamedTemporaryFile(dir=HOLD_DIR, prefix="started-", delete=False).close()
        deadline = time.monotonic() + 60
        while not (HOLD_DIR / "release").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
    return real_transform(source, options, *args, **kwargs)


pixserve.http.delivery.transform = held_transform
sys.exit(main(sys.argv[1:]))
