"""The service's own names: the base of its short URLs, the Host headers it answers, and the hosts
a link may not point at (a link to the shortener itself would loop or hide its final target).

Host trust does what Flask's TRUSTED_HOSTS does (400 for any other Host), with one difference:
/healthz, /readyz and /metrics answer whatever the Host. Load balancers, container health checks
and Prometheus address an instance by its IP or internal name, and those answers contain no URL
built from the Host, so there is nothing there to poison.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

from flask import Flask, abort, current_app, request, url_for

from app.urls import normalise_host

HOST_INDEPENDENT_BLUEPRINTS = frozenset({"ops"})


class HostNames:
    """Host names and ".suffix" entries (every subdomain), compared in their normalised form."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.exact: set[str] = set()
        self.suffixes: list[str] = []
        for entry in entries:
            if entry.startswith("."):
                self.suffixes.append("." + normalise_host(entry[1:]))
            else:
                self.exact.add(normalise_host(entry))

    def __bool__(self) -> bool:
        return bool(self.exact or self.suffixes)

    def __contains__(self, host: str) -> bool:
        """`host` is normalised already (app.urls form)."""
        return host in self.exact or any(
            host.endswith(suffix) or host == suffix[1:] for suffix in self.suffixes
        )


# Every request is checked, and IDNA in pure Python is slow: a service sees a handful of Host
# values, so they are remembered (bounded, whatever clients send).
@lru_cache(maxsize=1024)
def host_of(host_header: str) -> str | None:
    """The normalised host of a Host header value ("name:port"), None when it is not valid."""
    if host_header.startswith("["):  # [IPv6]:port
        name = host_header[: host_header.find("]") + 1]
    else:
        name = host_header.partition(":")[0]
    try:
        return normalise_host(name) if name else None
    except ValueError:
        return None


def register_host_check(app: Flask, trusted: HostNames | None) -> None:
    """Answer 400 to requests for any host outside `trusted` (None: no check)."""
    if trusted is None:
        return

    @app.before_request
    def trusted_hosts_only() -> None:
        if request.blueprint in HOST_INDEPENDENT_BLUEPRINTS:
            return
        host = host_of(request.host)
        if host is None or host not in trusted:
            abort(400, description="This service does not answer to that host name.")


def short_url(code: str) -> str:
    """The public URL of a link: on PUBLIC_BASE_URL when set, else on the request's host."""
    base = current_app.config["PUBLIC_BASE_URL"]
    if base:
        return f"{base}/{code}"
    return url_for("web.follow", code=code, _external=True)


def is_own_host(host: str) -> bool:
    """True when `host` (normalised) names this service: configured names or the request's."""
    if host in current_app.config["OWN_HOSTS"]:
        return True
    return host == host_of(request.host)
