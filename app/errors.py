"""Errors answer in the client's language: JSON for the API, HTML pages for browsers."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from app.cache import CacheUnavailable

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 5
CACHE_RETRY_AFTER_SECONDS = 2  # a Redis restart or failover is usually over by then


class ApiError(Exception):
    """An error the API reports as-is: status, machine-readable code, human message."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


# What a person reads at the top of an error page; other codes get the standard reason phrase.
HEADINGS = {
    400: "That request could not be understood",
    403: "That is not yours to change",
    404: "Nothing here",
    405: "That cannot be done here",
    409: "That code is taken",
    413: "That is too large",
    422: "That could not be accepted",
    429: "Too many requests: slow down a little",
    500: "Something went wrong on our side",
    503: "Temporarily unavailable",
}


def heading(status: int) -> str:
    return HEADINGS.get(status) or HTTP_STATUS_CODES.get(status, "Error")


def wants_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


# What every error handler returns: a JSON or HTML body, the status, extra headers.
ErrorResponse = tuple[Response | str, int, dict[str, str]]


def error_response(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> ErrorResponse:
    if wants_json():
        body: dict[str, Any] = {"code": code, "message": message}
        if details is not None:
            body["details"] = details
        return jsonify(error=body), status, headers or {}
    page = render_template("error.html", status=status, heading=heading(status), message=message)
    return page, status, headers or {}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> ErrorResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ErrorResponse:
        code = (exc.name or "error").lower().replace(" ", "_")
        response = error_response(exc.code or 500, code, exc.description or "")
        headers = dict(exc.get_headers())  # e.g. Allow on 405
        headers.pop("Content-Type", None)
        response[2].update(headers)
        return response

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeoutError)
    def database_unavailable(exc: Exception) -> ErrorResponse:
        log.error("database unavailable: %s", str(exc).splitlines()[0])
        return error_response(
            503,
            "database_unavailable",
            "The database is unavailable; try again shortly.",
            headers={"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)},
        )

    @app.errorhandler(CacheUnavailable)
    def cache_unavailable(exc: CacheUnavailable) -> ErrorResponse:
        return error_response(
            503,
            "cache_unavailable",
            "Nothing was changed: the cache that every instance reads could not confirm the "
            "change. Try again shortly.",
            headers={"Retry-After": str(CACHE_RETRY_AFTER_SECONDS)},
        )

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError) -> ErrorResponse:
        if exc.connection_invalidated:
            return database_unavailable(exc)
        return unexpected(exc)

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> ErrorResponse:
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
