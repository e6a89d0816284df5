"""Offline checks of terraform/: fmt, validate (every module), documented variables, checkov."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.support import aws, tutorial
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


def test_the_tutorial_checks_pass(tmp_path: Path, plugin_dir: Path) -> None:
    """The tutorial's `make tf-check` as written: fmt, validate of every module, checkov. Run in a
    copy of the checkout (validation writes its scratch data under .run/)."""
    (block,) = tutorial.claim("6", "local")
    copy = tutorial.reader_checkout(tmp_path / "repo", venv=False)
    env = aws.terraform_env({"TF_PLUGIN_DIR": str(plugin_dir)})
    result = tutorial.run(block.code, cwd=copy, env=env, log=tmp_path / "step.log", timeout=900)
    tutorial.assert_as_promised(block, block.code, result)
    validated = {
        line.split()[1] for line in result.output.splitlines() if line.startswith("validate ")
    }
    assert validated == {"terraform", *(f"terraform/modules/{m}" for m in MODULES)}
    assert result.output.count("Success! The configuration is valid.") == len(validated)
    assert "Warning:" not in result.output, result.output


def test_committed_lock_file_matches_the_provider_mirror(tmp_path: Path, plugin_dir: Path) -> None:
    """The root module's .terraform.lock.hcl is committed, and init from the offline mirror takes
    the locked provider as it is: a mismatch fails init, a missing hash would rewrite the file."""
    lock = TERRAFORM_SRC / ".terraform.lock.hcl"
    tracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(lock)], cwd=REPO, capture_output=True
    )
    assert tracked.returncode == 0, "terraform/.terraform.lock.hcl is not committed"
    workdir = aws.copy_module(TERRAFORM_SRC, tmp_path / "root")
    aws.terraform(workdir, "init", "-backend=false", "-input=false", f"-plugin-dir={plugin_dir}")
    assert (workdir / ".terraform.lock.hcl").read_text() == lock.read_text()


# ------------------------------------------------------------------ refusals
# Settings Terraform must refuse before it touches AWS, checked offline: `terraform test` plans a
# copy of the root module with AWS mocked (nothing is called, no credentials). "valid" is an Auto
# Scaling setup that plans; every other run changes one setting of it and must fail with its
# message. One file per run: a failed run skips the runs after it in its file.
SETUP = """
mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b"] }
  }
  # The provider checks that policies are JSON even when mocked.
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\\"Version\\":\\"2012-10-17\\",\\"Statement\\":[]}" }
  }
}

