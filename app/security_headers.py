"""Security headers set by the app itself, so every topology has them (Heroku has no nginx).

Where nginx is in front it sets its own copies of the generic ones (nginx/proxy_policy.conf hides
the app's, so a response never carries two); the Content-Security-Policy stays the app's, since
only the app knows what its templates load.
"""

from __future__ import annotations

from flask import Flask, Response

# Everything from this origin only, no inline script or style, no plugins, never in a frame,
# forms post only here, and no <base> tag can redirect relative URLs.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),  # frame-ancestors for browsers that predate it
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in HEADERS:
            response.headers[name] = value
        return response
