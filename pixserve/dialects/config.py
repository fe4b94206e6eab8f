"""The dialects' part of the settings (`config.dialects`), and each dialect's settings
built from it (docs/dialects.md)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from pixserve.config.parsers import BOOLEAN, INTEGER, TABLE, TEXT, TEXTS, ConfigError, Kind
from pixserve.transformer import InvalidOption

from . import imgproxy
from .common import SourceMap
from .imgproxy import ImgproxySettings
from .thumbor import ThumborSettings

if TYPE_CHECKING:
    from pixserve.config.settings import Config

MAX_IMGPROXY_SIGNATURE = 32  # bytes of HMAC-SHA256


def _setting(kind: Kind, default: Any, *, doc: str, **options: Any) -> Any:
    """A field that is a setting of `kind` with its reference line `doc`, as
    `pixserve.config.settings.setting` makes them (not imported from there: the
    settings module imports this part)."""
    return field(default=default, metadata={"kind": kind, "doc": doc}, **options)


@dataclass(frozen=True)
class DialectSettings:
    """thumbor's and imgproxy's URLs: where they live, their keys, their sources."""

    thumbor_prefix: str = _setting(
        TEXT, "", doc="where thumbor URLs live, e.g. `/thumbor`, or `/`"
    )  # "": off
    thumbor_keys: tuple[str, ...] = _setting(
        TEXTS,
        (),
        repr=False,
        doc="thumbor's `SECURITY_KEY` (several, comma-separated, for rotation)",
    )
    thumbor_allow_unsafe: bool = _setting(
        BOOLEAN, False, doc="thumbor's `ALLOW_UNSAFE_URL`: serve `/unsafe/...`"
    )
    thumbor_auto_webp: bool = _setting(
        BOOLEAN,
        False,
        doc=(
            "thumbor's `AUTO_WEBP`: with no `format()`, WebP for clients that accept it (`Vary: "
            "Accept`); off: the source's format"
        ),
    )
    thumbor_sources: tuple[str, ...] = _setting(
        TEXTS,
        ("=",),
        doc=(
            "`OLD_PREFIX=FOLDER` entries mapping thumbor image references (scheme dropped: "
            "`host/path` and `http://host/path` alike) to folders under `root`; the default maps "
            "`a/b.jpg` to `root/a/b.jpg`"
        ),
    )
    imgproxy_prefix: str = _setting(
        TEXT, "", doc="where imgproxy URLs live, e.g. `/imgproxy`, or `/`"
    )  # "": off
    imgproxy_keys: tuple[str, ...] = _setting(
        TEXTS,
        (),
        repr=False,
        doc=(
            "`IMGPROXY_KEY` and `IMGPROXY_SALT` in hex; several pairs, comma-separated, in the "
            "same order"
        ),
    )
    imgproxy_salts: tuple[str, ...] = _setting(
        TEXTS,
        (),
        repr=False,
        doc=(
            "`IMGPROXY_KEY` and `IMGPROXY_SALT` in hex; several pairs, comma-separated, in the "
            "same order"
        ),
    )
    imgproxy_signature_size: int = _setting(
        INTEGER, 32, doc="`IMGPROXY_SIGNATURE_SIZE`: bytes of the signature kept"
    )
    imgproxy_allow_insecure: bool = _setting(BOOLEAN, False, doc="serve `/insecure/...` URLs")
    imgproxy_auto_format: bool = _setting(
        BOOLEAN,
        False,
        doc=(
            "`IMGPROXY_AUTO_WEBP` (and `AUTO_AVIF` when `avif` is on): with no format in the URL, "
            "negotiate (`Vary: Accept`); off: the source's format"
        ),
    )
    imgproxy_sources: tuple[str, ...] = _setting(
        TEXTS,
        ("local:///=",),
        doc=(
            "`OLD_PREFIX=FOLDER` entries for `local://`, `s3://`, `http(s)://` sources (and "
            "`IMGPROXY_BASE_URL` users' relative ones, with an empty prefix)"
        ),
    )
    imgproxy_presets: dict[str, str] = field(
        default_factory=dict,
        metadata={
            "kind": TABLE,
            "doc": (
                "`IMGPROXY_PRESETS` as `name:options;...`, e.g. `thumb:rs:fill:200:200/q:80`; "
                "a `default` preset applies to every URL"
            ),
        },
    )
    imgproxy_watermark: str = _setting(
        TEXT,
        "",
        doc=(
            "the source name (as in `/image/<name>`: under the root or a mount) that imgproxy's "
            "`watermark` option draws, as `IMGPROXY_WATERMARK_PATH`/`_URL` name it; empty: only "
            "`watermark_url` names one"
        ),
    )

    def __post_init__(self) -> None:
        if (problem := self._problem()) is not None:
            raise ConfigError(problem)

    def _problem(self) -> str | None:
        mounted: set[str] = set()
        for name in ("thumbor_prefix", "imgproxy_prefix"):
            prefix: str = getattr(self, name)
            if not prefix:
                continue
            if not prefix.startswith("/") or "<" in prefix:
                return f"{name}: must be a path like /thumbor (or / alone), got {prefix!r}"
            key = prefix.rstrip("/") or "/"
            if key in mounted:
                return f"{name}: {prefix!r} is already where another route lives"
            mounted.add(key)
        if self.thumbor_prefix and not (self.thumbor_keys or self.thumbor_allow_unsafe):
            return "thumbor_keys: set the thumbor security key (or thumbor_allow_unsafe)"
        if self.imgproxy_prefix and not (self.imgproxy_keys or self.imgproxy_allow_insecure):
            return "imgproxy_keys: set the imgproxy key/salt pairs (or imgproxy_allow_insecure)"
        if len(self.imgproxy_keys) != len(self.imgproxy_salts):
            return "imgproxy_salts: give one salt for each of imgproxy_keys, in the same order"
        for name in ("imgproxy_keys", "imgproxy_salts"):
            for value in getattr(self, name):
                try:
                    bytes.fromhex(value)
                except ValueError:
                    return f"{name}: each must be hex, as IMGPROXY_KEY and IMGPROXY_SALT are"
        if not 1 <= self.imgproxy_signature_size <= MAX_IMGPROXY_SIGNATURE:
            return f"imgproxy_signature_size: must be from 1 to {MAX_IMGPROXY_SIGNATURE} bytes"
        for name in ("thumbor_sources", "imgproxy_sources"):
            try:
                SourceMap.parse(name, getattr(self, name))
            except ValueError as error:
                return str(error)
        return self._preset_problem()

    def _preset_problem(self) -> str | None:
        """A preset pixserve would refuse stops start-up instead of failing its URLs."""
        settings = replace(imgproxy_settings(self, keeps_icc_profiles=False), allow_insecure=True)
        for name in self.imgproxy_presets:
            url = f"/{imgproxy.INSECURE}/preset:{name}/plain/local:///check.jpg"
            try:
                imgproxy.translate(url, settings, lambda _: (1000, 1000))
            except InvalidOption as error:
                return f"imgproxy_presets: {name}: {error.detail}"
        return None

    def prefix_problem(self, *own_prefixes: str) -> str | None:
        """A dialect mounted where pixserve's own routes (`/image`, `/info`) live."""
        own = {prefix.rstrip("/") for prefix in own_prefixes}
        for name in ("thumbor_prefix", "imgproxy_prefix"):
            prefix: str = getattr(self, name)
            if prefix and prefix.rstrip("/") in own:
                return f"{name}: {prefix!r} is already where another route lives"
        return None


def thumbor_settings(config: Config) -> ThumborSettings:
    part = config.dialects
    return ThumborSettings(
        keys=part.thumbor_keys,
        allow_unsafe=part.thumbor_allow_unsafe,
        sources=SourceMap.parse("thumbor_sources", part.thumbor_sources),
        keeps_icc_profiles=config.imaging.keep_icc_profiles,
    )


def imgproxy_settings(part: DialectSettings, *, keeps_icc_profiles: bool) -> ImgproxySettings:
    return ImgproxySettings(
        keys=tuple(bytes.fromhex(key) for key in part.imgproxy_keys),
        salts=tuple(bytes.fromhex(salt) for salt in part.imgproxy_salts),
        signature_size=part.imgproxy_signature_size,
        allow_insecure=part.imgproxy_allow_insecure,
        sources=SourceMap.parse("imgproxy_sources", part.imgproxy_sources),
        presets=dict(part.imgproxy_presets),
        keeps_icc_profiles=keeps_icc_profiles,
        watermark=part.imgproxy_watermark,
    )
