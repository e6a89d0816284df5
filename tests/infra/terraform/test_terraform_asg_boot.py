"""The Auto Scaling instances' boot path, for real: the module's user data, rendered by Terraform
itself, runs on a fresh stand-in systemd host as cloud-init runs it (root, from a systemd unit,
no HOME), against the emulator's S3, SSM and Secrets Manager (moto) and stand-ins for RDS and
ElastiCache that refuse plain connections as they do. The instance starts before the first
release is published (as in a new environment, it waits for the pointer), and must come up serving
the app through its own nginx; then a second artifact is published and the boot's release step
runs again, and the host must serve the new release.

It lives with the Terraform tests because what it proves is the module's boot script and the
names it shares with the module (bucket, SSM path, secret); the hosts are the Ansible tests'.

What stands in for what, and what is not shown:
- the ALB is this machine (the hosts' network gateway, inside VPC_CIDR): it sends what the ALB
  sends (plain HTTP to port 80, the public Host, X-Forwarded-For/-Proto); no TLS, listener rules
  or health-check schedule are emulated.
- the instance role is replaced by fake credentials in the environment (moto checks no IAM
  policy, so the role's read-only limits are not exercised), and IMDSv2 is absent.
- the second release runs the same user data again on the same host, not on a new one: a second
  fresh boot would repeat the first run's package and pip work, and a refresh's new instance runs
  exactly this script against the moved pointer; what the re-run adds is the rollover on a host
  that already serves the old release.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import secrets
import shlex
import subprocess
import tarfile
import threading
import time
from pathlib import Path

import pytest
import requests

from tests.support import aws
from tests.support.ansible import Runner, ensure_ansible_venv, extra_ca_certificates
from tests.support.apt import ensure_debian_packages
from tests.support.certs import server_certificate
from tests.support.deploy_flow import MANAGED_SERVICES_PLAYBOOK
from tests.support.hosts import Hosts, boot_hosts, ensure_host_image
from tests.support.need import need
from tests.support.paths import REPO
from tests.support.procs import run
from tests.support.timing import phase, record_phase
from tests.support.venvs import tool_venv

NAME = "flaskmt-test"  # var.name: the SSM path, the bucket and the instances' names follow
DOMAIN = "links.example.test"
TEMPLATE = REPO / "terraform/modules/app_scaling/user_data.sh.tftpl"
SEED = Path(aws.__file__).with_name("asg_seed.py")
INSTANCE = "asg1"
SCRIPT = "/var/lib/cloud/instance/scripts/part-001"  # where cloud-init keeps the user data
# What the second release changes: a page the app renders and a file nginx serves.
MARKER = "<!-- second release -->"
CSS_MARKER = "/* second release */"


def _render_user_data(workdir: Path, variables: dict[str, str]) -> str:
    """The user data as the module's launch template holds it: templatefile() run by Terraform."""
    workdir.mkdir()
    (workdir / "main.tf").write_text(
        'variable "vars" {\n  type = map(string)\n}\n\n'
        'output "user_data" {\n'
        f'  value = templatefile("{TEMPLATE}", var.vars)\n'
        "}\n"
    )
    aws.write_var_file(workdir / "render.tfvars.json", {"vars": variables})
    aws.terraform(workdir, "apply", "-auto-approve", "-input=false",
                  "-var-file=render.tfvars.json")  # fmt: skip
    return aws.terraform(workdir, "output", "-raw", "user_data").stdout


def _artifact(directory: Path, changes: dict[str, str]) -> tuple[str, Path]:
    """A release artifact of the working tree (what a commit of it would hold, as `git archive`
    packs it), with `changes` appended to some files; returns its name and path."""
    listing = run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name in sorted(set(filter(None, listing.stdout.split("\0")))):
            path = REPO / name
            if not path.is_file():
                continue  # deleted in the working tree
            data = path.read_bytes() + changes.get(name, "").encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), path.stat().st_mode & 0o755 | 0o644
            tar.addfile(info, io.BytesIO(data))
    release = hashlib.sha256(buffer.getvalue()).hexdigest()[:12]
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{release}.tar.gz"
    path.write_bytes(buffer.getvalue())
    return release, path


def _seed(endpoint: str, command: str, *args: str, stdin: str | None = None) -> dict:
    """asg_seed.py COMMAND in the moto venv (see there)."""
    python = tool_venv("moto", aws.MOTO_REQUIREMENTS) / "bin/python"
    result = run([str(python), str(SEED), endpoint, command, NAME, *args], input=stdin,
                 env=aws.terraform_env(), timeout=120)  # fmt: skip
    return json.loads(result.stdout)


def _network(hosts: Hosts) -> tuple[str, str]:
    """The hosts' subnet (the VPC's CIDR here) and its gateway (this machine: the ALB's place)."""
    info = json.loads(run(["podman", "network", "inspect", hosts.network]).stdout)[0]
    subnet = info["subnets"][0]
    return subnet["subnet"], subnet["gateway"]


