"""The `[sources.NAME]` tables of the config file: one mount per table, checked at start-up.

    [sources.uploads]                 # /image/uploads/<key> -> s3://user-uploads/originals/<key>
    type = "s3"
    bucket = "user-uploads"
    prefix = "originals/"
    endpoint = "https://s3.example.com"   # optional: any S3-compatible service
    region = "eu-central-1"               # optional

    [sources.cms]                     # /image/cms/<key> -> https://cms.example.com/media/<key>
    type = "http"
    base = "https://cms.example.com/media/"
    allow_private = false             # true, or a list of networks: origins inside your network

No setting holds a credential: S3 credentials come from the standard AWS chain, and
URLs with a user name or password are refused, so `pixserve config` never prints one.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pixserve.config.parsers import ConfigError, Kind

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_MOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
SCHEMES = ("http", "https")


class SourceConfigError(ConfigError):
    """A `[sources.NAME]` table cannot work; the message names the setting."""


@dataclass(frozen=True)
class HttpMount:
    """Originals at `base` + key, fetched over HTTP(S); see `pixserve.sources.http_origin`."""

    name: str
    base: str  # ends with "/"
    # True: private, loopback and shared (CGNAT) addresses are allowed; a tuple: only
    # those networks are. Link-local, multicast and the like stay refused either way.
    allow_private: bool | tuple[Network, ...] = False

    kind = "http"


@dataclass(frozen=True)
class S3Mount:
    """Originals at `s3://bucket/prefix` + key; see `pixserve.sources.s3`."""

    name: str
    bucket: str
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None

    kind = "s3"


Mount = HttpMount | S3Mount
Mounts = dict[str, Mount]

_KEYS = {
    "http": {"type", "base", "allow_private"},
    "s3": {"type", "bucket", "prefix", "endpoint", "region"},
}


def parse_mounts(table: object) -> Mounts:
    """The `[sources]` table as mounts by name; errors name `sources.NAME.SETTING`."""
    if not isinstance(table, Mapping):
        raise SourceConfigError("sources: expected [sources.NAME] tables")
    return {name: parse_mount(name, value) for name, value in table.items()}


def _mounts_from_json(name: str, raw: str) -> Mounts:
    """`PIXSERVE_SOURCES`: the tables as one JSON object."""
    try:
        tables = json.loads(raw) if raw.strip() else {}
    except ValueError:
        raise SourceConfigError(
            f'{name}: expected a JSON object like {{"cms": {{"type": "http", "base": ...}}}}, '
            f"got {raw[:60]!r}"
        ) from None
    return parse_mounts(tables)


# The settings table's kind for `sources`: TOML tables are taken as they are and
# parsed by `SourcesSettings` (so Python dicts given to the extension are too).
MOUNTS = Kind("[sources.NAME] tables", _mounts_from_json, (dict,))


def parse_mount(name: str, table: object) -> Mount:
    where = f"sources.{name}"
    if not _MOUNT_NAME.fullmatch(name):
        raise SourceConfigError(
            f"{where}: a mount name is letters, digits, '-' and '_' (it is the first "
            "segment of the image path)"
        )
    if not isinstance(table, Mapping):
        raise SourceConfigError(f"{where}: expected a table")
    kind = table.get("type")
    if kind not in _KEYS:
        raise SourceConfigError(f'{where}.type: must be "s3" or "http", got {kind!r}')
    unknown = set(table) - _KEYS[kind]
    if unknown:
        hint = " (credentials come from the AWS chain, never the config)" if kind == "s3" else ""
        raise SourceConfigError(f"{where}: no such setting {sorted(unknown)[0]!r}{hint}")
    if kind == "http":
        return HttpMount(
            name,
            _base(where, _text(where, table, "base")),
            _allow_private(where, table.get("allow_private", False)),
        )
    bucket = _text(where, table, "bucket")
    if not _BUCKET.fullmatch(bucket):
        raise SourceConfigError(f"{where}.bucket: {bucket!r} is not a valid bucket name")
    prefix = _text(where, table, "prefix", "")
    if prefix.startswith("/"):
        raise SourceConfigError(f"{where}.prefix: keys do not start with '/', got {prefix!r}")
    endpoint = _text(where, table, "endpoint", "") or None
    if endpoint is not None:
        _check_url(f"{where}.endpoint", endpoint)
    return S3Mount(name, bucket, prefix, endpoint, _text(where, table, "region", "") or None)


def _text(where: str, table: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise SourceConfigError(f"{where}.{key}: required")
    if not isinstance(value, str):
        raise SourceConfigError(f"{where}.{key}: expected text, got {type(value).__name__}")
    return value


def _check_url(where: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES:
        raise SourceConfigError(f"{where}: only http and https URLs, got {url!r}")
    if not parts.hostname:
        raise SourceConfigError(f"{where}: no host in {url!r}")
    if parts.username is not None or parts.password is not None:
        raise SourceConfigError(f"{where}: no user or password in the URL (they would be shown)")
    if parts.query or parts.fragment:
        raise SourceConfigError(f"{where}: no query or fragment in {url!r}")


def _base(where: str, base: str) -> str:
    _check_url(f"{where}.base", base)
    return base if base.endswith("/") else base + "/"


def _allow_private(where: str, value: object) -> bool | tuple[Network, ...]:
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        try:
            return tuple(ipaddress.ip_network(item, strict=False) for item in value)
        except ValueError as error:
            raise SourceConfigError(f"{where}.allow_private: {error}") from None
    raise SourceConfigError(f"{where}.allow_private: expected true, false or a list of networks")


def check_mounts(root: Path, mounts: Mounts) -> None:
    """Refuse a mount whose name is also an entry under the root: `/image/NAME/...`
    would mean two things."""
    for name in mounts:
        clash = root / name
        if clash.exists() or clash.is_symlink():
            raise SourceConfigError(
                f"sources.{name}: the mount {name!r} and the folder {str(clash)!r} under "
                "root would share /image/{name}/...; rename one of them".replace("{name}", name)
            )


def describe_mount(mount: Mount) -> dict[str, Any]:
    """A mount's settings for `pixserve config` (none of them is a secret)."""
    if isinstance(mount, HttpMount):
        allow: Any = (
            mount.allow_private
            if isinstance(mount.allow_private, bool)
            else tuple(str(network) for network in mount.allow_private)
        )
        return {"type": "http", "base": mount.base, "allow_private": allow}
    described: dict[str, Any] = {"type": "s3", "bucket": mount.bucket, "prefix": mount.prefix}
    if mount.endpoint is not None:
        described["endpoint"] = mount.endpoint
    if mount.region is not None:
        described["region"] = mount.region
    return described
