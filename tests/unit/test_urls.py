"""Link targets in canonical ASCII form (app.urls): each rule, then the property for any input."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from app.urls import MAX_LENGTH, legacy_location, normalise
from tests.support.hostile_urls import is_valid_location, link_targets


@pytest.mark.parametrize(
    ("given_url", "stored"),
    [
        ("https://example.com", "https://example.com/"),
        ("HTTP://Example.COM:80/A?B#C", "http://example.com/A?B#C"),
        ("https://example.com:8443/", "https://example.com:8443/"),
        ("https://example.com./", "https://example.com/"),
        # UTS #46 maps fullwidth letters ("example" here) to ASCII
        ("https://\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45.com/", "https://example.com/"),
        ("https://faß.de/", "https://xn--fa-hia.de/"),  # IDNA 2008, not transitional
        ("https://exämple.com/päth?q=ü#ö", "https://xn--exmple-cua.com/p%C3%A4th?q=%C3%BC#%C3%B6"),
        ("http://example.com/a%20b/%zz?x=%", "http://example.com/a%20b/%25zz?x=%25"),
        ('http://example.com/<"\\>', "http://example.com/%3C%22%5C%3E"),
        ("http://example.com:/", "http://example.com/"),
        ("http://127.0.0.1:5000/x", "http://127.0.0.1:5000/x"),
        ("http://[0:0::1]:8080/", "http://[::1]:8080/"),
    ],
)
def test_targets_are_stored_in_canonical_ascii(given_url: str, stored: str) -> None:
    assert normalise(given_url).url == stored


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://example.com:abc/", "port between 1 and 65535"),
        ("http://example.com:0/", "port between 1 and 65535"),
        ("http://example.com:65536/", "port between 1 and 65535"),
        ("http://example.com:٣/", "port between 1 and 65535"),  # a non-ASCII digit
        ("http://a..b/", "invalid host name"),
        ("http://.../", "invalid host name"),
        ("http://" + "a" * 64 + ".com/", "invalid host name"),
        ("http://" + ".".join(["a" * 63] * 4) + "/", "invalid host name"),
        ("http://ex_ample.com/", "invalid host name"),
        ("http://ex\u2028ample.com/", "U+2028"),
        ("http://ex\u00a0ample.com/", "U+00A0"),
        ("http://example.com/\u200b", "U+200B"),
        ("http://example.com/\u202e", "U+202E"),
        ("http://example.com/ a", "spaces or control characters"),
        ("http://2130706433/", "IPv4 host as four decimal numbers"),
        ("http://0x7f.1/", "IPv4 host as four decimal numbers"),
        # fullwidth digits map to ASCII ones: the mapped host is checked as an address too
        ("http://a.\uff11/", "IPv4 host as four decimal numbers"),
        ("http://[fe80::1%25eth0]/", "invalid IPv6 address"),
        ("http://[::1/", "not a valid URL"),
        ("https://user:pw@example.com/", "user name or password"),
        ("https://example.com\\@evil.example/", "user name or password"),
        ("https:example.com", "must include a host name"),
        ("ftp://example.com/", "http:// or https://"),
        ("http://example.com/" + "ä" * 1000, f"at most {MAX_LENGTH} characters once encoded"),
    ],
)
def test_targets_that_cannot_be_followed_are_refused_with_the_reason(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason.replace("(", r"\(").replace("+", r"\+")):
        normalise(url)


def test_the_longest_accepted_target_is_exactly_the_limit() -> None:
    base = "https://example.com/"
    assert len(normalise(base + "a" * (MAX_LENGTH - len(base))).url) == MAX_LENGTH
    with pytest.raises(ValueError):
        normalise(base + "a" * (MAX_LENGTH - len(base) + 1))


def test_a_legacy_target_still_gets_an_ascii_location() -> None:
    assert legacy_location("https://exämple.com/päth") == "https://xn--exmple-cua.com/p%C3%A4th"
    # Stored before the rules existed and not valid now: still a valid header value.
    assert legacy_location("http://ex ample.é:abc/ä").isascii()


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw=link_targets())
def test_any_string_is_refused_or_becomes_a_stable_valid_location(raw: str) -> None:
    try:
        target = normalise(raw)
    except ValueError:
        return
    assert is_valid_location(target.url), target
    assert normalise(target.url) == target  # canonical: normalising again changes nothing
