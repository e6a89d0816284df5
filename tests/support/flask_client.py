"""Calls through Flask's test client that many app tests make the same way."""

from __future__ import annotations

import re

from flask.testing import FlaskClient


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def create_link(client: FlaskClient, url: str = "https://example.com/", **extra: object) -> dict:
    """POST /api/links; the created link as JSON, manage_token included."""
    response = client.post("/api/links", json={"url": url, **extra})
    assert response.status_code == 201, response.get_json()
    return response.get_json()
