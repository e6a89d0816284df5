"""Bad input of every kind gets a clear error and loses nothing."""

from __future__ import annotations

import threading

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.support.auth import ADMIN
from tests.support.flask_client import create_link


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    assert response.is_json, response.data[:200]
    return response.get_json()["error"]


@pytest.fixture(autouse=True)
def nothing_is_lost(client: FlaskClient):  # type: ignore[no-untyped-def]
    """Every bad request below runs next to an existing link, which must survive untouched."""
    create_link(client, url="https://example.com/keep", code="keep")
    yield
    kept = client.get("/api/links/keep").get_json()
    assert kept["url"] == "https://example.com/keep"


def test_invalid_json_is_400(client: FlaskClient) -> None:
    response = client.post("/api/links", data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000,
        '{"url": ' + "[" * 5_000 + "]" * 5_000 + "}",
        '{"a":' * 50_000 + "1" + "}" * 50_000,
    ],
    ids=["open-brackets", "deep-value", "deep-objects"],
)
def test_deeply_nested_json_is_400_json_not_500(client: FlaskClient, body: str) -> None:
    response = client.post("/api/links", data=body, content_type="application/json")
    assert response.status_code in {400, 422}, response.data[:200]
    assert error_of(response)["code"] in {"invalid_json", "validation_failed"}


def test_method_names_cannot_grow_the_metrics(client: FlaskClient) -> None:
    for method in ("ZZQA", "PROPFIND", "X" * 50, "BREW"):
        response = client.open("/", method=method)
        assert response.status_code == 405
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'method="OTHER"' in metrics
    for method in ("ZZQA", "PROPFIND", "BREW"):
        assert f'method="{method}"' not in metrics


def test_non_utf8_body_is_400(client: FlaskClient) -> None:
    response = client.post("/api/links", data=b'{"url": "\xff"}', content_type="application/json")
    assert response.status_code == 400


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_wrong_content_type_is_415(client: FlaskClient, content_type: str | None) -> None:
    response = client.post(
        "/api/links", data='{"url": "https://example.com/"}', content_type=content_type
    )
    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "url"),
        ({"url": "https://example.com/", "extra": 1}, "extra"),
        ({"url": None}, "url"),
        ({"url": 42}, "url"),
        ({"url": "https://example.com/", "code": 7}, "code"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "data:text/html,<script>alert(1)</script>"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "ftp://example.com/"}, "url"),
        ({"url": "https://"}, "url"),
        ({"url": "https://exa mple.com/"}, "url"),
        ({"url": "https://example.com/\r\nSet-Cookie: a=b"}, "url"),
        ({"url": "https://example.com/" + "a" * 2030}, "url"),
    ],
)
def test_invalid_links_are_422_naming_the_field(
    client: FlaskClient, body: dict, field: str
) -> None:
    response = client.post("/api/links", json=body)
    assert response.status_code == 422
    error = error_of(response)
    assert error["code"] == "validation_failed"
    assert field in {detail["field"] for detail in error["details"]}


def test_a_json_array_body_is_422(client: FlaskClient) -> None:
    response = client.post("/api/links", json=["https://example.com/"])
    assert response.status_code == 422


def test_url_of_exactly_2048_characters_is_accepted(client: FlaskClient) -> None:
    url = "https://example.com/" + "a" * (2048 - len("https://example.com/"))
    assert client.post("/api/links", json={"url": url}).status_code == 201


@pytest.mark.parametrize(
    "code", ["ab", "a" * 33, "has space", "dot.ted", "slash/es", "ünï", "", "a%2fb"]
)
def test_malformed_codes_are_422(client: FlaskClient, code: str) -> None:
    response = client.post("/api/links", json={"url": "https://example.com/", "code": code})
    assert response.status_code == 422


@pytest.mark.parametrize("code", ["api", "static", "healthz", "readyz", "metrics", "API", "Links"])
def test_reserved_codes_are_422(client: FlaskClient, code: str) -> None:
    response = client.post("/api/links", json={"url": "https://example.com/", "code": code})
    assert response.status_code == 422
    assert "reserved" in error_of(response)["details"][0]["message"]


def test_duplicate_code_is_409(client: FlaskClient) -> None:
    response = client.post("/api/links", json={"url": "https://example.com/other", "code": "keep"})
    assert response.status_code == 409
    assert error_of(response)["code"] == "code_taken"


def test_two_requests_racing_for_one_code_give_one_201(app: Flask) -> None:
    statuses: list[int] = []
    start = threading.Barrier(8)

    def claim(index: int) -> None:
        client = app.test_client()
        start.wait()
        response = client.post(
            "/api/links", json={"url": f"https://example.com/{index}", "code": "race"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [201] + [409] * 7


def test_body_over_one_mebibyte_is_413_json(client: FlaskClient) -> None:
    body = '{"url": "https://example.com/", "pad": "' + "x" * (1024 * 1024) + '"}'
    response = client.post("/api/links", data=body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "request_entity_too_large"


def test_unknown_code_is_404_json_in_the_api_and_html_for_browsers(client: FlaskClient) -> None:
    api = client.get("/api/links/missing")
    assert api.status_code == 404
    assert error_of(api)["code"] == "not_found"
    page = client.get("/missing", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert b"No such link" in page.data


def test_unknown_redirect_as_json_for_api_clients(client: FlaskClient) -> None:
    response = client.get("/missing", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=-1",
        "page=abc",
        "page=11",  # the alias covers the first pages only; deeper ones follow `next`
        "per_page=0",
        "per_page=101",
        "per_page=1.5",
        "sort=url",
        "cursor=",
        "cursor=not-a-cursor",
        "cursor=" + "A" * 201,
        "cursor=MjAyNi0xMS0yNlQxMDowMDowMCswMDowMH5hYmM",  # a date, then a non-numeric id
        "cursor=MjAyNi0xMS0yNlQxMDowMDowMCswMDowMH4x&page=1",  # a valid cursor and a page
    ],
)
def test_bad_pagination_is_400(client: FlaskClient, query: str) -> None:
    response = client.get(f"/api/links?{query}", headers=ADMIN)
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_query"


def test_wrong_method_is_405_json_with_allow(client: FlaskClient) -> None:
    response = client.put("/api/links/keep", json={})
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]
    assert error_of(response)["code"] == "method_not_allowed"
