"""Terraform on an offline provider mirror, and moto's AWS emulator on loopback (the Terraform
and deploy tests).

Nothing here talks to real AWS: every endpoint is 127.0.0.1 and the credentials are fake.
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.need import need
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.procs import run, stop
from tests.support.venvs import tool_venv

TERRAFORM_SRC = REPO / "terraform"
HERE = Path(__file__).resolve().parent
MOTO_REQUIREMENTS = HERE / "requirements-moto.txt"
REGION = "us-east-1"

# AWS services the root module calls; each is pointed at the aws.
SERVICES = ("ec2", "iam", "sts", "kms", "logs", "rds", "elasticache", "secretsmanager",
            "elbv2", "autoscaling", "acm", "route53", "s3", "ssm")  # fmt: skip


# ------------------------------------------------------------------ tools
def terraform_bin() -> str:
    path = shutil.which("terraform")
    need(path is not None, "terraform is not on PATH")
    return str(path)


def plugin_dir() -> Path:
    """The folder holding registry.terraform.io/hashicorp/aws/... (the offline provider mirror)."""
    candidates = [os.environ.get("TF_PLUGIN_DIR", "")]
    pattern = "registry.terraform.io/hashicorp/aws/*/*/terraform-provider-aws_*"
    for root in ("/opt/*", "/usr/local/share/*", str(Path.home() / ".terraform.d/plugins")):
        for hit in glob.glob(f"{root}/{pattern}"):
            candidates.append(str(Path(hit).parents[5]))
    for candidate in candidates:
        if candidate and (Path(candidate) / "registry.terraform.io/hashicorp/aws").is_dir():
            return Path(candidate)
    need(False, "no local mirror of the hashicorp/aws provider (set TF_PLUGIN_DIR)")
    raise AssertionError("unreachable")


def terraform_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for terraform: no CLI config, no update check, no real AWS credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_VAR_")) and key != "TF_CLI_CONFIG_FILE"
    }
    env.update(
        TF_CLI_CONFIG_FILE="/dev/null",
        TF_IN_AUTOMATION="1",
        CHECKPOINT_DISABLE="1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_EC2_METADATA_DISABLED="true",
    )
    env.update(extra or {})
    return env


def terraform(
    workdir: Path, *args: str, check: bool = True, timeout: int = 400
) -> subprocess.CompletedProcess[str]:
    return run([terraform_bin(), *args], cwd=workdir, env=terraform_env(), timeout=timeout,
               check=check)  # fmt: skip


def copy_module(src: Path, dest: Path) -> Path:
    """Copy a module without local state, so tests never write into the source tree. The root
    module's committed lock file comes along: init then checks the provider against it."""
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*"))
    return dest


# ------------------------------------------------------------------ emulator
@contextmanager
def moto_server(host: str = "127.0.0.1", log_dir: Path | None = None) -> Iterator[str]:
    """moto's server on a free port of `host` (loopback unless stand-in hosts must reach it, e.g.
    their network's gateway address), serving one request at a time (moto_serial.py says why);
    yields its endpoint URL. Its request log stays in `log_dir` when one is given (e.g. a test's
    tmp_path, which pytest keeps for the last runs), else it goes with the server."""
    venv = tool_venv("moto", MOTO_REQUIREMENTS)
    port = free_port()
    log = Path(log_dir or tempfile.mkdtemp(prefix="moto-")) / "moto.log"
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(venv / "bin/python"), str(HERE / "moto_serial.py"), host, str(port)],
            # A requested ACM certificate turns ISSUED after this many seconds (moto's default: 60).
            env={**os.environ, "MOTO_ACM_VALIDATION_WAIT": "2"},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://{host}:{port}"
    try:
        for _ in range(100):
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):
                    break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(f"moto_server exited: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        else:
            raise AssertionError("moto_server did not start in 20 s")
        yield endpoint
    finally:
        stop(process)
        if log_dir is None:
            shutil.rmtree(log.parent, ignore_errors=True)


def write_override(workdir: Path, endpoint: str, max_retries: int = 25) -> None:
    """Provider settings for the emulator, in an override file that only test copies get."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in SERVICES)
    (workdir / "emulator_override.tf").write_text(
        f"""# Test only: the AWS provider talks to moto on loopback with fake credentials.
provider "aws" {{
  access_key                  = "test"
  secret_key                  = "test"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  max_retries                 = {max_retries}
  # moto serves every bucket under its one endpoint, not as <bucket>.<endpoint>.
  s3_use_path_style           = true
  endpoints {{
{endpoints}
  }}
}}
"""
    )


def write_module_overrides(workdir: Path) -> None:
    """Module settings moto cannot take, in override files only test copies get. moto applies a
    bucket policy's statements without their conditions (moto/s3/responses.py: "Conditions are
    not taken into account"), so the release bucket's DenyPlainHTTP (s3:* when
    aws:SecureTransport is false) would deny every object call, over HTTPS too: the copy keeps
    that statement, read from the module, for one action no test calls."""
    module = workdir / "modules/app_scaling"
    policy = re.search(
        r'^data "aws_iam_policy_document" "releases_bucket" \{$.*?^\}$',
        (module / "main.tf").read_text(),
        re.DOTALL | re.MULTILINE,
    )
    assert policy is not None, "modules/app_scaling/main.tf: the releases_bucket policy moved"
    every_action = 'actions   = ["s3:*"]'
    assert every_action in policy[0], policy[0]
    (module / "emulator_override.tf").write_text(
        "# Test only: moto ignores policy conditions (see tests/support/aws.py).\n"
        + policy[0].replace(every_action, 'actions   = ["s3:PutBucketWebsite"]')
        + "\n"
    )


def write_cache_stand_in(workdir: Path) -> None:
    """Managed Redis (modules/cache) for an apply against moto, which cannot round-trip it: it
    creates a replication group without the member clusters the provider reads back right after
    (DescribeCacheClusters on the first one: CacheClusterNotFound), and has no
    DeleteCacheSubnetGroup, so the subnet group would outlive every destroy. The test copy creates
    neither; its outputs give the endpoint ElastiCache would (TLS on, as the module sets it).
    Plans still show the real resources (test_terraform_emulated.py)."""
    (workdir / "modules/cache/emulator_override.tf").write_text(
        """# Test only: moto cannot apply and destroy these (tests/support/aws.py says why).
