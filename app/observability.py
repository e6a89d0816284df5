"""Per-request plumbing: request ids, the X-Served-By header and request metrics."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, g, request

from app import metrics

# An incoming id is kept only if it is safe to echo into headers and logs.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")  # same rule as nginx (http.conf)
# Metric labels must stay a bounded set whatever clients send: any other method name (HTTP
# allows any token) is counted as OTHER instead of making a new time series.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def register_request_hooks(app: Flask, instance: str) -> None:
    @app.before_request
    def start_request() -> None:
        g.started = time.perf_counter()
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex

    @app.after_request
    def finish_request(response: Response) -> Response:
        response.headers["X-Served-By"] = instance
        # Requests rejected before before_request ran (e.g. 413) still get an id.
        response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
        # Routes and the app's own status codes are finite sets already.
        endpoint = request.url_rule.rule if request.url_rule else "<unmatched>"
        method = request.method if request.method in KNOWN_METHODS else "OTHER"
        metrics.REQUESTS.labels(method, endpoint, response.status_code).inc()
        if "started" in g:
            metrics.LATENCY.labels(method, endpoint).observe(time.perf_counter() - g.started)
        return response
