"""The HTTP face of the transformer: `/image/<name>` and `/info/<name>`.

A request is understood once (`request.py`), delivered through the result cache
(`delivery.py`; a stand-in while an AVIF is made in the background, `upgrade.py`) and
answered (`responses.py`); errors become problem+json (`problems.py`).
"""

from __future__ import annotations

from flask import Blueprint, Response, request

from pixserve.http import problems
from pixserve.http.cors import allow_listed_origins
from pixserve.http.request import ImageRequest, image_request, info_request
from pixserve.http.responses import respond
from pixserve.http.shortcut import ANSWERED, Answered
from pixserve.http.upgrade import deliver_upgrading
from pixserve.ops import observe
from pixserve.services import Services, services

BLUEPRINT = "pixserve"


def make_blueprint(
    image_prefix: str = "/image", info_prefix: str = "/info", *, own_answers: bool = True
) -> Blueprint:
    """The `/image` and `/info` routes at the given prefixes, answering problem+json.

    With `own_answers`, error handlers and `nosniff` are the blueprint's own, so an app
    that adds pixserve keeps its own error pages and headers for its own routes.
    """
    blueprint = Blueprint(BLUEPRINT, __name__)
    for prefix, view in ((image_prefix, image), (info_prefix, info)):
        blueprint.add_url_rule(
            f"{prefix.rstrip('/')}/<path:name>",
            view_func=view,
            merge_slashes=False,
            provide_automatic_options=False,  # OPTIONS: 405 with Allow, not Flask's 200
        )
    if own_answers:
        problems.answer_as_pixserve(blueprint)
    blueprint.after_request(allow_listed_origins)
    return blueprint


def image(name: str) -> Response:
    """Serve `name` transformed by the query; GET and HEAD."""
    svc = services()
    req = image_request(svc, name)
    response, answered_as = _answer(svc, req)
    if not answered_as.interim:  # a stand-in is never replayed: its AVIF is on the way
        request.environ[ANSWERED] = Answered(req, observe.asked())  # for `shortcut`
    return response


def info(name: str) -> Response:
    """JSON facts about a source (size, format, colour, placeholders); GET and HEAD."""
    svc = services()
    return _answer(svc, info_request(svc, name))[0]


def _answer(svc: Services, req: ImageRequest) -> tuple[Response, ImageRequest]:
    """304 when the client's copy is current, else the result, cached or made now (or
    its stand-in while its AVIF is made); and the request it was answered as."""
    if req.not_modified():
        return respond(svc, req, None), req
    answered_as, delivered = deliver_upgrading(svc, req)
    return respond(svc, answered_as, delivered), answered_as
