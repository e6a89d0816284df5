"""A tiny HTTP client for the system tests: one fresh connection per request.

Fresh connections on purpose: the property under test is that the server side never fails a
request it accepted. A pooled client connection that nginx closes at a reload is a client-side
race every HTTP client handles by retrying idempotent requests, and it would hide the signal.
"""

from __future__ import annotations

import http.client
import json
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class Reply:
    status: int  # 0: no HTTP answer at all (connection refused/reset, timeout)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    error: str = ""

    def json(self) -> dict:  # type: ignore[type-arg]
        return json.loads(self.body)

    @property
    def served_by(self) -> str | None:
        return self.headers.get("x-served-by")


def call(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | dict | None = None,  # type: ignore[type-arg]
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
    source: str | None = None,
    ca_file: str | None = None,
) -> Reply:
    """One request on a new connection. `source`: the local address to send from (e.g.
    127.0.0.2, any loopback address works); `ca_file`: the CA an https URL must chain to."""
    parts = urlsplit(base_url)
    send_headers = {"Connection": "close", **(headers or {})}
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        send_headers.setdefault("Content-Type", "application/json")
    bind = (source, 0) if source else None
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_file)
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, source_address=bind, context=context
        )
    else:
        connection = http.client.HTTPConnection(
            parts.hostname, parts.port, timeout=timeout, source_address=bind
        )
    try:
        connection.request(method, path, body=body, headers=send_headers)
        response = connection.getresponse()
        payload = response.read()
        return Reply(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            body=payload,
        )
    except (OSError, http.client.HTTPException) as exc:
        return Reply(status=0, error=f"{type(exc).__name__}: {exc}")
    finally:
        connection.close()
