"""Originals from S3 or any S3-compatible service (MinIO, SeaweedFS, R2, Ceph), via boto3.

boto3 is the AWS SDK for Python: the standard credential chain (environment, shared
files, SSO, instance and container roles) and request signing come with it, and every
S3-compatible service is tested against it. Credentials never appear in pixserve's
config, logs or errors; a refused credential is a 502 whose log line names the
source, not the key.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    NoCredentialsError,
    PartialCredentialsError,
    ReadTimeoutError,
)
from werkzeug.exceptions import NotFound

from pixserve.sources.config import S3Mount
from pixserve.sources.errors import OriginFailed, OriginTimeout
from pixserve.sources.fetching import (
    NOT_MODIFIED,
    Fetched,
    FetchLimits,
    Validators,
    read_limited,
    remaining,
)

log = logging.getLogger(__name__)

_GONE_CODES = frozenset({"NoSuchKey", "NoSuchBucket", "AccessDenied", "404", "403", "NotFound"})
_CREDENTIAL_CODES = frozenset(
    {
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "ExpiredToken",
        "InvalidToken",
        "TokenRefreshRequired",
        "AuthorizationHeaderMalformed",
    }
)


class S3Origin:
    """Fetches `prefix` + key from the bucket; the client is made on first use."""

    def __init__(self, mount: S3Mount, limits: FetchLimits) -> None:
        self.mount = mount
        self.limits = limits
        self._client: Any = None
        self._lock = threading.Lock()

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                self._client = boto3.session.Session().client(
                    "s3",
                    endpoint_url=self.mount.endpoint,
                    region_name=self.mount.region,
                    config=BotoConfig(
                        connect_timeout=self.limits.connect_timeout,
                        read_timeout=self.limits.read_timeout,
                        retries={"max_attempts": 1, "mode": "standard"},
                        # Most S3-compatible services know no bucket subdomains.
                        s3={"addressing_style": "path" if self.mount.endpoint else "auto"},
                    ),
                )
            return self._client

    def fetch(self, key: str, validators: Validators | None, deadline: float) -> Fetched:
        name = f"{self.mount.name}/{key}"
        request: dict[str, Any] = {"Bucket": self.mount.bucket, "Key": self.mount.prefix + key}
        if validators is not None and validators.etag:
            request["IfNoneMatch"] = validators.etag
        remaining(deadline, f"source {self.mount.name!r}")
        try:
            answer = self.client().get_object(**request)
            body = answer["Body"]
            try:
                data = read_limited(body.read, answer.get("ContentLength"), self.limits, deadline)
            finally:
                body.close()
        except ClientError as error:
            return self._client_error(error, name)
        except (NoCredentialsError, PartialCredentialsError):
            log.warning("source %r: no S3 credentials found in the AWS chain", self.mount.name)
            raise OriginFailed(f"source {self.mount.name!r}: the storage refused access") from None
        except (ConnectTimeoutError, ReadTimeoutError):
            raise OriginTimeout(f"source {self.mount.name!r}: the storage was too slow") from None
        except (BotoCoreError, OSError) as error:
            log.warning("source %r: %s", self.mount.name, type(error).__name__)
            raise OriginFailed(f"source {self.mount.name!r}: cannot reach the storage") from None
        etag = answer.get("ETag")
        return Fetched(
            data,
            version=f"s3:{etag}:{len(data)}",
            last_modified=answer.get("LastModified"),
            validators=Validators(etag, None),
        )

    def _client_error(self, error: ClientError, name: str) -> Fetched:
        code = str(error.response.get("Error", {}).get("Code", ""))
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 304 or code in ("304", "NotModified"):
            return NOT_MODIFIED
        if code in _CREDENTIAL_CODES:
            log.warning("source %r: credentials refused (%s)", self.mount.name, code)
            raise OriginFailed(f"source {self.mount.name!r}: the storage refused access") from None
        if code in _GONE_CODES or status in (403, 404):
            raise NotFound(f"no image named {name!r}") from None
        log.warning("source %r: the storage answered %s %s", self.mount.name, status, code)
        raise OriginFailed(f"source {self.mount.name!r}: the storage answered {status}") from None
