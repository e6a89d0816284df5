"""Static checks of the Docker layer: checkov on the Dockerfiles, shellcheck on the scripts."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from docker_stack import REPO, run

from tests.support.need import ensure_debian_packages, need

# The first test builds the engine and the images on a fresh machine (several minutes under load).
pytestmark = pytest.mark.timeout(1800)

LINT_REQUIREMENTS = REPO / "docker" / "lint-requirements.txt"


def _checkov() -> Path:
    """checkov in its own venv (it pins many packages), keyed by the pinned requirements."""
    digest = hashlib.sha256(LINT_REQUIREMENTS.read_bytes()).hexdigest()[:12]
    venv = Path.home() / ".cache" / "flask-multitier" / f"checkov-{digest}"
    checkov = venv / "bin" / "checkov"
    if not checkov.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(LINT_REQUIREMENTS)],
            check=True,
            timeout=900,
        )
    return checkov


def test_checkov_finds_no_failed_dockerfile_check() -> None:
    checkov = _checkov()
    result = run(
        [str(checkov), "--framework", "dockerfile", "-d", "docker", "-o", "json", "--quiet"],
        check=False,
    )
    reports = json.loads(result.stdout or "[]")
    reports = reports if isinstance(reports, list) else [reports]
    failed = [
        f"{check['check_id']} {check['file_path']}: {check['check_name']}"
        for report in reports
        for check in report.get("results", {}).get("failed_checks", [])
    ]
    passed = sum(report.get("summary", {}).get("passed", 0) for report in reports)
    print(f"checkov: {passed} passed, {len(failed)} failed")
    assert passed > 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert failed == []


def test_shell_scripts_pass_shellcheck() -> None:
    ensure_debian_packages("shellcheck")
    need(shutil.which("shellcheck") is not None, "shellcheck is not installed")
    scripts = [
        REPO / "tests" / "infra" / "engine.sh",
        *sorted((REPO / "tests" / "infra" / "engine").rglob("*.sh")),
        *sorted((REPO / "docker").rglob("*.sh")),
    ]
    run(["shellcheck", *map(str, scripts)])
