"""The codes this browser made, kept in its signed session cookie: the home page lists only those.

Nothing is stored on the server, so there is no account; another browser sees none of them.
"""

from __future__ import annotations

from flask import session

KEY = "my_links"
KEEP = 20  # newest first; bounds the cookie (a code is at most 32 characters)


def codes() -> list[str]:
    value = session.get(KEY)
    return [code for code in value if isinstance(code, str)] if isinstance(value, list) else []


def remember(code: str) -> None:
    session[KEY] = [code, *(c for c in codes() if c != code)][:KEEP]


def forget(code: str) -> None:
    remaining = [c for c in codes() if c != code]
    if remaining != codes():
        session[KEY] = remaining
