"""What C libraries write to stderr reaches the log as JSON records, not raw lines."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from .harness import get
from .helpers import encode, gradient
from .live_server import live_server

pytestmark = pytest.mark.slow  # real pixserve serve processes


def test_libtiff_errors_become_json_records(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    tiff = bytearray(encode(gradient((64, 64), "L"), "TIFF", compression="tiff_adobe_deflate"))
    for offset in range(8, 28):  # the deflate strip right after the header: garbled
        tiff[offset] ^= 0x5A
    (root / "broken.tif").write_bytes(bytes(tiff))
    log = tmp_path / "log"
    with live_server(root, tmp_path / "cache", log, workers=1) as live:
        status, _, body = get(live.port, "/image/broken.tif?w=32&fmt=png")
        assert status == 422, body
        native = _wait_for(log, "ZIPDecode")
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(records) == len(lines) > 3
    assert native["logger"] == "native" and native["level"] == "warning"
    assert native["msg"].startswith("ZIPDecode: Decoding error")
    assert any(record["logger"].startswith("_granian") for record in records)  # the server's


def _wait_for(log: Path, text: str) -> dict[str, object]:
    """The first record whose message holds `text` (the capturing thread logs it soon)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if text in line:
                record: dict[str, object] = json.loads(line)
                return record
        time.sleep(0.05)
    raise AssertionError(f"no record of {text!r} in:\n{log.read_text()}")
