"""`python -m deploy` end to end against moto on loopback, and the AWS it builds, inspected.

One cycle: the tutorial's step 6 as written (`cp terraform/terraform.tfvars.example ...`,
`make deploy-plan`, in a copy of the checkout whose terraform/ talks to the emulator), `deploy
up --no-provision` (terraform apply of the root module through python-terraform, then the
inventory), checks of what exists in the emulator against the outputs
and the inventory, `deploy down` (destroy, without python-terraform's -force), and a sweep that
finds nothing left. moto applies the VPC, subnets, NAT, security groups, EC2, Elastic IPs, KMS,
IAM, flow logs and RDS; managed Redis (ElastiCache) is plan-only (see the Terraform tests).
"""

from __future__ import annotations

import ipaddress
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.support import aws, tutorial


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with aws.moto_server() as endpoint:
        yield endpoint


def _rules(snapshot: dict, group: str, direction: str) -> set[tuple[int, str]]:
    return {
        (r["port"], r["peer"])
        for r in snapshot["rules"]
        if r["group"] == group and r["direction"] == direction
    }


def check_resources(outputs: dict, snapshot: dict, variables: dict, state: str) -> None:
    """What exists in the emulator matches the outputs, and each tier is locked down."""
    name = variables["name"]
    vpc = ipaddress.ip_network("10.20.0.0/16")
    private = [*outputs["app_hosts"].values(), *outputs["cache_hosts"].values()]
    private += [h["private_ip"] for h in outputs["lb_hosts"].values()]
    assert all(ipaddress.ip_address(ip) in vpc for ip in private)
    by_role: dict[str, list[dict]] = {}
    for instance in snapshot["instances"]:
        by_role.setdefault(instance["role"], []).append(instance)
    assert sorted(i["private_ip"] for i in by_role["app"]) == sorted(outputs["app_hosts"].values())
    assert [i["public_ip"] for i in by_role["bastion"]] == [outputs["bastion_public_ip"]]
    assert all(i["public_ip"] is None for i in by_role["app"] + by_role["cache"])
    assert all(i["http_tokens"] == "required" for i in snapshot["instances"])
    lb_public = next(iter(outputs["lb_hosts"].values()))["public_ip"]
    assert outputs["public_url"] == f"https://{lb_public}"
    # no domain: the project CA signs nginx's certificate, no DNS record to create
    assert outputs["tls"]["mode"] == "self_signed"
    assert outputs["dns_records"] == []

    # RDS: private, encrypted, its password generated into Secrets Manager and nowhere else.
    (database,) = snapshot["databases"]
    assert database["encrypted"] is True
    assert database["public"] is False
    assert database["groups"] == [snapshot["group_ids"][f"{name}-db"]]
    assert outputs["database"]["secret_arn"] == database["secret_arn"]
    (password,) = snapshot["secrets"]
    assert len(password) >= 8
    assert password not in state
    assert password not in json.dumps(outputs)

    # Least privilege: each tier opens only what the next one needs.
    bastion = f"{name}-bastion"
    assert _rules(snapshot, f"{name}-lb", "ingress") == {
        (80, "0.0.0.0/0"),
        (443, "0.0.0.0/0"),
        (22, bastion),
    }
    assert _rules(snapshot, f"{name}-app", "ingress") == {(8000, f"{name}-lb"), (22, bastion)}
    assert _rules(snapshot, f"{name}-db", "ingress") == {(5432, f"{name}-app"), (22, bastion)}
    assert _rules(snapshot, f"{name}-cache", "ingress") == {(6379, f"{name}-app"), (22, bastion)}
    assert _rules(snapshot, bastion, "ingress") == {(22, variables["admin_cidrs"][0])}
    assert (8000, f"{name}-app") in _rules(snapshot, f"{name}-lb", "egress")
    assert all(r["protocol"] == "tcp" for r in snapshot["rules"] if r["group"].startswith(name))
    # The VPC's default group is taken over and left without any rule.
    defaults = [r for r in snapshot["rules"] if r["group"] == "default"]
    assert not [r for r in defaults if r["vpc"] == outputs["vpc_id"]]


def check_inventory(outputs: dict, inventory: dict, key: Path) -> None:
    """The inventory holds exactly the hosts and addresses Terraform reports."""
    groups = inventory["all"]["children"]
    for group in ("app", "db", "cache"):
        hosts = {name: h["ansible_host"] for name, h in groups[group]["hosts"].items()}
        assert hosts == outputs[f"{group}_hosts"]
    lbs = {
        name: {"public_ip": h["public_address"], "private_ip": h["private_address"]}
        for name, h in groups["lb"]["hosts"].items()
    }
    assert lbs == outputs["lb_hosts"]
    # Managed PostgreSQL: no db host; the app hosts get the RDS endpoint.
    assert groups["db"]["hosts"] == {}
    for host in groups["app"]["hosts"].values():
        assert host["app_db_host"] == outputs["database"]["host"]
        assert host["app_db_port"] == 5432
    variables = inventory["all"]["vars"]
    assert variables["ansible_user"] == outputs["ssh_user"]
    assert f"admin@{outputs['bastion_public_ip']}" in variables["ansible_ssh_common_args"]
    assert variables["ansible_ssh_private_key_file"] == str(key)
    assert variables["deploy_public_url"] == outputs["public_url"]
    assert variables["deploy_db_secret_arn"] == outputs["database"]["secret_arn"]


