"""The link rules shared by the API and the form."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from app.validation import check_code, check_url, decode_cursor, encode_cursor


@pytest.mark.parametrize(
    ("url", "stored"),
    [
        ("https://example.com", "https://example.com/"),
        ("http://a.b/c?d=e#f", "http://a.b/c?d=e#f"),
        ("HTTPS://EXAMPLE.COM:443/", "https://example.com/"),
        ("https://exämple.com/päth", "https://xn--exmple-cua.com/p%C3%A4th"),
    ],
)
def test_good_urls_are_stored_in_canonical_form(url: str, stored: str) -> None:
    assert check_url(url) == stored


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "data:,x",
        "file:///etc/passwd",
        "//example.com",
        "https://",
        "https://a b",
        "https://a\tb",
        "mailto:a@b.c",
        "example.com",
    ],
)
def test_bad_urls(url: str) -> None:
    with pytest.raises(ValueError):
        check_url(url)


def test_links_to_the_service_itself_are_refused() -> None:
    own = {"links.example", "127.0.0.1"}.__contains__
    for url in ("https://LINKS.example/x", "http://links.example.:8080/", "http://127.0.0.1/a"):
        with pytest.raises(ValueError, match="must not point at this service itself"):
            check_url(url, own)
    assert check_url("https://other.example/", own) == "https://other.example/"


@pytest.mark.parametrize("code", ["abc", "A_b-9", "x" * 32])
def test_good_codes(code: str) -> None:
    assert check_code(code) == code


@pytest.mark.parametrize("code", ["ab", "x" * 33, "a.b", "a b", "ä12", "healthz", "STATIC"])
def test_bad_codes(code: str) -> None:
    with pytest.raises(ValueError):
        check_code(code)


@pytest.mark.parametrize(
    "created_at",
    [
        datetime(2026, 11, 26, 10, 0, 0, 123456, tzinfo=UTC),
        datetime(2026, 11, 26, 10, 0, 0, tzinfo=timezone(timedelta(hours=-5))),
        datetime(2026, 11, 26, 10, 0, 0),  # SQLite hands back naive datetimes
    ],
)
def test_a_cursor_names_the_position_it_was_made_from(created_at: datetime) -> None:
    cursor = encode_cursor(created_at, 12345)
    assert cursor.replace("-", "").replace("_", "").isalnum()  # safe in a query string as is
    assert decode_cursor(cursor) == (created_at, 12345)


@pytest.mark.parametrize(
    "cursor",
    ["", "!!!", "bm90IGEgY3Vyc29y", "MjAyNi0xMS0yNn4tMQ", "fjE", "w6k"],
)
def test_anything_else_is_not_a_cursor(cursor: str) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        decode_cursor(cursor)
