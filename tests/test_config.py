from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pixserve import Config, ConfigError
from pixserve.config.settings import PARTS, SETTINGS
from pixserve.services import build_services


def test_defaults(tmp_path: Path) -> None:
    config = Config.load({}, root=tmp_path)
    assert config.cache.cache_max_bytes == 1 << 30
    assert config.http.max_age == 86400
    assert config.imaging.max_dimension == 8192
    assert config.imaging.max_source_pixels == 50_000_000
    assert config.imaging.avif is False and config.http.index is False


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "PIXSERVE_ROOT": str(tmp_path),
        "PIXSERVE_CACHE_MAX_BYTES": "512MiB",
        "PIXSERVE_MAX_AGE": "60",
        "PIXSERVE_AVIF": "yes",
        "PIXSERVE_CACHE_DIR": str(tmp_path / "c"),
    }
    config = Config.load(env, cache_dir=tmp_path / "flag")
    assert config.http.root == tmp_path
    assert config.cache.cache_max_bytes == 512 << 20
    assert config.http.max_age == 60 and config.imaging.avif is True
    assert config.cache.cache_dir == tmp_path / "flag"


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"PIXSERVE_MAX_AGE": "soon"}, "max_age"),
        ({"PIXSERVE_MAX_AGE": "-1"}, "max_age"),
        ({"PIXSERVE_AVIF": "maybe"}, "avif"),
        ({"PIXSERVE_AUTO_QUALITY": "best"}, "auto_quality"),
        ({"PIXSERVE_CACHE_MAX_BYTES": "10"}, "cache_max_bytes"),
        ({"PIXSERVE_MAX_DIMENSION": "0"}, "max_dimension"),
        ({"PIXSERVE_MAX_SOURCE_PIXELS": "0"}, "max_source_pixels"),
        ({"PIXSERVE_ROOT": "/no/such/folder"}, "root"),
        # plain integers take no unit: 8k is not 8192, 1k frames not 1024
        ({"PIXSERVE_PORT": "8k"}, "port"),
        ({"PIXSERVE_MAX_FRAMES": "1k"}, "max_frames"),
        ({"PIXSERVE_MAX_DIMENSION": "4096px"}, "max_dimension"),
        ({"PIXSERVE_TIME_LIMIT": "10 minutes"}, "time_limit"),
        ({"PIXSERVE_MAX_SOURCE_BYTES": "1 lot"}, "max_source_bytes"),
        # every wait on a transform must outlast the time limit
        ({"PIXSERVE_TIME_LIMIT": "20s"}, "flight_timeout"),
        ({"PIXSERVE_TIME_LIMIT": "40s", "PIXSERVE_FLIGHT_TIMEOUT": "1m"}, "graceful_timeout"),
        ({"PIXSERVE_HEADER_TIMEOUT": "0.5"}, "header_timeout"),
        ({"PIXSERVE_WORKER_MAX_RSS": "1MiB"}, "worker_max_rss"),
        ({"PIXSERVE_FLIGHT_TIMEOUT": "5"}, "flight_timeout"),
    ],
)
def test_invalid_settings_are_named(tmp_path: Path, env: dict[str, str], setting: str) -> None:
    env = {"PIXSERVE_ROOT": str(tmp_path), **env}
    with pytest.raises(ConfigError, match=f"^{setting}:"):
        Config.load(env)


def test_root_is_required() -> None:
    with pytest.raises(ConfigError, match="^root:"):
        Config.load({})


def test_colour_settings(tmp_path: Path) -> None:
    profile = tmp_path / "cmyk.icc"
    profile.write_bytes(b"profile bytes")
    config = Config.load(
        {"PIXSERVE_CMYK_PROFILE": str(profile), "PIXSERVE_KEEP_ICC_PROFILES": "1"}, root=tmp_path
    )
    settings = config.imaging.colour_settings()
    assert settings.cmyk_profile == b"profile bytes" and settings.keep_profiles
    assert (
        Config.load({"PIXSERVE_CMYK_PROFILE": ""}, root=tmp_path)
        .imaging.colour_settings()
        .cmyk_profile
        is None
    )
    with pytest.raises(ConfigError, match="^cmyk_profile:"):
        Config.load({"PIXSERVE_CMYK_PROFILE": str(tmp_path / "missing.icc")}, root=tmp_path)


def test_sizes_and_durations_take_units(tmp_path: Path) -> None:
    config = Config.load(
        {
            "PIXSERVE_HEADER_TIMEOUT": "1m",
            "PIXSERVE_GRACEFUL_TIMEOUT": "1.5m",
            "PIXSERVE_WORKER_MAX_RSS": "512MiB",
            "PIXSERVE_TIME_LIMIT": "20s",
            "PIXSERVE_FLIGHT_TIMEOUT": "45",
            "PIXSERVE_CACHE_MAX_AGE": "2h",
            "PIXSERVE_CACHE_MAX_BYTES": "64MiB",
            "PIXSERVE_MAX_SOURCE_BYTES": "100k",
            "PIXSERVE_PORT": "8080",
        },
        root=tmp_path,
    )
    assert config.serving.header_timeout == 60 and config.serving.graceful_timeout == 90
    assert config.serving.worker_max_rss == 512 << 20
    assert config.imaging.time_limit == 20 and config.cache.flight_timeout == 45
    assert config.cache.cache_max_age == 7200
    assert config.cache.cache_max_bytes == 64 << 20 and config.imaging.max_source_bytes == 100 << 10
    assert config.serving.port == 8080


def test_every_setting_has_one_part_and_one_kind() -> None:
    """The settings table: names are unique across parts, and each has a parser."""
    parts_by_name: dict[str, list[str]] = {}
    for part, cls in PARTS.items():
        for item in dataclasses.fields(cls):
            parts_by_name.setdefault(item.name, []).append(part)
            assert "kind" in item.metadata, item.name
    assert all(len(parts) == 1 for parts in parts_by_name.values())
    assert set(parts_by_name) == set(SETTINGS)


def test_the_flight_timeout_reaches_the_cache(tmp_path: Path) -> None:
    config = Config(root=tmp_path, cache_dir=tmp_path / "c", time_limit=30, flight_timeout=40,
                    graceful_timeout=45)  # fmt: skip
    assert build_services(config).cache.flight_timeout == 40
