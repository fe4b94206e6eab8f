"""pixserve: an on-the-fly image server. `create_app(Config(root=...))` is the WSGI app."""

from .app import create_app
from .config import Config, ConfigError
from .signing import sign_url

__all__ = ["Config", "ConfigError", "create_app", "sign_url"]
