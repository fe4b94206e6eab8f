"""The server harness that tests and benchmarks share: ready means answering, stopped
means the whole process group is gone, and a failed start says why."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from loopback.harness import ServerDidNotStart, accepts, answers, free_port, get, serving

# Listens at once; its forked child ignores SIGTERM and outlives it, as a stuck worker.
SERVER_WITH_STUBBORN_CHILD = """
import http.server, os, signal, sys, time
port, pid_file = int(sys.argv[1]), sys.argv[2]
if os.fork() == 0:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    while True:
        time.sleep(1)
http.server.HTTPServer(("127.0.0.1", port), http.server.SimpleHTTPRequestHandler).serve_forever()
"""


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except OSError:
        return True


def test_serves_until_the_block_ends_then_stops_the_whole_group(tmp_path: Path) -> None:
    port, pid_file = free_port(), tmp_path / "child.pid"
    command = [sys.executable, "-c", SERVER_WITH_STUBBORN_CHILD, str(port), str(pid_file)]
    log = tmp_path / "log"
    with serving(command, port, log, ready=answers("/"), cwd=tmp_path, stop_timeout=1) as served:
        assert get(served.port, "/")[0] == 200
        while not pid_file.exists() or not pid_file.read_text():
            time.sleep(0.01)
        child = int(pid_file.read_text())
        assert served.workers() == [child] and running(child)
        assert os.getpgid(child) == served.process.pid  # a group of its own
    assert served.process.returncode is not None
    assert not running(child)  # killed after it ignored SIGTERM
    assert refuses(port)
    assert '"GET / HTTP/1.1" 200' in served.log_text()  # stderr went to the log


def test_a_command_that_exits_at_start_up_fails_with_its_log(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "import sys; sys.exit('no such root: /nowhere')"]
    with pytest.raises(ServerDidNotStart, match=r"status 1 at start-up(.|\n)*/nowhere"):
        with serving(command, free_port(), tmp_path / "log"):
            raise AssertionError("never ready")


def test_a_command_that_never_answers_is_stopped_at_the_start_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(60)"
    command = [sys.executable, "-c", script, str(pid_file)]
    with pytest.raises(ServerDidNotStart, match=r"did not answer on 127.0.0.1:\d+ within 2 s"):
        with serving(command, free_port(), tmp_path / "log", ready=accepts, start_timeout=2):
            raise AssertionError("never ready")
    assert not running(int(pid_file.read_text()))
