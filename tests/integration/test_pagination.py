"""GET /api/links: keyset (cursor) pagination, newest first, with the `page` alias."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from flask.testing import FlaskClient

from tests.support import pg
from tests.support.auth import ADMIN
from tests.support.flask_client import create_link


def create_links(client: FlaskClient, prefix: str, count: int) -> None:
    """Links <prefix>0 ... <prefix><count - 1>, made in that order."""
    for index in range(count):
        create_link(client, url=f"https://example.com/{index}", code=f"{prefix}{index}")


def one_page(client: FlaskClient, url: str) -> tuple[list[str], str | None]:
    """The codes of the one page at `url`, and its `next` link."""
    body = client.get(url, headers=ADMIN).get_json()
    return [item["code"] for item in body["items"]], body["next"]


def walk(client: FlaskClient, first: str) -> list[list[str]]:
    """Codes of every page, following `next` from `first` until it is null."""
    pages, url = [], first
    while url is not None:
        response = client.get(url, headers=ADMIN)
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert "total" not in body  # no count(*) per request
        pages.append([item["code"] for item in body["items"]])
        url = body["next"]
        assert len(pages) <= 20, "next links never end"
    return pages


def test_next_links_walk_every_link_once_newest_first(client: FlaskClient) -> None:
    create_links(client, "page", 5)
    pages = walk(client, "/api/links?per_page=2")
    assert pages == [["page4", "page3"], ["page2", "page1"], ["page0"]]


def test_the_next_link_carries_a_cursor_and_the_page_size(client: FlaskClient) -> None:
    create_links(client, "nxt", 3)
    body = client.get("/api/links?per_page=2", headers=ADMIN).get_json()
    query = parse_qs(urlsplit(body["next"]).query)
    assert set(query) == {"cursor", "per_page"}
    assert query["per_page"] == ["2"]
    assert body["per_page"] == 2


def test_an_exactly_full_last_page_has_no_next(client: FlaskClient) -> None:
    create_links(client, "full", 4)
    assert walk(client, "/api/links?per_page=2") == [["full3", "full2"], ["full1", "full0"]]


def test_links_created_while_paging_do_not_shift_the_pages_still_to_come(
    client: FlaskClient,
) -> None:
    create_links(client, "old", 4)
    first, following = one_page(client, "/api/links?per_page=2")
    create_link(client, code="newcomer")  # an OFFSET page 2 would now repeat old2
    assert first == ["old3", "old2"]
    assert walk(client, following) == [["old1", "old0"]]


def test_links_made_in_the_same_instant_keep_a_stable_order(
    client: FlaskClient, database_url: str
) -> None:
    with pg.connect(database_url) as connection:
        connection.execute(
            "INSERT INTO links (code, url, clicks, created_at) "
            "SELECT 'tie' || g, 'https://example.com/' || g, 0, '2026-01-01T00:00:00Z' "
            "FROM generate_series(1, 5) AS g"
        )
    pages = walk(client, "/api/links?per_page=2")
    codes = [code for page in pages for code in page]
    assert sorted(codes) == sorted(f"tie{n}" for n in range(1, 6))  # each exactly once
    assert codes == ["tie5", "tie4", "tie3", "tie2", "tie1"]  # ties: newest id first


def test_the_page_alias_serves_the_first_pages_and_hands_on_a_cursor(
    client: FlaskClient,
) -> None:
    create_links(client, "alias", 5)
    second, following = one_page(client, "/api/links?page=2&per_page=2")
    assert second == ["alias2", "alias1"]
    assert following is not None and "cursor" in parse_qs(urlsplit(following).query)
    assert walk(client, following) == [["alias0"]]
    beyond = client.get("/api/links?page=4&per_page=2", headers=ADMIN).get_json()
    assert beyond == {"items": [], "per_page": 2, "next": None}


def test_a_bad_cursor_is_a_400_json_error_naming_the_parameter(client: FlaskClient) -> None:
    response = client.get("/api/links?cursor=bm90IGEgY3Vyc29y", headers=ADMIN)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "invalid_query"
    assert [detail["field"] for detail in error["details"]] == ["cursor"]
    assert "next" in error["details"][0]["message"]
