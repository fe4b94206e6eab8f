"""The contenders as loopback servers in subprocesses: pixserve, thumbor, static, nginx.

Why subprocesses with the same worker count: the race is "same cores, same workers";
each server is started the way its users start it, on a free port, and is always
stopped, even when the benchmark fails. Peak memory is read from the kernel's
high-water mark (`VmHWM`) of each worker process.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import TypeVar

from benchmarks.cases import CORPUS, QUALITY, ROOT
from benchmarks.results_md import publish
from loopback.harness import HOST, Reply, Served, answers, free_port, get, serving
from loopback.harness import ServerDidNotStart as ServerDidNotStart

BIN = ROOT / ".venv" / "bin"
THUMBOR = ROOT / "benchmarks" / ".venvs" / "thumbor" / "bin" / "thumbor"
START_TIMEOUT = 60.0


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def thumbor_missing(entry: str) -> bool:
    """Whether thumbor's bench virtualenv is missing (said on stderr, with the fix)."""
    if THUMBOR.exists():
        return False
    print(f"{entry}: thumbor is not installed; run `make bench`", file=sys.stderr)
    return True


def failed(entry: str, error: BaseException, server: Server) -> int:
    """Say why an entry stopped and what the server last logged; the exit status."""
    print(f"{entry}: FAILED: {error}", file=sys.stderr)
    print(f"--- server log (last lines) ---\n{server.log_tail()}", file=sys.stderr)
    return 1


class BenchmarkError(RuntimeError):
    """Something the benchmark did not expect: a wrong status, header or size."""


def _stop_on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through `with server`, which stops it


ServerT = TypeVar("ServerT", bound="Server")
Results = TypeVar("Results")


def measure_and_publish(
    entry: str,
    server: ServerT,
    measure: Callable[[ServerT], Results],
    render: Callable[[Results, float], str],
    out: Path,
) -> int:
    """Start `server`, measure it, publish what `render` makes of the results and the
    run time; the exit status. A SIGTERM or a failure still stops the server."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.perf_counter()
    try:
        with server:
            results = measure(server)
    except (BenchmarkError, ServerDidNotStart, OSError, http.client.HTTPException) as error:
        return failed(entry, error, server)
    publish(render(results, time.perf_counter() - started), out)
    return 0


class Server:
    """A server process tree (`loopback.harness`); subclasses give its command and a probe."""

    name = "server"
    probe = "/"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.port = free_port()
        self._temp = tempfile.TemporaryDirectory(prefix=f"pixserve-bench-{self.name}-")
        self.temp = Path(self._temp.name)
        self._running = contextlib.ExitStack()
        self._served: Served | None = None
        self._last_log = ""

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        return {k: v for k, v in os.environ.items() if not k.startswith("PIXSERVE_")}

    def __enter__(self) -> Server:
        try:
            self._served = self._running.enter_context(
                serving(
                    self.command(),
                    self.port,
                    self.temp / "server.log",
                    ready=self._ready,
                    env=self.environment(),
                    cwd=self.temp,
                    start_timeout=START_TIMEOUT,
                )
            )
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _ready(self, served: Served) -> bool:
        """Its probe answers (any status) and every worker has been forked."""
        return answers(self.probe)(served) and len(served.workers()) >= self.workers

    def get(self, path: str, headers: dict[str, str] | None = None) -> Reply:
        return get(self.port, path, headers, timeout=120)

    def worker_pids(self) -> list[int]:
        return [] if self._served is None else self._served.workers()

    @property
    def process(self) -> subprocess.Popen[bytes] | None:
        """The server's leading process while it runs."""
        return None if self._served is None else self._served.process

    def peak_rss_mib(self) -> float:
        """The largest high-water resident set of any worker, in MiB."""
        return max((_status_kib(pid, "VmHWM") for pid in self.worker_pids()), default=0) / 1024

    def log_tail(self) -> str:
        """The end of its log, also once stopped (its folder is gone then)."""
        return self._last_log if self._served is None else self._served.log_tail()

    def stop(self) -> None:
        """Stop the whole process group (thumbor's forked workers outlive their master)."""
        if self._served is not None:
            self._last_log = self._served.log_tail()
            self._served = None
        self._running.close()
        self._temp.cleanup()


class Pixserve(Server):
    """`pixserve serve` with a fresh cache, its defaults but for the worker count, and:
    no kept decoded sources (a cold race repeats one source and size with cache-busting
    tokens, which would then skip the decode; the page race turns them on); a queue
    and a time limit as long as the peers' (they have neither, while pixserve's
    defaults answer 503 after 10 s in the queue or 10 s of work, which a shared
    machine's load can reach with a page's 1280 px AVIFs)."""

    name = "pixserve"

    def environment(self) -> dict[str, str]:
        return {
            **super().environment(),
            "PIXSERVE_DECODED_CACHE": "0",
            "PIXSERVE_QUEUE_TIMEOUT": "60s",
            "PIXSERVE_TIME_LIMIT": "60s",
            "PIXSERVE_GRACEFUL_TIMEOUT": "90s",  # these two must be longer than the time limit
            "PIXSERVE_FLIGHT_TIMEOUT": "90s",  # a miss waiting for another worker
        }

    root = CORPUS  # a subclass may serve another folder

    def __init__(self, workers: int, threads: int | None = None) -> None:
        super().__init__(workers)
        self.threads = threads

    def command(self) -> list[str]:
        command = [str(BIN / "pixserve"), "serve", "--root", str(self.root)]
        command += ["--cache-dir", str(self.temp / "cache"), "--host", HOST]
        command += ["--port", str(self.port), "--workers", str(self.workers)]
        if self.threads is not None:
            command += ["--threads", str(self.threads)]
        return command


