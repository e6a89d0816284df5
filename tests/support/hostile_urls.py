"""Hypothesis strategies for hostile link targets, and the property every answer must keep.

The strings are built from URL-shaped parts (so many of them get past the scheme and reach the
host, port and path rules) mixed with the characters that broke following before: Unicode
spaces and separators, zero-width and bidi controls, empty and over-long DNS labels, bad ports,
user info, IPv6 brackets, backslashes, stray percent signs and long non-ASCII paths.
"""

from __future__ import annotations

import string

from hypothesis import strategies as st

# Benign-looking ones first: hypothesis favours the start of a list when it simplifies.
NASTY = [
    "%",
    "%0",
    "%zz",
    "%C3%A4",
    "\\",
    "#",
    "?",
    "@",
    ":",
    "[",
    "]",
    "..",
    ".",
    "/",
    "ä",
    "中",
    "💩",
    "\uff45",  # FULLWIDTH LATIN SMALL LETTER E (maps to "e")
    "\uff1a",  # FULLWIDTH COLON
    "ß",
    "xn--",
    "-",
    "_",
    "\u2028",  # LINE SEPARATOR
    "\u2029",
    "\u00a0",  # NO-BREAK SPACE
    "\u200b",  # ZERO WIDTH SPACE
    "\u202e",  # RIGHT-TO-LEFT OVERRIDE
    "\ufeff",
    "\u3000",  # IDEOGRAPHIC SPACE
    "\r\n",
    "\x00",
    "\x7f",
    " ",
    "\t",
    "\ud800",  # a lone surrogate (JSON can carry one)
]

# Visible characters of any script: these get past the character rule, so the host, port and
# encoding rules are reached; NASTY characters are mixed in now and then.
_visible = st.characters(exclude_categories=("Cc", "Cf", "Cs", "Zs", "Zl", "Zp"))
_ascii_label = st.text(string.ascii_lowercase + string.digits + "-", min_size=1, max_size=70)
_unicode_label = st.text(_visible, min_size=0, max_size=12)
_label = st.one_of(*[_ascii_label] * 4, _unicode_label, st.sampled_from(NASTY))
_host = st.one_of(
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.lists(_label, min_size=1, max_size=4).map(".".join),
    st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com.",
            "a..b",
            "...",
            "a" * 63 + ".com",
            "a" * 64 + ".com",
            ".".join(["a" * 63] * 4),
            "127.0.0.1",
            "2130706433",
            "0x7f.1",
            "[::1]",
            "[fe80::1%25eth0]",
            "[::1",
            "exämple.com",
            "ex\u2028ample.com",
            "ex\u00a0ample.com",
        ]
    ),
)
_port = st.one_of(
    st.just(""),
    st.just(""),
    st.integers(min_value=-1, max_value=99999).map(lambda n: f":{n}"),
    st.text(_visible, max_size=6).map(lambda text: f":{text}"),
)
_userinfo = st.one_of(
    st.just(""), st.just(""), st.just(""), st.sampled_from(["user@", "u:p@", "@", "a\\@"])
)
_piece = st.one_of(*[st.text(_visible, max_size=30)] * 6, st.sampled_from(NASTY))
_path = st.one_of(
    st.lists(_piece, max_size=4).map(lambda parts: "/" + "".join(parts)),
    st.integers(min_value=1, max_value=1200).map(lambda n: "/" + "ä" * n),  # long once encoded
    st.just(""),
)
_suffix = st.lists(_piece, max_size=2).map("".join).map(lambda text: text and "?" + text)
_fragment = st.lists(_piece, max_size=2).map("".join).map(lambda text: text and "#" + text)
_scheme = st.sampled_from(["http", "https", "https", "HTTPS", "hTtP", "ftp", "javascript", ""])
_separator = st.sampled_from(["://"] * 6 + [":/", ":", ":///", ":\\\\"])


@st.composite
def hostile_urls(draw: st.DrawFn) -> str:
    """A URL-shaped hostile string, or now and then any text at all."""
    if draw(st.integers(min_value=0, max_value=19)) == 0:
        return draw(st.text(max_size=80))
    return (
        draw(_scheme)
        + draw(_separator)
        + draw(_userinfo)
        + draw(_host)
        + draw(_port)
        + draw(_path)
        + draw(_suffix)
        + draw(_fragment)
    )


def is_valid_location(location: str) -> bool:
    """A header value a browser can follow: printable ASCII, http(s), at most 2048 characters."""
    return (
        location.isascii()
        and location.isprintable()
        and " " not in location
        and location.startswith(("http://", "https://"))
        and len(location) <= 2048
    )


@st.composite
def plausible_urls(draw: st.DrawFn) -> str:
    """http(s) URLs with a sound host and any visible text after it: mostly accepted, so the
    encoding, the length limit and the redirect itself get exercised."""
    labels = draw(st.lists(_ascii_label.filter(lambda s: s.strip("-")), min_size=1, max_size=3))
    if draw(st.booleans()):
        labels[0] = draw(st.text("äöüßéçñ中文", min_size=1, max_size=8)) + labels[0]
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda n: f":{n}")))
    path = draw(st.text(_visible, max_size=400))
    query = draw(st.text(_visible, max_size=100))
    return (
        f"{draw(st.sampled_from(['http', 'https']))}://{'.'.join(labels)}.test{port}/{path}?{query}"
    )


def link_targets() -> st.SearchStrategy[str]:
    """What the API property tests send: hostile strings and plausible URLs, half and half."""
    return st.one_of(hostile_urls(), plausible_urls())
