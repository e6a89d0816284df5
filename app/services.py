"""Where request handlers find the objects the app factory built (one set per app object)."""

from __future__ import annotations

from flask import current_app

from app.links import LinkService


def links() -> LinkService:
    service: LinkService = current_app.extensions["links"]
    return service
