"""Signed URLs: an HMAC over the path and the canonical query, so only URLs the site
made can make the server work.

The signature `s` is base64url (no padding) of HMAC-SHA256(key, path + "?" + canonical
query without `s`), and only that one spelling of it is accepted. The canonical query
is `Options.canonical()`: parameters sorted,
defaults dropped, numbers normalised, presets expanded, so every spelling of one
transform has one signature. Several keys may verify (rotation); the first signs.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Sequence
from urllib.parse import parse_qsl, unquote, urlsplit

from werkzeug.exceptions import Forbidden

from pixserve.http.errors import Problem
from pixserve.transformer import Limits, parse_options

SIGNATURE_PARAM = "s"


class BadSignature(Problem, Forbidden):
    """Missing, malformed or wrong `s`: the same answer for all three."""

    slug = "bad-signature"
    reason = "signature"
    param = SIGNATURE_PARAM
    description = (
        "this server only serves signed URLs: the s parameter is missing or does not match the URL"
    )


def signature(key: str, path: str, canonical_query: str) -> str:
    """The `s` value for a decoded URL path and its canonical query."""
    digest = hmac.new(key.encode(), f"{path}?{canonical_query}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def verify(keys: Sequence[str], path: str, canonical_query: str, given: str | None) -> None:
    """Raise `BadSignature` unless `given` is, character for character, the signature
    under one of `keys`.

    The exact string is compared, not the bytes it decodes to: base64 decoders forgive
    padding, stray characters and a last character's spare bits, and every such
    spelling of one signature would be another URL (another CDN entry) for one result.
    """
    presented = (given or "").encode("utf-8", "replace")
    matched = False
    for key in keys:  # every key is tried, so timing does not tell which one matched
        expected = signature(key, path, canonical_query).encode()
        matched |= bool(given) and hmac.compare_digest(presented, expected)
    if not matched:
        raise BadSignature()


def split_signature(pairs: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], str | None]:
    """The query pairs without `s`, and `s` (None when absent; repeated is malformed)."""
    rest: list[tuple[str, str]] = []
    signatures: list[tuple[str, str]] = []
    for name, value in pairs:
        (signatures if name == SIGNATURE_PARAM else rest).append((name, value))
    if len(signatures) > 1:
        return rest, ""
    return rest, signatures[0][1] if signatures else None


def sign_url(url: str, key: str, limits: Limits | None = None) -> str:
    """Return `url` with its `s` parameter; the query keeps the spelling it was given.

    `limits` must hold the server's presets when the URL names one. Raises
    `InvalidOption` for a query the server would refuse anyway.
    """
    parts = urlsplit(url)
    pairs, _ = split_signature(parse_qsl(parts.query, keep_blank_values=True))
    canonical = parse_options(pairs, limits).canonical()
    kept = [item for item in parts.query.split("&") if item and item.split("=")[0] != "s"]
    signed = signature(key, unquote(parts.path), canonical)
    prefix = url.split("?", 1)[0]
    return f"{prefix}?{'&'.join([*kept, f'{SIGNATURE_PARAM}={signed}'])}"
