"""Smoke test through the public URL: readiness, then create a link and follow its redirect."""

from __future__ import annotations

import json
import ssl
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


def _opener(ca_file: str | None) -> urllib.request.OpenerDirector:
    """HTTPS verified against the system's CAs, or only `ca_file` (a private CA's ca.pem)."""
    context = ssl.create_default_context(cafile=ca_file)
    return urllib.request.build_opener(_NoRedirect, urllib.request.HTTPSHandler(context=context))


def _request(
    method: str,
    url: str,
    body: dict[str, Any] | None = None,
    timeout: float = 10,
    opener: urllib.request.OpenerDirector | None = None,
) -> tuple[int, dict[str, str], bytes]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 (http(s) only, checked by caller)
    request.add_header("Accept", "application/json")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with (opener or _opener(None)).open(request, timeout=timeout) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def wait_ready(
    base_url: str,
    attempts: int = 30,
    delay: float = 2.0,
    opener: urllib.request.OpenerDirector | None = None,
) -> dict[str, Any]:
    """GET /readyz until it answers 200; returns its JSON body. A closed edge answers /readyz
    only to its monitoring addresses (403 to us): then the app's liveness, /healthz, stands in,
    and the link round trip that follows proves the database and Redis."""
    last = "no answer"
    path = "/readyz"
    for _ in range(attempts):
        try:
            status, _, body = _request("GET", f"{base_url}{path}", opener=opener)
            if status == 200:
                answer: dict[str, Any] = json.loads(body)
                return answer
            if status == 403 and path == "/readyz":
                path = "/healthz"
                continue
            last = f"HTTP {status}: {body[:200]!r}"
        except urllib.error.URLError as exc:
            # waiting will not fix a wrong CA or name
            if isinstance(exc.reason, ssl.SSLCertVerificationError):
                raise SmokeTestError(
                    f"{base_url}: the TLS certificate is not trusted "
                    f"({exc.reason.verify_message}); for a private CA pass its ca.pem "
                    "with --ca-file"
                ) from exc
            last = str(exc)
        except (OSError, ValueError) as exc:  # connection refused, timeout, bad JSON
            last = str(exc)
        time.sleep(delay)
    raise SmokeTestError(f"{base_url}{path} never answered 200 (last: {last})")


def run_smoke_test(
    base_url: str, attempts: int = 30, delay: float = 2.0, ca_file: str | None = None
) -> dict[str, Any]:
    """The whole check; returns what it saw (instance names, code) for the report. Over HTTPS
    the certificate is verified (against `ca_file` when given) and HSTS must be on."""
    base_url = base_url.rstrip("/")
    if not base_url.startswith(("http://", "https://")):
        raise SmokeTestError(f"public URL {base_url!r} must start with http:// or https://")
    opener = _opener(ca_file)
    ready = wait_ready(base_url, attempts, delay, opener)

    target = f"https://example.com/smoke/{uuid.uuid4().hex}"
    status, headers, body = _request(
        "POST", f"{base_url}/api/links", {"url": target}, opener=opener
    )
    if status != 201:
        raise SmokeTestError(f"POST /api/links answered {status}, expected 201: {body[:300]!r}")
    code = json.loads(body)["code"]

    status, redirect_headers, _ = _request("GET", f"{base_url}/{code}", opener=opener)
    if status != 302 or redirect_headers.get("Location") != target:
        raise SmokeTestError(
            f"GET /{code} answered {status} to {redirect_headers.get('Location')!r}, "
            f"expected 302 to {target}"
        )
    if base_url.startswith("https://") and "Strict-Transport-Security" not in redirect_headers:
        raise SmokeTestError(f"GET /{code} over HTTPS has no Strict-Transport-Security header")
    return {
        "ready": ready,
        "code": code,
        "created_by": headers.get("X-Served-By"),
        "redirected_by": redirect_headers.get("X-Served-By"),
    }
