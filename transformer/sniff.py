"""Recognise a source's format from its first bytes, without Pillow.

This runs on every request, including 304 revalidations, so it must be a few byte
comparisons. It also gates what Pillow may open: formats outside this list (PostScript,
PSD, SVG...) never reach a decoder.
"""

from __future__ import annotations

SNIFF_BYTES = 32

# Pillow format names we agree to decode, with the signature that announces each.
_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\xff\xd8\xff", "JPEG"),
    (0, b"\x89PNG\r\n\x1a\n", "PNG"),
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"BM", "BMP"),
    (0, b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG2000"),
    (0, b"\xffO\xffQ", "JPEG2000"),
)
_AVIF_BRANDS = (b"avif", b"avis")
# HEIF's brands: HEVC-coded stills and sequences (iPhone photos are `heic`), and the
# generic `mif1`/`msf1` a HEIF file may carry alone. Read through pillow-heif.
_HEIF_BRANDS = (
    b"heic",
    b"heix",
    b"heim",
    b"heis",
    b"hevc",
    b"hevx",
    b"hevm",
    b"hevs",
    b"mif1",
    b"msf1",
)
_ICO_SIGNATURE = b"\x00\x00\x01\x00"  # reserved 0, type 1 (icon; 2 is a cursor)


def sniff_format(head: bytes) -> str | None:
    """Return the Pillow format name of an image's first bytes, or None if unknown."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp":
        brands = head[8:SNIFF_BYTES]
        if any(brand in brands for brand in _AVIF_BRANDS):
            return "AVIF"  # the major brand may be mif1 with avif among the compatible ones
        if any(brand in brands for brand in _HEIF_BRANDS):
            return "HEIF"
    if head[:4] == _ICO_SIGNATURE and head[4:6] != b"\x00\x00":  # at least one image
        return "ICO"
    for offset, signature, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name
    return None
