"""The link rules shared by the API and the form."""

from __future__ import annotations

import pytest

from app.validation import check_code, check_url


@pytest.mark.parametrize(
    "url",
    ["https://example.com", "http://a.b/c?d=e#f", "HTTPS://EXAMPLE.COM/", "https://exämple.com/"],
)
def test_good_urls(url: str) -> None:
    assert check_url(url) == url


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


@pytest.mark.parametrize("code", ["abc", "A_b-9", "x" * 32])
def test_good_codes(code: str) -> None:
    assert check_code(code) == code


@pytest.mark.parametrize("code", ["ab", "x" * 33, "a.b", "a b", "ä12", "healthz", "STATIC"])
def test_bad_codes(code: str) -> None:
    with pytest.raises(ValueError):
        check_code(code)
