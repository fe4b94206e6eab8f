"""Pick the output format from the `fmt` parameter and the client's `Accept`."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept

from pixserve.transformer import AUTO, FORMATS, SOURCE_OUTPUT_FORMATS, Format
from pixserve.transformer.options import BEST

# Sources whose own format is served as is under `fmt=auto` when nothing better is named.
_WEB_SOURCE_FORMATS = {"JPEG", "MPO", "PNG", "GIF"}


@dataclass(frozen=True)
class Choice:
    """The output format, or None for "PNG if the result has alpha, else JPEG".

    `negotiated` is True when `Accept` took part, so the response must say
    `Vary: Accept`. `candidates` (`fmt=best`): the formats to compare, best first;
    `format` is then the first that keeps transparency (None when only JPEG is).
    """

    format: Format | None
    negotiated: bool
    candidates: tuple[Format, ...] = ()

    @property
    def extensions(self) -> tuple[str, ...]:
        """File extensions the result may have: both fallbacks until it is decoded."""
        if self.candidates:  # any of them, or lossless PNG
            return tuple(f.extension for f in self.candidates) + (FORMATS["png"].extension,)
        if self.format is None:
            return (FORMATS["png"].extension, FORMATS["jpeg"].extension)
        return (self.format.extension,)

    @property
    def token(self) -> str:
        """The choice as it enters the cache key and the ETag."""
        if self.candidates:
            return "best:" + ",".join(f.name for f in self.candidates)
        return self.format.name if self.format is not None else "png-if-alpha-else-jpeg"


def names_explicitly(accept: MIMEAccept, mimetype: str) -> bool:
    """True when `Accept` lists `mimetype` itself with q > 0; `*/*` or `image/*` do not count."""
    return mimetype in set(accept.values()) and accept.quality(mimetype) > 0


def choose(fmt: str, accept: MIMEAccept, source_format: str | None, avif_enabled: bool) -> Choice:
    """Apply the `fmt=auto` rules: AVIF, then WebP, then the source's web format, then by
    alpha; or list the `fmt=best` candidates: AVIF and WebP when accepted, and JPEG."""
    if fmt == BEST:
        return best_candidates(accept, avif_enabled)
    if fmt != AUTO:
        return Choice(FORMATS[fmt], negotiated=False)
    if avif_enabled and names_explicitly(accept, FORMATS["avif"].mimetype):
        return Choice(FORMATS["avif"], negotiated=True)
    if names_explicitly(accept, FORMATS["webp"].mimetype):
        return Choice(FORMATS["webp"], negotiated=True)
    if source_format in _WEB_SOURCE_FORMATS:
        return Choice(SOURCE_OUTPUT_FORMATS[source_format], negotiated=True)
    return Choice(None, negotiated=True)


def best_candidates(accept: MIMEAccept, avif_enabled: bool) -> Choice:
    """`fmt=best`: every lossy format the client names (AVIF only when enabled), and
    JPEG, which every client takes."""
    named = [
        FORMATS[name]
        for name in ("avif", "webp")
        if (name != "avif" or avif_enabled) and names_explicitly(accept, FORMATS[name].mimetype)
    ]
    candidates = (*named, FORMATS["jpeg"])
    keeps_alpha = next((f for f in candidates if f.has_alpha), None)
    return Choice(keeps_alpha, negotiated=True, candidates=candidates)
