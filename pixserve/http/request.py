"""One `/image` or `/info` request, understood once: everything the answer depends on.

Built in the order the checks must run: the query's options (a bad one is a 400
before anything else is touched), the signature (before the file system is), the
source (found, an image, not too big), the client hints (after the signature, which
covers the URL as written), the output format from `Accept`, and the cache key, which
is also the ETag. Views, delivery and the response read this object and nothing else
of the request.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Literal

from flask import abort, request

from pixserve.http.hints import HINT_HEADERS, hint_ladder, hints_apply, with_hints
from pixserve.http.keys import cache_key, info_key
from pixserve.http.negotiate import Choice, choose
from pixserve.http.qualities import with_default_target
from pixserve.http.recent import RECALLED, Recalled, request_key
from pixserve.http.savedata import SAVE_DATA, varies_with_save_data, with_save_data
from pixserve.http.signing import split_signature, verify
from pixserve.services import Services
from pixserve.sources import LocalSource, Source
from pixserve.sources.watermarks import Overlays, find_overlays, overlay_identity
from pixserve.transformer import (
    ImageTooLarge,
    InvalidOption,
    Options,
    UnsupportedImage,
    parse_options,
)

INFO_EXTENSION = "json"
# /info describes the source itself: of the options, only the version applies.
INFO_PARAMS = frozenset({"v"})


@dataclass(frozen=True)
class ImageRequest:
    """What one request asks for; `key` is the cache key and the ETag.

    `hinted`: the size came from client hints, so the answer varies by them.
    `interim`: a stand-in answered while the result asked for is made (`upgrade.py`),
    so clients keep it only briefly.
    `fixed_headers`: the answers' headers that depend on this request alone, by kind
    of answer, made once by `responses` (a repeated request is this same object).
    """

    kind: Literal["image", "info"]
    source: Source
    options: Options
    choice: Choice
    key: str
    hinted: bool = False
    interim: bool = False
    overlays: Overlays | None = None  # the pictures drawn on the result (wm, ninepatch)
    fixed_headers: dict[str, list[tuple[str, str]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def etag(self) -> str:
        """The strong ETag as sent: the key in quotes."""
        return f'"{self.key}"'

    @property
    def extensions(self) -> tuple[str, ...]:
        """The file extensions a cached answer may have."""
        return (INFO_EXTENSION,) if self.kind == "info" else self.choice.extensions

    @property
    def vary(self) -> tuple[str, ...]:
        """The request headers the answer depends on."""
        return (
            (("Accept",) if self.choice.negotiated else ())
            + (HINT_HEADERS if self.hinted else ())
            + ((SAVE_DATA,) if varies_with_save_data(self.options) else ())
        )

    def not_modified(self) -> bool:
        """The client's `If-None-Match` already names this answer."""
        given = request.environ.get("HTTP_IF_NONE_MATCH")
        if given is None:
            return False
        return given == self.etag or request.if_none_match.contains_weak(self.key)


def query_pairs(svc: Services) -> tuple[list[tuple[str, str]], str | None]:
    """The query's pairs, less `s` and the `ignored_params` (tracking parameters such
    as `utm_*`: in neither the cache key nor the signature), and `s`."""
    ignored = svc.config.http.ignored_params
    pairs = request.args.items(multi=True)
    if ignored:
        pairs = (pair for pair in pairs if not any(fnmatchcase(pair[0], p) for p in ignored))
    return split_signature(pairs)


def image_request(svc: Services, name: str) -> ImageRequest:
    """`/image/<name>?<query>`: options, signature, source, hints, format, key; a
    repeated request is recognised (`recent`) once its source is found unchanged."""
    return _recalled("image", svc, name, _image_request)


def info_request(svc: Services, name: str) -> ImageRequest:
    """`/info/<name>?v=...`: the source's facts, with the same checks as `/image`."""
    return _recalled("info", svc, name, _info_request)


def _recalled(
    kind: str, svc: Services, name: str, understand: Callable[[Services, str], ImageRequest]
) -> ImageRequest:
    recalled = request.environ.get(RECALLED)  # the shortcut looked already
    if isinstance(recalled, Recalled) and recalled.key[0] == kind:
        key, remembered = recalled.key, recalled.remembered
    else:
        key = request_key(kind, request.environ)
        remembered = svc.recent.get(key)
    if remembered is not None and svc.recent.still(key, remembered, svc.sources.find(name)):
        return remembered.request
    understood = understand(svc, name)
    # a mount's source is fetched anew each time; overlays are sources found anew too
    if isinstance(understood.source, LocalSource) and understood.overlays is None:
        svc.recent.remember(key, understood)
    return understood


def _image_request(svc: Services, name: str) -> ImageRequest:
    pairs, given_signature = query_pairs(svc)
    options = parse_options(pairs, svc.limits)
    source = checked_source(svc, name, options.canonical(), given_signature)
    hinted = svc.config.http.client_hints and hints_apply(pairs)
    if hinted:
        hints = {header: request.headers.get(header, "") for header in HINT_HEADERS}
        options = with_hints(options, pairs, hints, svc.limits, hint_ladder(svc.config, source))
    choice = choose(options.fmt, request.accept_mimetypes, source.format, svc.config.imaging.avif)
    options = with_default_target(options, svc.config.imaging.default_target, source, choice)
    options = with_save_data(options, request.headers.get(SAVE_DATA))
    overlays = find_overlays(svc.sources, options, svc.config.imaging.max_source_bytes)
    key = cache_key(source, options, choice, overlay_identity(overlays), svc.encoder)
    return ImageRequest("image", source, options, choice, key, hinted, overlays=overlays)


def _info_request(svc: Services, name: str) -> ImageRequest:
    pairs, given_signature = query_pairs(svc)
    _refuse_all_but(INFO_PARAMS, pairs)
    options = parse_options(pairs, svc.limits)  # validates v
    source = checked_source(svc, name, options.canonical(), given_signature)
    choice = Choice(None, negotiated=False)
    return ImageRequest("info", source, options, choice, info_key(source, options.version))


def _refuse_all_but(allowed: frozenset[str], pairs: Sequence[tuple[str, str]]) -> None:
    for param, _ in pairs:
        if param not in allowed:
            raise InvalidOption(f"/info takes only v (and s), not {param[:40]!r}", param=param[:40])


def checked_source(
    svc: Services,
    name: str,
    canonical_query: str,
    given_signature: str | None,
    *,
    verified: bool = False,
) -> Source:
    """The signature (when signing is on), then the file: found, an image, not too big.

    `verified`: a URL dialect (`pixserve.dialects`) checked its own signature instead.
    """
    if svc.config.http.signing_keys and not verified:  # before the file system is touched
        verify(svc.config.http.signing_keys, request.path, canonical_query, given_signature)
    source = svc.sources.find(name)
    if source is None:
        abort(404, description=f"no image named {name!r}")
    if source.format is None:
        raise UnsupportedImage(f"{name!r} is not an image format pixserve reads")
    limit = svc.config.imaging.max_source_bytes
    if source.size > limit:
        raise ImageTooLarge(f"the file is {source.size} bytes; the limit is {limit} bytes")
    return source
