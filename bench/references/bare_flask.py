"""A bare Flask app answering every code with a constant 302: no hooks, no extensions."""

from __future__ import annotations

from flask import Flask, Response

app = Flask(__name__)


@app.get("/readyz")
def readyz() -> dict[str, str]:
    return {"status": "ready"}  # JSON, as the stack's readiness check reads it


@app.get("/<code>")
def follow(code: str) -> Response:
    return Response(status=302, headers={"Location": "https://example.com/"})
