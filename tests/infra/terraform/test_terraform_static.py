"""Offline checks of terraform/: fmt, validate (every module), documented variables, checkov."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import aws
from tests.support.aws import TERRAFORM_SRC
from tests.support.paths import REPO
from tests.support.venvs import tool_venv

MODULES = sorted(p.name for p in (TERRAFORM_SRC / "modules").iterdir() if p.is_dir())
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")


def test_every_expected_module_exists() -> None:
    assert set(MODULES) >= {"network", "security", "compute", "database", "cache"}
    for module in [TERRAFORM_SRC, *(TERRAFORM_SRC / "modules" / m for m in MODULES)]:
        missing = [f for f in MODULE_FILES if not (module / f).is_file()]
        assert not missing, f"{module} lacks {missing}"


def test_fmt_check() -> None:
    result = aws.terraform(TERRAFORM_SRC, "fmt", "-check", "-recursive", "-diff", check=False)
    assert result.returncode == 0, f"terraform fmt would change:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("module", ["root", *MODULES])
def test_validate(module: str, tmp_path: Path, plugin_dir: Path) -> None:
    src = TERRAFORM_SRC if module == "root" else TERRAFORM_SRC / "modules" / module
    workdir = aws.copy_module(src, tmp_path / module)
    aws.terraform(workdir, "init", "-backend=false", "-input=false", f"-plugin-dir={plugin_dir}")
    result = aws.terraform(workdir, "validate", "-json", check=False)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


VARIABLE = re.compile(r'^variable "(?P<name>[^"]+)" \{(?P<body>.*?)^\}', re.M | re.S)


@pytest.mark.parametrize("module", ["root", *MODULES])
def test_variables_have_description_and_type(module: str) -> None:
    path = (
        TERRAFORM_SRC if module == "root" else TERRAFORM_SRC / "modules" / module
    ) / "variables.tf"
    variables = list(VARIABLE.finditer(path.read_text()))
    assert variables, f"no variables parsed in {path}"
    for match in variables:
        body = match["body"]
        assert re.search(r"^\s+description\s+=", body, re.M), (
            f"{path}: {match['name']} has no description"
        )
        assert re.search(r"^\s+type\s+=", body, re.M), f"{path}: {match['name']} has no type"


def test_outputs_have_descriptions_and_no_secrets() -> None:
    for path in TERRAFORM_SRC.rglob("outputs.tf"):
        text = path.read_text()
        blocks = re.findall(r'^output "([^"]+)" \{(.*?)^\}', text, re.M | re.S)
        assert blocks, path
        for name, body in blocks:
            assert "description" in body, f"{path}: output {name} has no description"
            assert not re.search(r"password|auth_token", body.split("value", 1)[-1]), (
                f"{path}: output {name} exposes a secret"
            )


def test_checkov_passes_with_reasoned_suppressions(tmp_path: Path) -> None:
    venv = tool_venv("checkov", REPO / "tools" / "requirements" / "checkov.txt")
    result = subprocess.run(
        [
            str(venv / "bin/checkov"),
            "--directory",
            str(TERRAFORM_SRC),
            "--framework",
            "terraform",
            "--skip-download",  # no Prisma Cloud lookups: offline, and the checks ship with checkov
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=tmp_path,
    )
    report = json.loads(result.stdout)
    reports = report if isinstance(report, list) else [report]
    summary = {
        key: sum(r["summary"][key] for r in reports) for key in ("passed", "failed", "skipped")
    }
    failed = [
        f"{c['check_id']} {c['resource']} {c['file_path']}:{c['file_line_range']}"
        for r in reports
        for c in r["results"]["failed_checks"]
    ]
    print(f"checkov: {summary}")
    assert summary["failed"] == 0, "\n".join(failed)
    assert summary["passed"] > 100, summary  # the scan really ran over the modules
    for r in reports:
        for check in r["results"]["skipped_checks"]:
            reason = (check.get("check_result") or {}).get("suppress_comment", "")
            assert len(reason) > 20, (
                f"{check['check_id']} on {check['resource']} is skipped without a reason"
            )
