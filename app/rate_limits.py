"""The app's own rate limits (Flask-Limiter) on the writes: creating and deleting links.

nginx limits writes too, but not every topology has nginx (Heroku), and only the app knows that
a form post and an API call both create a link. Limits are per client address as the trusted
proxy reported it (request.remote_addr after ProxyFix), counted in Redis when REDIS_URL is set,
so every instance shares one count. A limiter that cannot reach Redis counts in memory for a
while instead: rate limiting must never fail a request.
"""

from __future__ import annotations

import time
from typing import TypeVar

from flask import Flask
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address

from app.config import Settings
from app.errors import ErrorResponse, error_response

CREATE_ENDPOINTS = ("api.create_link", "web.create")
DELETE_ENDPOINTS = ("api.delete_link", "web.delete")
# Redis for limits must answer as fast as the cache does; slower is worse than counting in memory.
REDIS_TIMEOUT_SECONDS = 0.25

Hook = TypeVar("Hook")


def register_rate_limits(app: Flask, settings: Settings) -> None:
    """Bind Flask-Limiter to `app` (after its blueprints) and limit the write endpoints."""
    if not settings.RATELIMIT_ENABLED:
        # Off (load tests): not bound at all. A disabled limiter's decorator still looks up
        # and filters the view's limits on every write before finding them off.
        return
    app.config.update(
        RATELIMIT_STORAGE_URI=_storage_uri(settings),
        RATELIMIT_STORAGE_OPTIONS=_storage_options(settings),
        RATELIMIT_SWALLOW_ERRORS=True,
        RATELIMIT_IN_MEMORY_FALLBACK_ENABLED=True,
        RATELIMIT_KEY_PREFIX="flask-multitier",
    )
    limiter = Limiter(key_func=get_remote_address, app=app)
    app.extensions["rate_limiter"] = limiter
    _only_in_limited_views(app, limiter)
    # Shared scopes: a form post and an API call draw on the same allowance.
    for scope, limit, endpoints in (
        ("create", settings.RATELIMIT_CREATE, CREATE_ENDPOINTS),
        ("delete", settings.RATELIMIT_DELETE, DELETE_ENDPOINTS),
    ):
        decorate = limiter.shared_limit(limit, scope=scope)
        for endpoint in endpoints:
            limited = decorate(app.view_functions[endpoint])
            app.view_functions[endpoint] = limited  # type: ignore[assignment]  # no async views

    @app.errorhandler(RateLimitExceeded)
    def rate_limited(exc: RateLimitExceeded) -> ErrorResponse:
        current = limiter.current_limit
        wait = max(1, int(current.reset_at - time.time())) if current else 1
        return error_response(
            429,
            "rate_limited",
            f"Too many requests from your address ({exc.description}); retry in {wait} s.",
            headers={"Retry-After": str(wait)},
        )


def _only_in_limited_views(app: Flask, limiter: Limiter) -> None:
    """Drop the app-wide request hooks Flask-Limiter installs: they would run on every request.

    They serve default and application-wide limits and X-RateLimit headers, none of which this
    app uses: its limits are decorator limits, which Flask-Limiter checks inside the decorated
    view. Measured in-process on a cached redirect, the hooks cost about 30 % of the app's
    time for a request they can never limit. (The per-request state they would reset lives on
    the request context, which ends with the request anyway.)
    """

    _drop_limiters(app.before_request_funcs, limiter)
    _drop_limiters(app.after_request_funcs, limiter)
    _drop_limiters(app.teardown_request_funcs, limiter)


def _drop_limiters(hooks: dict[str | None, list[Hook]], limiter: Limiter) -> None:
    """Remove the app-wide hooks that belong to `limiter` from one of Flask's hook tables."""

    def is_limiters(hook: object) -> bool:
        owner = getattr(hook, "__self__", None)  # a bound method of the limiter
        args: tuple[object, ...] = getattr(hook, "args", ())  # functools.partial(..., limiter)
        return owner is limiter or (bool(args) and args[0] is limiter)

    hooks[None] = [hook for hook in hooks.get(None, []) if not is_limiters(hook)]


def _storage_uri(settings: Settings) -> str:
    if settings.RATELIMIT_STORAGE_URI:
        return settings.RATELIMIT_STORAGE_URI
    if settings.REDIS_URL:
        # limits names Redis over a unix socket redis+unix://
        return settings.REDIS_URL.replace("unix://", "redis+unix://", 1)
    return "memory://"  # one process only (run.py), like the in-process cache


def _storage_options(settings: Settings) -> dict[str, object]:
    uri = _storage_uri(settings)
    if not uri.startswith(("redis", "rediss")):
        return {}
    options: dict[str, object] = {
        "socket_timeout": REDIS_TIMEOUT_SECONDS,
        "socket_connect_timeout": REDIS_TIMEOUT_SECONDS,
    }
    if uri.startswith("rediss://") and not settings.REDIS_TLS_VERIFY:
        options["ssl_cert_reqs"] = "none"  # Heroku Redis: self-signed certificate
    return options
