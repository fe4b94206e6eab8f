"""Pick the output format from the `fmt` parameter and the client's `Accept`."""

from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MIMEAccept

from pixserve.transformer import AUTO, FORMATS, SOURCE_OUTPUT_FORMATS, Format

# Sources whose own format is served as is under `fmt=auto` when nothing better is named.
_WEB_SOURCE_FORMATS = {"JPEG", "MPO", "PNG", "GIF"}


@dataclass(frozen=True)
class Choice:
    """The output format, or None for "PNG if the result has alpha, else JPEG".

    `negotiated` is True when `Accept` took part, so the response must say
    `Vary: Accept`.
    """

    format: Format | None
    negotiated: bool

    @property
    def extensions(self) -> tuple[str, ...]:
        """File extensions the result may have: both fallbacks until it is decoded."""
        if self.format is None:
            return (FORMATS["png"].extension, FORMATS["jpeg"].extension)
        return (self.format.extension,)

    @property
    def token(self) -> str:
        """The choice as it enters the cache key and the ETag."""
        return self.format.name if self.format is not None else "png-if-alpha-else-jpeg"


def names_explicitly(accept: MIMEAccept, mimetype: str) -> bool:
    """True when `Accept` lists `mimetype` itself with q > 0; `*/*` or `image/*` do not count."""
    return mimetype in set(accept.values()) and accept.quality(mimetype) > 0


def choose(fmt: str, accept: MIMEAccept, source_format: str | None, avif_enabled: bool) -> Choice:
    """Apply the `fmt=auto` rules: AVIF, then WebP, then the source's web format, then by alpha."""
    if fmt != AUTO:
        return Choice(FORMATS[fmt], negotiated=False)
    if avif_enabled and names_explicitly(accept, FORMATS["avif"].mimetype):
        return Choice(FORMATS["avif"], negotiated=True)
    if names_explicitly(accept, FORMATS["webp"].mimetype):
        return Choice(FORMATS["webp"], negotiated=True)
    if source_format in _WEB_SOURCE_FORMATS:
        return Choice(SOURCE_OUTPUT_FORMATS[source_format], negotiated=True)
    return Choice(None, negotiated=True)
