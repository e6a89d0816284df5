"""A deployed app seen through its nginx: create and follow links, poll during a deploy."""

from __future__ import annotations

import http.client
import secrets
import ssl
import threading
import time
from dataclasses import dataclass, field

import requests

from tests.support.paths import REPO


def create_link(
    base_url: str, target: str | None = None, *, verify: bool | str = True
) -> tuple[str, str]:
    """POST /api/links through nginx; returns (code, target). `verify`: requests' TLS
    verification (a CA file for a private CA)."""
    target = target or f"https://example.com/{secrets.token_hex(6)}"
    response = requests.post(
        f"{base_url}/api/links", json={"url": target}, timeout=30, verify=verify
    )
    assert response.status_code == 201, (response.status_code, response.text[:500])
    return response.json()["code"], target


def follow(base_url: str, code: str, *, verify: bool | str = True) -> requests.Response:
    """GET /<code> without following the redirect (the answer is the 302 itself)."""
    return requests.get(f"{base_url}/{code}", allow_redirects=False, timeout=30, verify=verify)


def static_file() -> str:
    """A file the app ships under app/static/ (nginx must serve it)."""
    files = sorted(p for p in (REPO / "app" / "static").rglob("*") if p.is_file())
    assert files, "app/static/ holds no file"
    return files[0].relative_to(REPO / "app").as_posix()


@dataclass
class Poller:
    """Polls GET /<code> once every `interval` s on a fresh connection; any answer but the
    expected redirect, or any connection error, is recorded as a failure. With `ca_file` it
    speaks HTTPS and verifies the server's certificate against that CA (a TLS failure counts)."""

    host: str
    port: int
    code: str
    target: str
    ca_file: str | None = None
    interval: float = 0.1
    max_requests: int = 20_000
    requests: int = 0
    failures: list[str] = field(default_factory=list)
    served_by: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def _once(self) -> None:
        connection: http.client.HTTPConnection
        if self.ca_file:
            context = ssl.create_default_context(cafile=self.ca_file)
            connection = http.client.HTTPSConnection(
                self.host, self.port, timeout=10, context=context
            )
        else:
            connection = http.client.HTTPConnection(self.host, self.port, timeout=10)
        try:
            connection.request("GET", f"/{self.code}")
            response = connection.getresponse()
            response.read()
            location = response.getheader("Location")
            if response.status != 302 or location != self.target:
                self.failures.append(f"{time.strftime('%T')} {response.status} {location}")
            instance = response.getheader("X-Served-By", "?")
            self.served_by[instance] = self.served_by.get(instance, 0) + 1
        except OSError as exc:
            self.failures.append(f"{time.strftime('%T')} {type(exc).__name__}: {exc}")
        finally:
            connection.close()
            self.requests += 1

    def _loop(self) -> None:
        while not self._stop.is_set() and self.requests < self.max_requests:
            self._once()
            self._stop.wait(self.interval)

    def __enter__(self) -> Poller:
        self._thread = threading.Thread(target=self._loop, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=30)
