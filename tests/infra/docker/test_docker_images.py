"""The app image: builds, runs as non-root without a shell, fits its size budget, is healthy."""

from __future__ import annotations

import json
import secrets
import time

import pytest

from tests.support.compose import APP_IMAGE, Stack
from tests.support.procs import run

# The first test builds the engine and the images on a fresh machine (several minutes under load).
pytestmark = pytest.mark.timeout(1800)

# The image's size budget, met with a distroless Python base (~55 MB; python slim alone: ~130):
# base + venv ~68 MB + stdlib bytecode ~12 MB + app < 1 MB. See docs/docker.md.
APP_IMAGE_BUDGET_MB = 150
# The Dockerfile's default runtime base, when no stand-in replaces it.
DEFAULT_RUNTIME_IMAGE = "gcr.io/distroless/python3-debian12:nonroot"

# Run inside the image: bytes under each part the Dockerfile adds to the base.
MEASURE_PARTS = """
import json, os, sys
def size(root, suffix=""):
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            path = os.path.join(folder, name)
            if name.endswith(suffix) and not os.path.islink(path):
                total += os.path.getsize(path)
    return total
json.dump({"venv": size("/opt/venv"), "app": size("/srv/app"),
           "stdlib bytecode": size("/usr/lib/python3.11", ".pyc")}, sys.stdout)
"""


def _app_image(stack: Stack) -> dict:
    return stack.inspect(APP_IMAGE)


def _python_in_image(stack: Stack, code: str) -> str:
    """Run Python code in the app image (its ENTRYPOINT is empty: the command is the program)."""
    return run(["docker", "run", "--rm", APP_IMAGE, "python", "-c", code], env=stack.env).stdout


def test_app_image_runs_as_non_root(built_stack: Stack) -> None:
    config = _app_image(built_stack)["Config"]
    assert config["User"] not in ("", "root", "0", "0:0")
    uid = _python_in_image(built_stack, "import os; print(os.getuid())").strip()
    assert uid.isdigit() and int(uid) != 0


def test_app_image_has_no_shell_and_runs_gunicorn_as_its_command(built_stack: Stack) -> None:
    config = _app_image(built_stack)["Config"]
    assert not config.get("Entrypoint")  # so compose's `command:` (migrate) is the whole command
    assert config["Cmd"][0].endswith("/gunicorn")
    shell = run(
        ["docker", "run", "--rm", "--entrypoint", "/bin/sh", APP_IMAGE, "-c", "true"],
        env=built_stack.env,
        check=False,
    )
    assert shell.returncode != 0


def test_app_image_size_is_printed_and_within_budget(built_stack: Stack) -> None:
    size_mb = _app_image(built_stack)["Size"] / 1e6
    base = built_stack.env.get("RUNTIME_IMAGE", DEFAULT_RUNTIME_IMAGE)
    base_mb = built_stack.inspect(base)["Size"] / 1e6
    parts = json.loads(_python_in_image(built_stack, MEASURE_PARTS))
    breakdown = ", ".join(f"{name} {value / 1e6:.1f} MB" for name, value in parts.items())
    print(
        f"app image: {size_mb:.1f} MB = {base} {base_mb:.1f} MB + {size_mb - base_mb:.1f} MB "
        f"({breakdown}); budget {APP_IMAGE_BUDGET_MB} MB"
    )
    assert size_mb <= APP_IMAGE_BUDGET_MB


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
        "-e",
        "ALLOWED_HOSTS=links.example",  # production needs a public name; the probe needs none
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
    return _python_in_image(stack, "print(open('/usr/local/bin/healthcheck.py').read())")
