"""The HTML side: the form (with CSRF), the pages, and errors as pages for browsers."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.support.auth import ADMIN
from tests.support.flask_client import create_link, csrf_token


def test_home_page_has_the_form_and_no_one_elses_links(client: FlaskClient) -> None:
    create_link(client, url="https://example.com/someone-elses", code="others")
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'name="url"' in html
    assert "someone-elses" not in html and "others" not in html
    assert "/static/style.css" in html
    assert "served by test-a" in html


def test_form_post_creates_a_link_and_shows_its_page(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        "/", data={"url": "https://example.com/form", "code": "viaform", "csrf_token": token}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/links/viaform"
    page = client.get("/links/viaform").get_data(as_text=True)
    assert "https://example.com/form" in page
    assert "Short link created." in page
    assert client.get("/viaform").headers["Location"] == "https://example.com/form"


def test_form_post_without_csrf_token_is_refused(client: FlaskClient) -> None:
    response = client.post("/", data={"url": "https://example.com/form"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert len(client.get("/api/links", headers=ADMIN).get_json()["items"]) == 0


def test_form_post_with_a_forged_token_is_refused(client: FlaskClient) -> None:
    client.get("/")
    response = client.post("/", data={"url": "https://example.com/", "csrf_token": "forged"})
    assert response.status_code == 400
    assert len(client.get("/api/links", headers=ADMIN).get_json()["items"]) == 0


def test_form_errors_are_shown_next_to_the_field(client: FlaskClient) -> None:
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post("/", data={"url": "javascript:alert(1)", "csrf_token": token})
    assert response.status_code == 400
    assert "must be an http:// or https:// URL" in response.get_data(as_text=True)
    response = client.post(
        "/", data={"url": "https://example.com/", "code": "api", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "reserved" in response.get_data(as_text=True)


def test_form_with_a_taken_code_is_409_and_keeps_the_original(client: FlaskClient) -> None:
    create_link(client, url="https://example.com/first", code="taken")
    token = csrf_token(client.get("/").get_data(as_text=True))
    response = client.post(
        "/", data={"url": "https://example.com/second", "code": "taken", "csrf_token": token}
    )
    assert response.status_code == 409
    assert "is taken" in response.get_data(as_text=True)
    assert client.get("/api/links/taken").get_json()["url"] == "https://example.com/first"


def test_unknown_stats_page_is_an_html_404(client: FlaskClient) -> None:
    response = client.get("/links/nothing", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert '<h1>Nothing here <span class="status">(404)</span></h1>' in page


def test_the_stylesheet_is_served(client: FlaskClient) -> None:
    response = client.get("/static/style.css")
    response.close()  # the body is an open file
    assert response.status_code == 200
    assert response.mimetype == "text/css"
