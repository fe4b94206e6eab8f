"""Range requests: one byte range is served (206, by Werkzeug's `send_file`); a request
for several ranges, or a Range that does not parse, gets the whole body (200).

Werkzeug answers both with 416, which tells the client its request could never be
satisfied. RFC 9110 (14.2) lets a server ignore Range (and requires it for a unit it
does not know), and a `multipart/byteranges` answer for an image is something no
browser or CDN needs, so the header is dropped. A single range past the end is still a
416, as it should be.
"""

from __future__ import annotations

from flask import request
from werkzeug.http import parse_range_header


def ignore_unservable_ranges() -> None:
    """Before a view: forget a Range header of several ranges, another unit, or garbage."""
    header = request.environ.get("HTTP_RANGE")
    if header is None:
        return
    parsed = parse_range_header(header)
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) != 1:
        del request.environ["HTTP_RANGE"]
