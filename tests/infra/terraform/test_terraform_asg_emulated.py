"""The elastic app tier (app_scaling = "asg") against an emulated AWS (moto on loopback).

One cycle through the deploy CLI as a user runs it: `up --scaling asg` (apply, the app's secrets
in SSM, the first release published, the group waited for as far as the API says), everything
read back with boto3 (launch template, group, scaling policy, ALB, listeners, target group,
certificate and the domain's alias record, bucket, parameters, the artifact), `release`
(artifact, pointer, instance refresh), `down` (destroy, the secrets removed) and a sweep that
finds nothing left.
What moto cannot show: instances that boot (user data is stored, never run), health checks that
call /readyz (it calls every registered target healthy), scaling that reacts to load, instance
refreshes (StartInstanceRefresh is not implemented: a stand-in answers those two calls,
tests/support/refresh_api.py), ACM that checks the DNS record (it issues after a delay whatever
the zone holds), and ElastiCache, which it cannot create and destroy (the test copy stands in for
the cache module's two resources: aws.write_cache_stand_in). The smoke test over HTTPS is skipped
(--no-smoke): the name leads nowhere here.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.support import aws
from tests.support.deploy_cli import run_deploy
from tests.support.procs import run
from tests.support.refresh_api import refresh_api

DOMAIN = "links.example.test"
PREFIX = "/flaskmt-test/app"


def _asg_vars(ssh_public_key: str, ami_id: str, **overrides: object) -> dict[str, object]:
    return aws.emulator_vars(
        ssh_public_key,
        ami_id,
        app_scaling="asg",
        domain=DOMAIN,
        cache_mode="managed",
        asg_min_size=1,
        asg_desired_capacity=2,
        asg_max_size=4,
        asg_target_requests_per_instance=500,
        asg_min_healthy_percentage=50,
        alb_deletion_protection=False,
        release_bucket_force_destroy=True,
        **overrides,
    )


def test_asg_mode_deploys_releases_and_destroys_through_the_cli(
    tmp_path: Path, aws_endpoint: str, plugin_dir: Path, ssh_public_key: str
) -> None:
    zone_id = aws.aws_query(aws_endpoint, "create-zone", DOMAIN)
    variables = _asg_vars(ssh_public_key, aws.first_ami(aws_endpoint), route53_zone_id=zone_id)
    del variables["app_scaling"]  # given on the command line: `up --scaling asg`
    workdir = aws.copy_module(aws.TERRAFORM_SRC, tmp_path / "terraform")
    aws.write_override(workdir, aws_endpoint)
    aws.write_module_overrides(workdir)
    aws.write_cache_stand_in(workdir)
    var_file = aws.write_var_file(tmp_path / "asg.tfvars.json", variables)
    inventory = tmp_path / "inventory.yml"
    env = {"TF_PLUGIN_DIR": str(plugin_dir), "AWS_ENDPOINT_URL": aws_endpoint}
    common = ("--terraform-dir", str(workdir), "--var-file", str(var_file))
    try:
        up = run_deploy(*common, "up", "--scaling", "asg", "--no-smoke", "--timeout", "120",
                        inventory=inventory, env=env, timeout=900)  # fmt: skip
        assert up.returncode == 0, up.stderr
        group_health = json.loads(up.stdout)
        outputs = {
            key: value["value"]
            for key, value in json.loads(aws.terraform(workdir, "output", "-json").stdout).items()
        }
        snap = aws.aws_query(aws_endpoint, "scaling-snapshot", PREFIX)
        print(json.dumps(snap, indent=1))  # shown when an assertion below fails
        fixed = aws.aws_query(aws_endpoint, "snapshot")
        state = (workdir / "terraform.tfstate").read_text()
        # A release: the artifact (the same tree: the same one), the pointer, a refresh.
        with refresh_api() as api:
            release = run_deploy(
                "--terraform-dir", str(workdir), "release", "--no-smoke", inventory=inventory,
                env={**env, "AWS_ENDPOINT_URL_AUTO_SCALING": api.url},
            )  # fmt: skip
        assert release.returncode == 0, release.stderr
        published = json.loads(release.stdout)
        released = aws.aws_query(aws_endpoint, "release-state", snap["bucket"]["name"], PREFIX)
    finally:
        down = run_deploy(*common, "down", "--yes", inventory=inventory, env=env, timeout=900)
    assert down.returncode == 0, down.stderr
    assert f"deleted {PREFIX}/secret/SECRET_KEY" in down.stderr
    # The instances configure themselves: no inventory, no Ansible run over SSH.
    assert not inventory.exists()
    assert "ansible-playbook" not in up.stderr
    assert group_health == {
        "asg_name": "flaskmt-test-app", "min_size": 1, "in_service": 2, "healthy_targets": 2,
    }  # fmt: skip

    # The fixed tier is off: no nginx or app instances of its own, no Redis host; the bastion stays.
    assert sorted(i["role"] for i in fixed["instances"] if i["role"] != "app") == ["bastion"]
    assert outputs["public_url"] == f"https://{DOMAIN}"
    assert outputs["lb_hosts"] == {} and outputs["app_hosts"] == {}
    scaling = outputs["app_scaling"]
    assert scaling["ssm_prefix"] == PREFIX
    assert scaling["asg_name"] == "flaskmt-test-app"
    assert scaling["release_bucket"] == snap["bucket"]["name"]

    group = snap["group"]
    assert (group["min"], group["desired"], group["max"]) == (1, 2, 4)
    assert group["health_check_type"] == "ELB"
    assert group["target_groups"] == [snap["target_group"]["arn"]]
    assert group["instances"] == 2
    assert group["subnet_tiers"] == ["app", "app"]
    # the provider's default tags reach the instances the group launches, both ways AWS tags them
    for tags in (group["propagated_tags"], snap["launch_template"]["instance_tags"]):
        assert (tags.get("Project"), tags.get("ManagedBy"), tags.get("Role")) == (
            "flaskmt-test",
            "terraform",
            "app",
        ), tags
    assert snap["policies"] == [
        {"type": "TargetTrackingScaling", "metric": "ALBRequestCountPerTarget", "target": 500.0}
    ]

    lb = snap["load_balancer"]
    # Internet-facing: in the public subnets (moto omits Scheme when the request did not name it).
    assert lb["type"] == "application" and lb["scheme"] in ("internet-facing", None)
    assert lb["subnet_tiers"] == ["public", "public"]
    assert lb["attributes"]["routing.http.drop_invalid_header_fields.enabled"] == "true"
    assert lb["attributes"]["deletion_protection.enabled"] == "false"
    # The zone that validated the certificate points the domain at the ALB (an alias record).
    [record] = snap["records"]
    assert (record["name"].rstrip("."), record["type"], record["health"]) == (DOMAIN, "A", True)
    assert record["alias"].rstrip(".").lower() == lb["dns_name"].lower()
    [certificate] = snap["certificates"]
    assert (certificate["domain"], certificate["status"]) == (DOMAIN, "ISSUED")
    listeners = {listener["port"]: listener for listener in snap["listeners"]}
    assert listeners[443]["protocol"] == "HTTPS"
    assert listeners[443]["certificates"] == [certificate["arn"]]
    assert listeners[443]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[443]["action"] == "forward"
    assert listeners[80]["action"] == "redirect"
    assert listeners[80]["redirect"]["Protocol"] == "HTTPS"
    assert listeners[80]["redirect"]["StatusCode"] == "HTTP_301"
    assert snap["target_group"]["health_path"] == "/readyz"
    assert (snap["target_group"]["protocol"], snap["target_group"]["port"]) == ("HTTP", 80)

    template = snap["launch_template"]
    assert template["metadata"]["HttpTokens"] == "required"
    assert [v["Encrypted"] for v in template["volumes"]] == [True]
    assert template["profile"]["Arn"].endswith(":instance-profile/flaskmt-test-asg-instance")
    user_data = base64.b64decode(template["user_data"]).decode()
    assert f'SSM_PREFIX="{PREFIX}"' in user_data
    assert f'BUCKET="{snap["bucket"]["name"]}"' in user_data
    assert "asg-instance.yml -c local" in user_data
    # The rendered script is valid bash (Terraform's template escapes left none of ours broken).
    syntax = run(["bash", "-n"], input=user_data, check=False)
    assert syntax.returncode == 0, syntax.stderr

    bucket = snap["bucket"]
    assert bucket["versioning"] == "Enabled"
    assert all(bucket["public_access_block"].values())
    assert bucket["encryption"]["SSEAlgorithm"] == "aws:kms"

    # The first release `up` published, and the one `release` rolled (the same tree).
    parameters = snap["parameters"]
    first = parameters[f"{PREFIX}/release"]["value"]
    assert f"first release {first} published" in up.stderr
    assert published["release"] == first
    assert published["artifact"] == f"s3://{bucket['name']}/releases/{first}.tar.gz"
    assert "ansible/asg-instance.yml" in released["artifacts"][f"releases/{first}.tar.gz"]
    assert released["parameters"][f"{PREFIX}/release"]["value"] == first
    # The pointer keeps the key Terraform gave it (the one the instance role may decrypt with).
    keys = {p["key"] for p in released["parameters"].values()}
    assert len(keys) == 1 and None not in keys
    [started] = api.started
    assert (started["AutoScalingGroupName"], started["Strategy"]) == ("flaskmt-test-app", "Rolling")
    assert started["Preferences.MinHealthyPercentage"] == "50"
    assert published["instance_refresh"] == "refresh-1"
    assert {name.rsplit("/", 1)[1] for name in parameters if "/env/" in name} == {
        "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "REDIS_HOST", "REDIS_PORT", "REDIS_TLS",
        "PUBLIC_BASE_URL", "ALLOWED_HOSTS", "DB_SECRET_ARN", "VPC_CIDR",
    }  # fmt: skip
    assert parameters[f"{PREFIX}/env/PUBLIC_BASE_URL"]["value"] == f"https://{DOMAIN}"
    assert {p["type"] for p in parameters.values()} == {"SecureString"}
    # Secrets stay out of Terraform: the app's are parameters the CLI made (random, one each),
    # the RDS password lives in Secrets Manager, generated by RDS; none is in the user data, the
    # state or the outputs.
    app_secrets = {
        n.rsplit("/", 1)[1]: p["value"] for n, p in parameters.items() if "/secret/" in n
    }
    assert sorted(app_secrets) == ["ADMIN_TOKEN", "SECRET_KEY"]
    assert len(set(app_secrets.values())) == 2 and min(map(len, app_secrets.values())) >= 48
    [password] = fixed["secrets"]
    for secret in (password, *app_secrets.values()):
        assert secret not in user_data and secret not in state and secret not in json.dumps(outputs)

    # The sweep: nothing of the apply is left, and the validation record went with the certificate.
    assert aws.leftovers(aws_endpoint) == {}
    assert aws.aws_query(aws_endpoint, "delete-zone", zone_id) == ""
