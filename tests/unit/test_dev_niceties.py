"""What a person meets first on the embedded defaults: readable logs, times with their zone, the
home table, a favicon, error pages with a heading. No service needed (SQLite file)."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from app import create_app
from app.config import Settings, load_settings
from app.logs import configure_logging
from app.migrate import upgrade
from tests.support.flask_client import csrf_token


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    upgrade(url)
    app = create_app(load_settings(Settings, APP_ENV="testing", DATABASE_URL=url, REDIS_URL=None))
    yield app
    app.extensions["links"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_sqlite_keeps_the_utc_offset(client: FlaskClient) -> None:
    client.post("/api/links", json={"url": "https://example.com/", "code": "zone"})
    created_at = client.get("/api/links/zone").get_json()["created_at"]
    assert created_at.endswith("+00:00"), created_at  # an OpenAPI date-time needs the offset
    assert datetime.fromisoformat(created_at).utcoffset() is not None


def _create_in_browser(client: FlaskClient, code: str) -> None:
    page = client.get("/").get_data(as_text=True)
    response = client.post(
        "/", data={"url": "https://example.com/page", "code": code, "csrf_token": csrf_token(page)}
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)


def test_home_table_shows_short_url_clicks_and_zone(client: FlaskClient) -> None:
    _create_in_browser(client, "mine")
    client.get("/mine")
    page = client.get("/").get_data(as_text=True)
    assert "<th>Short URL</th>" in page and "<th>Clicks</th>" in page
    assert ">http://localhost/mine</a>" in page
    assert re.search(r"<td>\d{4}-\d\d-\d\d \d\d:\d\d UTC</td>", page), page


def test_stats_page_shows_the_zone(client: FlaskClient) -> None:
    client.post("/api/links", json={"url": "https://example.com/", "code": "stat"})
    page = client.get("/links/stat").get_data(as_text=True)
    assert re.search(r"\d\d:\d\d:\d\d UTC</dd>", page), page


def test_favicon_is_an_icon_not_a_link_lookup(client: FlaskClient) -> None:
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize(
    ("path", "heading"), [("/no-such-link", "Nothing here"), ("/links/x!", "Nothing here")]
)
def test_error_pages_have_a_human_heading(client: FlaskClient, path: str, heading: str) -> None:
    page = client.get(path, headers={"Accept": "text/html"}).get_data(as_text=True)
    assert f"<h1>{heading} <span" in page
    assert "(404)" in page


def test_error_heading_for_a_code_without_its_own_words(client: FlaskClient) -> None:
    from app.errors import heading

    assert heading(418) == "I'm a teapot"  # the standard reason phrase


def _log_line(plain: bool, capsys: pytest.CaptureFixture[str], app: Flask) -> str:
    configure_logging("INFO", "app-9", plain=plain)
    with app.test_request_context("/"):
        from flask import g

        g.request_id = "req-42"
        logging.getLogger("app.web").info("made a link")
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_development_logs_are_plain_lines_with_the_request_id(
    app: Flask, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _log_line(True, capsys, app)
    assert re.fullmatch(r"\S+ \S+ INFO  app-9 req-42 app.web: made a link", line), line
    assert "\x1b" not in line


def test_production_logs_stay_json(app: Flask, capsys: pytest.CaptureFixture[str]) -> None:
    record = json.loads(_log_line(False, capsys, app))
    assert record["request_id"] == "req-42"
    assert record["instance"] == "app-9"
    assert record["message"] == "made a link"
