"""The root module against an emulated AWS (moto on loopback): plans and variable validation.

The apply / inspect / destroy cycle of the same root module is driven through the deploy CLI, in
tests/infra/deploy/test_deploy_emulated.py: one cycle proves both (each costs minutes).
ElastiCache stays plan-only here: moto cannot apply and destroy it (aws.write_cache_stand_in).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support import aws


def _planned_types(workdir: Path) -> dict[str, int]:
    aws.terraform(workdir, "plan", "-input=false", "-var-file=aws.tfvars.json", "-out=tfplan")
    plan = json.loads(aws.terraform(workdir, "show", "-json", "tfplan").stdout)
    counts: dict[str, int] = {}
    for change in plan["resource_changes"]:
        if change["change"]["actions"] == ["create"]:
            counts[change["type"]] = counts.get(change["type"], 0) + 1
    return counts


def test_plan_with_managed_cache_and_database(
    tmp_path: Path, aws_endpoint: str, plugin_dir: Path, ssh_public_key: str
) -> None:
    variables = aws.emulator_vars(
        ssh_public_key, aws.first_ami(aws_endpoint), cache_mode="managed", app_instance_count=3
    )
    counts = _planned_types(aws.emulated_root_module(tmp_path, aws_endpoint, plugin_dir, variables))
    assert counts["aws_elasticache_replication_group"] == 1
    assert counts["aws_db_instance"] == 1
    # bastion + 1 lb + 3 app; no db or cache host in managed modes
    assert counts["aws_instance"] == 5
    assert counts["aws_eip"] == 2 + 1  # bastion, lb, one NAT gateway ("single")


def test_bad_variables_are_refused_with_a_clear_message(
    tmp_path: Path, aws_endpoint: str, plugin_dir: Path, ssh_public_key: str
) -> None:
    # Terraform checks every variable before touching AWS and reports all failures at once.
    bad = {
        "admin_cidrs": ["0.0.0.0/0"],
        "database_mode": "aurora",
        "ssh_public_key": "not a key",
        "nat_gateway_mode": "two",
        "name": "Has_Capitals",
        "domain": "https://links.example.com/",
        "acme_email": "not-an-address",
        "route53_zone_id": "zone-1",
    }
    variables = {**aws.emulator_vars(ssh_public_key, "ami-12345678"), **bad}
    workdir = aws.emulated_root_module(tmp_path, aws_endpoint, plugin_dir, variables)
    result = aws.terraform(
        workdir, "plan", "-input=false", "-var-file=aws.tfvars.json", check=False
    )
    assert result.returncode == 1
    errors = " ".join(result.stderr.split())
    for message in (
        "never 0.0.0.0/0",
        "database_mode must be",
        "ssh_public_key must be one OpenSSH public key",
        "nat_gateway_mode must be one of",
        "name must be 3-24 characters",
        "domain must be a lowercase DNS name",
        "acme_email must be an e-mail address",
        "route53_zone_id must be a",
    ):
        assert message in errors
