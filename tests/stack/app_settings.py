"""The app settings every test stack's instances get."""

from __future__ import annotations

from tests.support.auth import ADMIN_TOKEN

# The admin token, and the app's own write limits out of reach: tests about something else
# write a lot (the limits have their own tests and stacks).
APP_ENV = {
    "ADMIN_TOKEN": ADMIN_TOKEN,
    "RATELIMIT_CREATE": "100000/minute",
    "RATELIMIT_DELETE": "100000/minute",
}
