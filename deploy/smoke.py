"""Smoke test through the public URL: /readyz, then create a link and follow its redirect."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any

from deploy.errors import SmokeTestError


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # The redirect target is an outside site: check the Location header, never go there.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirect)


def _request(
    method: str, url: str, body: dict[str, Any] | None = None, timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only, checked by caller)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_ready(base_url: str, attempts: int = 30, delay: float = 2.0) -> dict[str, Any]:
    """GET /readyz until it answers 200; returns its JSON body."""
    last = "no answer"
    for _ in range(attempts):
        try:
            status, _, body = _request("GET", f"{base_url}/readyz")
            if status == 200:
                return json.loads(body)
            last = f"HTTP {status}: {body[:200]!r}"
        except (OSError, ValueError) as exc:  # connection refused, timeout, bad JSON
            last = str(exc)
        time.sleep(delay)
    raise SmokeTestError(f"{base_url}/readyz never answered 200 (last: {last})")


def run_smoke_test(base_url: str, attempts: int = 30, delay: float = 2.0) -> dict[str, Any]:
    """The whole check; returns what it saw (instance names, code) for the report."""
    base_url = base_url.rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise SmokeTestError(f"public URL {base_url!r} must start with http:// or https://")
    ready = wait_ready(base_url, attempts, delay)

    target = f"https://example.com/smoke/{uuid.uuid4().hex}"
    status, headers, body = _request("POST", f"{base_url}/api/links", {"url": target})
    if status != 201:
        raise SmokeTestError(f"POST /api/links answered {status}, expected 201: {body[:300]!r}")
    code = json.loads(body)["code"]

    status, redirect_headers, _ = _request("GET", f"{base_url}/{code}")
    if status != 302 or redirect_headers.get("Location") != target:
        raise SmokeTestError(
            f"GET /{code} answered {status} to {redirect_headers.get('Location')!r}, "
            f"expected 302 to {target}"
        )
    return {
        "ready": ready,
        "code": code,
        "created_by": headers.get("X-Served-By"),
        "redirected_by": redirect_headers.get("X-Served-By"),
    }
