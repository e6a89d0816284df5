"""Who may delete a link: the holder of its manage token, or the admin.

A manage token is 32 random bytes, handed out once when the link is made. Only its SHA-256 is
stored: a slow password hash is not needed for a random value of that size (nothing to guess), and
a leaked table gives nobody a token. Every comparison is between two digests, in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32
# A bearer value longer than this is not one of ours; refusing it early bounds the hashing work.
MAX_TOKEN_LENGTH = 256


def new_token() -> tuple[str, str]:
    """(token for the client, digest to store)."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, digest(token)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str | None, stored_digest: str | None) -> bool:
    """True when `token` is the one whose digest is stored; never for a missing side."""
    if not token or stored_digest is None or len(token) > MAX_TOKEN_LENGTH:
        return False
    return hmac.compare_digest(digest(token), stored_digest)
