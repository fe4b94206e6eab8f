"""Defences of a public server: signed URLs, allowlists, presets, limits, hygiene."""

from __future__ import annotations

import json
import string
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from pixserve import Config, ConfigError, sign_url, transformer
from pixserve.http.signing import signature
from pixserve.transformer import Limits
from pixserve.transformer.context import Context
from tests.helpers import MakeApp, encode, gradient, problem

KEY = "k" * 32
OLD_KEY = "o" * 32


@pytest.fixture
def signed_app(make_app: MakeApp) -> Flask:
    return make_app(signing_keys=(KEY, OLD_KEY))


class TestSignedUrls:
    def test_signed_url_is_served(self, signed_app: Flask) -> None:
        url = sign_url("/image/photo.jpg?w=100&fmt=webp", KEY)
        assert url.startswith("/image/photo.jpg?w=100&fmt=webp&s=")
        assert signed_app.test_client().get(url).status_code == 200

    def test_every_key_verifies_for_rotation(self, signed_app: Flask) -> None:
        url = sign_url("/image/photo.jpg?w=100", OLD_KEY)
        assert signed_app.test_client().get(url).status_code == 200

    @pytest.mark.parametrize(
        "query",
        [
            "w=100",  # missing
            "w=100&s=",  # empty
            "w=100&s=not*base64",  # malformed
            "w=100&s=AAAA",  # wrong length
            "w=100&s=" + "A" * 43,  # right length, wrong value
            "w=101&s=SIGNATURE_OF_W100",  # a signature of another URL
        ],
    )
    def test_bad_signatures_are_403_without_a_hint(self, signed_app: Flask, query: str) -> None:
        right = signature(KEY, "/image/photo.jpg", "w=100")
        query = query.replace("SIGNATURE_OF_W100", right)
        response = signed_app.test_client().get(f"/image/photo.jpg?{query}")
        body = problem(response, 403)
        assert body["param"] == "s"
        assert right not in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"

    @pytest.mark.parametrize(
        "spelling",
        [
            pytest.param(lambda s: s + "=", id="padding"),
            pytest.param(lambda s: s + "%3D", id="encoded-padding"),
            pytest.param(lambda s: s + "==", id="double-padding"),
            pytest.param(lambda s: s[:10] + "!!" + s[10:], id="stray-characters"),
            pytest.param(lambda s: s[:10] + "%0A" + s[10:], id="encoded-newline"),
            pytest.param(
                lambda s: s.replace("-", "%2B").replace("_", "%2F"), id="standard-alphabet"
            ),
            pytest.param(lambda s: s[:-1] + _spare_bits_changed(s[-1]), id="spare-bits"),
        ],
    )
    def test_only_the_canonical_spelling_of_a_signature_is_accepted(
        self, signed_app: Flask, spelling: Callable[[str], str]
    ) -> None:
        path, query = "/image/photo.jpg", "w=100"
        right = signature(KEY, path, query)
        assert "-" in right or "_" in right  # so that every spelling differs
        client = signed_app.test_client()
        assert client.get(f"{path}?{query}&s={right}").status_code == 200
        other = spelling(right)
        assert other != right
        problem(client.get(f"{path}?{query}&s={other}"), 403)

    def test_repeated_signature_is_refused(self, signed_app: Flask) -> None:
        url = sign_url("/image/photo.jpg?w=100", KEY)
        problem(signed_app.test_client().get(url + "&s=" + url.rsplit("=", 1)[1]), 403)

    def test_signature_is_checked_before_the_file_system(self, signed_app: Flask) -> None:
        problem(signed_app.test_client().get("/image/no-such-file.jpg?w=10"), 403)

    def test_spellings_of_one_transform_share_a_signature(self, signed_app: Flask) -> None:
        s = signature(KEY, "/image/photo.jpg", "fmt=jpeg&w=100")
        client = signed_app.test_client()
        for query in ("w=100&fmt=jpg", "fmt=jpeg&w=100", "w=100&fmt=jpeg&dpr=1&fit=inside"):
            assert client.get(f"/image/photo.jpg?{query}&s={s}").status_code == 200

    def test_signature_covers_the_path(self, signed_app: Flask) -> None:
        s = signature(KEY, "/image/photo.jpg", "w=100")
        problem(signed_app.test_client().get(f"/image/sub/alpha.png?w=100&s={s}"), 403)

    def test_cli_signs_like_the_server_verifies(self, signed_app: Flask, root: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "pixserve.cli", "sign", "/image/photo.jpg?w=64"],
            env={"PIXSERVE_SIGNING_KEYS": f"{KEY},{OLD_KEY}", "PIXSERVE_ROOT": str(root)},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        url = done.stdout.strip()
        assert url == sign_url("/image/photo.jpg?w=64", KEY)
        assert signed_app.test_client().get(url).status_code == 200

    def test_unsigned_server_ignores_s(self, client: FlaskClient) -> None:
        assert client.get("/image/photo.jpg?w=10&s=whatever").status_code == 200


