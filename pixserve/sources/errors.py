"""How fetching an original fails, as problem+json: never a 500.

The origin says 404 or 403: our 404, with no hint of which. The origin fails (5xx,
refused, reset, bad credentials, an address we do not fetch from): 502. It is too
slow: 504. Too big (422) and not an image (415) are the transformer's own errors,
as for local files.
"""

from __future__ import annotations

from werkzeug.exceptions import BadGateway, GatewayTimeout

from pixserve.http.errors import Problem


class OriginFailed(Problem, BadGateway):
    """The origin could not give the original: an error, a refused or reset connection."""

    slug = "origin-failed"
    reason = "origin"


class OriginAddressRefused(Problem, BadGateway):
    """The origin (or a redirect) leads to an address pixserve never fetches from."""

    slug = "origin-address-refused"
    reason = "ssrf"


class OriginTimeout(Problem, GatewayTimeout):
    """The origin did not answer, or not all of it, in time."""

    slug = "origin-timeout"
    reason = "origin_timeout"
