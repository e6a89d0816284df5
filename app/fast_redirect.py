"""The redirect without Flask: `GET /<code>` answered in the WSGI layer, hit or miss.

Flask's per-request machinery (request context, routing, hooks, response object) costs more
than a cached lookup itself, and on a miss it comes on top of the round trips. This WSGI layer
sits between ProxyFix and Flask and answers a GET or HEAD for anything that looks like a code
with LinkService.follow, as the Flask view does: memory, else Redis, else one indexed SELECT,
then both cache levels filled. Only what ends in a 302 is answered here. An unknown or retired
code goes on to Flask, which renders its 404 page without a second lookup (the outcome travels in
the environ), and so does a lookup that raised (the database down: Flask's handlers answer 503).
Every other path goes to Flask unchanged.

What the Flask path does for such a request is done here too, and the tests hold both to it:
the host check (a foreign host goes to Flask, which refuses it), the click, X-Served-By,
X-Request-ID, the security headers, the request metrics with the same labels, the stored
Location as is; gunicorn's access log sees the same environ and headers.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

from app import metrics
from app.hosts import HostNames, host_of
from app.links import LinkService
from app.observability import VALID_REQUEST_ID
from app.security_headers import HEADERS as SECURITY_HEADERS
from app.urls import legacy_location
from app.validation import CODE_PATTERN

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Set on a request handed on to Flask after a lookup here: (code, the exception it raised or
# None when no live link has the code). The view answers from it instead of looking up again.
LOOKED_UP = "flask_multitier.looked_up"
ENDPOINT = "/<code>"  # the Flask rule these requests would match: the same metric labels
STATUS = "302 FOUND"
_FIXED_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("Content-Length", "0"),
    *SECURITY_HEADERS,
]


class CachedRedirects:
    def __init__(
        self,
        flask_app: Flask,
        next_app: WsgiApp,
        links: LinkService,
        instance: str,
        trusted: HostNames | None,
    ) -> None:
        self.next_app = next_app
        self.links = links
        self.trusted = trusted
        self.instance = instance
        # Single-segment paths Flask routes elsewhere (/healthz, ...): never taken as codes.
        self.routed = frozenset(
            rule.rule[1:]
            for rule in flask_app.url_map.iter_rules()
            if "<" not in rule.rule and rule.rule.count("/") == 1
        )
        self._metrics = {
            method: (
                metrics.REQUESTS.labels(method, ENDPOINT, 302),
                metrics.LATENCY.labels(method, ENDPOINT),
            )
            for method in ("GET", "HEAD")
        }

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO", "")
        if method not in self._metrics or path.count("/") != 1:
            return self.next_app(environ, start_response)
        code = path[1:]
        if code in self.routed or not CODE_PATTERN.fullmatch(code):
            return self.next_app(environ, start_response)
        if self.trusted is not None:
            host = host_of(environ.get("HTTP_HOST", ""))
            if host is None or host not in self.trusted:
                return self.next_app(environ, start_response)  # Flask answers the 400
        try:
            url = self.links.follow(code)
        except Exception as exc:  # re-raised in the view, where Flask's handlers answer it
            environ[LOOKED_UP] = (code, exc)
            return self.next_app(environ, start_response)
        if url is None:
            environ[LOOKED_UP] = (code, None)
            return self.next_app(environ, start_response)
        incoming = environ.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if VALID_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        location = url if url.isascii() else legacy_location(url)
        start_response(
            STATUS,
            [
                ("Location", location),
                *_FIXED_HEADERS,
                ("X-Served-By", self.instance),
                ("X-Request-ID", request_id),
            ],
        )
        requests, latency = self._metrics[method]
        requests.inc()
        latency.observe(time.perf_counter() - started)
        return []
