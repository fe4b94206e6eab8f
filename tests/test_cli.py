"""The `pixserve` command as a newcomer meets it: version, help, config, sign, purge."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixserve.cli.main import main
from tests.helpers import MakeApp


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        status = main(list(argv))
    except SystemExit as leaving:  # argparse's --version and --help
        status = int(leaving.code or 0)
    out, err = capsys.readouterr()
    return status, out, err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "--version")
    assert status == 0 and out.startswith("pixserve ") and out.strip() != "pixserve"


def test_serve_help_shows_each_flags_variable_and_default(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out, _ = run(capsys, "serve", "--help")
    text = " ".join(out.split())
    assert status == 0
    assert "[PIXSERVE_PORT; default: 8000]" in text
    assert "[PIXSERVE_HOST; default: 127.0.0.1]" in text
    assert "[PIXSERVE_ROOT; default: required]" in text


def test_config_without_a_root_shows_the_defaults(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PIXSERVE_ROOT", raising=False)
    monkeypatch.chdir(tmp_path)
    status, out, _ = run(capsys, "config")
    assert status == 0
    assert "# root: not set (required by serve: --root or PIXSERVE_ROOT)" in out
    assert "max_age = 86400" in out and "time_limit = 10.0" in out


def test_sign_of_a_preset_says_where_presets_come_from(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIXSERVE_SIGNING_KEYS", "k" * 32)
    monkeypatch.delenv("PIXSERVE_PRESETS", raising=False)
    status, _, err = run(capsys, "sign", "/image/a.jpg?preset=thumb")
    assert status == 2 and "--config" in err and "thumb" in err


def test_purge_of_a_name_with_no_entries_says_so(
    capsys: pytest.CaptureFixture[str], make_app: MakeApp, tmp_path: Path
) -> None:
    client = make_app(cache_dir=tmp_path / "c").test_client()
    assert client.get("/image/photo.jpg?w=60").status_code == 200
    client.application.extensions["pixserve"].cache.close()
    where = ("--cache-dir", str(tmp_path / "c"))
    status, _, err = run(capsys, "cache", "purge", *where, "nothing.jpg")
    assert status == 1 and "no cached results of 'nothing.jpg'" in err
    # a pasted URL path works: its prefix and query are trimmed
    status, out, _ = run(capsys, "cache", "purge", *where, "/image/photo.jpg?w=60")
    assert status == 0 and out.startswith("purged 1 entries of photo.jpg")


def test_stats_names_the_folder_it_reads(
    capsys: pytest.CaptureFixture[str], make_app: MakeApp, tmp_path: Path
) -> None:
    client = make_app(cache_dir=tmp_path / "c").test_client()
    client.get("/image/photo.jpg?w=60")
    client.application.extensions["pixserve"].cache.close()
    status, out, _ = run(capsys, "cache", "stats", "--cache-dir", str(tmp_path / "c"))
    assert status == 0 and out.count("cache folder") == 1
    assert f"cache folder  {tmp_path / 'c'}" in out
