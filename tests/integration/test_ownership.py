"""Who may delete a link and list links: the takeover of a link is refused at every step."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable

from flask import Flask
from flask.testing import FlaskClient

from tests.support import pg
from tests.support.auth import ADMIN, bearer
from tests.support.flask_client import create_link, csrf_token


def error_code(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_json()["error"]["code"]


def test_the_takeover_sequence_is_refused_at_every_step(client: FlaskClient) -> None:
    victim = create_link(client, url="https://example.com/victim", code="victim")
    attacker = create_link(client, url="https://example.com/attacker")

    no_credentials = client.delete("/api/links/victim")
    assert no_credentials.status_code == 401
    assert error_code(no_credentials) == "unauthorized"
    assert no_credentials.headers["WWW-Authenticate"].startswith("Bearer")

    other_links_token = client.delete("/api/links/victim", headers=bearer(attacker["manage_token"]))
    assert other_links_token.status_code == 403
    assert error_code(other_links_token) == "forbidden"

    retake = client.post("/api/links", json={"url": "https://evil.example/", "code": "victim"})
    assert retake.status_code == 409
    assert client.get("/victim").headers["Location"] == "https://example.com/victim"

    # The owner deletes it: the code is retired, never handed out again.
    assert (
        client.delete("/api/links/victim", headers=bearer(victim["manage_token"])).status_code
        == 204
    )
    again = client.post("/api/links", json={"url": "https://evil.example/", "code": "victim"})
    assert again.status_code == 409
    assert error_code(again) == "code_taken"
    assert client.get("/victim").status_code == 404
    assert client.get("/api/links/victim").status_code == 404


def test_a_bearer_that_is_not_a_token_is_refused(client: FlaskClient) -> None:
    create_link(client, code="guarded")
    for header in ("Basic dXNlcjpwYXNz", "Bearer", "Token abc", "Bearer " + "x" * 5000):
        response = client.delete("/api/links/guarded", headers={"Authorization": header})
        assert response.status_code in {401, 403}, header
    assert client.get("/api/links/guarded").status_code == 200


def test_only_the_digest_of_the_token_is_stored(client: FlaskClient, database_url: str) -> None:
    token = create_link(client, code="digest")["manage_token"]
    with pg.connect(database_url) as connection:
        row = connection.execute("SELECT * FROM links WHERE code = 'digest'").fetchone()
    assert row is not None
    assert token not in {str(value) for value in row}
    assert hashlib.sha256(token.encode()).hexdigest() in row


def test_the_admin_token_deletes_any_link_even_one_made_before_tokens(
    client: FlaskClient, database_url: str
) -> None:
    with pg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO links (code, url, clicks, created_at) "
            "VALUES ('legacy', 'https://example.com/old', 0, now())"
        )
    assert client.get("/legacy").status_code == 302
    owned = create_link(client, code="owned")
    # A legacy link has no token: no manage token of another link opens it.
    refused = client.delete("/api/links/legacy", headers=bearer(owned["manage_token"]))
    assert refused.status_code == 403
    assert client.delete("/api/links/legacy", headers=ADMIN).status_code == 204
    assert client.delete("/api/links/owned", headers=ADMIN).status_code == 204
    assert client.get("/legacy").status_code == 404
    assert (
        client.post("/api/links", json={"url": "https://x.example/", "code": "legacy"}).status_code
        == 409
    )


def test_listing_every_link_is_the_admins(client: FlaskClient) -> None:
    link = create_link(client, code="listed")
    anonymous = client.get("/api/links")
    assert anonymous.status_code == 401
    assert anonymous.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.get("/api/links", headers=bearer(link["manage_token"])).status_code == 403
    assert client.get("/api/links", headers=bearer("nope")).status_code == 403
    listed = client.get("/api/links", headers=ADMIN)
    assert listed.status_code == 200
    assert [item["code"] for item in listed.get_json()["items"]] == ["listed"]
    assert "manage_token" not in listed.get_json()["items"][0]
    # One link's own page stays public: its code is the capability.
    assert client.get("/api/links/listed").status_code == 200


def test_without_admin_token_there_is_no_admin(make_app: Callable[..., Flask]) -> None:
    client = make_app(ADMIN_TOKEN=None).test_client()
    create_link(client, code="noadmin")
    for token in ("", "None", "null"):
        assert client.get("/api/links", headers=bearer(token)).status_code in {401, 403}
        response = client.delete("/api/links/noadmin", headers=bearer(token))
        assert response.status_code in {401, 403}
    assert client.get("/noadmin").status_code == 302


def race_delete_against_creates(app: Flask, code: str, owner: dict[str, str]) -> dict:
    """One owner's DELETE and five POSTs of the same code, released at the same instant."""
    start = threading.Barrier(6)
    statuses: dict[str, list[int]] = {"delete": [], "create": []}

    def delete() -> None:
        client = app.test_client()
        start.wait()
        statuses["delete"].append(client.delete(f"/api/links/{code}", headers=owner).status_code)

    def create(index: int) -> None:
        client = app.test_client()
        start.wait()
        body = {"url": f"https://evil.example/{index}", "code": code}
        statuses["create"].append(client.post("/api/links", json=body).status_code)

    threads = [threading.Thread(target=delete)]
    threads += [threading.Thread(target=create, args=(i,)) for i in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_deletes_racing_creates_of_the_same_code_never_free_it(app: Flask) -> None:
    for round_number in range(5):
        code = f"contest{round_number}"
        owner = bearer(create_link(app.test_client(), code=code)["manage_token"])
        statuses = race_delete_against_creates(app, code, owner)
        assert statuses == {"delete": [204], "create": [409] * 5}, round_number
        assert app.test_client().get(f"/{code}").status_code == 404


def test_the_form_shows_the_token_once_and_its_delete_control_uses_it(
    client: FlaskClient,
) -> None:
    form_token = csrf_token(client.get("/").get_data(as_text=True))
    created = client.post(
        "/", data={"url": "https://example.com/mine", "code": "formed", "csrf_token": form_token}
    )
    assert created.status_code == 303
    first = client.get("/links/formed")
    html = first.get_data(as_text=True)
    assert "shown only this once" in html
    assert first.headers["Cache-Control"] == "no-store"
    manage_token = html.split('id="manage-token" type="text" value="')[1].split('"')[0]
    assert len(manage_token) >= 43
    second = client.get("/links/formed").get_data(as_text=True)
    assert manage_token not in second  # shown once

    wrong = client.post(
        "/links/formed/delete", data={"token": "not-the-token", "csrf_token": csrf_token(second)}
    )
    assert wrong.status_code == 403
    assert "not the link&#39;s manage token" in wrong.get_data(as_text=True)
    assert client.get("/formed").status_code == 302

    deleted = client.post(
        "/links/formed/delete", data={"token": manage_token, "csrf_token": csrf_token(second)}
    )
    assert deleted.status_code == 303
    assert deleted.headers["Location"] == "/"
    home = client.get("/").get_data(as_text=True)
    assert "Link formed deleted" in home
    assert client.get("/formed").status_code == 404


def test_the_home_page_lists_only_this_browsers_links(app: Flask) -> None:
    mine, theirs = app.test_client(), app.test_client()
    for client, code in ((mine, "minelink"), (theirs, "theirlink")):
        token = csrf_token(client.get("/").get_data(as_text=True))
        url = f"https://example.com/{code}"
        response = client.post("/", data={"url": url, "code": code, "csrf_token": token})
        assert response.status_code == 303
    mine_home = mine.get("/").get_data(as_text=True)
    assert "minelink" in mine_home and "theirlink" not in mine_home
    their_home = theirs.get("/").get_data(as_text=True)
    assert "theirlink" in their_home and "minelink" not in their_home
    assert "minelink" not in app.test_client().get("/").get_data(as_text=True)
    # The delete form needs CSRF like the create form.
    assert mine.post("/links/minelink/delete", data={"token": "x"}).status_code == 400


def test_only_the_new_links_own_page_shows_and_spends_its_token(client: FlaskClient) -> None:
    create_link(client, code="another")
    form_token = csrf_token(client.get("/").get_data(as_text=True))
    client.post(
        "/", data={"url": "https://example.com/n", "code": "newone", "csrf_token": form_token}
    )
    assert "shown only this once" not in client.get("/links/another").get_data(as_text=True)
    assert "shown only this once" in client.get("/links/newone").get_data(as_text=True)
