"""Static checks of the Docker layer: checkov on the Dockerfiles, shellcheck on the scripts."""

from __future__ import annotations

import json

import pytest

from tests.support.apt import debian_tool
from tests.support.paths import REPO
from tests.support.procs import run
from tests.support.venvs import tool_venv

# The first test builds the engine and the images on a fresh machine (several minutes under load).
pytestmark = pytest.mark.timeout(1800)

CHECKOV_REQUIREMENTS = REPO / "tools" / "requirements" / "checkov.txt"


def test_checkov_finds_no_failed_dockerfile_check() -> None:
    checkov = tool_venv("checkov", CHECKOV_REQUIREMENTS) / "bin" / "checkov"
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
    shellcheck = debian_tool("shellcheck", "shellcheck")
    scripts = [
        *sorted((REPO / "tools").rglob("*.sh")),
        *sorted((REPO / "docker").rglob("*.sh")),
        *sorted((REPO / "nginx").rglob("*.sh")),  # local-ca.sh, run by the stack and compose
    ]
    run([shellcheck, *map(str, scripts)])
