"""The service's own address: the base of every short URL."""

from __future__ import annotations

from flask import url_for


def short_url(code: str) -> str:
    return url_for("web.follow", code=code, _external=True)
