"""Security headers come from the app itself (every topology has them, nginx or not)."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

from tests.support.flask_client import csrf_token


@pytest.mark.parametrize(
    "path", ["/", "/api/links/none", "/healthz", "/missing-page", "/static/style.css"]
)
def test_every_response_carries_the_security_headers(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    response.close()  # a static file's body is an open file
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp and "script-src" not in csp  # no inline script allowed
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_pages_have_no_inline_script_or_style(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    client.post("/", data={"url": "https://example.com/", "code": "csp", "csrf_token": token})
    for path in ("/", "/links/csp", "/links/none"):
        html = client.get(path).get_data(as_text=True).lower()
        assert "<script" not in html and "<style" not in html and " style=" not in html, path
        assert not re.search(r"\son[a-z]+=", html), path  # no inline event handlers


def test_the_session_cookie_is_secure_over_https_only(client: FlaskClient) -> None:
    plain = client.get("/")
    assert "session=" in plain.headers["Set-Cookie"]
    assert "Secure" not in plain.headers["Set-Cookie"]
    assert "HttpOnly" in plain.headers["Set-Cookie"]
    # Behind a TLS-terminating proxy: nginx (or Heroku's router) says so in X-Forwarded-Proto.
    https = client.application.test_client().get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in https.headers["Set-Cookie"]
    assert "SameSite=Lax" in https.headers["Set-Cookie"]
