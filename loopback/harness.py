"""A server command on a loopback port, for tests and benchmarks: start, wait, always stop.

Why one module: the tests and the benchmarks start pixserve, nginx, thumbor and a static
server, and each copy of "free port, wait, stop" cleaned up a little differently. Here
a server runs in a process group of its own, so that stopping it also stops the workers
it forked (thumbor's outlive their master); it is stopped when its block ends, when
start-up fails, and when the caller is interrupted. Standard library only: tests and
benchmarks import it as `loopback.harness` (the repository root is on `sys.path` under
pytest and `python -m benchmarks`).
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0
POLL = 0.05


class Headers(dict[str, str]):
    """A response's headers by name, whatever its case: HTTP names are case-insensitive,
    and servers differ (granian, like HTTP/2, sends them in lower case)."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((name.lower(), value) for name, value in pairs)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)


Reply = tuple[int, Headers, bytes]


class ServerDidNotStart(RuntimeError):
    """The command exited, or did not answer in time; the message ends with its log."""


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def get(
    port: int,
    path: str,
    headers: Mapping[str, str] | None = None,
    *,
    method: str = "GET",
    timeout: float = 60,
) -> Reply:
    """One request on a fresh connection: status, headers, the whole body."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, Headers(response.getheaders()), response.read()
    finally:
        connection.close()


@dataclass(frozen=True)
class Served:
    """A running server: its port, its process (leader of its group) and its log."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_lines(self, containing: str) -> list[str]:
        return [line for line in self.log_text().splitlines() if containing in line]

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def workers(self) -> list[int]:
        """The processes the server forked (pixserve's, thumbor's and nginx's workers)."""
        return children(self.process.pid)


Ready = Callable[[Served], bool]


def accepts(served: Served) -> bool:
    """Ready once the port takes a connection."""
    with socket.create_connection((HOST, served.port), timeout=1):
        return True


def answers(path: str = "/", status: int | None = None) -> Ready:
    """Ready once `path` gets an HTTP answer (with `status`, when given)."""

    def ready(served: Served) -> bool:
        answer = get(served.port, path, timeout=5)[0]
        return status is None or answer == status

    return ready


@contextmanager
def serving(
    command: Sequence[str],
    port: int,
    log: Path,
    *,
    ready: Ready = accepts,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    start_timeout: float = START_TIMEOUT,
    stop_timeout: float = STOP_TIMEOUT,
) -> Iterator[Served]:
    """Run `command` (which must listen on `port`) until the block ends.

    Its stdout and stderr are appended to `log`. Waits until `ready` holds; raises
    `ServerDidNotStart` with the log's tail if the command exits first or `start_timeout`
    passes. `env` is the whole environment (default: this process's).
    """
    with open(log, "ab") as log_file:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            env=None if env is None else dict(env),
            cwd=cwd,
            start_new_session=True,  # its own process group, stopped as a whole
        )
    served = Served(port, process, log)
    try:
        _wait_until_ready(served, ready, start_timeout, Path(command[0]).name)
        yield served
    finally:
        stop(process, stop_timeout)


def stop(process: subprocess.Popen[bytes], timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM to the process group; SIGKILL to what is left of it after `timeout`.

    Returns once no process of the group runs any more (a SIGKILL lands when the
    process is next scheduled, not at once).
    """
    deadline = time.monotonic() + timeout
    _signal_group(process.pid, signal.SIGTERM)
    while _group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(POLL)  # the leader and any workers that outlive it finish leaving
    _signal_group(process.pid, signal.SIGKILL)  # whatever ignored SIGTERM
    process.wait()
    deadline = time.monotonic() + timeout
    while _group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(POLL)


def children(pid: int) -> list[int]:
    """The live child processes of `pid`, forked from any of its threads."""
    found: list[int] = []
    with contextlib.suppress(FileNotFoundError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(FileNotFoundError):
                found += [int(child) for child in (task / "children").read_text().split()]
    return found


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it."""
    found, queue = [], [pid]
    while queue:
        member = queue.pop()
        found.append(member)
        queue.extend(children(member))
    return found


def proportional_set_size(pid: int) -> int:
    """The memory of `pid` and all its descendants, in bytes, each shared page split
    between its sharers (PSS): forked workers share their parent's pages, which a sum
    of resident sets would count once per worker."""
    total = 0
    for member in descendants(pid):
        with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
            for line in Path(f"/proc/{member}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total


def _wait_until_ready(served: Served, ready: Ready, timeout: float, name: str) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if ready(served):
                return
        except (OSError, http.client.HTTPException):
            pass
        exited = served.process.poll()
        if exited is not None:
            raise ServerDidNotStart(
                f"{name} exited with status {exited} at start-up; "
                f"its log ({served.log}) ends:\n{served.log_tail()}"
            )
        if time.monotonic() > deadline:
            raise ServerDidNotStart(
                f"{name} did not answer on {HOST}:{served.port} within "
                f"{timeout:g} s; its log ({served.log}) ends:\n{served.log_tail()}"
            )
        time.sleep(POLL)


def _signal_group(group: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


def _group_members(group: int) -> list[int]:
    """Processes still running in `group` (zombies left for init to reap do not count)."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        state, _parent, process_group = stat.rsplit(")", 1)[1].split()[:3]
        if int(process_group) == group and state != "Z":
            members.append(int(entry))
    return members