class Static(Server):
    """Flask `send_from_directory` of `root` under `pixserve serve`'s server settings."""

    name = "static"

    def __init__(self, workers: int, threads: int, root: Path) -> None:
        super().__init__(workers)
        self.threads = threads
        self.root = root

    def command(self) -> list[str]:
        script = ROOT / "benchmarks" / "static_app.py"
        args = [str(self.root), str(self.port), str(self.workers), str(self.threads)]
        return [str(BIN / "python"), str(script), *args]


class Thumbor(Server):
    """thumbor with its PIL engine: file loader on the corpus, no result storage;
    `detectors` turns on its face and feature detectors (`smart`)."""

    name = "thumbor"
    probe = "/healthcheck"
    root = CORPUS
    detectors = False

    def command(self) -> list[str]:
        config = self.temp / "thumbor.conf"
        config.write_text(
            "\n".join(
                [
                    "LOADER = 'thumbor.loaders.file_loader'",
                    f"FILE_LOADER_ROOT_PATH = {str(self.root)!r}",
                    "STORAGE = 'thumbor.storages.no_storage'",
                    "RESULT_STORAGE = 'thumbor.result_storages.no_storage'",
                    "ENGINE = 'thumbor.engines.pil'",
                    "RESPECT_ORIENTATION = True",
                    "ALLOW_UNSAFE_URL = True",
                    "AUTO_WEBP = False",
                    "PRESERVE_EXIF_INFO = False",
                    # pixserve writes baseline JPEG with optimised Huffman tables;
                    # thumbor's default (progressive) would be another setting.
                    "PROGRESSIVE_JPEG = False",
                    f"QUALITY = {QUALITY['jpeg']}",
                    f"AVIF_SPEED = {avif_speed()}",
                    "MAX_PIXELS = 50e6",  # pixserve's max_source_pixels
                    *self.detector_settings(),
                    "",
                ]
            )
        )
        return [
            str(THUMBOR),
            f"--ip={HOST}",
            f"--port={self.port}",
            f"--conf={config}",
            f"--processes={self.workers}",
            "--log-level=warning",
        ]

    def detector_settings(self) -> list[str]:
        if not self.detectors:
            return []
        found = ["thumbor.detectors.face_detector", "thumbor.detectors.feature_detector"]
        return [f"DETECTORS = {found!r}"]


class Nginx(Server):
    """nginx serving `root` with sendfile, one worker process per pixserve worker."""

    name = "nginx"
    probe = "/"

    def __init__(self, workers: int, root: Path) -> None:
        super().__init__(workers)
        self.root = root

    @staticmethod
    def available() -> bool:
        return shutil.which("nginx") is not None

    def command(self) -> list[str]:
        user = "user root;" if os.geteuid() == 0 else ""  # workers must read our temp dir
        config = self.temp / "nginx.conf"
        config.write_text(
            f"""{user}
worker_processes {self.workers};
pid {self.temp}/nginx.pid;
error_log {self.temp}/error.log warn;
daemon off;
events {{ worker_connections 256; }}
http {{
  access_log {self.temp}/access.log;
  client_body_temp_path {self.temp}/body;
  proxy_temp_path {self.temp}/proxy;
  fastcgi_temp_path {self.temp}/fastcgi;
  uwsgi_temp_path {self.temp}/uwsgi;
  scgi_temp_path {self.temp}/scgi;
  sendfile on;
  tcp_nopush on;
  types {{ image/webp webp; image/jpeg jpg jpeg; image/avif avif; image/png png; }}
  server {{
    listen {HOST}:{self.port};
    location /static/ {{ alias {self.root}/; expires 1d; }}
  }}
}}
"""
        )
        return [shutil.which("nginx") or "nginx", "-p", str(self.temp), "-c", str(config)]


def avif_speed() -> int:
    from pixserve.transformer.encode import AVIF_SPEED

    return AVIF_SPEED


def nginx_version() -> str | None:
    if not Nginx.available():
        return None
    out = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr.strip()
    return out.split(":", 1)[-1].strip()


def thumbor_versions() -> str:
    python = THUMBOR.parent / "python"
    code = (
        "import thumbor, PIL, tornado; "
        "print(f'thumbor {thumbor.__version__} (Pillow {PIL.__version__}, "
        "tornado {tornado.version})')"
    )
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def check_peers() -> None:
    if not THUMBOR.is_file():
        sys.exit(f"benchmarks: {THUMBOR} is missing; `make bench` creates it")
