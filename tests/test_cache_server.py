"""The cache under a real multi-worker server: single flight, kill -9, a failing disk."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from loopback.harness import get
from pixserve.cache import DiskCache
from pixserve.cache.files import TEMP_PREFIX, shard_files

from .helpers import MakeApp, encode, gradient
from .live_server import live_server

URL = "/image/photo.jpg?w=500&fmt=webp"

# Each test starts a real server (a second or two): `make test-fast` leaves them out.
pytestmark = pytest.mark.slow


def expected_body(make_app: MakeApp, tmp_path: Path, url: str = URL) -> bytes:
    """The response body made in-process with a cache of its own."""
    client = make_app(cache_dir=tmp_path / "reference-cache").test_client()
    body: bytes = client.get(url).data
    return body


def test_concurrent_misses_make_one_transform_across_workers(root: Path, tmp_path: Path) -> None:
    (root / "big.jpg").write_bytes(encode(gradient((3000, 2000)), "JPEG", quality=90))
    url = "/image/big.jpg?w=1600&fmt=webp"
    results: list[tuple[int, dict[str, str], bytes]] = []
    start = threading.Barrier(32)

    def fetch() -> None:
        start.wait()
        results.append(get(live.port, url))

    with live_server(root, tmp_path / "cache", tmp_path / "log", workers=2, threads=16) as live:
        clients = [threading.Thread(target=fetch) for _ in range(32)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
        transforms = [line for line in live.log_lines('"cache": "MISS"') if "/big.jpg" in line]
    assert len(results) == 32 and {status for status, _, _ in results} == {200}
    assert len({body for _, _, body in results}) == 1
    assert [headers["X-Cache"] for _, headers, _ in results].count("MISS") == 1
    assert len(transforms) == 1, transforms


def test_a_worker_killed_mid_write_leaves_nothing_that_is_served(
    root: Path, tmp_path: Path, make_app: MakeApp
) -> None:
    cache_dir, marker = tmp_path / "cache", tmp_path / "stalled-pid"
    stalled: list[BaseException | tuple[int, dict[str, str], bytes]] = []

    def first_request(port: int) -> None:
        try:
            stalled.append(get(port, URL))
        except OSError as error:
            stalled.append(error)  # its worker is killed: the connection drops

    with live_server(root, cache_dir, tmp_path / "log", stall_marker=marker) as live:
        requester = threading.Thread(target=first_request, args=(live.port,))
        requester.start()
        pid = _wait_for_pid(marker)
        (temp,) = _temp_files(cache_dir)  # half of the result, in a temp file
        assert 0 < temp.stat().st_size
        os.kill(pid, signal.SIGKILL)
        _wait_until_gone(pid)  # its sockets closed: no new connection can land on it
        requester.join(timeout=60)
        assert len(stalled) == 1 and isinstance(stalled[0], OSError)

        status, headers, body = get(live.port, URL)  # its lock died with it: no wait
        assert status == 200 and headers["X-Cache"] == "MISS"
        assert body == expected_body(make_app, tmp_path)
        status, headers, again = get(live.port, URL)
        assert status == 200 and headers["X-Cache"] == "HIT" and again == body
        assert temp.exists()  # a killed writer's temp file stays until the next start-up
        assert pid not in live.workers()

    with live_server(root, cache_dir, tmp_path / "log-restarted") as live:
        assert _temp_files(cache_dir) == []
        status, headers, again = get(live.port, URL)
        assert status == 200 and headers["X-Cache"] == "HIT" and again == body


def test_a_read_only_cache_folder_serves_uncached_and_warns_once(
    root: Path, make_app: MakeApp, tmp_path: Path
) -> None:
    cache_dir, other = tmp_path / "cache", "/image/photo.jpg?w=64&fmt=png"
    make_app(cache_dir=cache_dir).test_client().get(other)  # an existing cache...
    before = _listing(cache_dir)
    wrapper = _read_only(cache_dir)  # ...now on a read-only filesystem, for the server only
    with live_server(root, cache_dir, tmp_path / "log", wrapper=wrapper) as live:
        for url in [URL] * 10 + [other] * 2:
            status, headers, body = get(live.port, url)
            assert status == 200 and body == expected_body(make_app, tmp_path, url)
        warnings = live.log_lines("serving results uncached")
    assert _listing(cache_dir) == before  # it really could not write
    # each condition (index reads, index writes, locks) once in each worker at most
    assert 1 <= len(warnings) <= 3 * 2, warnings


def test_a_cache_folder_removed_while_serving_is_made_anew(
    root: Path, make_app: MakeApp, tmp_path: Path
) -> None:
    cache_dir = tmp_path / "cache"
    expected = expected_body(make_app, tmp_path)
    with live_server(root, cache_dir, tmp_path / "log") as live:
        for cached in ("MISS", "HIT"):
            status, headers, body = get(live.port, URL)
            assert (status, headers["X-Cache"], body) == (200, cached, expected)
        shutil.rmtree(cache_dir)
        seen = []
        for _ in range(12):
            status, headers, body = get(live.port, URL)
            assert status == 200 and body == expected
            seen.append(headers["X-Cache"])
        warnings = live.log_lines("was removed while in use")
    assert seen[0] == "MISS" and seen[-1] == "HIT"
    assert 1 <= len(warnings) <= 2, warnings  # once per worker at most, not per request
    assert DiskCache(cache_dir, 1 << 20).stats().entries == 1


def test_the_bound_holds_across_workers(root: Path, tmp_path: Path) -> None:
    cache_dir, limit = tmp_path / "cache", 1 << 20
    env = {"PIXSERVE_CACHE_MAX_BYTES": str(limit)}
    urls = [f"/image/photo.jpg?w={width}&fmt=png" for width in range(300, 800, 25)]
    with live_server(root, cache_dir, tmp_path / "log", env=env) as live:
        with ThreadPoolExecutor(max_workers=4) as clients:  # both workers write at once
            responses = list(clients.map(lambda url: get(live.port, url), urls))
    assert {status for status, _, _ in responses} == {200}
    assert sum(len(body) for _, _, body in responses) > 2 * limit  # 60-200 kB PNGs
    on_disk = sum(path.stat().st_size for path in shard_files(cache_dir))
    assert 0 < on_disk <= limit
    assert DiskCache(cache_dir, limit).stats().bytes == on_disk


def _wait_for_pid(marker: Path) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if marker.exists() and marker.read_text():
            return int(marker.read_text())
        time.sleep(0.05)
    raise AssertionError("no worker started writing")


def _wait_until_gone(pid: int) -> None:
    """Until the killed process has exited (gone, or a zombie its parent has yet to
    reap): SIGKILL returns before the kernel has closed its files, and a connection
    made meanwhile could be queued on its listening socket, then reset."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return
        if state in ("Z", "X"):
            return
        time.sleep(0.02)
    raise AssertionError(f"worker {pid} still running after SIGKILL")


def _temp_files(cache_dir: Path) -> list[Path]:
    return [path for path in shard_files(cache_dir) if path.name.startswith(TEMP_PREFIX)]


def _listing(folder: Path) -> dict[str, int]:
    return {str(path): path.stat().st_size for path in folder.rglob("*") if path.is_file()}


def _read_only(folder: Path) -> list[str]:
    """A command prefix running a command with `folder` on a read-only bind mount.

    Root can write anywhere, even in a chmod 555 folder, so the folder is remounted
    read-only in a mount namespace of the server's own (as root, or as a user mapped to
    root in a user namespace); elsewhere nothing changes.
    """
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    namespaces = ["--mount"] if os.geteuid() == 0 else ["--user", "--map-root-user", "--mount"]
    wrapper = ["unshare", *namespaces, "sh", "-c", script, str(folder)]
    probe = subprocess.run([*wrapper, "touch", str(folder / "probe")], capture_output=True)
    if probe.returncode == 0 or b"Read-only file system" not in probe.stderr:
        raise AssertionError(f"cannot make a read-only mount here: {probe.stderr!r}")
    return wrapper
