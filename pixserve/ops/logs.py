"""Log records as one JSON object a line (`log_format = "json"`) or as plain text.

A record's structured facts travel in `extra={"fields": {...}}`; the JSON formatter
puts them beside `ts`, `level`, `logger` and `msg`, and the text one appends them as
`name=value`. Any record made while a request is handled carries its `request_id`,
so a cache warning or an error ties to the request line. Exceptions become `error`
(type and message) and `traceback`, in the same object: one line per event.

`pixserve serve` also captures file descriptor 2 (`capture_native_stderr`): C libraries
(libtiff prints its errors there), stray `print`s and Python's own last words would
otherwise put raw lines between the JSON ones, and one unparseable line can make a log
shipper drop or mangle its neighbours. Each such line becomes a record of the `native`
logger.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sys
import threading
from datetime import UTC, datetime
from typing import Any, TextIO

from flask import g, has_request_context

# Where the request's id is kept on `flask.g` (set by `observe`).
REQUEST_ID_KEY = "pixserve_request_id"

NATIVE_LOGGER = "native"
NATIVE_LINE_MAX = 4096  # characters of one captured line kept in its record

_output: TextIO | None = None  # the real stderr, once fd 2 is captured


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields: dict[str, Any] = dict(getattr(record, "fields", None) or {})
    if "request_id" not in fields and has_request_context():
        request_id = g.get(REQUEST_ID_KEY)
        if request_id is not None:
            fields["request_id"] = request_id
    return fields


class JsonFormatter(logging.Formatter):
    """`{"ts": ..., "level": ..., "logger": ..., "msg": ..., **fields}` on one line.

    One line is written per request, so its cost counts on every cache hit: the
    encoder is made once and the timestamp's seconds formatted once a second (both
    showed in a hit's profile).
    """

    _encoder = json.JSONEncoder(default=str, ensure_ascii=False)
    _second: tuple[int, str] = (-1, "")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self._timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "pid": record.process,
        }
        entry.update(_fields(record))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["error"] = f"{type(error).__name__}: {error}"
            entry["traceback"] = self.formatException(record.exc_info)
        return self._encoder.encode(entry)

    def _timestamp(self, created: float) -> str:
        """`2026-12-01T21:49:02.058+00:00`: ISO 8601 in UTC, to the millisecond."""
        fraction, whole = math.modf(created)  # rounded as `datetime.fromtimestamp` does
        micros, second = round(fraction * 1e6), int(whole)
        if micros >= 1_000_000:
            micros, second = micros - 1_000_000, second + 1
        cached = self._second
        if cached[0] != second:
            text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            cached = self._second = (second, text)
        return f"{cached[1]}.{micros // 1000:03d}+00:00"


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message name=value ...` for people reading a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{name}={_text(value)}" for name, value in _fields(record).items())
        line = super().formatMessage(record)
        return f"{line} {pairs}" if pairs else line


def _text(value: Any) -> str:
    text = json.dumps(value, default=str) if isinstance(value, dict | list) else str(value)
    return json.dumps(text) if " " in text or not text else text


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def output() -> TextIO:
    """Where records are written: stderr itself, or what it was before the capture."""
    return _output if _output is not None else sys.stderr


class OutputHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes records to `output()`; a record the output cannot take is dropped.

    When whatever reads the server's stderr goes away (a log shipper that died, a
    `| head`), logging's default reports each failed write with a traceback to stderr:
    that is the captured pipe (`capture_native_stderr`), whose reader then failed to
    write it in turn, until the pipe filled and every thread that logged (all of them:
    each request logs) blocked for good. Losing the log is better than the server."""

    def handleError(self, record: logging.LogRecord) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handleError(record)


def output_handler() -> logging.Handler:
    """A handler writing to `output()` (named in the server's logging dict)."""
    return OutputHandler(output())


def configure(log_format: str, level: int = logging.INFO) -> None:
    """Every record of this process to stderr in `log_format` (replacing other handlers)."""
    handler = output_handler()
    handler.setFormatter(formatter(log_format))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)


# The logger whose records pixserve writes: requests (`pixserve.requests`), the cache,
# the helpers' warnings.
PIXSERVE_LOGGER = "pixserve"


def show_when_unconfigured(log_format: str) -> bool:
    """Send pixserve's records to stderr at INFO when nothing else will.

    In a user's app run by `flask run` (or gunicorn) nobody configures logging, so
    the root logger's default WARNING drops every request line. When the process has
    no logging set up (no root handler, pixserve's logger untouched), pixserve gets a
    handler of its own; an app that configures logging itself keeps full control.
    Returns whether the handler was added.
    """
    logger = logging.getLogger(PIXSERVE_LOGGER)
    if logging.getLogger().handlers or logger.handlers or logger.level != logging.NOTSET:
        return False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return True


def capture_native_stderr() -> None:
    """Make each line written to fd 2, by anyone, a log record (once per process).

    fd 2 becomes a pipe (inherited by processes forked later, so the server's workers
    write into it too); records go to a duplicate of the old stderr; a thread reads
    the pipe and logs each line at warning level. Call it before `configure` and
    before forking. A line from a worker is logged by the capturing process, whose
    `pid` it carries.
    """
    global _output
    if _output is not None:
        return
    sys.stderr.flush()
    real_stderr = os.dup(2)
    read_end, write_end = os.pipe()
    os.dup2(write_end, 2)
    os.close(write_end)
    # Kept open for the life of the process: every later handler writes to it.
    _output = open(real_stderr, "w", buffering=1, encoding="utf-8", errors="replace")
    threading.Thread(
        target=_log_native_lines, args=(read_end,), name="native-stderr", daemon=True
    ).start()


def _log_native_lines(read_end: int) -> None:
    native = logging.getLogger(NATIVE_LOGGER)
    with open(read_end, "rb") as pipe:
        while raw := pipe.readline(NATIVE_LINE_MAX):
            line = raw.decode("utf-8", "replace").rstrip()
            if line:
                native.warning(line, extra={"fields": {"stream": "stderr"}})
