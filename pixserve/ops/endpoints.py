"""`/healthz`, `/readyz` and `/metrics`: what an orchestrator and Prometheus ask a node.

The standalone app serves them; an app using the extension opts in with
`app.register_blueprint(make_ops_blueprint())`. Keep them off the public internet
(`deploy/nginx.conf` does not pass them on): scrape and probe each node directly.
"""

from __future__ import annotations

from flask import Blueprint, Response, jsonify

from pixserve.http import problems
from pixserve.ops.health import readiness_problems
from pixserve.services import services

OPS_BLUEPRINT = "pixserve_ops"


def make_ops_blueprint(*, own_answers: bool = True) -> Blueprint:
    """The operator endpoints; `own_answers` as for `make_blueprint`."""
    blueprint = Blueprint(OPS_BLUEPRINT, __name__)
    blueprint.add_url_rule("/healthz", view_func=healthz)
    blueprint.add_url_rule("/readyz", view_func=readyz)
    blueprint.add_url_rule("/metrics", view_func=metrics)
    if own_answers:
        problems.answer_as_pixserve(blueprint)
    return blueprint


def healthz() -> Response:
    """Liveness: the process answers (nothing else is checked, so restarts stay rare)."""
    return _uncached(jsonify(status="ok"))


def readyz() -> Response:
    """Readiness: 200 when the source root reads and the cache folder writes (on a disk
    not full), else 503."""
    svc = services()
    found = readiness_problems(svc.config.http.root, svc.cache)
    if found:
        return _uncached(jsonify(status="not ready", problems=found), 503)
    return _uncached(jsonify(status="ready"))


def metrics() -> Response:
    """Prometheus' text format: all workers' counts, and the cache's."""
    body, content_type = services().metrics.exposition()
    return _uncached(Response(body, content_type=content_type))


def _uncached(response: Response, status: int = 200) -> Response:
    response.status_code = status
    response.cache_control.no_store = True
    return response