def _as_root(hosts: Hosts, command: str, *, stdin: str | None = None, timeout: float = 120):
    login = f"{hosts.user}@{hosts.address(INSTANCE)}"
    # stdin is always a pipe (empty by default): the command never reads the test's terminal
    return run(["ssh", *hosts.ssh_args, login, f"sudo -n {command}"], input=stdin or "",
               timeout=timeout, check=False)  # fmt: skip


def _run_user_data(hosts: Hosts, endpoint: str, log: Path) -> tuple[int, str]:
    """Run the user data as cloud-init's final stage does: root, bash, from a systemd unit (so no
    HOME); the AWS endpoint and fake credentials stand in for the instance role. Returns the exit
    status and the output (also streamed to `log`, to follow a slow boot while it runs)."""
    environment = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
    }
    unit = f"flaskmt-user-data-{secrets.token_hex(3)}"
    setenv = " ".join(f"--setenv={shlex.quote(f'{k}={v}')}" for k, v in environment.items())
    command = f"sudo -n systemd-run --quiet --wait --pipe --collect --unit={unit} {setenv} {SCRIPT}"
    login = f"{hosts.user}@{hosts.address(INSTANCE)}"
    with log.open("w") as sink:
        result = subprocess.run(
            ["ssh", *hosts.ssh_args, login, command],
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            timeout=2400,
            check=False,
        )
    return result.returncode, log.read_text()


