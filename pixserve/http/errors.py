"""The base of pixserve's own web-layer refusals (a bad signature, the time limit, an
overloaded node): Werkzeug HTTP exceptions that also name their problem type and the
reason the metrics count them under. `problems.py` turns them into problem+json."""

from __future__ import annotations

from typing import ClassVar

from werkzeug.exceptions import HTTPException


class Problem(HTTPException):
    """A web-layer refusal of pixserve's own: its problem type and metric reason."""

    slug: ClassVar[str]
    reason: ClassVar[str]
    param: str | None = None
