"""A naive shortener: every redirect is one pipelined Redis round trip (GET target + INCR clicks).

The common design without a per-process cache; `python -m bench` seeds `naive:link:hot`. Uses
REDIS_URL, as the app does.
"""

from __future__ import annotations

import os

import redis
from flask import Flask, Response, abort

app = Flask(__name__)
client = redis.Redis.from_url(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")

LINK_KEY = "naive:link:"
CLICKS_KEY = "naive:clicks:"


@app.get("/readyz")
def readyz() -> dict[str, str]:
    client.ping()
    return {"status": "ready"}  # JSON, as the stack's readiness check reads it


@app.get("/<code>")
def follow(code: str) -> Response:
    pipe = client.pipeline(transaction=False)
    pipe.get(LINK_KEY + code)
    pipe.incr(CLICKS_KEY + code)
    target, _ = pipe.execute()
    if target is None:
        abort(404)
    return Response(status=302, headers={"Location": target.decode()})
