"""The configuration's layers (TOML file, environment, flags) and `pixserve config`."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from pixserve import ConfigError
from pixserve.cli.main import main
from pixserve.config.layers import explain_config, load_config, read_config_file

KEY_A = "first-signing-key-0123456789"
KEY_B = "second-signing-key-0123456789"


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def test_flags_over_environment_over_file_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    file = write(
        tmp_path / "pixserve.toml",
        'root = "images"\nmax_age = 60\nport = 9000\nworkers = 3\ncache_max_bytes = "2GiB"\n',
    )
    env = {"PIXSERVE_PORT": "9100", "PIXSERVE_WORKERS": "5"}
    explained = explain_config(env, file, {"workers": 7, "host": None})
    config, origins = explained.config, explained.origins
    assert config.http.root == tmp_path / "images"  # relative to the file's folder
    assert (config.http.max_age, config.serving.port, config.serving.workers) == (60, 9100, 7)
    assert config.cache.cache_max_bytes == 2 << 30
    assert origins["max_age"] == origins["root"] == f"file {file}"
    assert origins["port"] == "env PIXSERVE_PORT"
    assert origins["workers"] == "command line"
    assert origins["host"] == origins["threads"] == "default"


def test_native_toml_values(tmp_path: Path) -> None:
    file = write(
        tmp_path / "p.toml",
        f'root = "{tmp_path}"\nallowed_widths = [320, 640]\nallowed_formats = ["webp"]\n'
        "avif = true\ntime_limit = 5\nsigning_keys = "
        f'["{KEY_A}"]\n[presets]\nthumb = "w=200&h=200&fit=cover"\n',
    )
    config = load_config({}, file)
    assert config.http.allowed_widths == (320, 640) and config.http.allowed_formats == ("webp",)
    assert config.imaging.avif is True and config.imaging.time_limit == 5.0
    assert config.http.presets == {"thumb": "w=200&h=200&fit=cover"}
    assert config.http.signing_keys == (KEY_A,)


def test_a_file_mode_is_octal_as_text_or_toml(tmp_path: Path) -> None:
    for text in ('"0640"', '"640"', "0o640"):
        file = write(tmp_path / "p.toml", f'root = "{tmp_path}"\ncache_file_mode = {text}\n')
        assert load_config({}, file).cache.cache_file_mode == 0o640
    env = {"PIXSERVE_ROOT": str(tmp_path), "PIXSERVE_CACHE_FILE_MODE": "0644"}
    assert load_config(env).cache.cache_file_mode == 0o644


def test_the_file_can_be_named_in_the_environment(tmp_path: Path) -> None:
    file = write(tmp_path / "p.toml", f'root = "{tmp_path}"\nmax_age = 5\n')
    assert load_config({"PIXSERVE_CONFIG": str(file)}).http.max_age == 5


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n", "^colour: no such setting"),
        ("cache_file_mode = 640\n", "^cache_file_mode: 0o1200 must let its owner"),
        ('cache_file_mode = "0755"\n', "^cache_file_mode: 0o755 must let its owner"),
        ("max_ages = 1\n", "^max_ages: no such setting .*; did you mean max_age\\?"),
        ('max_age = "soon"\n', "^max_age: expected a whole number"),
        ("avif = 1\n", "^avif: expected true or false, got an integer"),
        ("allowed_widths = [1.5]\n", "^allowed_widths: expected a whole number"),
        ("presets = 3\n", "^presets: expected a table"),
        ("[presets]\nhero = { w = 1280 }\n", "^presets: hero: expected query text"),
        ('[presets]\nthumb = "w=9"\nmax_age = 600\n', "^presets: max_age: expected query.*integer"),
        ("[imgproxy_presets]\nsharp = [1]\n", "^imgproxy_presets: sharp: expected query"),
        ("max_age = \n", "^config: .* is not valid TOML"),
        ("port = 0\n", "^port: must be from 1 to 65535"),
        ("graceful_timeout = 5\n", "^graceful_timeout: must be more than time_limit"),
        ('log_format = "xml"\n', "^log_format: must be json or text"),
        ('accel_redirect = "cache"\n', "^accel_redirect: must be an nginx location"),
    ],
)
def test_file_mistakes_are_named(tmp_path: Path, text: str, message: str) -> None:
    file = write(tmp_path / "p.toml", f'root = "{tmp_path}"\n{text}')
    with pytest.raises(ConfigError, match=message):
        load_config({}, file)


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^config: cannot read"):
        read_config_file(tmp_path / "absent.toml")


def test_pixserve_config_prints_toml_with_origins_and_no_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "p.toml", f'root = "{tmp_path}"\nmax_age = 60\n')
    monkeypatch.setenv("PIXSERVE_SIGNING_KEYS", f"{KEY_A},{KEY_B}")
    monkeypatch.setenv("PIXSERVE_PRESETS", "thumb:w=200;hero:w=1280")
    monkeypatch.delenv("PIXSERVE_CONFIG", raising=False)
    status = main(["config", "--config", str(file), "--port", "9001", "--set", "avif=yes"])
    out = capsys.readouterr().out
    assert status == 0
    assert KEY_A not in out and KEY_B not in out
    assert "# signing_keys: 2 keys, not shown  (env PIXSERVE_SIGNING_KEYS)" in out
    lines = {line.split(" = ")[0]: line for line in out.splitlines() if " = " in line}
    assert lines["max_age"].endswith(f"# file {file}")
    assert lines["port"].endswith("# command line") and lines["avif"].endswith("# command line")
    assert lines["host"].endswith("# default")
    printed = tomllib.loads(out)  # the output is itself a config file
    config = load_config({}, write(tmp_path / "printed.toml", out))
    assert printed["port"] == 9001 and printed["presets"] == {"thumb": "w=200", "hero": "w=1280"}
    assert (config.http.max_age, config.serving.port, config.imaging.avif) == (60, 9001, True)
    assert config.http.signing_keys == ()


def test_pixserve_config_refuses_a_bad_setting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["config", "--root", str(tmp_path), "--set", "colour=red"]) == 2
    assert "colour: --set takes NAME=VALUE" in capsys.readouterr().err
    assert main(["config", "--root", str(tmp_path), "--set", "max_age=-3"]) == 2
    assert "max_age:" in capsys.readouterr().err
    assert main(["config", "--root", str(tmp_path), "--set", "=" + KEY_A]) == 2
    assert KEY_A not in capsys.readouterr().err
