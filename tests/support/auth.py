"""The admin token every test tier configures, and bearer headers for API calls."""

from __future__ import annotations

ADMIN_TOKEN = "tests-admin-token-0123456789abcdefghij"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


ADMIN = bearer(ADMIN_TOKEN)
