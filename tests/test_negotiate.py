from __future__ import annotations

import pytest
from werkzeug.datastructures import MIMEAccept
from werkzeug.http import parse_accept_header

from pixserve.http.negotiate import choose

CHROME = "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8"
SAFARI_OLD = "image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5"


def accept(header: str) -> MIMEAccept:
    return parse_accept_header(header, MIMEAccept)


@pytest.mark.parametrize(
    ("header", "source", "avif", "expected"),
    [
        (CHROME, "JPEG", True, "avif"),
        (CHROME, "JPEG", False, "webp"),
        ("image/webp,*/*", "PNG", True, "webp"),
        ("image/avif;q=0,image/webp", "JPEG", True, "webp"),
        ("image/webp;q=0,*/*", "JPEG", True, "jpeg"),
        (SAFARI_OLD, "JPEG", True, "jpeg"),
        (SAFARI_OLD, "PNG", True, "png"),
        (SAFARI_OLD, "GIF", True, "gif"),
        (SAFARI_OLD, "MPO", True, "jpeg"),
        ("*/*", "WEBP", True, None),
        ("image/*", "TIFF", True, None),
        ("", "AVIF", True, None),
    ],
)
def test_auto(header: str, source: str, avif: bool, expected: str | None) -> None:
    choice = choose("auto", accept(header), source, avif)
    assert choice.negotiated
    assert (choice.format.name if choice.format else None) == expected


def test_fallback_may_be_either_png_or_jpeg() -> None:
    choice = choose("auto", accept("*/*"), "WEBP", False)
    assert choice.extensions == ("png", "jpg")


def test_explicit_format_ignores_accept() -> None:
    choice = choose("avif", accept(SAFARI_OLD), "JPEG", avif_enabled=False)
    assert choice.format is not None and choice.format.name == "avif"
    assert not choice.negotiated
