"""The standalone app of `pixserve serve`: the extension in a tiny Flask app."""

from __future__ import annotations

from flask import Flask

from pixserve.config.settings import Config
from pixserve.ops.endpoints import make_ops_blueprint
from pixserve.web.demo import demo
from pixserve.web.extension import PixServe


def create_app(config: Config) -> Flask:
    """A Flask app serving `config.http.root`; `config` is already validated."""
    app = Flask(__name__)
    # OPTIONS on any route: 405 with Allow (CORS, when configured, needs no preflight).
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    PixServe(app, config, whole_app=True)  # every error problem+json, every answer nosniff
    app.register_blueprint(make_ops_blueprint(own_answers=False))
    app.register_blueprint(demo)
    return app
