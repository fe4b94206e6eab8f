"""Debian's nginx running `deploy/nginx.conf` in front of a pixserve on loopback.

The shipped file is used as it is, with only its deployment values replaced (the
listening address, the upstream's address, the two cache folders), each of which
must occur exactly once: a test never runs a config other than the one shipped.
Used by `tests/test_nginx.py` and `benchmarks/nginx_throughput.py`.
"""

from __future__ import annotations

import contextlib
import grp
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .harness import Served, free_port, serving

SHIPPED = Path(__file__).resolve().parents[1] / "deploy" / "nginx.conf"
NGINX_CANDIDATES = ("/usr/sbin/nginx", "/usr/bin/nginx")


def find_nginx() -> str | None:
    found = shutil.which("nginx")
    return found or next((path for path in NGINX_CANDIDATES if os.access(path, os.X_OK)), None)


@dataclass(frozen=True)
class Front(Served):
    """nginx running: `log` is its stderr, `error_log()` the error log the config names."""

    folder: Path

    def error_log(self) -> str:
        return (self.folder / "error.log").read_text()


def site_config(
    listen_port: int,
    pixserve_port: int,
    pixserve_cache: Path,
    folder: Path,
    more_nodes: Sequence[int] = (),
) -> str:
    """The shipped file with this machine's values in place of the deployment's.

    With `more_nodes`, the upstream lists every node and sends each URL to one of
    them, as its commented lines (and docs/deploy.md) describe.
    """
    text = SHIPPED.read_text()
    upstream = f"server 127.0.0.1:{pixserve_port};"
    if more_nodes:
        upstream = "hash $request_uri consistent;\n    " + "\n    ".join(
            f"server 127.0.0.1:{port};" for port in (pixserve_port, *more_nodes)
        )
    replacements = {
        "listen 80;": f"listen 127.0.0.1:{listen_port};",
        "server 127.0.0.1:8000;": upstream,
        "/var/lib/nginx/pixserve-cache ": f"{folder / 'proxy-cache'} ",
        "alias /var/cache/pixserve/;": f"alias {pixserve_cache.absolute()}/;",
    }
    for shipped, local in replacements.items():
        count = text.count(shipped)
        if count != 1:
            raise AssertionError(f"{SHIPPED} holds {shipped!r} {count} times, not once")
        text = text.replace(shipped, local)
    return text


def _main_config(folder: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides, kept inside `folder`."""
    temp = {name: folder / "temp" / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir(parents=True, exist_ok=True)
    # As root, the workers run as an unprivileged user, as on a real host (Debian's is
    # www-data): `nobody`, in the group of the test's files, which it reads through
    # the group only (pixserve's `cache_file_mode` 0640), as www-data would.
    user = f"user nobody {grp.getgrgid(os.getegid()).gr_name};\n" if os.geteuid() == 0 else ""
    return f"""{user}daemon off;
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} notice;
events {{ worker_connections 512; }}
http {{
    access_log {folder / "access.log"};
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
    include {folder / "pixserve.conf"};
}}
"""


@contextmanager
def nginx_in_front(
    nginx: str,
    pixserve_port: int,
    pixserve_cache: Path,
    folder: Path,
    more_nodes: Sequence[int] = (),
) -> Iterator[Front]:
    """Run nginx with the shipped site config on a free port until the block ends.

    nginx's own files (its config, temp folders, proxy cache and logs) live in a folder
    of their own under the system's temp folder, which its unprivileged workers can
    reach (a test's `tmp_path` is its user's alone); its logs are copied to `folder`
    when it stops."""
    listen_port = free_port()
    work = Path(tempfile.mkdtemp(prefix="pixserve-nginx-"))
    work.chmod(0o755)
    try:
        (work / "pixserve.conf").write_text(
            site_config(listen_port, pixserve_port, pixserve_cache, work, more_nodes)
        )
        (work / "nginx.conf").write_text(_main_config(work))
        command = [nginx, "-p", str(work), "-c", str(work / "nginx.conf"), "-e", "stderr"]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
        if checked.returncode != 0:
            raise RuntimeError(f"nginx refuses the config:\n{checked.stderr}")
        with serving(command, listen_port, work / "stderr.log") as served:
            yield Front(served.port, served.process, served.log, work)
    finally:
        folder.mkdir(parents=True, exist_ok=True)
        for log in ("error.log", "access.log", "stderr.log"):
            with contextlib.suppress(OSError):
                shutil.copyfile(work / log, folder / log)
        shutil.rmtree(work, ignore_errors=True)
