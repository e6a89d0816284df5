"""The container engine for tests: Docker when one answers, else tools/container-engine.sh
(rootful podman behind the Docker API, local stand-ins for the public base images)."""

from __future__ import annotations

from tests.support.paths import REPO
from tests.support.procs import run

ENGINE = REPO / "tools" / "container-engine.sh"
BASE_IMAGE = "localhost/debian:bookworm-slim"


def engine(*args: str, timeout: float = 900) -> str:
    """Run one subcommand of the engine tool; its stdout."""
    return run(["bash", str(ENGINE), *args], timeout=timeout).stdout


def ensure_base() -> None:
    """Host prep and the debootstrap base image (what the stand-in hosts are built from)."""
    engine("setup")
    engine("base")


def engine_exports() -> dict[str, str]:
    """Prepare the engine with the stand-in images; the variables that point docker at it
    (DOCKER_HOST, the *_IMAGE build args...; none when a real Docker engine answers)."""
    for step in ("setup", "base", "standins"):
        engine(step)
    exports = {}
    for line in engine("env").splitlines():
        if line.startswith("export ") and "=" in line:
            key, value = line.removeprefix("export ").split("=", 1)
            exports[key] = value
    return exports
