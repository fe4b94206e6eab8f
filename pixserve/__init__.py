"""pixserve: an on-the-fly image server. `create_app(Config(root=...))` is the WSGI app.

The names below are loaded on first use, so `import pixserve.transformer` (pure
imaging) or `import pixserve.cache` does not bring in Flask.

`pixserve.transformer` and `pixserve.cache` are the repository's top-level folders
`transformer/` and `cache/`, linked into the package: installed, they live inside
`pixserve`, so they never take the import names `transformer` or `cache` from a
user's own modules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pixserve.app import create_app
    from pixserve.config import Config, ConfigError
    from pixserve.http.signing import sign_url
    from pixserve.web.extension import PixServe

_LAZY = {
    "create_app": "pixserve.app",
    "Config": "pixserve.config",
    "ConfigError": "pixserve.config",
    "sign_url": "pixserve.http.signing",
    "PixServe": "pixserve.web.extension",
}

__all__ = ["Config", "ConfigError", "PixServe", "create_app", "sign_url"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pixserve' has no attribute {name!r}")
