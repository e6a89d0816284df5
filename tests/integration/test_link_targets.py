"""Every URL the API accepts can be followed; links to the service itself are refused."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings

from tests.support import pg
from tests.support.flask_client import create_link, csrf_token
from tests.support.hostile_urls import is_valid_location, link_targets


def refusal(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    details = response.get_json()["error"]["details"]
    assert [detail["field"] for detail in details] == ["url"]
    return details[0]["message"]


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com:abc/", "port"),
        ("http://a..b/", "invalid host name"),
        ("http://.../", "invalid host name"),
        ("http://" + "a" * 64 + ".com/", "invalid host name"),
        ("http://ex\u2028ample.com/", "U+2028"),
        ("http://ex\u00a0ample.com/", "U+00A0"),
        ("https://example.com/" + "ä" * 339, "at most 2048 characters once encoded"),
    ],
)
def test_urls_that_used_to_fail_when_followed_are_refused(
    client: FlaskClient, url: str, reason: str
) -> None:
    assert reason in refusal(client.post("/api/links", json={"url": url}))


def test_a_long_international_url_is_stored_encoded_up_to_the_limit(client: FlaskClient) -> None:
    url = "https://example.com/" + "ä" * 338  # 20 + 338 x 6 = 2048 once encoded
    link = create_link(client, url=url)
    assert len(link["url"]) == 2048
    follow = client.get(f"/{link['code']}")
    assert follow.status_code == 302
    assert follow.headers["Location"] == link["url"]


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=link_targets())
def test_any_target_is_refused_or_redirects_with_a_valid_location(
    make_app: Callable[..., Flask], raw: str
) -> None:
    client = shared_client(make_app)
    created = client.post("/api/links", json={"url": raw})
    assert created.status_code in {201, 422}, (raw, created.get_data(as_text=True)[:300])
    if created.status_code == 422:
        return
    link = created.get_json()
    assert is_valid_location(link["url"]), link
    follow = client.get(f"/{link['code']}")
    assert follow.status_code == 302, raw
    assert follow.headers["Location"] == link["url"]


_clients: dict[int, FlaskClient] = {}


def shared_client(make_app: Callable[..., Flask]) -> FlaskClient:
    """One app for all of hypothesis's examples in a test (function fixtures run once)."""
    key = id(make_app)
    if key not in _clients:
        _clients.clear()
        _clients[key] = make_app().test_client()
    return _clients[key]


def test_links_to_the_request_host_are_refused(client: FlaskClient) -> None:
    for url in ("http://localhost/x", "https://LOCALHOST:8443/", "http://localhost./"):
        assert "must not point at this service itself" in refusal(
            client.post("/api/links", json={"url": url})
        )


def test_links_to_the_configured_hosts_are_refused(make_app: Callable[..., Flask]) -> None:
    client = make_app(
        ALLOWED_HOSTS="localhost,links.example,.links.example",
        PUBLIC_BASE_URL="https://short.example",
    ).test_client()
    for url in (
        "https://links.example/a",
        "https://www.links.example/a",
        "https://short.example/abc",
        "https://SHORT.example.:443/abc",
    ):
        assert "must not point at this service itself" in refusal(
            client.post("/api/links", json={"url": url})
        ), url
    assert client.post("/api/links", json={"url": "https://notlinks.example/"}).status_code == 201
    # The form keeps the same rule.
    token = csrf_token(client.get("/").get_data(as_text=True))
    form = client.post("/", data={"url": "https://links.example/", "csrf_token": token})
    assert form.status_code == 400
    assert "must not point at this service itself" in form.get_data(as_text=True)


def test_the_form_stores_the_canonical_form_too(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        "/", data={"url": "https://EXÄMPLE.com/päth", "code": "canon", "csrf_token": token}
    )
    assert response.status_code == 303
    assert client.get("/canon").headers["Location"] == "https://xn--exmple-cua.com/p%C3%A4th"


def test_links_stored_before_normalisation_still_redirect_with_ascii(
    client: FlaskClient, database_url: str
) -> None:
    with pg.connect(database_url) as connection:
        for code, url in (("oldintl", "https://exämple.com/päth"), ("oldodd", "http://é x:ab/ü")):
            connection.execute(
                "INSERT INTO links (code, url, clicks, created_at) VALUES (%s, %s, 0, now())",
                (code, url),
            )
    assert client.get("/oldintl").headers["Location"] == "https://xn--exmple-cua.com/p%C3%A4th"
    odd = client.get("/oldodd")
    assert odd.status_code == 302
    assert odd.headers["Location"].isascii()
