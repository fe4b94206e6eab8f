"""What every kind of source gives the rest of pixserve: one original's identity and bytes.

`version` is the identity string that cache keys and ETags hash: it changes when the
original does, and it is the same on every node for the same object (a local file:
mtime and size; S3: the ETag and size; HTTP: the ETag, else Last-Modified and
Content-Length). `format` is sniffed from the bytes, never taken from an origin's
`Content-Type`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Source(Protocol):
    """One original, found; `read()` gives its bytes."""

    @property
    def name(self) -> str:
        """The name in the URL after the image prefix (`uploads/2024/cat.jpg`)."""
        ...

    @property
    def version(self) -> str: ...

    @property
    def size(self) -> int: ...

    @property
    def format(self) -> str | None:
        """Pillow's format name from the magic bytes; None if not an image."""
        ...

    @property
    def last_modified(self) -> datetime | None: ...

    def read(self) -> bytes: ...

    def __hash__(self) -> int: ...  # found sources are values (frozen dataclasses)