resource "aws_elasticache_subnet_group" "this" {
  count = 0
}

resource "aws_elasticache_replication_group" "this" {
  count             = 0
  subnet_group_name = null
}

output "address" {
  value = "master.${var.name}-redis.emulated.invalid"
}

output "port" {
  value = 6379
}

output "tls" {
  value = true
}
"""
    )


def emulator_vars(ssh_public_key: str, ami_id: str, **overrides: object) -> dict[str, object]:
    """Variables for an emulated apply: small, destroyable, without what moto does not implement."""
    variables: dict[str, object] = {
        "name": "flaskmt-test",
        "region": REGION,
        "admin_cidrs": ["198.51.100.7/32"],
        "ssh_public_key": ssh_public_key,
        "ami_id": ami_id,
        "database_mode": "managed",
        # ElastiCache: moto cannot apply it (write_cache_stand_in says why): Redis on EC2, or
        # managed Redis planned, or applied with the stand-in.
        "cache_mode": "ec2",
        "lb_instance_count": 1,
        "app_instance_count": 2,
        "db_deletion_protection": False,
        "db_skip_final_snapshot": True,
        # moto implements neither MonitorInstances nor the AWS-managed RDS monitoring policy.
        "detailed_monitoring": False,
        "db_monitoring_interval": 0,
    }
    variables.update(overrides)
    return variables


def write_var_file(path: Path, variables: dict[str, object]) -> Path:
    path.write_text(json.dumps(variables, indent=2))
    return path


def emulated_root_module(
    tmp_path: Path, endpoint: str, plugin_dir: Path, variables: dict[str, object]
) -> Path:
    """A copy of the root module pointed at the emulator, with its var file, initialised."""
    workdir = copy_module(TERRAFORM_SRC, tmp_path / "terraform")
    write_override(workdir, endpoint)
    write_module_overrides(workdir)
    write_var_file(workdir / "aws.tfvars.json", variables)
    terraform(workdir, "init", "-input=false", f"-plugin-dir={plugin_dir}")
    return workdir


def ssh_public_key(tmp: Path) -> str:
    key = tmp / "id_ed25519"
    if not key.exists():
        need(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is missing")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return (tmp / "id_ed25519.pub").read_text().strip()


def aws_query(endpoint: str, command: str, *args: str) -> Any:
    """Run aws_probe.py COMMAND [ARG...] in the moto venv against the emulator; returns its JSON."""
    python = tool_venv("moto", MOTO_REQUIREMENTS) / "bin" / "python"
    probe = [str(python), str(HERE / "aws_probe.py"), endpoint, command, *args]
    return json.loads(run(probe, env=terraform_env(), timeout=120).stdout)


def first_ami(endpoint: str) -> str:
    """An AMI the emulator knows (moto ships a fixed catalogue; Debian's owner is not in it)."""
    return aws_query(endpoint, "first-ami")


def leftovers(endpoint: str) -> dict[str, list[str]]:
    """Everything of ours still alive in the emulator (empty dict: nothing)."""
    return aws_query(endpoint, "leftovers")
