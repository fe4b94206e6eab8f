"""Files named in any script, through the real servers: never a 5xx (issue 23).

A name outside Latin-1 once answered 500 under gunicorn (a raw UTF-8
`Content-Disposition` refused) and hung under `flask run`. Names come from a seeded
draw over all of Unicode (so a failure reproduces), asked percent-encoded and as raw
UTF-8 on the request line, of the production server (granian) and of `--dev`
(Werkzeug's server, which is what `flask run` is).
"""

from __future__ import annotations

import random
import socket
import sys
import unicodedata
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from flask import Flask
from werkzeug.http import parse_options_header

from loopback.harness import HOST, free_port, get, serving
from pixserve.http.responses import disposition_names
from tests.helpers import MakeApp, encode, gradient
from tests.live_server import live_server

SCRIPTS = ["фото", "写真", "φωτογραφία", "צילום", "صورة", "😀🐈", "café", "e\u0301t\u00e9"]
NAMES_DRAWN = 40


def drawn_names(seed: int = 23) -> list[str]:
    """Names of 1-12 code points from every plane (no surrogates, `/` or NUL, which no
    file name holds), a few from the scripts users name files in, and the ASCII edge
    cases of a quoted header (quote, backslash, control characters)."""
    chosen = random.Random(seed)
    names = [*SCRIPTS, 'say "cheese"', "back\\slash", "tab\there", "new\nline", "\x7f"]
    while len(names) < len(SCRIPTS) + 5 + NAMES_DRAWN:
        points = [chosen.randrange(1, 0x110000) for _ in range(chosen.randint(1, 12))]
        name = "".join(chr(p) for p in points if not 0xD800 <= p < 0xE000 and p != 0x2F)
        if name and name not in (".", ".."):
            names.append(name)
    return names


@pytest.fixture(scope="module")
def named_root(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    """A folder with one small JPEG per drawn name the file system can hold."""
    root = tmp_path_factory.mktemp("unicode") / "root"
    root.mkdir()
    picture = encode(gradient((64, 48)), "JPEG")
    stored = []
    for name in drawn_names():
        try:
            (root / f"{name}.jpg").write_bytes(picture)
        except (OSError, ValueError):  # too long in bytes for the file system
            continue
        stored.append(f"{name}.jpg")
    assert len(stored) > 40
    return root, stored


def raw_get(port: int, target: bytes) -> int:
    """The status of a GET whose request line carries `target` as it is (raw UTF-8)."""
    with socket.create_connection((HOST, port), timeout=30) as connection:
        connection.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = b""
        while b"\r\n" not in head:
            chunk = connection.recv(4096)
            if not chunk:
                break
            head += chunk
    return int(head.split(b" ", 2)[1])


def check_every_name(port: int, names: list[str]) -> None:
    for name in names:
        path = "/image/" + quote(name, safe="") + "?w=32"
        status, headers, _ = get(port, path, timeout=30)
        if "\\" in name or "\n" in name:  # refused, not a 5xx: a backslash on purpose
            assert status == 404, (name, status)  # (sources/local.py), a line feed by
            continue  # Flask's routing (its `path` matches no line feed)
        assert status == 200, (name, status)
        disposition = headers["Content-Disposition"]
        disposition.encode("ascii")  # a header a server sends and a client reads
        stem = name.removesuffix(".jpg")
        # Werkzeug's parser reads RFC 8187's `filename*` back into `filename`
        assert parse_options_header(disposition) == ("inline", {"filename": name})
        # raw UTF-8 on the request line, ASCII specials still escaped: a 2xx or a 4xx
        raw = "".join(c if ord(c) > 0x7F else quote(c, safe="") for c in name)
        assert raw_get(port, f"/image/{raw}?w=32".encode()) < 500, name
        # and a name that is not there, with bytes that are not UTF-8 at all
        assert get(port, "/image/" + quote(stem, safe="") + "%FF%C0%80.jpg")[0] < 500


@pytest.mark.slow
def test_every_name_through_the_production_server(
    named_root: tuple[Path, list[str]], tmp_path: Path
) -> None:
    root, names = named_root
    with live_server(root, tmp_path / "cache", workers=1, threads=4) as running:
        check_every_name(running.port, names)


@pytest.mark.slow
def test_every_name_through_werkzeugs_server(
    named_root: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """`pixserve serve --dev` is Werkzeug's server, as `flask run` is: it refuses to
    encode a header that is not Latin-1, which left the request hanging."""
    root, names = named_root
    port = free_port()
    command = [sys.executable, "-m", "pixserve.cli", "serve", "--dev", "--root", str(root)]
    command += ["--cache-dir", str(tmp_path / "cache"), "--port", str(port)]
    with serving(command, port, tmp_path / "dev.log") as running:
        check_every_name(running.port, names)


def test_a_plain_name_is_kept_and_any_other_gets_an_ascii_stand_in() -> None:
    assert disposition_names("cat.webp") == {"filename": "cat.webp"}
    accented = disposition_names("café.webp")
    assert accented == {"filename": "cafe.webp", "filename*": "UTF-8''caf%C3%A9.webp"}
    assert disposition_names("фото.webp")["filename"] == "image.webp"
    assert disposition_names('a"b\n.png')["filename"] == "ab.png"
    for name in drawn_names():
        names = disposition_names(f"{name}.png")
        assert names["filename"].isascii() and names["filename"].isprintable()
        decoded = unquote(names.get("filename*", "UTF-8''" + names["filename"])[7:])
        assert unicodedata.normalize("NFC", decoded) == unicodedata.normalize("NFC", f"{name}.png")


def test_the_flask_app_names_a_cyrillic_file(make_app: MakeApp, root: Path) -> None:
    (root / "фото.jpg").write_bytes((root / "photo.jpg").read_bytes())
    app: Flask = make_app()
    response = app.test_client().get("/image/%D1%84%D0%BE%D1%82%D0%BE.jpg?w=50&fmt=png")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        "inline; filename=image.png; filename*=UTF-8''%D1%84%D0%BE%D1%82%D0%BE.png"
    )