variables {
  admin_cidrs         = ["198.51.100.7/32"]
  ssh_public_key      = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIExampleExampleExample t"
  ami_id              = "ami-12345678"
  app_scaling         = "asg"
  domain              = "links.example.test"
  asg_certificate_arn = "arn:aws:acm:us-east-1:123456789012:certificate/test"
}
"""
REFUSED = {  # run name: (the one setting it changes, what the error must say)
    "no_domain": ('domain = ""', "with a certificate for domain: set domain"),
    "no_certificate": ("asg_certificate_arn = null", "and route53_zone_id (a DNS-validated"),
    "database_on_ec2": ('database_mode = "ec2"', 'needs database_mode = "managed" (RDS)'),
    "redis_on_ec2": ('cache_mode = "ec2"', 'needs cache_mode = "managed" (ElastiCache)'),
    "sizes": ("asg_desired_capacity = 9", "asg_min_size <= asg_desired_capacity <= asg_max_size"),
    "unknown_tier": ('app_scaling = "elastic"', 'app_scaling must be "fixed" or "asg"'),
    # Checked by the root alone (the network module has no other caller).
    "small_vpc": ('vpc_cidr = "10.20.0.0/28"', "vpc_cidr must be an IPv4 CIDR block between /16"),
}


def test_bad_settings_are_refused_at_plan(tmp_path: Path, plugin_dir: Path) -> None:
    workdir = aws.copy_module(TERRAFORM_SRC, tmp_path / "root")
    (workdir / "tests").mkdir()
    for name, setting in [("valid", ""), *((n, s) for n, (s, _) in REFUSED.items())]:
        run = f'run "{name}" {{\n  command = plan\n  variables {{\n    {setting}\n  }}\n}}\n'
        (workdir / "tests" / f"{name}.tftest.hcl").write_text(SETUP + run)
    aws.terraform(workdir, "init", "-backend=false", "-input=false", f"-plugin-dir={plugin_dir}")
    result = aws.terraform(workdir, "test", "-json", check=False, timeout=600)
    status: dict[str, str] = {}
    errors: dict[str, str] = {}
    for event in map(json.loads, result.stdout.splitlines()):
        if event.get("type") == "test_run" and event["test_run"]["progress"] == "complete":
            status[event["test_run"]["run"]] = event["test_run"]["status"]
        elif event.get("type") == "diagnostic" and "@testrun" in event:
            detail = " ".join(event["diagnostic"].get("detail", "").split())
            errors[event["@testrun"]] = f"{errors.get(event['@testrun'], '')} {detail}"
    assert status == {"valid": "pass", **dict.fromkeys(REFUSED, "error")}, result.stdout
    for name, (_, message) in REFUSED.items():
        assert message in errors.get(name, ""), (name, errors.get(name))


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


# ------------------------------------------------------------------ README tables
BLOCK = re.compile(r'^(?P<kind>variable|output) "(?P<name>[^"]+)" \{(?P<body>.*?)^\}', re.M | re.S)
DESCRIPTION = re.compile(r'^  description\s*=\s*"(?P<text>(?:[^"\\]|\\.)*)"', re.M)
DEFAULT = re.compile(r"^  default\s*=\s*(?P<value>.+)$", re.M)
SECTION = re.compile(
    r"^## (?:Inputs and outputs of the (?P<root>root) module|Module `(?P<module>\w+)`)$", re.M
)


def declared(module_dir: Path, kind: str) -> list[tuple[str, str, str | None]]:
    """(name, description, one-line default or None when required) of each block, in file order."""
    path = module_dir / ("variables.tf" if kind == "variable" else "outputs.tf")
    rows = []
    for block in BLOCK.finditer(path.read_text()):
        if block["kind"] != kind:
            continue
        description = DESCRIPTION.search(block["body"])
        assert description, f"{path}: {block['name']} has no one-line description"
        default = DEFAULT.search(block["body"])
        rows.append(
            (
                block["name"],
                description["text"].replace('\\"', '"'),
                default["value"].strip() if default else None,
            )
        )
    return rows


def documented() -> dict[str, dict[str, list[list[str]]]]:
    """README tables by module ("root" or the module's folder): header cell -> rows of cells."""
    text = (TERRAFORM_SRC / "README.md").read_text()
    marks = list(SECTION.finditer(text))
    tables: dict[str, dict[str, list[list[str]]]] = {}
    for i, mark in enumerate(marks):
        body = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        section = tables.setdefault(mark["root"] or mark["module"], {})
        header = None
        for line in body.splitlines():
            if not line.startswith("|"):
                header = None
                continue
            if set(line) <= set("|-: "):
                continue  # the header's rule
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            if header is None:
                header = cells[0]
                section[header] = []
            else:
                section[header].append(cells)
    return tables


@pytest.mark.parametrize("module", ["root", *MODULES])
def test_readme_tables_match_the_code(module: str) -> None:
    """terraform/README.md lists every input and output of each module, in file order, with the
    description, and the default the code has; nothing the code does not declare."""
    module_dir = TERRAFORM_SRC if module == "root" else TERRAFORM_SRC / "modules" / module
    tables = documented().get(module)
    assert tables, f"terraform/README.md has no section for {module}"

    inputs = tables.get("name", [])
    assert [row[0] for row in inputs] == [f"`{n}`" for n, _, _ in declared(module_dir, "variable")]
    for (name, description, default), row in zip(
        declared(module_dir, "variable"), inputs, strict=True
    ):
        assert row[3].startswith(description), f"{module}: {name}'s description differs"
        expected = "**required**" if default is None else f"`{default}`"
        assert row[2] == expected, (
            f"{module}: {name}'s default is {default}, the README says {row[2]}"
        )

    outputs = tables.get("output", [])
    assert [row[0] for row in outputs] == [f"`{n}`" for n, _, _ in declared(module_dir, "output")]
    for (name, description, _), row in zip(declared(module_dir, "output"), outputs, strict=True):
        assert row[1] == description, f"{module}: output {name}'s description differs"
