"""`avif_speed`: the operator's AVIF encoder speed reaches every AVIF encode (fixed
qualities and `q=auto`'s probes), and AVIFs made at another speed are other cache
entries, while other formats keep theirs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pixserve import Config, ConfigError
from pixserve.config.layers import load_config
from pixserve.http.policy import isolates
from pixserve.transformer import FORMATS, EncoderSettings, parse_options, transform
from pixserve.transformer.cost import estimate_cost
from pixserve.transformer.encode import avif_speed
from tests.helpers import CORPUS, MakeApp, decoded

STREET = CORPUS / "photos" / "street-2725x2225.jpg"


def test_the_setting_is_read_and_checked(tmp_path: Path) -> None:
    default = Config.load({}, root=tmp_path).imaging.encoder_settings()
    chosen = Config.load({"PIXSERVE_AVIF_SPEED": "5"}, root=tmp_path).imaging.encoder_settings()
    assert default == EncoderSettings(avif_speed=None) and chosen == EncoderSettings(avif_speed=5)
    for wrong in ("10", "-1"):
        with pytest.raises(ConfigError, match="^avif_speed: must be auto or a whole number"):
            Config.load({"PIXSERVE_AVIF_SPEED": wrong}, root=tmp_path)
    for wrong in ("fast", "5.5"):
        expected = f"^avif_speed: expected auto or a whole number, got '{wrong}'"
        with pytest.raises(ConfigError, match=expected):
            Config.load({"PIXSERVE_AVIF_SPEED": wrong}, root=tmp_path)
    toml = tmp_path / "pixserve.toml"
    root = {"PIXSERVE_ROOT": str(tmp_path)}
    toml.write_text("avif_speed = 4\n")  # a TOML number, or the text of one
    assert load_config(root, toml).imaging.encoder_settings() == EncoderSettings(avif_speed=4)
    toml.write_text('avif_speed = "auto"\n')
    assert load_config(root, toml).imaging.avif_speed is None


def test_a_chosen_speed_holds_for_every_size() -> None:
    assert {avif_speed(pixels) for pixels in (10_000, 4_000_000)} == {6, 7}
    assert {avif_speed(pixels, EncoderSettings(3)) for pixels in (10_000, 4_000_000)} == {3}


@pytest.mark.parametrize("quality", ["50", "auto:good"])
def test_avif_encodes_use_the_chosen_speed(quality: str) -> None:
    """Fixed qualities and `q=auto`'s search alike: the slower speed's bytes differ."""
    source = STREET.read_bytes()
    options = parse_options([("w", "160"), ("q", quality)])
    made = {
        speed: transform(source, options, FORMATS["avif"], encoder=EncoderSettings(speed)).data
        for speed in (5, 9)
    }
    assert made[5] != made[9]
    assert decoded(made[5]).size == decoded(made[9]).size == (160, 131)


def test_a_slow_speed_isolates_what_it_would_overrun_in_place() -> None:
    """The work estimate follows the speed: a 1280 px AVIF at speed 2 (14x speed 7's
    CPU) runs in a child the time limit kills, as a slow step must."""
    source = STREET.read_bytes()
    options = parse_options([("w", "1000"), ("fmt", "avif")])
    by_size = estimate_cost(source, options, FORMATS["avif"])
    slow = estimate_cost(source, options, FORMATS["avif"], encoder=EncoderSettings(2))
    webp = estimate_cost(source, options, FORMATS["webp"], encoder=EncoderSettings(2))
    assert not isolates(by_size) and isolates(slow)
    assert slow.step_seconds > 10 * by_size.step_seconds
    assert webp == estimate_cost(source, options, FORMATS["webp"])


def test_other_formats_do_not_depend_on_it() -> None:
    source = STREET.read_bytes()
    options = parse_options([("w", "160"), ("q", "auto:good")])
    webp = [
        transform(source, options, FORMATS["webp"], encoder=EncoderSettings(speed)).data
        for speed in (None, 2)
    ]
    assert webp[0] == webp[1]


def test_an_avif_made_at_another_speed_is_another_entry(make_app: MakeApp) -> None:
    """Two servers on one cache folder: the AVIF is made again under its own key (and
    ETag) at the other speed; the WebP made by the first is a hit for the second."""
    default, slower = make_app().test_client(), make_app(avif_speed=4).test_client()
    avif = "/image/photo.jpg?w=48&fmt=avif"
    webp = "/image/photo.jpg?w=48&fmt=webp"
    first = default.get(avif)
    again = slower.get(avif)
    assert first.status_code == again.status_code == 200
    assert first.headers["X-Cache"] == again.headers["X-Cache"] == "MISS"
    assert first.get_etag() != again.get_etag()
    assert default.get(webp).headers["X-Cache"] == "MISS"
    shared = slower.get(webp)
    assert shared.headers["X-Cache"] == "HIT"
    assert shared.get_etag() == default.get(webp).get_etag()
