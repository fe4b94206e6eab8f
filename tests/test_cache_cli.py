"""`pixserve cache stats|purge|prune|warm`, run in-process on a real cache folder."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pixserve import sign_url
from pixserve.cache import DiskCache
from pixserve.cli.main import main
from pixserve.web.helpers import srcset_candidates

from .helpers import MakeApp

real_time = time.time


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["cache", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def stat_lines(out: str) -> dict[str, str]:
    return {line[:14].strip(): line[14:] for line in out.splitlines()}


def test_commands_on_a_folder_with_no_cache_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for command in ("stats", "prune", "purge"):
        status, out, _ = run(capsys, command, "--cache-dir", str(tmp_path / "none"))
        assert status == 0 and "no cache" in out
    assert not (tmp_path / "none").exists()


def test_warm_then_stats_purge_and_prune(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make_app: MakeApp
) -> None:
    cache_dir = str(tmp_path / "cache")
    where = ("--root", str(root), "--cache-dir", cache_dir)
    status, out, _ = run(
        capsys,
        "warm",
        *where,
        "photo.jpg",
        "sub/alpha.png",
        "--widths",
        "100,200",
        "--fmt",
        "webp,png",
    )
    assert status == 0 and "8 made, 0 already cached, 0 failed" in out

    # the server finds what warm made: same keys
    client = make_app(cache_dir=tmp_path / "cache").test_client()
    assert client.get("/image/photo.jpg?w=200&fmt=webp").headers["X-Cache"] == "HIT"
    client.application.extensions["pixserve"].cache.flush()

    status, out, _ = run(capsys, "warm", *where, "photo.jpg", "--widths", "100", "--fmt", "webp")
    assert status == 0 and "0 made, 1 already cached" in out

    status, out, _ = run(capsys, "stats", "--cache-dir", cache_dir)
    stats = stat_lines(out)
    assert status == 0 and stats["entries"] == "8"
    assert stats["hit ratio"].startswith("20.0% (2 hits, 8 misses since ")
    assert stats["oldest entry"].endswith(", photo.jpg")

    status, out, _ = run(capsys, "purge", "--cache-dir", cache_dir, "sub/alpha.png")
    assert status == 0 and out.startswith("purged 4 entries of sub/alpha.png")
    assert DiskCache(tmp_path / "cache", 1 << 20).stats().entries == 4

    status, out, _ = run(capsys, "prune", "--cache-dir", cache_dir)
    assert status == 0 and out.startswith("pruned 0 entries")

    status, out, _ = run(capsys, "purge", "--cache-dir", cache_dir)
    assert status == 0 and out.startswith("purged 4 entries,")
    assert DiskCache(tmp_path / "cache", 1 << 20).total_bytes() == 0


def test_warm_auto_makes_what_each_kind_of_browser_gets(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make_app: MakeApp
) -> None:
    status, out, _ = run(
        capsys,
        "warm",
        "--root",
        str(root),
        "--cache-dir",
        str(tmp_path / "cache"),
        "photo.jpg",
        "--widths",
        "120",
    )
    assert status == 0 and "warmed 2 variants: 2 made" in out  # WebP, and the JPEG fallback
    client = make_app(cache_dir=tmp_path / "cache").test_client()
    for accept in ("image/webp,*/*", "*/*"):
        response = client.get("/image/photo.jpg?w=120", headers={"Accept": accept})
        assert response.headers["X-Cache"] == "HIT"


def test_warm_reports_what_failed(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(
        capsys,
        "warm",
        "--root",
        str(root),
        "--cache-dir",
        str(tmp_path / "c"),
        "photo.jpg",
        "missing.jpg",
        "notes.txt",
        "--widths",
        "50",
        "--fmt",
        "png",
    )
    assert status == 1 and "1 made, 0 already cached, 2 failed" in out
    assert "/image/missing.jpg?fmt=png: 404 no image" in err
    assert "/image/notes.txt?fmt=png: 415" in err


def test_warm_refuses_a_bad_format_before_starting(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = ("--root", str(root), "--cache-dir", str(tmp_path / "c"))
    status, _, err = run(capsys, "warm", *where, "photo.jpg", "--fmt", "webp,bogus")
    assert status == 2 and "fmt must be one of" in err
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("widths", ["0", "wide", "320,,640"])
def test_warm_refuses_bad_widths(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], widths: str
) -> None:
    with pytest.raises(SystemExit) as stopped:
        run(capsys, "warm", "--root", str(root), "photo.jpg", "--widths", widths)
    assert stopped.value.code == 2 and "--widths" in capsys.readouterr().err


def test_prune_deletes_entries_older_than_cache_max_age(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = DiskCache(tmp_path / "cache", 1 << 20)
    cache.store(f"{1:040x}", "png", b"old", "old.jpg")
    monkeypatch.setattr(time, "time", lambda: real_time() + 120)
    cache.store(f"{2:040x}", "png", b"new", "new.jpg")
    monkeypatch.setenv("PIXSERVE_CACHE_MAX_AGE", "60")
    status, out, _ = run(capsys, "prune", "--cache-dir", str(tmp_path / "cache"))
    assert status == 0 and out.startswith("pruned 1 entries, 3 bytes")
    assert cache.lookup(f"{1:040x}", ("png",)) is None
    assert cache.lookup(f"{2:040x}", ("png",)) is not None


def test_warm_makes_exactly_the_candidates_image_srcset_writes(
    root: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make_app: MakeApp
) -> None:
    status, out, _ = run(
        capsys, "warm", "--root", str(root), "--cache-dir", str(tmp_path / "c"), "photo.jpg",
        "--fmt", "webp",
    )  # fmt: skip
    app = make_app(cache_dir=tmp_path / "c")
    with app.test_request_context():
        candidates = [url for url, _ in srcset_candidates("photo.jpg", fmt="webp")]
    # the ladder up to the source's width, plus the source's width itself
    assert candidates[-1].startswith("/image/photo.jpg?fmt=webp&w=800")
    assert status == 0 and f"warmed {len(candidates)} variants: {len(candidates)} made" in out
    client = app.test_client()
    assert all(client.get(url).headers["X-Cache"] == "HIT" for url in candidates)
    assert DiskCache(tmp_path / "c", 1 << 20).stats().entries == len(candidates)


def test_warm_follows_the_image_prefix_and_signs(
    root: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make_app: MakeApp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "a-signing-key-of-some-length"
    monkeypatch.setenv("PIXSERVE_IMAGE_PREFIX", "/img")
    monkeypatch.setenv("PIXSERVE_SIGNING_KEYS", key)
    status, out, err = run(
        capsys, "warm", "--root", str(root), "--cache-dir", str(tmp_path / "c"), "photo.jpg",
        "--widths", "100,200", "--fmt", "webp",
    )  # fmt: skip
    assert status == 0 and "2 made, 0 already cached, 0 failed" in out, err
    client = make_app(
        cache_dir=tmp_path / "c", image_prefix="/img", signing_keys=(key,)
    ).test_client()
    url = sign_url("/img/photo.jpg?w=200&fmt=webp", key)
    assert client.get(url).headers["X-Cache"] == "HIT"