# Where the instance groups and security groups stood before they became for_each maps.
OLD_ADDRESSES = {
    'module.instances["bastion"]': "module.bastion",
    'module.instances["lb"]': "module.lb",
    'module.instances["app"]': "module.app",
    'module.instances["db"]': "module.db_host",
    'module.instances["cache"]': "module.cache_host",
    **{
        f'module.security.aws_security_group.tier["{tier}"]': (
            f"module.security.aws_security_group.{tier}"
        )
        for tier in ("bastion", "lb", "app", "db", "cache")
    },
}


def _planned_changes(workdir: Path, var_file: Path, plan_file: str) -> list[dict]:
    aws.terraform(workdir, "plan", "-input=false", f"-var-file={var_file}", f"-out={plan_file}")
    return json.loads(aws.terraform(workdir, "show", "-json", plan_file).stdout)["resource_changes"]


def _replaced(changes: list[dict]) -> set[str]:
    return {c["address"] for c in changes if set(c["change"]["actions"]) == {"create", "delete"}}


def _under(address: str, prefix: str) -> bool:
    return address == prefix or address.startswith(f"{prefix}.")


def check_moves_keep_old_state(workdir: Path, var_file: Path) -> None:
    """A state written by the configuration before the for_each maps (its addresses put back with
    `state mv`) plans no destroy and no create: the moved blocks carry it over. What a re-plan
    replaces anyway (the emulator's read-back drift) is measured first and must stay the same."""
    drift = _replaced(_planned_changes(workdir, var_file, "before.tfplan"))
    listed = aws.terraform(workdir, "state", "list").stdout.split()
    for new, old in OLD_ADDRESSES.items():
        if any(_under(address, new) for address in listed):  # an empty group has none
            aws.terraform(workdir, "state", "mv", new, old)
    changes = _planned_changes(workdir, var_file, "moved.tfplan")
    lone = [c["address"] for c in changes if c["change"]["actions"] in (["create"], ["delete"])]
    assert lone == [], lone
    assert _replaced(changes) == drift
    moved = {c["previous_address"] for c in changes if c.get("previous_address")}
    # bastion, lb (+ Elastic IPs), 3 app, cache host, five groups
    assert len(moved) == 2 + 2 + 3 + 1 + 5, sorted(moved)
    assert all(any(_under(m, old) for old in OLD_ADDRESSES.values()) for m in moved), moved


def test_plan_up_inspect_down(run_deploy, tmp_path: Path, aws_endpoint: str) -> None:
    copy = tutorial.reader_checkout(tmp_path / "repo", venv=False)
    workdir = copy / "terraform"
    aws.write_override(workdir, aws_endpoint)
    ami = aws.first_ami(aws_endpoint)
    env = {"TF_PLUGIN_DIR": str(aws.plugin_dir())}

    # The tutorial's plan, with the example var file as the reader copies it (its example CIDR
    # and key are valid; the editor changes nothing else); the example leaves ami_id to a Debian
    # image lookup that the emulator cannot answer: the reader's shell gives one.
    (step,) = tutorial.claim("6", "aws-emulator")
    reader = {"TF_VAR_ami_id": ami, "EDITOR": str(tutorial.reader_editor(tmp_path))}
    plan = tutorial.run(
        step.code, cwd=copy, env=aws.terraform_env({**env, **reader}),
        log=tmp_path / "plan-step.log", timeout=900,
    )  # fmt: skip
    tutorial.assert_as_promised(step, step.code, plan)
    assert 'module.instances["app"].aws_instance.this[1] will be created' in plan.output
    assert "module.database[0].aws_db_instance.this will be created" in plan.output
    assert not (workdir / "terraform.tfstate").exists()  # a plan creates nothing
    # the cycle below uses the emulator's variables alone (terraform would also read this file)
    (workdir / "terraform.tfvars").unlink()

    public_key = aws.ssh_public_key(tmp_path)
    key = tmp_path / "id_ed25519"
    variables = aws.emulator_vars(
        public_key,
        ami,
        name="flaskmt-e2e",
        database_mode="managed",  # RDS: moto applies it
        cache_mode="ec2",  # ElastiCache: plan-only in moto
        app_instance_count=3,
    )
    var_file = aws.write_var_file(tmp_path / "emulated.tfvars.json", variables)
    common = ("--terraform-dir", str(workdir), "--var-file", str(var_file), "--ssh-key", str(key))

    started = time.monotonic()
    up = run_deploy(*common, "up", "--no-provision", env=env)
    print(f"deploy up (terraform apply + inventory): {time.monotonic() - started:.0f} s")
    try:
        assert up.returncode == 0, up.stderr
        # What Terraform and the emulator say, read independently of the deploy CLI.
        raw = json.loads(aws.terraform(workdir, "output", "-json").stdout)
        outputs = {name: item["value"] for name, item in raw.items()}
        assert len(outputs["app_hosts"]) == 3
        state = aws.terraform(workdir, "state", "pull").stdout
        check_resources(outputs, aws.aws_query(aws_endpoint, "snapshot"), variables, state)
        check_inventory(outputs, yaml.safe_load((tmp_path / "inventory.yml").read_text()), key)
        check_moves_keep_old_state(workdir, var_file)
    finally:
        started = time.monotonic()
        down = run_deploy(*common, "down", "--yes", env=env)
        print(f"deploy down (terraform destroy): {time.monotonic() - started:.0f} s")
    assert down.returncode == 0, down.stderr
    assert aws.leftovers(aws_endpoint) == {}
