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


def sniff_format(head: bytes) -> str | None:
    """Return the Pillow format name of an image's first bytes, or None if unknown."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "WEBP"
    if head[4:8] == b"ftyp" and any(brand in head[8:SNIFF_BYTES] for brand in _AVIF_BRANDS):
        return "AVIF"  # the major brand may be mif1 with avif among the compatible ones
    for offset, signature, name in _SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return name
    return None
