"""Host trust: the app answers only its own names, and builds short URLs on its public address."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.flask_client import create_link


@pytest.fixture
def trusting(make_app: Callable[..., Flask]) -> FlaskClient:
    return make_app(ALLOWED_HOSTS="links.example,.links.example").test_client()


@pytest.mark.parametrize("host", ["links.example", "LINKS.example:8080", "www.links.example"])
def test_allowed_hosts_are_answered(trusting: FlaskClient, host: str) -> None:
    assert trusting.get("/", headers={"Host": host}).status_code == 200
    created = trusting.post(
        "/api/links", json={"url": "https://example.com/"}, headers={"Host": host}
    )
    assert created.status_code == 201
    assert created.get_json()["short_url"].startswith(f"http://{host.lower()}/")


@pytest.mark.parametrize(
    "headers",
    [
        {"Host": "evil.example"},
        {"Host": "links.example.evil.example"},
        {"Host": "links.example", "X-Forwarded-Host": "evil.example"},
        {"Host": "xlinks.example"},
        {"Host": "bad host"},
    ],
)
def test_other_hosts_get_400_and_no_link_is_made(trusting: FlaskClient, headers: dict) -> None:
    api = trusting.post("/api/links", json={"url": "https://example.com/"}, headers=headers)
    assert api.status_code == 400
    assert api.get_json()["error"]["code"] == "bad_request"
    page = trusting.get("/", headers={**headers, "Accept": "text/html"})
    assert page.status_code == 400
    assert page.mimetype == "text/html"
    listing = trusting.get("/api/links/anything", headers=headers)
    assert listing.status_code == 400


def test_health_readiness_and_metrics_answer_any_host(trusting: FlaskClient) -> None:
    # Probes and Prometheus address an instance by its IP or an internal name.
    for path in ("/healthz", "/readyz", "/metrics"):
        assert trusting.get(path, headers={"Host": "10.0.3.7:8000"}).status_code == 200, path


def test_short_urls_are_built_on_public_base_url_whatever_the_host(
    make_app: Callable[..., Flask],
) -> None:
    client = make_app(
        PUBLIC_BASE_URL="https://short.example", ALLOWED_HOSTS="localhost"
    ).test_client()
    link = create_link(client, code="pub")
    assert link["short_url"] == "https://short.example/pub"
    page = client.get("/links/pub").get_data(as_text=True)
    assert 'href="https://short.example/pub"' in page
    # Its own host is trusted without being listed; a forged forwarded host is not.
    own = client.get("/api/links/pub", headers={"X-Forwarded-Host": "short.example"})
    assert own.get_json()["short_url"] == "https://short.example/pub"
    forged = client.get("/api/links/pub", headers={"X-Forwarded-Host": "evil.example"})
    assert forged.status_code == 400
