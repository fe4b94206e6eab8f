"""The standalone app of `pixserve serve`: the extension in a tiny Flask app."""

from __future__ import annotations

from flask import Flask

from pixserve.config.settings import Config
from pixserve.http.shortcut import install as install_hit_shortcut
from pixserve.ops.endpoints import make_ops_blueprint
from pixserve.services import EXTENSION_NAME
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
    # Repeated hits and 304s answered in front of Flask: this app's hooks are all
    # pixserve's own, so a kept answer is the whole answer (see `shortcut`).
    install_hit_shortcut(app, app.extensions[EXTENSION_NAME])
    return app
