"""The app image: builds, runs as non-root, stays under its size ceiling, HEALTHCHECK passes."""

from __future__ import annotations

import secrets
import time

import pytest
from docker_stack import APP_IMAGE, Stack, run

# The first test builds the engine and the images on a fresh machine (several minutes under load).
pytestmark = pytest.mark.timeout(1800)

# Issue 4 targets 150 MB, which this image does not meet: the Python 3.11 slim base alone is
# ~130 MB and the pinned runtime dependencies add ~73 MB (SQLAlchemy 24 MB, psycopg's bundled
# libpq/OpenSSL 11 MB, ...). See docs/docker.md. This ceiling catches regressions from here.
APP_IMAGE_CEILING_MB = 210


def _app_image(stack: Stack) -> dict:
    return stack.inspect(APP_IMAGE)


def test_app_image_runs_as_non_root(built_stack: Stack) -> None:
    config = _app_image(built_stack)["Config"]
    assert config["User"] not in ("", "root", "0", "0:0")
    uid = run(
        ["docker", "run", "--rm", "--entrypoint", "id", APP_IMAGE, "-u"],
        env=built_stack.env,
    ).stdout.strip()
    assert uid.isdigit() and int(uid) != 0


def test_app_image_size_is_printed_and_within_ceiling(built_stack: Stack) -> None:
    size_mb = _app_image(built_stack)["Size"] / 1e6
    base = built_stack.env.get("PYTHON_IMAGE", "python:3.11-slim-bookworm")
    base_mb = built_stack.inspect(base)["Size"] / 1e6
    print(f"app image: {size_mb:.1f} MB ({base} {base_mb:.1f} MB + {size_mb - base_mb:.1f} MB)")
    assert size_mb <= APP_IMAGE_CEILING_MB


def test_app_image_healthcheck_passes(built_stack: Stack) -> None:
    # (A container only gets a Health state from an image HEALTHCHECK: podman's Docker API
    # leaves Healthcheck out of image inspect, so the running container is the proof.)
    assert "/healthz" in open_healthcheck_script(built_stack)
    name = f"fmt-docker-health-{secrets.token_hex(4)}"
    # /healthz needs no dependency: an unreachable database URL proves it.
    env = [
        "-e",
        f"SECRET_KEY={secrets.token_hex(32)}",
        "-e",
        "DATABASE_URL=postgresql://nobody:nothing@127.0.0.1:1/none",
    ]
    run(
        ["docker", "run", "-d", "--name", name, *env, APP_IMAGE],
        env=built_stack.env,
    )
    try:
        status = ""
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            status = built_stack.inspect(name)["State"].get("Health", {}).get("Status", "")
            if status in ("healthy", "unhealthy"):
                break
            time.sleep(1)
        assert status == "healthy", run(["docker", "logs", name], env=built_stack.env).stderr
    finally:
        run(["docker", "rm", "-f", name], env=built_stack.env, check=False)


def open_healthcheck_script(stack: Stack) -> str:
    """The probe the image's HEALTHCHECK runs, read from the image itself."""
    return run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "cat",
            APP_IMAGE,
            "/usr/local/bin/healthcheck.py",
        ],
        env=stack.env,
    ).stdout
