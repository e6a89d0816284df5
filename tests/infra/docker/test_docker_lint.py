"""Static checks of the Docker layer: checkov on the Dockerfiles, shellcheck on the scripts,
compose.yaml's hardening block and .env.example's knobs."""

from __future__ import annotations

import json
import re

import pytest
import yaml

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


def _compose_file() -> dict:
    return yaml.safe_load((REPO / "compose.yaml").read_text())


def test_every_service_merges_the_one_hardening_block() -> None:
    """compose.yaml writes its hardening once (x-hardened) and every service takes it whole."""
    compose = _compose_file()
    hardened = compose["x-hardened"]
    assert hardened == {
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
    }
    text = (REPO / "compose.yaml").read_text()
    assert text.count("no-new-privileges") == 1 and text.count("cap_drop") == 1
    for name, service in compose["services"].items():
        assert service["cap_drop"] == ["ALL"], name
        assert service["security_opt"] == hardened["security_opt"], name
        assert service["read_only"] is (name != "grafana"), name


def test_env_example_names_only_what_compose_reads() -> None:
    """Every variable .env.example sets or shows is one compose.yaml interpolates or passes as a
    build argument: no knob there that nothing reads."""
    text = (REPO / "compose.yaml").read_text()
    read = set(re.findall(r"\$\{(\w+)", text))
    for service in _compose_file()["services"].values():
        build = service.get("build")
        if isinstance(build, dict):
            read.update(build.get("args", []))
    listed = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"#? ?([A-Z][A-Z0-9_]+)=", line)
        if match:
            listed.add(match[1])
    assert listed, "no variable parsed in .env.example"
    assert listed <= read, sorted(listed - read)