class TestAllowlistsAndPresets:
    def test_allowlists(self, make_app: MakeApp) -> None:
        client = make_app(
            allowed_widths=(320, 640),
            allowed_heights=(200,),
            allowed_qualities=(60, 80),
            allowed_formats=("webp", "jpg"),
        ).test_client()
        assert client.get("/image/photo.jpg?w=320&fmt=jpeg&q=80").status_code == 200
        assert client.get("/image/photo.jpg?w=640").status_code == 200  # fmt=auto stays allowed
        for query, param, shown in [
            ("w=300", "w", "320, 640"),
            ("h=100", "h", "200"),
            ("q=70", "q", "60, 80"),
            ("fmt=png", "fmt", "jpeg, webp"),
        ]:
            body = problem(client.get(f"/image/photo.jpg?{query}"), 400)
            assert body["param"] == param and shown in str(body["detail"])

    def test_presets(self, make_app: MakeApp) -> None:
        client = make_app(presets={"thumb": "w=100&h=100&fit=cover"}).test_client()
        by_preset = client.get("/image/photo.jpg?preset=thumb&fmt=png")
        explicit = client.get("/image/photo.jpg?fit=cover&w=100&h=100&fmt=png")
        assert by_preset.status_code == 200
        assert by_preset.get_etag() == explicit.get_etag()
        assert explicit.headers["X-Cache"] == "HIT"
        body = problem(client.get("/image/photo.jpg?preset=huge"), 400)
        assert body["param"] == "preset" and "thumb" in str(body["detail"])
        body = problem(client.get("/image/photo.jpg?preset=thumb&w=50"), 400)
        assert body["param"] == "w" and "preset thumb" in str(body["detail"])

    def test_only_presets(self, make_app: MakeApp) -> None:
        client = make_app(presets={"thumb": "w=100"}, only_presets=True).test_client()
        assert client.get("/image/photo.jpg?preset=thumb&v=2").status_code == 200
        for query in ("w=100", "", "preset=thumb&fmt=png"):
            body = problem(client.get(f"/image/photo.jpg?{query}"), 400)
            assert "only presets" in str(body["detail"])

    def test_signed_presets(self, make_app: MakeApp) -> None:
        app = make_app(presets={"thumb": "w=100"}, only_presets=True, signing_keys=(KEY,))
        url = sign_url("/image/photo.jpg?preset=thumb", KEY, app.extensions["pixserve"].limits)
        assert url.startswith("/image/photo.jpg?preset=thumb&s=")
        assert app.test_client().get(url).status_code == 200


