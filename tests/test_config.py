from __future__ import annotations

from pathlib import Path

import pytest

from pixserve import Config, ConfigError


def test_defaults(tmp_path: Path) -> None:
    config = Config.load({}, root=tmp_path)
    assert config.cache_max_bytes == 1 << 30
    assert config.max_age == 86400
    assert config.max_dimension == 8192
    assert config.max_source_pixels == 50_000_000
    assert config.avif is False and config.index is False


def test_environment_then_overrides(tmp_path: Path) -> None:
    env = {
        "PIXSERVE_ROOT": str(tmp_path),
        "PIXSERVE_CACHE_MAX_BYTES": "512MiB",
        "PIXSERVE_MAX_AGE": "60",
        "PIXSERVE_AVIF": "yes",
        "PIXSERVE_CACHE_DIR": str(tmp_path / "c"),
    }
    config = Config.load(env, cache_dir=tmp_path / "flag")
    assert config.root == tmp_path
    assert config.cache_max_bytes == 512 << 20
    assert config.max_age == 60 and config.avif is True
    assert config.cache_dir == tmp_path / "flag"


@pytest.mark.parametrize(
    ("env", "setting"),
    [
        ({"PIXSERVE_MAX_AGE": "soon"}, "max_age"),
        ({"PIXSERVE_MAX_AGE": "-1"}, "max_age"),
        ({"PIXSERVE_AVIF": "maybe"}, "avif"),
        ({"PIXSERVE_CACHE_MAX_BYTES": "10"}, "cache_max_bytes"),
        ({"PIXSERVE_MAX_DIMENSION": "0"}, "max_dimension"),
        ({"PIXSERVE_MAX_SOURCE_PIXELS": "0"}, "max_source_pixels"),
        ({"PIXSERVE_ROOT": "/no/such/folder"}, "root"),
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
    settings = config.colour_settings()
    assert settings.cmyk_profile == b"profile bytes" and settings.keep_profiles
    assert (
        Config.load({"PIXSERVE_CMYK_PROFILE": ""}, root=tmp_path).colour_settings().cmyk_profile
        is None
    )
    with pytest.raises(ConfigError, match="^cmyk_profile:"):
        Config.load({"PIXSERVE_CMYK_PROFILE": str(tmp_path / "missing.icc")}, root=tmp_path)
