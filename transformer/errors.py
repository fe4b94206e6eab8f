"""Typed failures of the transformer, each carrying the HTTP status it maps to.

The web layer turns these into problem+json responses in one error handler, so the
status and the public message are decided here, next to the code that knows why.
"""

from __future__ import annotations


class TransformError(Exception):
    """Base of every error a client can cause; never a server fault."""

    status = 400
    title = "Bad request"
    slug = "bad-request"
    reason = "other"  # why the request was refused, as a metric label

    def __init__(self, detail: str, *, param: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.param = param


class InvalidOption(TransformError):
    """A query parameter is unknown, repeated or out of range."""

    status = 400
    title = "Invalid parameter"
    slug = "invalid-parameter"
    reason = "bad_params"


class UnsupportedImage(TransformError):
    """The source is not an image format we read (SVG, HTML, text...)."""

    status = 415
    title = "Unsupported media type"
    slug = "unsupported-image"
    reason = "unsupported"


class UndecodableImage(TransformError):
    """The source claims to be an image but cannot be decoded (truncated, corrupt)."""

    status = 422
    title = "Image cannot be decoded"
    slug = "undecodable-image"
    reason = "undecodable"


class ImageTooLarge(TransformError):
    """The source's header declares more pixels than the configured limit."""

    status = 422
    title = "Image too large"
    slug = "image-too-large"
    reason = "limits"
