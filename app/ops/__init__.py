"""Operations endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

from app import metrics, services

bp = Blueprint("ops", __name__)
log = logging.getLogger(__name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers. No dependency is checked (restarting won't fix them)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 while the database answers; a cache outage only degrades (still 200)."""
    link_service = services.links()
    try:
        link_service.db.ping()
        database = {"status": "ok"}
    except SQLAlchemyError as exc:
        log.warning("readiness: database unavailable: %s", type(exc).__name__)
        database = {"status": "unavailable", "error": type(exc).__name__}
    cache = link_service.cache.status()
    ready = database["status"] == "ok"
    overall = "unavailable" if not ready else ("ok" if cache["status"] == "ok" else "degraded")
    body = {
        "status": overall,
        "instance": current_app.config["APP_INSTANCE"],
        "checks": {"database": database, "cache": cache},
    }
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, content_type=content_type)