class TestLimits:
    def test_max_source_bytes(self, make_app: MakeApp, root: Path) -> None:
        size = (root / "photo.jpg").stat().st_size
        body = problem(
            make_app(max_source_bytes=size - 1).test_client().get("/image/photo.jpg"), 422
        )
        assert f"{size} bytes" in str(body["detail"])
        assert (
            make_app(max_source_bytes=size).test_client().get("/image/photo.jpg").status_code == 200
        )

    def test_max_output_pixels(self, make_app: MakeApp) -> None:
        client = make_app(max_output_pixels=200 * 150).test_client()
        assert client.get("/image/photo.jpg?w=200").status_code == 200
        body = problem(client.get("/image/photo.jpg?w=201&h=151&fit=fill"), 400)
        assert body["param"] == "w"

    def test_max_frames(self, make_app: MakeApp, root: Path) -> None:
        frames = [gradient((16, 16)).rotate(n * 30) for n in range(6)]
        frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=40)
        client = make_app(max_frames=5).test_client()
        body = problem(client.get("/image/anim.gif?w=8"), 422)
        assert "6 frames" in str(body["detail"])

    def test_time_limit_ends_the_work_with_503(
        self, make_app: MakeApp, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def slow(ctx: Context) -> None:
            time.sleep(0.1)  # stands for one C call: no check gets in before its end

        monkeypatch.setattr(transformer.pipeline, "PIPELINE", (slow,) * 1000)  # 100 s
        client = make_app(time_limit=0.2).test_client()
        started = time.monotonic()
        response = client.get("/image/photo.jpg?w=50")
        assert time.monotonic() - started < 0.2 + 0.1 + 1  # the limit, one step, slack
        problem(response, 503)
        assert response.headers["Retry-After"].isdigit()
        assert response.headers["Cache-Control"] == "no-store"
        monkeypatch.undo()
        assert client.get("/image/photo.jpg?w=50").status_code == 200  # the worker lives on

    def test_fast_transforms_are_not_touched_by_the_deadline(self, make_app: MakeApp) -> None:
        client = make_app(time_limit=2.0).test_client()  # ample, even on a loaded machine
        for width in range(40, 45):
            assert client.get(f"/image/photo.jpg?w={width}").status_code == 200
        time.sleep(2.2)  # a deadline that outlived its request would strike here
        assert client.get("/image/photo.jpg?w=39").status_code == 200


class TestHygiene:
    @pytest.mark.parametrize(
        ("path", "status"),
        [
            ("/image/photo.jpg?w=10", 200),
            ("/image/missing.jpg", 404),
            ("/image/photo.jpg?w=0", 400),
            ("/image/notes.txt", 415),
            ("/", 404),
            ("/nothing", 404),
        ],
    )
    def test_nosniff_everywhere(self, client: FlaskClient, path: str, status: int) -> None:
        response = client.get(path)
        assert response.status_code == status
        assert response.headers["X-Content-Type-Options"] == "nosniff"

    def test_error_caching(self, client: FlaskClient) -> None:
        assert client.get("/image/missing.jpg").headers["Cache-Control"] == "max-age=60"
        assert client.get("/image/photo.jpg?w=x").headers["Cache-Control"] == "max-age=60"
        assert client.get("/image/notes.txt").headers["Cache-Control"] == "no-store"

    @pytest.mark.parametrize(
        "path",
        [
            "/image/%3Cscript%3Ealert(1)%3C%2Fscript%3E.jpg",
            "/image/photo.jpg?w=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E",
            "/image/photo.jpg?%3Cb%3E=1",
        ],
    )
    def test_problems_never_echo_markup(self, client: FlaskClient, path: str) -> None:
        text = client.get(path).get_data(as_text=True)
        assert "<" not in text and ">" not in text
        assert json.loads(text)["detail"]

    def test_no_paths_or_tracebacks_in_responses(
        self, client: FlaskClient, root: Path, tmp_path: Path
    ) -> None:
        data = encode(gradient((300, 200)), "PNG")
        (root / "cut.png").write_bytes(data[: len(data) // 2])
        for path in ("/image/cut.png?w=10", "/image/missing.jpg", "/image/notes.txt"):
            text = client.get(path).get_data(as_text=True)
            assert str(tmp_path) not in text and "Traceback" not in text


class TestConfig:
    def test_short_signing_keys_are_refused(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="^signing_keys:"):
            Config(root=tmp_path, signing_keys=("short",))

    def test_keys_are_not_in_the_repr(self, tmp_path: Path) -> None:
        assert KEY not in repr(Config(root=tmp_path, signing_keys=(KEY,)))

    def test_bad_presets_stop_start_up(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="^presets:"):
            Config(root=tmp_path, presets={"thumb": "w=0"})
        with pytest.raises(ConfigError, match="^only_presets:"):
            Config(root=tmp_path, only_presets=True)
        with pytest.raises(ConfigError, match="^allowed_formats:"):
            Config(root=tmp_path, allowed_formats=("tiff",))

    def test_environment(self, tmp_path: Path) -> None:
        config = Config.load(
            {
                "PIXSERVE_ROOT": str(tmp_path),
                "PIXSERVE_SIGNING_KEYS": f"{KEY}, {OLD_KEY}",
                "PIXSERVE_ALLOWED_WIDTHS": "320,640",
                "PIXSERVE_ALLOWED_FORMATS": "webp,jpg",
                "PIXSERVE_PRESETS": "thumb:w=100&h=100&fit=cover; hero:w=1280",
                "PIXSERVE_TIME_LIMIT": "2.5",
            }
        )
        assert config.http.signing_keys == (KEY, OLD_KEY)
        assert config.http.allowed_widths == (320, 640)
        assert config.http.presets == {"thumb": "w=100&h=100&fit=cover", "hero": "w=1280"}
        assert config.imaging.time_limit == 2.5
        limits: Limits = config.query_limits()
        assert limits.allowed["fmt"] == frozenset({"webp", "jpeg"})
        assert limits.presets["hero"] == (("w", "1280"),)


def _spare_bits_changed(last: str) -> str:
    """Another base64url character that decodes to the same bytes in the last place.

    43 characters carry 258 bits for a 256-bit digest: the last character's two lowest
    bits are spare, so four characters decode alike.
    """
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    return alphabet[alphabet.index(last) ^ 1]
