"""The app on its embedded defaults (SQLite file, in-process cache): no service at all."""

from __future__ import annotations

from pathlib import Path

from app import create_app
from app.config import Settings, load_settings
from app.migrate import upgrade


def test_sqlite_and_in_process_cache_do_the_whole_job(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'app.sqlite3'}"
    upgrade(url)
    upgrade(url)  # a second run finds nothing to do
    app = create_app(load_settings(Settings, APP_ENV="testing", DATABASE_URL=url, REDIS_URL=None))
    client = app.test_client()
    created = client.post("/api/links", json={"url": "https://example.com/", "code": "lite"})
    assert created.status_code == 201
    assert client.get("/lite").headers["Location"] == "https://example.com/"
    assert client.get("/readyz").get_json()["checks"]["cache"]["backend"] == "in-process"
    app.extensions["links"].clicks.close()
    assert client.get("/api/links/lite").get_json()["clicks"] == 1
