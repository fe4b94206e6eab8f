"""Whose fault: a client or a file gets a 4xx; a bug in our own code is a logged 500.

The transformer turns only what a damaged or hostile file can cause while it is read
into a 4xx (`DECODE_ERRORS`, `HEADER_ERRORS` around Pillow's reading calls). The
encoder call and our own steps raise ordinary exceptions, which must reach the web
layer's 500 handler with their traceback, not hide as a 422.
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pytest
from PIL import Image

from pixserve.transformer import FORMATS, InvalidOption, Options, encode, transform
from tests.conftest import MakeApp


def test_a_broken_encoder_setting_is_a_logged_500_not_a_422(
    make_app: MakeApp, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(encode, "WEBP_METHOD_SMALL", "six")  # libwebp wants an integer
    client = make_app().test_client()
    caplog.set_level(logging.INFO)
    response = client.get("/image/photo.jpg?w=100&fmt=webp")
    assert response.status_code == 500, response.get_data(as_text=True)
    assert json.loads(response.get_data())["status"] == 500
    assert b"interpreted as an integer" not in response.data  # no internals in the body
    logged = [
        record
        for record in caplog.records
        if record.levelno >= logging.ERROR and record.exc_info is not None
    ]
    assert len(logged) == 1
    error = logged[0].exc_info[1] if logged[0].exc_info else None
    assert isinstance(error, TypeError)
    traceback = logging.Formatter().formatException(logged[0].exc_info)  # type: ignore[arg-type]
    assert "encode.py" in traceback and "in encode" in traceback


def test_the_same_request_without_the_bug_is_served(make_app: MakeApp) -> None:
    response = make_app().test_client().get("/image/photo.jpg?w=100&fmt=webp")
    assert response.status_code == 200 and response.mimetype == "image/webp"


def tall_png(height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, height), (200, 30, 30)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("fmt", "longest"), [("webp", 16383), ("jpeg", 65500), ("gif", 65535), ("avif", 65536)]
)
def test_a_result_longer_than_its_format_holds_is_refused_not_failed(
    fmt: str, longest: int
) -> None:
    """Each encoder has a longest side; past it the library failed (a 500 once the
    encoder stopped being wrapped), now it is a 400 naming the limit."""
    output = FORMATS[fmt]
    assert output.max_side == longest
    with pytest.raises(InvalidOption, match=f"at most {longest} pixels on a side") as caught:
        transform(tall_png(longest + 1), Options(), output)
    assert caught.value.param == "h"
    if fmt in ("webp", "gif"):  # quick to encode: the limit itself is accepted
        assert transform(tall_png(longest), Options(), output).size == (8, longest)


def test_a_too_long_result_is_a_400_through_the_server(make_app: MakeApp, root: Path) -> None:
    (root / "tall.png").write_bytes(tall_png(20_000))
    client = make_app().test_client()
    response = client.get("/image/tall.png?fmt=webp")
    assert response.status_code == 400
    assert json.loads(response.get_data())["param"] == "h"
    assert client.get("/image/tall.png?fmt=webp&h=8000").status_code == 200
