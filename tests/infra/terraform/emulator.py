"""Shared by tests/infra/terraform and tests/infra/deploy: tool venvs, Terraform on an offline
provider mirror, and moto's AWS emulator on loopback.

Nothing here talks to real AWS: every endpoint is 127.0.0.1 and the credentials are fake.
"""

from __future__ import annotations

import glob
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.need import need

REPO = Path(__file__).resolve().parents[3]
TERRAFORM_SRC = REPO / "terraform"
HERE = Path(__file__).resolve().parent
REGION = "us-east-1"

# AWS services the root module calls; each is pointed at the emulator.
SERVICES = ("ec2", "iam", "sts", "kms", "logs", "rds", "elasticache", "secretsmanager")


# ------------------------------------------------------------------ tools
def tool_venv(name: str, requirements: Path) -> Path:
    """A venv under .run/venvs/ with `requirements` installed; rebuilt when the file changes."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:10]
    venv = REPO / ".run" / "venvs" / f"{name}-{digest}"
    stamp = venv / ".installed"
    if stamp.exists():
        return venv
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    result = subprocess.run(
        [str(venv / "bin/pip"), "install", "--quiet", "-r", str(requirements)],
        capture_output=True,
        text=True,
        check=False,
    )
    need(result.returncode == 0, f"cannot install {requirements.name}: {result.stderr[-2000:]}")
    stamp.touch()
    return venv


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
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [terraform_bin(), *args],
        cwd=workdir,
        env=terraform_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"terraform {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


def copy_module(src: Path, dest: Path) -> Path:
    """Copy a module without local state, so tests never write into the source tree."""
    shutil.copytree(
        src, dest, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", ".terraform.lock.hcl")
    )
    return dest


# ------------------------------------------------------------------ emulator
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def moto_server() -> Iterator[str]:
    """moto's server on a free loopback port; yields its endpoint URL."""
    venv = tool_venv("moto", HERE / "requirements-moto.txt")
    port = free_port()
    log = (REPO / ".run").joinpath(f"moto-{port}.log")
    with log.open("w") as log_file:
        process = subprocess.Popen(
            [str(venv / "bin/moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"http://127.0.0.1:{port}"
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
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


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
  endpoints {{
{endpoints}
  }}
}}
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
        # ElastiCache: moto fails reading replication groups back, so managed Redis is plan-only.
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


def ssh_public_key(tmp: Path) -> str:
    key = tmp / "id_ed25519"
    if not key.exists():
        need(shutil.which("ssh-keygen") is not None, "ssh-keygen (openssh-client) is missing")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    return (tmp / "id_ed25519.pub").read_text().strip()


def aws_query(endpoint: str, command: str) -> Any:
    """Run aws_probe.py COMMAND in the moto venv against the emulator; returns its JSON."""
    venv = tool_venv("moto", HERE / "requirements-moto.txt")
    result = subprocess.run(
        [str(venv / "bin/python"), str(HERE / "aws_probe.py"), endpoint, command],
        capture_output=True,
        text=True,
        env=terraform_env(),
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"aws_probe.py {command} failed: {result.stderr[-2000:]}")
    return json.loads(result.stdout)


def first_ami(endpoint: str) -> str:
    """An AMI the emulator knows (moto ships a fixed catalogue; Debian's owner is not in it)."""
    return aws_query(endpoint, "first-ami")


def leftovers(endpoint: str) -> dict[str, list[str]]:
    """Everything of ours still alive in the emulator (empty dict: nothing)."""
    return aws_query(endpoint, "leftovers")
