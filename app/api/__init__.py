"""The JSON API under /api (documented in openapi.py; a test keeps the two in step)."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response, jsonify, request, url_for
from pydantic import ValidationError

from app import services
from app.api.openapi import spec
from app.credentials import is_admin, require_admin, require_bearer
from app.errors import ApiError
from app.hosts import is_own_host, short_url
from app.links import CodeTaken, LinkNotFound, NotOwner
from app.models import Link
from app.validation import NewLink, Page, encode_cursor

bp = Blueprint("api", __name__, url_prefix="/api")


def link_json(link: Link) -> dict[str, Any]:
    return {**link.to_dict(), "short_url": short_url(link.code)}


def validation_details(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {
            "field": ".".join(str(p) for p in err["loc"]) or "body",
            "message": err["msg"].removeprefix("Value error, "),
        }
        for err in exc.errors()
    ]


def json_body() -> Any:
    if request.mimetype != "application/json":
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    try:
        return json.loads(request.get_data(cache=False))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    except RecursionError:  # [[[[... nested deeper than the parser's stack allows
        raise ApiError(400, "invalid_json", "The body is nested too deeply.") from None


@bp.post("/links")
def create_link() -> tuple[Response, int, dict[str, str]]:
    body = json_body()
    if not isinstance(body, dict):
        raise ApiError(422, "validation_failed", "The body must be a JSON object.")
    try:
        new = NewLink.model_validate(body, context={"is_own_host": is_own_host})
    except ValidationError as exc:
        raise ApiError(
            422, "validation_failed", "The link is not valid.", validation_details(exc)
        ) from None
    try:
        created = services.links().create(new.url, new.code)
    except CodeTaken:
        raise ApiError(
            409, "code_taken", f"The code '{new.code}' is taken (codes are never reused)."
        ) from None
    body = {**link_json(created.link), "manage_token": created.manage_token}
    return jsonify(body), 201, {"Location": url_for("api.get_link", code=created.link.code)}


@bp.get("/links")
def list_links() -> Response:
    require_admin()  # every link anyone made: the codes are the capabilities of their owners
    try:
        page = Page.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(
            400, "invalid_query", "Bad pagination parameters.", validation_details(exc)
        ) from None
    result = services.links().recent(page.per_page, after=page.after, skip=page.skip)
    # Newest first: links created while a client pages never shift the pages it has not seen.
    return jsonify(
        items=[link_json(link) for link in result.items],
        per_page=page.per_page,
        next=url_for("api.list_links", per_page=page.per_page, cursor=encode_cursor(*result.after))
        if result.after
        else None,
    )


@bp.get("/links/<code>")
def get_link(code: str) -> Response:
    link = services.links().get(code)
    if link is None:
        raise ApiError(404, "not_found", f"No link with code '{code}'.")
    return jsonify(link_json(link))


@bp.delete("/links/<code>")
def delete_link(code: str) -> tuple[str, int]:
    token = require_bearer()
    try:
        services.links().delete(code, token, admin=is_admin(token))
    except LinkNotFound:
        raise ApiError(404, "not_found", f"No link with code '{code}'.") from None
    except NotOwner:
        raise ApiError(
            403, "forbidden", "This token is neither the link's manage_token nor the admin's."
        ) from None
    return "", 204


@bp.get("/openapi.json")
def openapi() -> Response:
    return jsonify(spec())
