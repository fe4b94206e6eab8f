"""The dialects' settings: checked at start-up, turned into each dialect's settings."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from pixserve.transformer import InvalidOption

from . import imgproxy
from .common import SourceMap
from .imgproxy import ImgproxySettings
from .thumbor import ThumborSettings

if TYPE_CHECKING:
    from pixserve.config.settings import Config

MAX_IMGPROXY_SIGNATURE = 32  # bytes of HMAC-SHA256


def dialect_settings_problem(config: Config) -> str | None:
    """A message naming the first dialect setting that cannot work, or None."""
    own = {config.image_prefix.rstrip("/"), config.info_prefix.rstrip("/")}
    mounted: set[str] = set()
    for name in ("thumbor_prefix", "imgproxy_prefix"):
        prefix: str = getattr(config, name)
        if not prefix:
            continue
        if not prefix.startswith("/") or "<" in prefix:
            return f"{name}: must be a path like /thumbor (or / alone), got {prefix!r}"
        key = prefix.rstrip("/") or "/"
        if key in own | mounted:
            return f"{name}: {prefix!r} is already where another route lives"
        mounted.add(key)
    if config.thumbor_prefix and not (config.thumbor_keys or config.thumbor_allow_unsafe):
        return "thumbor_keys: set the thumbor security key (or thumbor_allow_unsafe)"
    if config.imgproxy_prefix and not (config.imgproxy_keys or config.imgproxy_allow_insecure):
        return "imgproxy_keys: set the imgproxy key/salt pairs (or imgproxy_allow_insecure)"
    if len(config.imgproxy_keys) != len(config.imgproxy_salts):
        return "imgproxy_salts: give one salt for each of imgproxy_keys, in the same order"
    for name in ("imgproxy_keys", "imgproxy_salts"):
        for value in getattr(config, name):
            try:
                bytes.fromhex(value)
            except ValueError:
                return f"{name}: each must be hex, as IMGPROXY_KEY and IMGPROXY_SALT are"
    if not 1 <= config.imgproxy_signature_size <= MAX_IMGPROXY_SIGNATURE:
        return f"imgproxy_signature_size: must be from 1 to {MAX_IMGPROXY_SIGNATURE} bytes"
    for name in ("thumbor_sources", "imgproxy_sources"):
        try:
            SourceMap.parse(name, getattr(config, name))
        except ValueError as error:
            return str(error)
    return _preset_problem(config)


def _preset_problem(config: Config) -> str | None:
    """A preset pixserve would refuse stops start-up instead of failing its URLs."""
    settings = replace(imgproxy_settings(config), allow_insecure=True)
    for name in config.imgproxy_presets:
        url = f"/{imgproxy.INSECURE}/preset:{name}/plain/local:///check.jpg"
        try:
            imgproxy.translate(url, settings, lambda _: (1000, 1000))
        except InvalidOption as error:
            return f"imgproxy_presets: {name}: {error.detail}"
    return None


def thumbor_settings(config: Config) -> ThumborSettings:
    return ThumborSettings(
        keys=config.thumbor_keys,
        allow_unsafe=config.thumbor_allow_unsafe,
        sources=SourceMap.parse("thumbor_sources", config.thumbor_sources),
        keeps_icc_profiles=config.keep_icc_profiles,
    )


def imgproxy_settings(config: Config) -> ImgproxySettings:
    return ImgproxySettings(
        keys=tuple(bytes.fromhex(key) for key in config.imgproxy_keys),
        salts=tuple(bytes.fromhex(salt) for salt in config.imgproxy_salts),
        signature_size=config.imgproxy_signature_size,
        allow_insecure=config.imgproxy_allow_insecure,
        sources=SourceMap.parse("imgproxy_sources", config.imgproxy_sources),
        presets=dict(config.imgproxy_presets),
        keeps_icc_profiles=config.keep_icc_profiles,
    )
