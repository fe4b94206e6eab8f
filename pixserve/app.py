"""The app factory: the only place that reads the config and wires the parts."""

from __future__ import annotations

from flask import Flask, Response

from cache import DiskCache

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
        limits=config.query_limits(),
        image_limits=config.image_limits(),
        colour=config.colour_settings(),
    )
    app.register_blueprint(blueprint)
    problems.register(app)
    app.after_request(_no_sniffing)
    return app


def _no_sniffing(response: Response) -> Response:
    """Every response says its type is final: no browser may guess HTML from bytes."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
