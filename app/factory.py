"""The app factory, read top to bottom as the steps that build the app."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import event
from werkzeug.middleware.proxy_fix import ProxyFix

from app import metrics, ownership
from app.cache import make_cache
from app.config import DEV_SECRET_KEY, MAX_BODY_BYTES, AppEnv, Settings, load_settings
from app.db import Database
from app.errors import register_error_handlers
from app.fast_redirect import CachedRedirects
from app.hosts import HostNames, register_host_check, short_url
from app.links import PREPARED_READS, LinkService
from app.logs import configure_logging
from app.observability import register_request_hooks
from app.rate_limits import register_rate_limits
from app.security_headers import register_security_headers
from app.sessions import CookieOnlyWhenPresentSessionInterface

csrf = CSRFProtect()


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    app = Flask(__name__)
    app.session_interface = CookieOnlyWhenPresentSessionInterface()
    configure_app(app, settings)
    configure_logging(
        settings.LOG_LEVEL, settings.APP_INSTANCE, plain=settings.APP_ENV is AppEnv.DEVELOPMENT
    )
    # First of the request hooks: a request for a foreign host is refused before any work.
    register_host_check(app, HostNames(settings.trusted_hosts) or None)
    register_extensions(app, settings)
    register_request_hooks(app, settings.APP_INSTANCE)
    register_security_headers(app)
    register_blueprints(app, settings)
    register_rate_limits(app, settings)  # wraps view functions: after the blueprints
    register_error_handlers(app)
    wrap_wsgi(app, settings)
    return app


def configure_app(app: Flask, settings: Settings) -> None:
    app.config.update(
        SECRET_KEY=settings.SECRET_KEY or DEV_SECRET_KEY,
        MAX_CONTENT_LENGTH=MAX_BODY_BYTES,
        APP_INSTANCE=settings.APP_INSTANCE,
        TESTING=settings.APP_ENV is AppEnv.TESTING,
        SESSION_COOKIE_SAMESITE="Lax",
        # Only the digest is kept: the token itself never sits in the app's config.
        ADMIN_TOKEN_DIGEST=ownership.digest(settings.ADMIN_TOKEN) if settings.ADMIN_TOKEN else None,
        PUBLIC_BASE_URL=settings.PUBLIC_BASE_URL,
        # Links may not point here: the configured names (the request's own host is added).
        OWN_HOSTS=HostNames(settings.trusted_hosts),
    )


def wrap_wsgi(app: Flask, settings: Settings) -> None:
    """The WSGI layers in front of Flask, outermost first: ProxyFix, then cached redirects."""
    trusted = HostNames(settings.trusted_hosts) or None
    inner = CachedRedirects(
        app, app.wsgi_app, app.extensions["links"], settings.APP_INSTANCE, trusted
    )
    # One proxy (nginx) sits in front in every deployed topology: trust its X-Forwarded-* once,
    # so short URLs use the public scheme, host and port (X-Forwarded-Host carries the port).
    proxied = ProxyFix(inner, x_for=1, x_proto=1, x_host=1)
    app.wsgi_app = proxied  # type: ignore[method-assign]  # Flask's documented way to add middleware


def register_extensions(app: Flask, settings: Settings) -> None:
    csrf.init_app(app)
    database = Database(settings, prepared=PREPARED_READS)
    for engine in database.engines():
        event.listen(engine, "checkout", lambda *_: metrics.DB_POOL_IN_USE.inc())
        event.listen(engine, "checkin", lambda *_: metrics.DB_POOL_IN_USE.dec())
    cache = make_cache(settings.REDIS_URL, settings.CACHE_TTL_SECONDS, settings.REDIS_TLS_VERIFY)
    app.extensions["links"] = LinkService(database, cache, settings.CLICK_FLUSH_SECONDS)


def register_blueprints(app: Flask, settings: Settings) -> None:
    from app import api, ops, web

    csrf.exempt(api.bp)  # JSON-only API: browsers cannot send it cross-site without CORS
    app.register_blueprint(ops.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(web.bp)  # last: its /<code> route must not shadow the others
    app.add_template_global(short_url)
