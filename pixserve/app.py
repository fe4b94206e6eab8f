"""The app factory: the only place that reads the config and wires the parts."""

from __future__ import annotations

from flask import Flask

from cache import DiskCache
from transformer import Limits

from . import problems
from .config import Config
from .routes import Services, blueprint


def create_app(config: Config) -> Flask:
    """A Flask app serving `config.root`; `config` is already validated."""
    app = Flask(__name__)
    cache = DiskCache(config.cache_dir, config.cache_max_bytes, config.cache_max_age)
    cache.recover()  # what workers killed mid-write left behind
    app.extensions["pixserve"] = Services(
        config=config,
        cache=cache,
        limits=Limits(max_dimension=config.max_dimension),
    )
    app.register_blueprint(blueprint)
    problems.register(app)
    return app
