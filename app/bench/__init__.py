"""Reference endpoints for bench/ (only with BENCH_ENDPOINTS=true): yardsticks, not features."""

from __future__ import annotations

from flask import Blueprint

from app import services
from app.errors import ApiError

bp = Blueprint("bench", __name__, url_prefix="/bench")


@bp.get("/flask-redis")
def flask_redis() -> str:
    """What the awesome-compose flask-redis sample does per request: INCR, then GET."""
    client = services.links().cache.redis
    if client is None:
        raise ApiError(503, "no_redis", "REDIS_URL is not set.")
    client.incr("bench:hits")
    return f"Hello World! I have been seen {client.get('bench:hits')} times.\n"
