"""The settings reference (docs/settings.md), made from `SETTINGS` and one line of
doc per setting: `python -m pixserve.config.reference > docs/settings.md` writes it, and
`tests/test_docs.py` fails when the page and the code differ, or a setting
has no line here."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

from pixserve.config.parsers import DURATION, FILE_MODE, SIZE
from pixserve.config.settings import SETTINGS

# What each setting is for, one line each (Markdown; links are relative to docs/).
SETTING_DOCS: dict[str, str] = {
    "max_dimension": "largest `w` or `h` accepted",
    "max_source_pixels": "larger sources are refused (422) from their header",
    "max_source_bytes": "larger source files are refused (422)",
    "max_output_pixels": "larger results are refused (400)",
    "max_frames": "animated sources with more frames are refused (422)",
    "max_animation_pixels": "animations with more pixels in all frames are refused (422)",
    "time_limit": "the most time a request that makes a result may take, its waits for a turn and for memory included, before it is answered 503",
    "memory_budget": "transforms running at once on this node may hold this much memory, by their estimated peaks (`transformer/cost.py`); more wait",
    "queue_timeout": "how long a request that makes a result waits for its process's turn, and then for room in `memory_budget` (that wait also counts against `time_limit`), before it is answered 503 `overloaded` with `Retry-After`",
    "avif": "offer AVIF under `fmt=auto` (see [The URL API](url-api.md))",
    "decoded_cache": "decoded sources each process keeps for a short while (30 s unused) for other widths and formats of the same picture, as a page's srcset ladder asks for them; the output is the same bytes either way; `0` keeps none",
    "auto_quality": "`low`, `good` or `high`: the `q=auto` target of `/image` URLs that give no `q` (see [`q=auto`](quality.md#qauto-and-fmtbest-the-fewest-bytes-at-a-chosen-quality)); `off`: each format's fixed default",
    "avif_upgrade": "with `avif` on, answer a request whose AVIF is not cached yet with the WebP at once and make the AVIF in the background (see [AVIF without the wait](quality.md#avif-without-the-wait))",
    "cmyk_profile": "ICC profile for CMYK sources without one (empty: Pillow's formula)",
    "keep_icc_profiles": "embed RGB/grey sources' own profiles instead of converting to sRGB",
    "cache_dir": "result cache folder",
    "cache_max_bytes": "bound of the whole cache folder, index included, as `du` counts it (plus at most 256 KiB at rest, see [The cache](operations.md#the-cache)); least recently used entries go first",
    "cache_max_age": "duration after which an entry is made anew; `0`: never",
    "cache_file_mode": "permissions of the cache's files: `0600` (only pixserve's user); `0640` lets a group read them, such as nginx's `www-data` sending hits itself (`accel_redirect`, [Operations](operations.md#behind-nginx))",
    "flight_timeout": "how long a miss waits for another worker making the same result before making it itself; must be more than `time_limit`",
    "root": "folder of source images",
    "image_prefix": "where the routes live",
    "info_prefix": "where the routes live",
    "max_age": "`Cache-Control: max-age` in seconds",
    "versioned_max_age": "`max-age` of URLs with `v=`, which are also `immutable`",
    "stale_while_revalidate": "adds `stale-while-revalidate` to image and `/info` answers",
    "avif_upgrade_max_age": "`Cache-Control: max-age` of that WebP stand-in (at most `1h`; never `immutable`)",
    "ignored_params": "comma-separated names or `*` patterns dropped from every query, e.g. `utm_*,fbclid,gclid,mc_cid,mc_eid`",
    "cors_origins": "`*`, or comma-separated origins (`https://example.com`) allowed to read images and `/info`",
    "index": "serve the index page at `/` (`make run` turns it on)",
    "client_hints": "ask pages for `Sec-CH-DPR`/`Sec-CH-Width` and size hint-less URLs by them; with `signing_keys` or `allowed_widths`, the hinted width snaps up to the `image_srcset` ladder (or the allowlist)",
    "signing_keys": "comma-separated HMAC keys; when set, every URL must be signed",
    "allowed_widths": "comma-separated allowlists",
    "allowed_heights": "comma-separated allowlists",
    "allowed_qualities": "comma-separated allowlists",
    "allowed_formats": "comma-separated allowlists",
    "presets": "`thumb:w=200&h=200&fit=cover;hero:w=1280`",
    "only_presets": "URLs may only name a preset",
    "server_timing": "`Server-Timing` on cache misses",
    "log_format": "`json` or `text`",
    "accel_redirect": "nginx's internal location for the cache folder, e.g. `/_pixserve_cache/`: hits are answered with `X-Accel-Redirect`",
    "host": "address to listen on",
    "port": "port",
    "workers": "worker processes (granian's)",
    "threads": "threads per process that run the app (granian's blocking threads); those not making results answer hits and health checks",
    "transforms_per_process": "requests of a process that make results at once; its other requests that make results wait their turn, holding no CPU (up to `queue_timeout`)",
    "graceful_timeout": "how long a stopping worker has to finish its requests (more than `time_limit`)",
    "header_timeout": "how long a client has to send a request's headers, and how long an idle keep-alive connection stays open (over nginx's 4 s)",
    "worker_max_rss": "a worker whose resident memory passes this (sampled every 30 s) is replaced gracefully; `0`: never",
    "thumbor_prefix": "where thumbor URLs live, e.g. `/thumbor`, or `/`",
    "thumbor_keys": "thumbor's `SECURITY_KEY` (several, comma-separated, for rotation)",
    "thumbor_allow_unsafe": "thumbor's `ALLOW_UNSAFE_URL`: serve `/unsafe/...`",
    "thumbor_auto_webp": "thumbor's `AUTO_WEBP`: with no `format()`, WebP for clients that accept it (`Vary: Accept`); off: the source's format",
    "thumbor_sources": "`OLD_PREFIX=FOLDER` entries mapping thumbor image references (scheme dropped: `host/path` and `http://host/path` alike) to folders under `root`; the default maps `a/b.jpg` to `root/a/b.jpg`",
    "imgproxy_prefix": "where imgproxy URLs live, e.g. `/imgproxy`, or `/`",
    "imgproxy_keys": "`IMGPROXY_KEY` and `IMGPROXY_SALT` in hex; several pairs, comma-separated, in the same order",
    "imgproxy_salts": "`IMGPROXY_KEY` and `IMGPROXY_SALT` in hex; several pairs, comma-separated, in the same order",
    "imgproxy_signature_size": "`IMGPROXY_SIGNATURE_SIZE`: bytes of the signature kept",
    "imgproxy_allow_insecure": "serve `/insecure/...` URLs",
    "imgproxy_auto_format": "`IMGPROXY_AUTO_WEBP` (and `AUTO_AVIF` when `avif` is on): with no format in the URL, negotiate (`Vary: Accept`); off: the source's format",
    "imgproxy_sources": "`OLD_PREFIX=FOLDER` entries for `local://`, `s3://`, `http(s)://` sources (and `IMGPROXY_BASE_URL` users' relative ones, with an empty prefix)",
    "imgproxy_presets": "`IMGPROXY_PRESETS` as `name:options;...`, e.g. `thumb:rs:fill:200:200/q:80`; a `default` preset applies to every URL",
    "sources": "originals from S3 and HTTP origins: see [Sources](sources.md#sources)",
    "source_ttl": "originals from S3 and HTTP origins: see [Sources](sources.md#sources)",
    "source_stale_if_error": 'while an origin fails or times out, what was known of an original (its results, its kept bytes) is used for up to this long past `source_ttl`; counted as `pixserve_source_fetches{outcome="stale"}` and logged once per original; `0`: answer 502/504 at once',
    "source_cache_max_bytes": "originals from S3 and HTTP origins: see [Sources](sources.md#sources)",
}
# Defaults computed where pixserve runs, described.
COMPUTED_DEFAULTS: dict[str, str] = {
    "memory_budget": "a quarter of the machine's memory (at least `1GiB`)",
    "cmyk_profile": "Ghostscript's `default_cmyk.icc` if installed",
    "cache_dir": "`$XDG_CACHE_HOME/pixserve` or `~/.cache/pixserve`",
    "workers": "2 per core",
}

INTRO = """# Settings reference

