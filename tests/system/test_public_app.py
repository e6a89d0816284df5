"""The public app through nginx: ownership, hostile targets, the app's own limits and headers."""

from __future__ import annotations

import http.client
import uuid
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, given, settings

from stack.state import State
from tests.support.auth import ADMIN, bearer
from tests.support.hostile_urls import is_valid_location, link_targets
from tests.support.http_client import Reply, call
from tests.support.stacks import running_stack


@pytest.fixture(scope="module")
def public(
    tools: None, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[State]:
    """Two instances behind nginx with its write limit off (these tests write a lot)."""
    state_dir = tmp_path_factory.mktemp("public")
    with running_stack(state_dir, database_url, redis_url, instances=2, write_rate="off") as state:
        yield state


def create(state: State, url: str, code: str | None = None) -> Reply:
    body = {"url": url, **({"code": code} if code else {})}
    return call(state.url, "POST", "/api/links", body=body)


def test_the_takeover_sequence_is_refused_at_every_step(public: State) -> None:
    code = f"victim{uuid.uuid4().hex[:10]}"
    victim = create(public, "https://example.com/victim", code)
    assert victim.status == 201, victim.body
    attacker = create(public, "https://example.com/attacker")
    assert attacker.status == 201

    anonymous = call(public.url, "DELETE", f"/api/links/{code}")
    assert anonymous.status == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert anonymous.json()["error"]["code"] == "unauthorized"
    foreign = call(
        public.url,
        "DELETE",
        f"/api/links/{code}",
        headers=bearer(attacker.json()["manage_token"]),
    )
    assert foreign.status == 403
    assert create(public, "https://evil.example/", code).status == 409
    for _ in range(4):  # every instance still sends the victim's target
        follow = call(public.url, "GET", f"/{code}")
        assert follow.headers["location"] == "https://example.com/victim"

    owner = bearer(victim.json()["manage_token"])
    assert call(public.url, "DELETE", f"/api/links/{code}", headers=owner).status == 204
    assert create(public, "https://evil.example/", code).status == 409
    assert {call(public.url, "GET", f"/{code}").status for _ in range(6)} == {404}


def test_the_admin_token_lists_and_deletes_and_nothing_else_does(public: State) -> None:
    link = create(public, "https://example.com/admin-test")
    code, token = link.json()["code"], link.json()["manage_token"]
    assert call(public.url, "GET", "/api/links").status == 401
    assert call(public.url, "GET", "/api/links", headers=bearer(token)).status == 403
    listed = call(public.url, "GET", "/api/links?per_page=100", headers=ADMIN)
    assert listed.status == 200
    assert code in {item["code"] for item in listed.json()["items"]}
    assert call(public.url, "DELETE", f"/api/links/{code}", headers=ADMIN).status == 204
    assert call(public.url, "GET", f"/{code}").status == 404


def test_the_longest_target_redirects_through_nginx(public: State) -> None:
    # 20 + 338 x 6 = 2048 characters once encoded: the largest Location the app hands nginx.
    link = create(public, "https://example.com/" + "ä" * 338)
    assert link.status == 201, link.body
    follow = call(public.url, "GET", f"/{link.json()['code']}")
    assert follow.status == 302
    assert follow.headers["location"] == link.json()["url"]
    assert len(follow.headers["location"]) == 2048
    assert create(public, "https://example.com/" + "ä" * 339).status == 422


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=link_targets())
def test_any_target_through_nginx_is_refused_or_redirects_with_a_valid_location(
    public: State, raw: str
) -> None:
    created = create(public, raw)
    assert created.status in {201, 422}, (raw, created.status, created.body[:300])
    if created.status == 422:
        assert created.json()["error"]["details"][0]["field"] == "url"
        return
    link = created.json()
    follow = call(public.url, "GET", f"/{link['code']}")
    assert follow.status == 302, (raw, follow.status, follow.body[:200])
    assert follow.headers["location"] == link["url"]
    assert is_valid_location(follow.headers["location"])


def test_security_headers_reach_the_client_once(public: State) -> None:
    for path in ("/", "/api/links/none", "/healthz"):
        connection = http.client.HTTPConnection("127.0.0.1", public.port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        headers = response.getheaders()
        connection.close()
        names = [name.lower() for name, _ in headers]
        for name in ("content-security-policy", "x-content-type-options", "referrer-policy"):
            assert names.count(name) == 1, (path, name, headers)
        csp = dict((n.lower(), v) for n, v in headers)["content-security-policy"]
        assert "frame-ancestors 'none'" in csp


def test_the_apps_own_write_limit_holds_behind_nginx(make_stack: Callable[..., State]) -> None:
    state = make_stack(
        instances=2,
        write_rate="off",  # nginx lets every write through: the app must limit by itself
        app_env={"RATELIMIT_CREATE": "5/minute"},
    )
    replies = []
    for number in range(8):
        # A client inventing a new X-Forwarded-For each time: nginx appends the address it
        # saw, and the app keys on that, so this buys nothing.
        forged = {"X-Forwarded-For": f"198.51.100.{number}"}
        body = {"url": f"https://example.com/{number}"}
        replies.append(call(state.url, "POST", "/api/links", body=body, headers=forged))
    assert [reply.status for reply in replies] == [201] * 5 + [429] * 3
    limited = replies[-1]
    assert limited.served_by in {i.name for i in state.instances}  # the app's answer
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    raw = http.client.HTTPConnection("127.0.0.1", state.port, timeout=10)
    raw.request(
        "POST",
        "/api/links",
        body=b'{"url": "https://example.com/"}',
        headers={"Content-Type": "application/json"},
    )
    response = raw.getresponse()
    assert response.status == 429
    assert len(response.headers.get_all("Retry-After") or []) == 1  # nginx added none
    raw.close()
