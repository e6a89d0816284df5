"""One compose project under test: its own name, port, secrets and env file."""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.support.engine import engine_exports
from tests.support.ports import free_port
from tests.support.procs import CommandFailed, run

# Tag of the images this tier builds (kept afterwards as a build cache, like the base images).
IMAGE_TAG = "infra-test"
APP_IMAGE = f"flask-multitier-app:{IMAGE_TAG}"
# Values compose.yaml requires; stripped from the inherited environment so that only the test's
# env file provides them (and the "refuses to start without them" check means something).
REQUIRED_SECRETS = (
    "POSTGRES_PASSWORD",
    "APP_DB_PASSWORD",
    "REDIS_PASSWORD",
    "SECRET_KEY",
    "GRAFANA_ADMIN_PASSWORD",
)
# Everything else compose.yaml interpolates: the test decides these too.
COMPOSE_VARIABLES = (
    *REQUIRED_SECRETS,
    "HTTP_BIND",
    "HTTP_PORT",
    "HTTPS_PORT",
    "TLS_DIR",
    "TLS_NAMES",
    "NGINX_WRITE_RATE",
    "NGINX_READ_RATE",
    "NGINX_MONITORING_FROM",
    "NGINX_BALANCER_FROM",
    "NGINX_TRUSTED_PROXIES",
    "ALLOWED_HOSTS",
    "PUBLIC_BASE_URL",
    "ADMIN_TOKEN",
    "APP_REPLICAS",
    "IMAGE_TAG",
    "POSTGRES_DB",
    "APP_DB_USER",
    "COMPOSE_PROJECT_NAME",
    "COMPOSE_FILE",
)


def compose_environment() -> dict[str, str]:
    """This process's environment without what compose.yaml interpolates, plus the engine's."""
    env = {k: v for k, v in os.environ.items() if k not in COMPOSE_VARIABLES}
    return {**env, **engine_exports()}


@dataclass
class Stack:
    """One compose project with its own name, port, secrets and env file."""

    env: dict[str, str]
    workdir: Path
    project: str = field(default_factory=lambda: f"fmt-docker-{secrets.token_hex(4)}")
    http_port: int = field(default_factory=free_port)
    https_port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        while self.https_port == self.http_port:
            self.https_port = free_port()
        self.env_file = self.workdir / "stack.env"
        self._ca_file: Path | None = None
        values = {name: secrets.token_hex(16) for name in REQUIRED_SECRETS}
        values.update(
            HTTP_PORT=str(self.http_port), HTTPS_PORT=str(self.https_port), IMAGE_TAG=IMAGE_TAG
        )
        self.env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))

    def compose(self, *args: str, timeout: float = 600, check: bool = True):
        if args and args[0] in ("up", "down"):
            self._ca_file = None  # `down -v` then `up` makes a new local CA
        cmd = ["docker", "compose", "-p", self.project, "--env-file", str(self.env_file), *args]
        try:
            return run(cmd, env=self.env, timeout=timeout, check=check)
        except CommandFailed as failure:
            if args[:1] != ("up",):
                raise
            # "service ... didn't complete successfully" says nothing of why: add the logs.
            logs = self.compose("logs", "--no-color", "--tail", "40", check=False)
            raise CommandFailed(f"{failure}\n--- compose logs\n{logs.stdout[-6000:]}") from None

    def url(self, path: str) -> str:
        """HTTPS through nginx (what clients use); plain HTTP only redirects: http_url."""
        return f"https://127.0.0.1:{self.https_port}{path}"

    def http_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    @property
    def ca_file(self) -> Path:
        """The local CA the `tls` job generated, copied out of it: what a client trusts."""
        if self._ca_file is None:
            target = self.workdir / f"ca-{secrets.token_hex(4)}.crt"
            self.compose("cp", "tls:/tls/ca.crt", str(target))
            self._ca_file = target
        return self._ca_file

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        """One request over HTTPS on a new connection, verified against the stack's CA."""
        kwargs.setdefault("timeout", 10)
        return requests.request(method, self.url(path), verify=str(self.ca_file), **kwargs)

    def container_ids(self, service: str) -> list[str]:
        return self.compose("ps", "-q", service).stdout.split()

    def inspect(self, container: str) -> dict:
        return json.loads(run(["docker", "inspect", container], env=self.env).stdout)[0]

    def served_by(self, requests_count: int) -> set[str]:
        """Names in X-Served-By over several requests through nginx."""
        return {
            self.request("GET", "/healthz").headers["X-Served-By"] for _ in range(requests_count)
        }

    def wait_for_served_by(self, expected: set[str], within_s: float = 60) -> set[str]:
        """nginx picks up replica changes by itself within a few seconds; poll until it has."""
        deadline = time.monotonic() + within_s
        seen: set[str] = set()
        while time.monotonic() < deadline:
            seen = self.served_by(3 * len(expected))
            if seen == expected:
                break
            time.sleep(1)
        return seen

    def leftovers(self) -> dict[str, list[str]]:
        """Containers, volumes and networks still labelled with this project."""
        label = f"label=com.docker.compose.project={self.project}"
        kinds = {
            "containers": ["docker", "ps", "-aq", "--filter", label],
            "volumes": ["docker", "volume", "ls", "-q", "--filter", label],
            "networks": ["docker", "network", "ls", "-q", "--filter", label],
        }
        return {kind: run(cmd, env=self.env).stdout.split() for kind, cmd in kinds.items()}

    def destroy(self) -> None:
        """down -v, then remove anything the engine still holds for this project."""
        self.compose("down", "-v", "--remove-orphans", "-t", "5", check=False, timeout=300)
        left = self.leftovers()
        if left["containers"]:
            run(["docker", "rm", "-f", *left["containers"]], env=self.env, check=False)
        if left["volumes"]:
            run(["docker", "volume", "rm", "-f", *left["volumes"]], env=self.env, check=False)
        if left["networks"]:
            run(["docker", "network", "rm", *left["networks"]], env=self.env, check=False)


def short_ids(container_ids: list[str]) -> set[str]:
    """The app's default instance name is the hostname: the container's 12-character id."""
    return {cid[:12] for cid in container_ids}
