"""The credentials a request carries: a bearer token, and whether it is the admin's."""

from __future__ import annotations

from flask import current_app, request

from app import ownership
from app.errors import ApiError

# RFC 6750: a 401 names the scheme the client should use.
BEARER_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="flask-multitier"'}


def bearer_token() -> str | None:
    """The token of `Authorization: Bearer <token>`; None when there is no such header."""
    auth = request.authorization
    if auth is None or auth.type != "bearer" or not auth.token:
        return None
    return auth.token


def is_admin(token: str | None) -> bool:
    """True for the admin token (ADMIN_TOKEN); never when no admin token is configured."""
    return ownership.matches(token, current_app.config["ADMIN_TOKEN_DIGEST"])


def require_bearer() -> str:
    token = bearer_token()
    if token is None:
        raise ApiError(
            401,
            "unauthorized",
            "Send Authorization: Bearer <token> (the link's manage_token or the admin token).",
            headers=BEARER_CHALLENGE,
        )
    return token


def require_admin() -> None:
    if not is_admin(require_bearer()):
        raise ApiError(403, "forbidden", "Only the admin token may do this.")
