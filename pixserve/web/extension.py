"""`PixServe`: pixserve inside any Flask app, the Flask extension way.

    app = Flask(__name__)
    app.config["PIXSERVE_ROOT"] = "images"
    PixServe(app)          # or: pixserve = PixServe(); pixserve.init_app(app)

It registers `/image/<name>` and `/info/<name>` (prefixes `PIXSERVE_IMAGE_PREFIX`,
`PIXSERVE_INFO_PREFIX`) beside the app's own routes and static files, and the template
helpers `image_url`, `image_srcset` and `picture` as Jinja globals. Its requests are
logged (one line each, to stderr at INFO unless the app configures logging itself: see
`logs.show_when_unconfigured`) and counted in its metrics; `/healthz`, `/readyz` and `/metrics`
are a blueprint to opt into (`pixserve.ops.endpoints.make_ops_blueprint`). `pixserve serve` is
this same extension in a tiny app (`create_app`), not a second code path.
"""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, Response, request

from pixserve.config.settings import Config
from pixserve.dialects.views import DIALECTS_BLUEPRINT, make_dialects_blueprint
from pixserve.http import problems
from pixserve.http.ranges import ignore_unservable_ranges
from pixserve.http.views import BLUEPRINT, make_blueprint
from pixserve.ops import logs, observe
from pixserve.ops.endpoints import OPS_BLUEPRINT
from pixserve.services import EXTENSION_NAME, build_services
from pixserve.web.helpers import image_srcset, image_url, picture

# The hints a page asks the browser to send with its image requests.
CLIENT_HINTS = "Sec-CH-DPR, Sec-CH-Width"


class PixServe:
    """The extension; `config` overrides the app's `PIXSERVE_*` keys when given.

    `whole_app`: the app is pixserve alone (as `create_app`'s): every request of it is
    logged and counted, and every error is problem+json, not only pixserve's routes'.
    """

    def __init__(
        self,
        app: Flask | None = None,
        config: Config | None = None,
        *,
        whole_app: bool = False,
    ) -> None:
        self.config = config
        if app is not None:
            self.init_app(app, config, whole_app=whole_app)

    def init_app(
        self, app: Flask, config: Config | None = None, *, whole_app: bool = False
    ) -> None:
        config = (
            config or self.config or Config.from_flask(app.config, Path(app.root_path), os.environ)
        )
        app.extensions[EXTENSION_NAME] = build_services(config)
        blueprint = make_blueprint(
            config.http.image_prefix, config.http.info_prefix, own_answers=not whole_app
        )
        blueprint.before_request(ignore_unservable_ranges)
        app.register_blueprint(blueprint)
        dialects = make_dialects_blueprint(config, own_answers=not whole_app)
        if dialects is not None:  # thumbor and imgproxy URLs, when a prefix is set
            dialects.before_request(ignore_unservable_ranges)
            app.register_blueprint(dialects)
        observe.install(app, _everything if whole_app else _pixserve_routes)
        logs.show_when_unconfigured(config.ops.log_format)
        if whole_app:
            problems.answer_as_pixserve(app)
        else:
            problems.answer_wrong_methods(app, (BLUEPRINT, OPS_BLUEPRINT, DIALECTS_BLUEPRINT))
        app.jinja_env.globals.update(
            image_url=image_url, image_srcset=image_srcset, picture=picture
        )
        if config.http.client_hints:
            app.after_request(_ask_for_client_hints)


def _everything() -> bool:
    return True


def _pixserve_routes() -> bool:
    return request.blueprint in (BLUEPRINT, OPS_BLUEPRINT, DIALECTS_BLUEPRINT)


def _ask_for_client_hints(response: Response) -> Response:
    """Pages (HTML) ask for DPR and width hints on the images they load."""
    if response.mimetype == "text/html" and request.method == "GET":
        response.headers["Accept-CH"] = CLIENT_HINTS
    return response