Made from the code (`pixserve/config/reference.py`; regenerate with
`python -m pixserve.config.reference > docs/settings.md`). Every setting is read, lowest
first, from its default, the TOML file (its key is the setting's name), the environment
(`PIXSERVE_<NAME>`) and the command line (`--set NAME=VALUE`, or its own flag); how each
kind of value is written is in [Configuration](configuration.md). A `PIXSERVE_` name or a
TOML key that is no setting is an error naming the closest one.
"""


def default_text(name: str) -> str:
    """The default as it is written in TOML, or how it is computed."""
    if name in COMPUTED_DEFAULTS:
        return COMPUTED_DEFAULTS[name]
    row = SETTINGS[name]
    value: Any = row.field.default
    if value is dataclasses.MISSING:
        factory: Any = row.field.default_factory
        value = factory() if factory is not dataclasses.MISSING else None
    if value is None or value in ((), {}, ""):
        return "none" if name != "root" else "(required)"
    if row.kind is FILE_MODE:
        return f"`{value:04o}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[" + ", ".join(f'"{v}"' if isinstance(v, str) else str(v) for v in value) + "]`"
    if row.kind is SIZE:
        return f"`{_size(value)}`"
    if row.kind is DURATION:
        return f"`{_duration(value)}`"
    return f"`{value}`"


def _duration(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{seconds // length:g}{unit}"
    return f"{seconds:g}s"


def _size(value: int) -> str:
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if value >= 1 << shift and value % (1 << shift) == 0:
            return f"{value >> shift}{unit}"
    return str(value)


def render() -> str:
    """docs/settings.md: one table per part, its settings in the code's order."""
    parts: dict[str, list[str]] = {}
    for name, row in SETTINGS.items():
        kind = row.kind.described.replace("|", "\\|")
        doc = SETTING_DOCS[name].replace("\n", " ")
        parts.setdefault(row.part, []).append(
            f"| `{name}` | `{row.variable}` | {kind} | {default_text(name)} | {doc} |"
        )
    sections = [INTRO]
    for part, rows in parts.items():
        sections.append(
            f"## {part}\n\n| setting | environment | type | default | meaning |\n"
            "| --- | --- | --- | --- | --- |\n" + "\n".join(rows) + "\n"
        )
    return "\n".join(sections)


if __name__ == "__main__":
    sys.stdout.write(render())
