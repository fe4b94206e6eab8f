"""The standalone app of `pixserve serve`: the extension in a tiny Flask app."""

from __future__ import annotations

from flask import Flask

from pixserve.config.settings import Config
from pixserve.http import problems
from pixserve.http.views import no_sniffing
from pixserve.ops.endpoints import make_ops_blueprint
from pixserve.web.demo import demo
from pixserve.web.extension import PixServe


def create_app(config: Config) -> Flask:
    """A Flask app serving `config.root`; `config` is already validated."""
    app = Flask(__name__)
    # OPTIONS on any route: 405 with Allow (there is no CORS to announce), not a 200.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    PixServe(app, config, observe_all_routes=True)
    app.register_blueprint(make_ops_blueprint())
    app.register_blueprint(demo)
    # The whole app is pixserve's: every error is problem+json, every answer nosniff.
    problems.register(app)
    app.after_request(no_sniffing)
    return app
