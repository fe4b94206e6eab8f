"""The standalone app of `pixserve serve`: the extension in a tiny Flask app."""

from __future__ import annotations

from flask import Flask

from . import problems
from .config import Config
from .demo import demo
from .extension import PixServe
from .ops import make_ops_blueprint
from .routes import no_sniffing


def create_app(config: Config) -> Flask:
    """A Flask app serving `config.root`; `config` is already validated."""
    app = Flask(__name__)
    PixServe(app, config, observe_all_routes=True)
    app.register_blueprint(make_ops_blueprint())
    app.register_blueprint(demo)
    # The whole app is pixserve's: every error is problem+json, every answer nosniff.
    problems.register(app)
    app.after_request(no_sniffing)
    return app