def _get(address: str, path: str, **headers: str | None) -> requests.Response:
    """A request as the ALB forwards it: plain HTTP to port 80, the public Host, the client's
    address and scheme in X-Forwarded-*."""
    sent = {"Host": DOMAIN, "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    sent.update(headers)  # a None drops the header
    return requests.get(f"http://{address}{path}", headers=sent, allow_redirects=False, timeout=30)


def _create_link(address: str) -> tuple[dict, str]:
    target = f"https://example.com/asg/{secrets.token_hex(6)}"
    response = requests.post(
        f"http://{address}/api/links",
        json={"url": target},
        headers={"Host": DOMAIN, "X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"},
        timeout=30,
    )
    assert response.status_code == 201, (response.status_code, response.text[:500])
    return response.json(), target


@pytest.mark.timeout(3000)  # two boot runs with package and pip installs, on shared cores
def test_user_data_boots_an_instance_and_rolls_a_release(tmp_path: Path) -> None:
    need(os.geteuid() == 0, "booting stand-in hosts needs root (rootful podman)")
    need(
        run(["git", "rev-parse", "--is-inside-work-tree"], check=False).returncode == 0,
        "git is needed to list the working tree for the release artifact",
    )
    ensure_debian_packages("podman", "openssh-client", "openssl")
    ensure_host_image()
    tools = ensure_ansible_venv()
    first_release, first_artifact = _artifact(tmp_path / "releases", {})
    second_release, second_artifact = _artifact(
        tmp_path / "releases",
        {"app/templates/base.html": MARKER + "\n", "app/static/style.css": CSS_MARKER + "\n"},
    )
    db_password, redis_token = secrets.token_hex(16), secrets.token_hex(16)

    start = time.monotonic()
    with boot_hosts([INSTANCE, "managed"], prefix="fmt-asg") as hosts:
        record_phase("asg boot: boot 2 stand-in hosts", time.monotonic() - start)
        vpc_cidr, gateway = _network(hosts)
        instance, managed = hosts.address(INSTANCE), hosts.address("managed")
        with aws.moto_server(host=gateway) as endpoint:
            # What Terraform (env/) and `python -m deploy` (secret/) write under the SSM path,
            # the RDS-managed secret (of the stand-in below) and the release bucket.
            seeded = _seed(endpoint, "environment", stdin=json.dumps({
                "env": {
                    "DB_HOST": managed, "DB_PORT": "5432", "DB_NAME": "flaskmt",
                    "DB_USER": "flaskmt", "REDIS_HOST": managed, "REDIS_PORT": "6379",
                    "REDIS_TLS": "true", "PUBLIC_BASE_URL": f"https://{DOMAIN}",
                    "ALLOWED_HOSTS": DOMAIN, "VPC_CIDR": vpc_cidr,
                },
                "secret": {"SECRET_KEY": secrets.token_hex(24),
                           "ADMIN_TOKEN": secrets.token_hex(24), "REDIS_PASSWORD": redis_token},
                "db_user": "flaskmt", "db_password": db_password,
            }))  # fmt: skip
            # The launch template's variables (modules/app_scaling/main.tf), with its names.
            user_data = _render_user_data(tmp_path / "render", {
                "region": aws.REGION, "ssm_prefix": seeded["prefix"],
                "release_bucket": seeded["bucket"], "name": NAME,
            })  # fmt: skip

            # The image's trust store, as an AMI's: this machine's proxy CA (pip reaches PyPI
            # through it) and the stand-ins' CA (as Debian trusts Amazon's for ElastiCache).
            certificate = server_certificate(tmp_path, "managed", managed)
            for index, ca in enumerate([*extra_ca_certificates(), str(certificate.ca)]):
                copied = _as_root(
                    hosts, f"tee /usr/local/share/ca-certificates/standin-{index}.crt",
                    stdin=Path(ca).read_text(),
                )  # fmt: skip
                assert copied.returncode == 0, copied.stderr
            trusted = _as_root(hosts, "update-ca-certificates")
            assert trusted.returncode == 0, trusted.stderr
            placed = _as_root(hosts, f"install -D -m 0700 /dev/stdin {SCRIPT}", stdin=user_data)
            assert placed.returncode == 0, placed.stderr

            # The instance boots before the first release exists, as a new environment's do: its
            # packages install while RDS and ElastiCache come up, then it waits for the pointer.
            first_boot: dict[str, tuple[int, str]] = {}
            boot_start = time.monotonic()
            boot = threading.Thread(
                target=lambda: first_boot.update(
                    result=_run_user_data(hosts, endpoint, tmp_path / "user-data-1.log")
                ),
                daemon=True,  # on a failure below, removing the host ends it
            )
            boot.start()

            # RDS and ElastiCache stand-ins: TLS only, the password RDS "generated", an AUTH token.
            standin_vars = {
                "standin_db_name": "flaskmt", "standin_db_user": "flaskmt",
                "standin_db_password": db_password, "standin_redis_token": redis_token,
                "standin_tls_cert": str(certificate.cert), "standin_tls_key": str(certificate.key),
            }  # fmt: skip
            (tmp_path / "managed.yml").write_text(hosts.inventory({"managed": ["managed"]}))
            prepared = Runner(tools, tmp_path / "managed.yml", tmp_path).run(
                str(MANAGED_SERVICES_PLAYBOOK), "-e", json.dumps(standin_vars),
                label="asg boot: stand-in RDS and ElastiCache",
            )  # fmt: skip
            assert prepared.returncode == 0, prepared.tail()

            _seed(endpoint, "release", first_release, str(first_artifact))
            boot.join(timeout=2400)
            record_phase("asg boot: user data, first release", time.monotonic() - boot_start)
            assert "result" in first_boot, "the user data did not finish"
            status, output = first_boot["result"]
            assert status == 0, output[-6000:]
            assert f"flaskmt-boot: release {first_release} is up" in output

            # Served through the host's nginx, by gunicorn, against the stand-ins.
            home = _get(instance, "/")
            assert home.status_code == 200, home.text[:500]
            assert home.headers["X-Served-By"] == f"{NAME}-{INSTANCE}"
            assert home.headers["Strict-Transport-Security"].startswith("max-age=")
            assert MARKER not in home.text
            link, target = _create_link(instance)
            assert link["short_url"] == f"https://{DOMAIN}/{link['code']}"
            redirect = _get(instance, f"/{link['code']}")
            assert redirect.status_code == 302 and redirect.headers["Location"] == target
            assert redirect.headers["X-Served-By"] == f"{NAME}-{INSTANCE}"
            # The ALB's health check: by the instance's address, from inside the VPC.
            ready = _get(instance, "/readyz", Host=instance,
                         **{"X-Forwarded-For": None, "X-Forwarded-Proto": None})  # fmt: skip
            assert ready.status_code == 200, ready.text
            assert ready.json()["status"] == "ok", ready.json()
            assert ready.json()["checks"]["cache"]["backend"] == "redis", ready.json()
            # A name that is not the site's gets nothing else.
            with pytest.raises(requests.ConnectionError):
                _get(instance, "/", Host="other.example.test")
            # The settings and the password were on tmpfs only while Ansible ran.
            leftovers = _as_root(hosts, "find /run -maxdepth 1 -name 'flaskmt-*'")
            assert leftovers.returncode == 0 and leftovers.stdout.strip() == "", leftovers
            # Every session of the app's database user is encrypted (RDS would refuse others).
            query = (
                "SELECT count(*), bool_and(ssl) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)"
                " WHERE usename = 'flaskmt'"
            )
            sessions = hosts.ssh("managed", f'sudo -u postgres psql -tAc "{query}"')
            count, all_ssl = sessions.stdout.strip().split("|")
            assert int(count) > 0 and all_ssl == "t", sessions.stdout + sessions.stderr

            # The second release: a new artifact, the pointer moved, the boot's release step again.
            _seed(endpoint, "release", second_release, str(second_artifact))
            with phase("asg boot: user data, second release"):
                status, output = _run_user_data(hosts, endpoint, tmp_path / "user-data-2.log")
            assert status == 0, output[-6000:]
            assert f"flaskmt-boot: release {second_release} is up" in output

            home = _get(instance, "/")
            assert home.status_code == 200 and MARKER in home.text, home.text[-500:]
            css = _get(instance, "/static/style.css")
            assert css.status_code == 200 and CSS_MARKER in css.text
            # Same database: the link made under the first release still redirects.
            redirect = _get(instance, f"/{link['code']}")
            assert redirect.status_code == 302 and redirect.headers["Location"] == target
