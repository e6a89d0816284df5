"""The JSON API's happy paths against real PostgreSQL and Redis."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.auth import bearer
from tests.support.flask_client import create_link


def test_create_returns_the_link_with_location(client: FlaskClient) -> None:
    response = client.post("/api/links", json={"url": "https://example.com/a", "code": "abc"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["code"] == "abc"
    assert body["url"] == "https://example.com/a"
    assert body["clicks"] == 0
    assert body["short_url"] == "http://localhost/abc"
    assert len(body["manage_token"]) >= 43  # 32 random bytes, URL-safe base64
    assert response.headers["Location"] == "/api/links/abc"
    assert "manage_token" not in client.get("/api/links/abc").get_json()


def test_generated_codes_are_unique_and_valid(client: FlaskClient) -> None:
    codes = {create_link(client)["code"] for _ in range(20)}
    assert len(codes) == 20
    assert all(len(code) == 7 and code.isalnum() for code in codes)


def test_get_then_delete_with_the_manage_token(client: FlaskClient) -> None:
    owner = bearer(create_link(client, code="gone")["manage_token"])
    assert client.get("/api/links/gone").get_json()["code"] == "gone"
    response = client.delete("/api/links/gone", headers=owner)
    assert response.status_code == 204
    assert response.data == b""
    assert client.get("/api/links/gone").status_code == 404
    assert client.delete("/api/links/gone", headers=owner).status_code == 404


def test_redirect_goes_to_the_target(client: FlaskClient) -> None:
    create_link(client, url="https://example.com/landing?q=1", code="goto")
    response = client.get("/goto")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://example.com/landing?q=1"


def test_redirect_to_an_international_url_is_encoded(client: FlaskClient) -> None:
    create_link(client, url="https://exämple.com/päth", code="intl")
    response = client.get("/intl")
    assert response.status_code == 302
    assert response.headers["Location"] == "https://xn--exmple-cua.com/p%C3%A4th"


def test_clicks_show_in_the_api(client: FlaskClient) -> None:
    create_link(client, code="count")
    for _ in range(3):
        client.get("/count")
    assert client.get("/api/links/count").get_json()["clicks"] == 3


def test_every_response_names_its_instance_and_request(client: FlaskClient) -> None:
    for path in ("/healthz", "/api/links", "/nope-nope", "/static/style.css"):
        response = client.get(path)
        response.close()  # a static file's body is an open file
        assert response.headers["X-Served-By"] == "test-a"
        assert len(response.headers["X-Request-ID"]) >= 16


def test_an_incoming_request_id_is_kept_and_a_hostile_one_replaced(client: FlaskClient) -> None:
    kept = client.get("/healthz", headers={"X-Request-ID": "abc-123.x"})
    assert kept.headers["X-Request-ID"] == "abc-123.x"
    for hostile in ('<script>"x"</script>', "a" * 129, "id with spaces"):
        replaced = client.get("/healthz", headers={"X-Request-ID": hostile})
        assert replaced.headers["X-Request-ID"] != hostile
        assert replaced.headers["X-Request-ID"].isalnum()


def test_health_readiness_and_metrics(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["checks"] == {
        "database": {"status": "ok"},
        "cache": {"status": "ok", "backend": "redis"},
    }
    create_link(client, code="metric")
    client.get("/metric")
    client.get("/metric")
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{endpoint="/<code>",method="GET",status="302"}' in metrics
    assert 'link_cache_lookups_total{level="local",result="hit"}' in metrics
    assert "db_pool_connections_in_use" in metrics
