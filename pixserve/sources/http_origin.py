"""Originals from an HTTP(S) origin: `base` + key, fetched safely.

Why urllib3: it is already installed with boto3 (botocore's own transport), it is
the most used HTTP client in Python, and its connection pools take the address to
connect to apart from the name to verify, which is what connecting to the address
that was checked needs (`server_hostname` and `assert_hostname` keep TLS and SNI on
the name). Redirects are followed here, not by urllib3, so that every hop is resolved
and checked (`pixserve.sources.safety`).

The key is percent-encoded into the path, so no request URL can add a query, a
fragment or another host: only configured bases are ever reached.
"""

from __future__ import annotations

import logging
from datetime import datetime
from email.utils import parsedate_to_datetime
from hashlib import blake2b
from urllib.parse import quote, urljoin

import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)
from werkzeug.exceptions import NotFound

from pixserve.sources.config import SCHEMES, HttpMount
from pixserve.sources.errors import OriginAddressRefused, OriginFailed, OriginTimeout
from pixserve.sources.fetching import (
    NOT_MODIFIED,
    Fetched,
    FetchLimits,
    Validators,
    read_limited,
    remaining,
)
from pixserve.sources.safety import Address, checked_addresses

log = logging.getLogger(__name__)

# Enough for a CDN's canonical-host hop plus a moved folder; more is a loop or a trap.
MAX_REDIRECTS = 3
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_GONE = frozenset({403, 404, 410})
USER_AGENT = "pixserve"


class HttpOrigin:
    """Fetches `mount.base` + key, conditionally when validators are given."""

    def __init__(self, mount: HttpMount, limits: FetchLimits) -> None:
        self.mount = mount
        self.limits = limits

    def url_for(self, key: str) -> str:
        return self.mount.base + quote(key, safe="/")

    def fetch(self, key: str, validators: Validators | None, deadline: float) -> Fetched:
        url = self.url_for(key)
        for _hop in range(MAX_REDIRECTS + 1):
            response = self._request(url, validators, deadline)
            try:
                location = response.headers.get("Location")
                if response.status in _REDIRECTS and location:
                    url = urljoin(url, location)
                    continue
                return self._answer(key, response, deadline)
            except (ReadTimeoutError, TimeoutError):
                raise OriginTimeout(
                    f"source {self.mount.name!r}: the origin was too slow"
                ) from None
            except (HTTPError, OSError) as error:
                raise self._failed("the answer broke off", error) from None
            finally:
                response.release_conn()
                response.close()
        raise OriginFailed(f"source {self.mount.name!r}: more than {MAX_REDIRECTS} redirects")

    def _request(
        self, url: str, validators: Validators | None, deadline: float
    ) -> urllib3.BaseHTTPResponse:
        parts = urllib3.util.parse_url(url)
        if parts.scheme not in SCHEMES or not parts.host:
            raise OriginFailed(
                f"source {self.mount.name!r}: redirected to a URL that is not http(s)"
            )
        host = parts.host.strip("[]")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            addresses, reason = checked_addresses(host, port, self.mount.allow_private)
        except OSError as error:
            raise self._failed(f"cannot resolve {host!r}", error) from None
        if not addresses:
            log.warning("source %r: refused to fetch from %s (%s)", self.mount.name, host, reason)
            raise OriginAddressRefused(
                f"source {self.mount.name!r}: the origin is at an address pixserve does not "
                "fetch from"
            )
        for address in addresses[:-1]:  # the next one when one refuses the connection
            try:
                return self._request_at(address, parts, host, port, validators, deadline)
            except OriginFailed:
                continue
        return self._request_at(addresses[-1], parts, host, port, validators, deadline)

    def _request_at(
        self,
        address: Address,
        parts: urllib3.util.Url,
        host: str,
        port: int,
        validators: Validators | None,
        deadline: float,
    ) -> urllib3.BaseHTTPResponse:
        """One request to `address`, which was checked; TLS verifies `host`'s name."""
        left = remaining(deadline, f"source {self.mount.name!r}")
        timeout = urllib3.Timeout(
            connect=min(self.limits.connect_timeout, left),
            read=min(self.limits.read_timeout, left),
        )
        pool: urllib3.HTTPConnectionPool
        if parts.scheme == "https":
            pool = urllib3.HTTPSConnectionPool(
                str(address),
                port,
                timeout=timeout,
                retries=False,
                cert_reqs="CERT_REQUIRED",
                assert_hostname=host,
                server_hostname=host,
            )
        else:
            pool = urllib3.HTTPConnectionPool(str(address), port, timeout=timeout, retries=False)
        headers = {
            "Host": parts.netloc or host,
            "User-Agent": USER_AGENT,
            "Accept": "image/*, */*;q=0.5",
            "Accept-Encoding": "identity",
        }
        if validators is not None and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators is not None and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        try:
            return pool.urlopen(
                "GET",
                parts.request_uri,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except NewConnectionError as error:
            raise self._failed("cannot connect", error) from None
        except (ConnectTimeoutError, ReadTimeoutError, TimeoutError):
            raise OriginTimeout(
                f"source {self.mount.name!r}: the origin did not answer in time"
            ) from None
        except (HTTPError, OSError) as error:
            raise self._failed("the connection failed", error) from None

    def _answer(self, key: str, response: urllib3.BaseHTTPResponse, deadline: float) -> Fetched:
        if response.status == 304:
            return NOT_MODIFIED
        if response.status in _GONE:
            raise NotFound(f"no image named {self.mount.name + '/' + key!r}")
        if response.status != 200:
            log.warning("source %r: the origin answered %d", self.mount.name, response.status)
            raise OriginFailed(f"source {self.mount.name!r}: the origin answered {response.status}")
        declared = response.headers.get("Content-Length", "")
        data = read_limited(
            response.read1,
            int(declared) if declared.isdigit() else None,
            self.limits,
            deadline,
        )
        etag = response.headers.get("ETag") or None
        modified = response.headers.get("Last-Modified") or None
        return Fetched(
            data,
            version=_version(etag, modified, data),
            last_modified=_date(modified),
            validators=Validators(etag, modified),
        )

    def _failed(self, what: str, error: BaseException) -> OriginFailed:
        log.warning("source %r: %s: %s", self.mount.name, what, error)
        return OriginFailed(f"source {self.mount.name!r}: {what}")


def _version(etag: str | None, modified: str | None, data: bytes) -> str:
    """The origin's ETag, else its Last-Modified with the length, else the bytes' digest."""
    if etag:
        return f"etag:{etag}:{len(data)}"
    if modified:
        return f"modified:{modified}:{len(data)}"
    return "digest:" + blake2b(data, digest_size=20).hexdigest()


def _date(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
