"""Operations endpoints for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from app import metrics, services

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Liveness: the process answers. No dependency is checked (restarting won't fix them)."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: 200 while the database answers; a cache outage only degrades (still 200)."""
    checks = services.links().status()
    ready = checks["database"]["status"] == "ok"
    cached = checks["cache"]["status"] == "ok"
    overall = "unavailable" if not ready else ("ok" if cached else "degraded")
    body = {
        "status": overall,
        "instance": current_app.config["APP_INSTANCE"],
        "checks": checks,
    }
    return jsonify(body), 200 if ready else 503


@bp.get("/metrics")
def prometheus_metrics() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, content_type=content_type)
