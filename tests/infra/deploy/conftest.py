"""Fixtures of the deploy tests: its venv (deploy/requirements.txt), a runner, a fake terraform."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.infra.terraform import emulator

REPO = emulator.REPO

# A stand-in for the terraform binary: records its arguments, answers `output -json` with the
# outputs in $FAKE_TF_OUTPUTS, and fails with $FAKE_TF_FAIL_ON's message for that subcommand.
FAKE_TERRAFORM = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args and args[0] == os.environ.get("FAKE_TF_FAIL_ON"):
    sys.stderr.write("Error: " + os.environ.get("FAKE_TF_MESSAGE", "boom") + "\\n")
    sys.exit(1)
if args[:1] == ["output"]:
    print(os.environ.get("FAKE_TF_OUTPUTS", "{{}}"))
"""


@pytest.fixture(scope="session")
def deploy_python() -> Path:
    return emulator.tool_venv("deploy", REPO / "deploy/requirements.txt") / "bin/python"


Runner = Callable[..., subprocess.CompletedProcess]


@pytest.fixture
def run_deploy(deploy_python: Path, tmp_path: Path) -> Runner:
    """Run `python -m deploy ARGS` from the repository root in the deploy venv."""

    def run(
        *args: str, env: dict[str, str] | None = None, timeout: int = 600
    ) -> subprocess.CompletedProcess:
        full_env = emulator.terraform_env({"DEPLOY_INVENTORY": str(tmp_path / "inventory.yml")})
        full_env.update(env or {})
        return subprocess.run(
            [str(deploy_python), "-m", "deploy", *args],
            cwd=REPO,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


class FakeTerraform:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "terraform"
        self.path.write_text(FAKE_TERRAFORM)
        self.path.chmod(0o755)
        self.log = directory / "calls.jsonl"
        self.env = {"FAKE_TF_LOG": str(self.log)}

    def outputs(self, values: dict) -> None:
        wrapped = {name: {"value": value, "sensitive": False} for name, value in values.items()}
        self.env["FAKE_TF_OUTPUTS"] = json.dumps(wrapped)

    def fail_on(self, subcommand: str, message: str) -> None:
        self.env.update(FAKE_TF_FAIL_ON=subcommand, FAKE_TF_MESSAGE=message)

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]


@pytest.fixture
def fake_terraform(tmp_path: Path) -> FakeTerraform:
    directory = tmp_path / "fakebin"
    directory.mkdir()
    return FakeTerraform(directory)


@pytest.fixture
def var_file(tmp_path: Path) -> Path:
    """A valid var file (its values are never sent anywhere by the tests that use the fake)."""
    path = tmp_path / "test.tfvars.json"
    path.write_text(
        json.dumps({"admin_cidrs": ["198.51.100.7/32"], "ssh_public_key": "ssh-ed25519 AAAA x"})
    )
    return path


# Phase times of the slow deploy tests, printed at the end of the session (never asserted).
TIMINGS: list[str] = []
PhaseRecorder = Callable[[str, float], None]


@pytest.fixture
def record_phase() -> PhaseRecorder:
    def record(label: str, seconds: float) -> None:
        line = f"{label}: {seconds:.1f} s"
        TIMINGS.append(line)
        print(line)

    return record


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if TIMINGS:
        terminalreporter.section("deploy phase times")
        for line in TIMINGS:
            terminalreporter.write_line(line)
