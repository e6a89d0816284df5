"""The deploy CLI's behaviour and error paths, with a recording stand-in for terraform/ansible
(and, for `release`, moto's emulated S3/SSM/KMS and a stand-in for the instance refresh API)."""

from __future__ import annotations

import json
import shutil
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from tests.support import aws
from tests.support.certs import server_certificate
from tests.support.need import need
from tests.support.refresh_api import RefreshApi, refresh_api


def sample_outputs(database_mode: str = "ec2", cache_mode: str = "ec2") -> dict:
    """Outputs shaped like terraform/outputs.tf, with made-up documentation addresses."""
    db_hosts = {"t-db-1": "10.20.128.10"} if database_mode == "ec2" else {}
    cache_hosts = {"t-cache-1": "10.20.129.11"} if cache_mode == "ec2" else {}
    return {
        "public_url": "https://203.0.113.10",
        "tls": {"mode": "self_signed", "domain": "", "acme_email": ""},
        "ssh_user": "admin",
        "bastion_public_ip": "203.0.113.5",
        "lb_hosts": {"t-lb-1": {"public_ip": "203.0.113.10", "private_ip": "10.20.0.10"}},
        "app_hosts": {"t-app-1": "10.20.64.20", "t-app-2": "10.20.80.21"},
        "db_hosts": db_hosts,
        "cache_hosts": cache_hosts,
        "app_port": 8000,
        "database": {
            "mode": database_mode,
            "host": db_hosts.get("t-db-1", "t-postgres.abc.us-east-1.rds.amazonaws.com"),
            "port": 5432,
            "name": "flaskmt",
            "username": None if database_mode == "ec2" else "flaskmt",
            "secret_arn": None
            if database_mode == "ec2"
            else "arn:aws:secretsmanager:us-east-1:1:secret:rds",
        },
        "cache": {
            "mode": cache_mode,
            "host": cache_hosts.get("t-cache-1", "master.t-redis.abc.cache.amazonaws.com"),
            "port": 6379,
            "tls": cache_mode == "managed",
        },
    }


def _err(result) -> str:
    return " ".join(result.stderr.split())


@pytest.fixture
def deploy_faked(run_deploy, fake_terraform):
    """run_deploy with the recording stand-in as the terraform binary, in its environment."""

    def run(*args: str, env: dict[str, str] | None = None):
        env = {**fake_terraform.env, **(env or {})}
        return run_deploy("--terraform-bin", str(fake_terraform.path), *args, env=env)

    return run


# ------------------------------------------------------------------ terraform errors
def test_missing_terraform_binary(run_deploy, var_file: Path) -> None:
    result = run_deploy(
        "--terraform-bin", "/nonexistent/terraform", "--var-file", str(var_file), "plan"
    )
    assert result.returncode == 3, result.stderr
    assert "'/nonexistent/terraform' not found" in _err(result)


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("absent.tfvars", None, "does not exist"),
        ("vars.txt", 'name = "x"', "must end in .tfvars or .tfvars.json"),
        ("vars.tfvars.json", "{not json", "is not valid JSON"),
        ("vars.tfvars.json", "[1, 2]", "must hold a JSON object"),
        (
            "vars.tfvars",
            'db_master_password = "hunter2hunter2hunter2"',
            "pass secrets as environment",
        ),
        ("vars.tfvars", b"\xff\xfe\x00bad", "cannot be read as UTF-8"),
    ],
)
def test_bad_var_file_is_refused_before_terraform_runs(
    deploy_faked,
    fake_terraform,
    tmp_path: Path,
    name: str,
    content: str | bytes | None,
    message: str,
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content)
    result = deploy_faked("--var-file", str(path), "plan")
    assert result.returncode == 4, result.stderr
    assert message in _err(result)
    assert fake_terraform.calls() == []


@pytest.fixture
def deploy_on_copy(run_deploy, tmp_path: Path):
    """run_deploy with the real terraform on a copy of the root module, providers from the local
    mirror, and every AWS endpoint on a closed loopback port: nothing may leave this machine
    (an apply that gets that far fails, after one retry)."""
    copy = aws.copy_module(aws.TERRAFORM_SRC, tmp_path / "terraform")
    aws.write_override(copy, "http://127.0.0.1:9", max_retries=1)

    def run(*args: str):
        env = {"TF_PLUGIN_DIR": str(aws.plugin_dir())}
        return run_deploy("--terraform-dir", str(copy), *args, env=env)

    return run


def test_var_file_that_terraform_cannot_parse(deploy_on_copy, tmp_path: Path) -> None:
    bad = tmp_path / "broken.tfvars"
    bad.write_text('admin_cidrs = ["198.51.100.7/32"\nssh_public_key = \n')
    result = deploy_on_copy("--var-file", str(bad), "plan")
    assert result.returncode == 4, result.stderr
    assert f"terraform plan rejected var file {bad}" in _err(result)


def test_var_file_with_a_value_terraform_refuses(deploy_on_copy, tmp_path: Path) -> None:
    bad = aws.write_var_file(
        tmp_path / "open.tfvars.json",
        {"admin_cidrs": ["0.0.0.0/0"], "ssh_public_key": aws.ssh_public_key(tmp_path)},
    )
    result = deploy_on_copy("--var-file", str(bad), "up", "--no-provision")
    assert result.returncode == 4, result.stderr
    assert f"terraform apply rejected var file {bad}" in _err(result)
    assert "never 0.0.0.0/0" in _err(result)
    assert not (tmp_path / "inventory.yml").exists()


def test_failed_apply_reports_terraform_errors(deploy_on_copy, tmp_path: Path) -> None:
    # AWS unreachable (deploy_on_copy's closed port): the apply itself fails.
    good = aws.write_var_file(
        tmp_path / "good.tfvars.json",
        aws.emulator_vars(aws.ssh_public_key(tmp_path), "ami-12345678"),
    )
    result = deploy_on_copy("--var-file", str(good), "up", "--no-provision")
    assert result.returncode == 5, result.stderr
    assert "terraform apply failed (exit 1)" in _err(result)
    assert "127.0.0.1:9" in _err(result)
    assert not (tmp_path / "inventory.yml").exists()


def test_failed_apply_stops_before_the_inventory(
    deploy_faked, fake_terraform, var_file: Path, tmp_path: Path
) -> None:
    fake_terraform.fail_on("apply", "creating EC2 Instance: InsufficientInstanceCapacity")
    result = deploy_faked("--var-file", str(var_file), "up")
    assert result.returncode == 5
    assert "InsufficientInstanceCapacity" in _err(result)
    # (output: which tier is deployed, kept when neither --scaling nor the var file says)
    assert [call[0] for call in fake_terraform.calls()] == ["init", "output", "apply"]
    assert not (tmp_path / "inventory.yml").exists()


# ------------------------------------------------------------------ outputs and inventory
def test_inventory_before_any_apply(deploy_faked, fake_terraform) -> None:
    fake_terraform.outputs({})
    result = deploy_faked("inventory")
    assert result.returncode == 6
    assert "nothing is deployed yet" in _err(result)


def test_inventory_with_an_output_missing(deploy_faked, fake_terraform) -> None:
    outputs = sample_outputs()
    del outputs["app_hosts"], outputs["bastion_public_ip"]
    fake_terraform.outputs(outputs)
    result = deploy_faked("inventory")
    assert result.returncode == 6
    assert "Terraform outputs missing: bastion_public_ip, app_hosts" in _err(result)


def _inventory(deploy_faked, fake_terraform, tmp_path: Path, outputs: dict, *extra: str) -> dict:
    fake_terraform.outputs(outputs)
    result = deploy_faked(*extra, "inventory")
    assert result.returncode == 0, result.stderr
    path = tmp_path / "inventory.yml"
    assert path.stat().st_mode & 0o077 == 0  # names every host: owner-only
    return yaml.safe_load(path.read_text())


def test_inventory_for_everything_on_ec2(deploy_faked, fake_terraform, tmp_path: Path) -> None:
    outputs = sample_outputs("ec2", "ec2")
    key = str(tmp_path / "id_ed25519")
    Path(key).write_text("a private key\n")
    inventory = _inventory(deploy_faked, fake_terraform, tmp_path, outputs, "--ssh-key", key)
    groups = inventory["all"]["children"]
    assert set(groups) == {"lb", "app", "db", "cache"}
    assert groups["app"]["hosts"] == {
        name: {"ansible_host": ip, "private_address": ip}
        for name, ip in outputs["app_hosts"].items()
    }
    lb = outputs["lb_hosts"]["t-lb-1"]
    assert groups["lb"]["hosts"]["t-lb-1"] == {
        "ansible_host": lb["private_ip"],
        "private_address": lb["private_ip"],
        "public_address": lb["public_ip"],
    }
    assert groups["db"]["hosts"]["t-db-1"]["private_address"] == outputs["db_hosts"]["t-db-1"]
    assert (
        groups["cache"]["hosts"]["t-cache-1"]["ansible_host"] == outputs["cache_hosts"]["t-cache-1"]
    )
    variables = inventory["all"]["vars"]
    assert variables["ansible_user"] == outputs["ssh_user"]
    assert variables["ansible_ssh_private_key_file"] == key
    proxy = variables["ansible_ssh_common_args"]
    assert f"{outputs['ssh_user']}@{outputs['bastion_public_ip']}" in proxy
    assert f"-i {key}" in proxy
    assert "app_db_host" not in json.dumps(groups)  # group_vars/all wires db/cache from the groups


def test_inventory_for_managed_database_and_cache(
    deploy_faked, fake_terraform, tmp_path: Path
) -> None:
    outputs = sample_outputs("managed", "managed")
    inventory = _inventory(deploy_faked, fake_terraform, tmp_path, outputs)
    groups = inventory["all"]["children"]
    assert groups["db"]["hosts"] == {}
    assert groups["cache"]["hosts"] == {}
    for host in groups["app"]["hosts"].values():
        assert host["app_db_host"] == outputs["database"]["host"]
        assert host["app_db_user"] == outputs["database"]["username"]
        assert host["app_db_sslmode"] == "require"  # RDS refuses plain connections
        assert host["app_redis_host"] == outputs["cache"]["host"]
        assert host["app_redis_tls"] is True
    assert inventory["all"]["vars"]["deploy_db_secret_arn"] == outputs["database"]["secret_arn"]
    assert "ansible_ssh_private_key_file" not in inventory["all"]["vars"]


def test_inventory_with_a_domain_asks_for_an_acme_certificate(
    deploy_faked, fake_terraform, tmp_path: Path
) -> None:
    outputs = sample_outputs()
    outputs["public_url"] = "https://links.example.com"
    outputs["tls"] = {
        "mode": "acme",
        "domain": "links.example.com",
        "acme_email": "ops@example.com",
    }
    variables = _inventory(deploy_faked, fake_terraform, tmp_path, outputs)["all"]["vars"]
    assert variables["flaskmt_domain"] == "links.example.com"
    assert variables["nginx_tls_mode"] == "acme"
    assert variables["nginx_acme_email"] == "ops@example.com"
    assert variables["deploy_public_url"] == "https://links.example.com"


def test_inventory_without_a_domain_keeps_the_role_default(
    deploy_faked, fake_terraform, tmp_path: Path
) -> None:
    variables = _inventory(deploy_faked, fake_terraform, tmp_path, sample_outputs())["all"]["vars"]
    assert "nginx_tls_mode" not in variables  # self_signed from the project CA
    assert "flaskmt_domain" not in variables


def test_inventory_with_a_missing_ssh_key(deploy_faked, fake_terraform, tmp_path: Path) -> None:
    fake_terraform.outputs(sample_outputs())
    missing = tmp_path / "nope" / "id_ed25519"
    result = deploy_faked("--ssh-key", str(missing), "inventory")
    assert result.returncode == 1
    assert f"SSH key {missing} does not exist" in _err(result)
    assert fake_terraform.calls() == []


def test_inventory_with_ec2_mode_but_no_host(deploy_faked, fake_terraform) -> None:
    outputs = sample_outputs("ec2", "ec2")
    outputs["cache_hosts"] = {}
    fake_terraform.outputs(outputs)
    result = deploy_faked("inventory")
    assert result.returncode == 6
    assert "cache mode is ec2 but Terraform outputs list no cache host" in _err(result)


# ------------------------------------------------------------------ destroy
def test_down_passes_auto_approve_never_force(deploy_faked, fake_terraform, var_file: Path) -> None:
    result = deploy_faked("--var-file", str(var_file), "down", "--yes")
    assert result.returncode == 0, result.stderr
    (destroy,) = [call for call in fake_terraform.calls() if call[0] == "destroy"]
    assert "-auto-approve" in destroy
    assert "-force" not in destroy
    assert f"-var-file={var_file.resolve()}" in destroy


def test_down_asks_first(deploy_faked, fake_terraform, var_file: Path) -> None:
    result = deploy_faked("--var-file", str(var_file), "down")
    # No terminal answers the question: nothing is destroyed.
    assert result.returncode == 1
    assert "nothing destroyed: answer 'yes' or pass --yes" in _err(result)
    assert [call for call in fake_terraform.calls() if call[0] == "destroy"] == []


# ------------------------------------------------------------------ provision
def test_provision_without_ansible(run_deploy, tmp_path: Path) -> None:
    (tmp_path / "inventory.yml").write_text("all: {}\n")
    result = run_deploy("provision", env={"ANSIBLE_PLAYBOOK": "/nonexistent/ansible-playbook"})
    assert result.returncode == 7
    assert "'/nonexistent/ansible-playbook' not found" in _err(result)


def test_provision_runs_site_yml_with_the_inventory(run_deploy, tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.yml"
    inventory.write_text("all: {}\n")
    record = tmp_path / "ansible-args.json"
    fake = tmp_path / "ansible-playbook"
    fake.write_text(f'#!/bin/sh\nprintf \'%s\\n\' "$PWD" "$@" > {record}\n')
    fake.chmod(0o755)
    result = run_deploy("provision", "--", "-e", "@vault.yml", env={"ANSIBLE_PLAYBOOK": str(fake)})
    assert result.returncode == 0, result.stderr
    cwd, *args = record.read_text().splitlines()
    assert cwd == str(aws.REPO / "ansible")
    assert args == [
        "-i",
        str(inventory),
        str(aws.REPO / "ansible/site.yml"),
        "-e",
        "@vault.yml",
    ]


# ------------------------------------------------------------------ smoke test
class _App(BaseHTTPRequestHandler):
    """A stand-in for the app's public surface: /readyz, POST /api/links, GET /<code>."""

    links: ClassVar[dict[str, str]] = {}
    ready = True
    wrong_redirect = False
    edge_closed = False  # /readyz only for monitoring addresses, as the shared nginx policy does

    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: dict | None = None, location: str | None = None) -> None:
        payload = json.dumps(body or {}).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Served-By", "stand-in")
        if location:
            self.send_header("Location", location)
        self.end_headers()
        self.wfile.write(payload)

    def end_headers(self) -> None:
        if self.server.tls:  # type: ignore[attr-defined]
            self.send_header("Strict-Transport-Security", "max-age=63072000")
        super().end_headers()

    def do_GET(self) -> None:
        if self.path == "/readyz" and self.edge_closed:
            self._send(403, {"error": "forbidden"})
        elif self.path in ("/readyz", "/healthz"):
            self._send(200 if self.ready else 503, {"status": "ok" if self.ready else "down"})
        elif self.path.lstrip("/") in self.links:
            target = self.links[self.path.lstrip("/")]
            self._send(
                302, location="https://example.com/elsewhere" if self.wrong_redirect else target
            )
        else:
            self._send(404)

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        code = uuid.uuid4().hex[:8]
        self.links[code] = body["url"]
        self._send(201, {"code": code, "url": body["url"]})


def _serve(handler: type[_App], tls_files: tuple[Path, Path] | None = None) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.tls = tls_files is not None  # type: ignore[attr-defined]
    if tls_files:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls_files)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def stand_in_app() -> Iterator[tuple[str, type[_App]]]:
    handler = type("App", (_App,), {"links": {}})
    server = _serve(handler)
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


@pytest.fixture
def tls_stand_in_app(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The stand-in over HTTPS with a certificate for 127.0.0.1 from a throwaway CA."""
    need(shutil.which("openssl") is not None, "openssl makes the test certificates")
    tls = server_certificate(tmp_path, "stand-in", "127.0.0.1")
    server = _serve(type("App", (_App,), {"links": {}}), (tls.cert, tls.key))
    yield f"https://127.0.0.1:{server.server_address[1]}", tls.ca
    server.shutdown()
    server.server_close()


def test_smoke_passes_against_a_working_app(run_deploy, stand_in_app) -> None:
    url, app = stand_in_app
    result = run_deploy("smoke", "--url", url, "--attempts", "3")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["code"] in app.links
    assert report["redirected_by"] == "stand-in"
    assert f"smoke test passed: {url}" in _err(result)


def test_smoke_behind_a_closed_edge_waits_on_liveness_instead(run_deploy, stand_in_app) -> None:
    url, app = stand_in_app
    app.edge_closed = True
    result = run_deploy("smoke", "--url", url, "--attempts", "3")
    assert result.returncode == 0, result.stderr
    app.ready = False
    result = run_deploy("smoke", "--url", url, "--attempts", "2")
    assert result.returncode == 8
    assert "/healthz never answered 200 (last: HTTP 503" in _err(result)


def test_smoke_over_https_trusts_the_given_ca_and_wants_hsts(run_deploy, tls_stand_in_app) -> None:
    url, ca = tls_stand_in_app
    result = run_deploy("smoke", "--url", url, "--attempts", "3", "--ca-file", str(ca))
    assert result.returncode == 0, result.stderr


def test_smoke_refuses_a_certificate_it_cannot_verify(run_deploy, tls_stand_in_app) -> None:
    url, _ = tls_stand_in_app
    result = run_deploy("smoke", "--url", url, "--attempts", "3")
    assert result.returncode == 8
    assert "the TLS certificate is not trusted" in _err(result)
    assert "--ca-file" in _err(result)


def test_smoke_refuses_a_missing_ca_file(run_deploy, tmp_path: Path) -> None:
    missing = tmp_path / "nope.pem"
    result = run_deploy("smoke", "--url", "https://127.0.0.1:9", "--ca-file", str(missing))
    assert result.returncode != 0
    assert f"--ca-file {missing} does not exist" in _err(result)


@pytest.mark.parametrize(
    ("fault", "value", "message"),
    [
        ("ready", False, "/readyz never answered 200 (last: HTTP 503"),
        ("wrong_redirect", True, "expected 302 to https://example.com/smoke/"),
    ],
)
def test_smoke_fails_on_an_app_at_fault(
    run_deploy, stand_in_app, fault: str, value: bool, message: str
) -> None:
    url, app = stand_in_app
    setattr(app, fault, value)
    result = run_deploy("smoke", "--url", url, "--attempts", "1")
    assert result.returncode == 8
    assert message in _err(result)


@pytest.mark.parametrize("attempts", ["0", "-3", "many"])
def test_smoke_refuses_a_bad_attempt_count(run_deploy, attempts: str) -> None:
    result = run_deploy("smoke", "--url", "http://127.0.0.1:9", "--attempts", attempts)
    assert result.returncode == 2
    assert "is not a whole number of at least 1" in _err(result)


def test_smoke_refuses_a_non_http_url(run_deploy) -> None:
    result = run_deploy("smoke", "--url", "file:///etc/passwd", "--attempts", "1")
    assert result.returncode == 8
    assert "must start with http:// or https://" in _err(result)


def test_options_work_after_the_command_too(run_deploy, fake_terraform, tmp_path: Path) -> None:
    missing = tmp_path / "after.tfvars"
    result = run_deploy(
        "plan", "--terraform-bin", str(fake_terraform.path), "--var-file", str(missing),
        env=fake_terraform.env,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert f"var file {missing} does not exist" in _err(result)
    # ...and a value given before the command is not reset by the command's own defaults.
    result = run_deploy(
        "--var-file", str(missing), "--terraform-bin", str(fake_terraform.path), "plan",
        env=fake_terraform.env,
    )  # fmt: skip
    assert result.returncode == 4, result.stderr
    assert f"var file {missing} does not exist" in _err(result)


# ------------------------------------------------------------------ the command line itself
@pytest.mark.parametrize(
    ("command", "own", "foreign"),
    [
        ("plan", "--var-file", "--ssh-key"),
        ("provision", "--ansible-playbook", "--var-file"),
        ("smoke", "--attempts", "--inventory"),
        ("down", "--yes", "--ssh-key"),
        ("release", "--no-refresh", "--var-file"),
        ("up", "--scaling", "--url"),
    ],
)
def test_each_command_lists_only_its_own_options(
    run_deploy, command: str, own: str, foreign: str
) -> None:
    result = run_deploy(command, "--help")
    assert result.returncode == 0, result.stderr
    assert own in result.stdout
    assert foreign not in result.stdout
    assert "exit codes:" in result.stdout
    assert "default:" in result.stdout


def test_an_option_of_another_command_is_a_usage_error(run_deploy) -> None:
    result = run_deploy("plan", "--ssh-key", "key")
    assert result.returncode == 2
    assert "unrecognized arguments: --ssh-key" in _err(result)


def test_help_documents_every_exit_code_once(run_deploy) -> None:
    from deploy import errors

    result = run_deploy("--help")
    assert result.returncode == 0, result.stderr
    codes = {
        cls.exit_code
        for cls in vars(errors).values()
        if isinstance(cls, type) and issubclass(cls, errors.DeployError)
    }
    for code in (*codes, 2, 9):
        assert len([ln for ln in result.stdout.splitlines() if ln.startswith(f"  {code}  ")]) == 1


def test_ansible_playbook_option_names_the_binary(run_deploy) -> None:
    result = run_deploy("provision", "--ansible-playbook", "/nonexistent/ansible-playbook")
    assert result.returncode == 7
    assert "'/nonexistent/ansible-playbook' not found" in _err(result)


# ------------------------------------------------------------------ release (asg mode)
# Against moto's emulated S3, SSM and KMS, with a stand-in for the instance refresh calls moto
# lacks (tests/support/refresh_api.py); terraform is the recording stand-in, its outputs naming
# what `release-target` made in the emulator, as terraform/outputs.tf would in the asg mode.


@pytest.fixture(scope="module")
def aws_endpoint() -> Iterator[str]:
    with aws.moto_server() as endpoint:
        yield endpoint


@pytest.fixture
def api() -> Iterator[RefreshApi]:
    with refresh_api() as stand_in:
        yield stand_in


@pytest.fixture
def target(aws_endpoint: str) -> dict[str, str]:
    """A fresh bucket, key and pointer in the emulator for each test."""
    return aws.aws_query(aws_endpoint, "release-target", f"rel-{uuid.uuid4().hex[:8]}")


def asg_outputs(target: dict[str, str], public_url: str = "https://links.example.test") -> dict:
    outputs = sample_outputs("managed", "managed")
    outputs.update(
        public_url=public_url,
        tls={"mode": "acm", "domain": "links.example.test", "acme_email": ""},
        lb_hosts={},
        app_hosts={},
        region=aws.REGION,
        app_scaling={
            "alb_dns_name": "t-alb-1.us-east-1.elb.amazonaws.com",
            "alb_zone_id": "Z35SXDOTRQ7X7K",
            "asg_name": "t-app",
            "target_group_arn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/t-app/1",
            "release_bucket": target["bucket"],
            "ssm_prefix": target["prefix"],
            "min_healthy_percentage": 50,
            "instance_warmup_seconds": 120,
        },
    )
    return outputs


def _release(deploy_faked, endpoint: str, api: RefreshApi, *args: str):
    env = {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ENDPOINT_URL_AUTO_SCALING": api.url,
        "AWS_MAX_ATTEMPTS": "1",
    }
    return deploy_faked("release", *args, env=env)


def test_release_publishes_points_refreshes_and_smoke_tests(
    deploy_faked, fake_terraform, aws_endpoint: str, api: RefreshApi, target: dict, stand_in_app
) -> None:
    url, app = stand_in_app
    fake_terraform.outputs(asg_outputs(target, public_url=url))
    # Successful at the first look (tests/unit/test_deploy_waits.py follows a longer refresh).
    api.script = [("Successful", "")]
    result = _release(deploy_faked, aws_endpoint, api, "--timeout", "60")
    assert result.returncode == 0, result.stderr
    report, _ = json.JSONDecoder().raw_decode(result.stdout)  # the smoke test's report follows
    release = report["release"]

    state = aws.aws_query(aws_endpoint, "release-state", target["bucket"], target["prefix"])
    # The artifact the boot script fetches: releases/<id>.tar.gz with the playbook it runs.
    members = state["artifacts"][f"releases/{release}.tar.gz"]
    assert {"ansible/asg-instance.yml", "ansible/requirements.txt", "app/__init__.py"} <= set(
        members
    )
    assert "nginx" in {m.split("/")[0] for m in members}
    assert not [m for m in members if m.startswith(("tests/", "terraform/", ".git"))]
    assert report["artifact"] == f"s3://{target['bucket']}/releases/{release}.tar.gz"
    # The pointer moved, still encrypted with the key Terraform chose (the instances may use it).
    pointer = state["parameters"][f"{target['prefix']}/release"]
    assert pointer == {"value": release, "key": target["key"]}
    # One rolling refresh with the group's settings from the outputs, waited for.
    [started] = api.started
    assert started["AutoScalingGroupName"] == "t-app"
    assert started["Strategy"] == "Rolling"
    assert started["Preferences.MinHealthyPercentage"] == "50"
    assert started["Preferences.InstanceWarmup"] == "120"
    assert report["instance_refresh"] == "refresh-1"
    assert "instance refresh Successful, 100% done" in _err(result)
    # ...and the smoke test ran through the public URL.
    assert f"smoke test passed: {url}" in _err(result)
    assert len(app.links) == 1

    # The same tree again is the same artifact: the pointer stays, nothing new is uploaded.
    again = _release(deploy_faked, aws_endpoint, api, "--no-smoke")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["release"] == release
    assert len(aws.aws_query(aws_endpoint, "release-state", target["bucket"], target["prefix"])[
        "artifacts"
    ]) == 1  # fmt: skip
    assert len(api.started) == 2


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ([("Failed", "instance i-1 failed its health check")], "ended Failed: instance i-1"),
        ([("Cancelled", "")], "ended Cancelled: no reason given"),
        ([("RollbackSuccessful", "alarm fired")], "ended RollbackSuccessful: alarm fired"),
        # Still going after --timeout: the CLI gives up waiting.
        (
            [("InProgress", "Waiting for instances to warm up")],
            "still InProgress (50% done) after 1 s",
        ),
    ],
)
def test_release_reports_a_refresh_that_did_not_succeed(
    deploy_faked, fake_terraform, aws_endpoint: str, api: RefreshApi, target: dict, script, message
) -> None:
    fake_terraform.outputs(asg_outputs(target))
    api.script = script
    result = _release(deploy_faked, aws_endpoint, api, "--timeout", "1")
    assert result.returncode == 11, result.stderr
    assert f"instance refresh refresh-1 {message}" in _err(result)
    assert "smoke test" not in _err(result)


def test_release_while_a_refresh_runs(
    deploy_faked, fake_terraform, aws_endpoint: str, api: RefreshApi, target: dict
) -> None:
    fake_terraform.outputs(asg_outputs(target))
    api.error = "InstanceRefreshInProgress"
    result = _release(deploy_faked, aws_endpoint, api)
    assert result.returncode == 11, result.stderr
    assert "an instance refresh of t-app is already running" in _err(result)


def test_release_without_refresh_only_moves_the_pointer(
    deploy_faked, fake_terraform, aws_endpoint: str, api: RefreshApi, target: dict
) -> None:
    fake_terraform.outputs(asg_outputs(target))
    result = _release(deploy_faked, aws_endpoint, api, "--no-refresh", "--no-smoke")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["instance_refresh"] is None
    assert api.started == []
    state = aws.aws_query(aws_endpoint, "release-state", target["bucket"], target["prefix"])
    assert state["parameters"][f"{target['prefix']}/release"]["value"] == report["release"]
    assert "smoke test skipped (--no-smoke)" in _err(result)


@pytest.mark.parametrize(
    ("change", "messages"),
    [
        pytest.param(
            lambda outputs: outputs.update(app_scaling=None),
            ["not an Auto Scaling group", "ansible/release.yml"],
            id="a-fixed-tier",
        ),
        pytest.param(
            lambda outputs: outputs["app_scaling"].pop("target_group_arn"),
            ["Terraform outputs missing: app_scaling.target_group_arn"],
            id="outputs-of-an-older-module",
        ),
        pytest.param(
            lambda outputs: outputs["app_scaling"].update(ssm_prefix="/nobody/app"),
            ["SSM parameter /nobody/app/release does not exist"],
            id="no-release-pointer",
        ),
    ],
)
def test_release_refuses_outputs_it_cannot_use(
    deploy_faked, fake_terraform, aws_endpoint: str, api: RefreshApi, target: dict, change, messages
) -> None:
    outputs = asg_outputs(target)
    change(outputs)
    fake_terraform.outputs(outputs)
    result = _release(deploy_faked, aws_endpoint, api)
    assert result.returncode == 6, result.stderr
    for message in messages:
        assert message in _err(result)


def test_release_when_aws_is_unreachable(
    deploy_faked, fake_terraform, api: RefreshApi, target: dict
) -> None:
    fake_terraform.outputs(asg_outputs(target))
    result = _release(deploy_faked, "http://127.0.0.1:9", api)
    assert result.returncode == 10, result.stderr
    assert "AWS ssm describe_parameters failed: Could not connect" in _err(result)
    assert "127.0.0.1:9" in _err(result)


# ------------------------------------------------------------------ up and down, asg mode
def test_up_refuses_a_scaling_mode_the_var_file_contradicts(
    deploy_faked, fake_terraform, tmp_path: Path
) -> None:
    var_file = aws.write_var_file(
        tmp_path / "fixed.tfvars.json", {"admin_cidrs": ["198.51.100.7/32"], "app_scaling": "fixed"}
    )
    result = deploy_faked("--var-file", str(var_file), "up", "--scaling", "asg")
    assert result.returncode == 4, result.stderr
    assert f'--scaling asg contradicts app_scaling = "fixed" in {var_file}' in _err(result)
    assert fake_terraform.calls() == []


def test_up_keeps_a_deployed_auto_scaling_group(
    deploy_faked, fake_terraform, var_file: Path, target: dict
) -> None:
    # The var file says nothing of app_scaling; the state says asg: `up` must not switch to fixed.
    fake_terraform.outputs(asg_outputs(target))
    result = deploy_faked("--var-file", str(var_file), "up", "--no-provision")
    assert 'keeping app_scaling = "asg", the deployed tier' in _err(result)
    [apply] = [call for call in fake_terraform.calls() if call[0] == "apply"]
    var_files = [arg.split("=", 1)[1] for arg in apply if arg.startswith("-var-file=")]
    # The user's file first, the override after it (the later one wins in Terraform).
    assert var_files[0] == str(var_file.resolve())
    assert var_files[1].endswith(".tfvars.json") and len(var_files) == 2
    assert not Path(var_files[1]).exists()  # removed when the CLI ended
    # There is no provisioning step to stop after in this mode: said, not ignored.
    assert result.returncode == 1
    assert "--no-provision is for the fixed tier" in _err(result)


def test_up_asg_without_provisioning_is_refused_before_terraform(
    deploy_faked, fake_terraform, var_file: Path
) -> None:
    result = deploy_faked("--var-file", str(var_file), "up", "--scaling", "asg", "--no-provision")
    assert result.returncode == 1
    assert "--no-provision is for the fixed tier" in _err(result)
    assert fake_terraform.calls() == []


@pytest.mark.parametrize(
    ("failure", "hints", "not_hinted"),
    [
        pytest.param(
            "deleting RDS DB Instance (t-postgres): InvalidParameterCombination: Cannot delete "
            "protected DB Instance, please disable deletion protection and try again.",
            ["Set db_deletion_protection = false"],
            ["alb_deletion_protection", "release_bucket_force_destroy"],
            id="rds-deletion-protection",
        ),
        pytest.param(
            "deleting ELBv2 Load Balancer (arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/"
            "app/t-alb/1): OperationNotPermitted: Load balancer 'arn' cannot be deleted because "
            "deletion protection is enabled; deleting S3 Bucket (t-releases-1): BucketNotEmpty",
            ["Set alb_deletion_protection = false", "Set release_bucket_force_destroy = true"],
            ["db_deletion_protection"],
            id="alb-protection-and-a-full-bucket",
        ),
    ],
)
def test_down_explains_what_protects_a_resource(
    deploy_faked, fake_terraform, var_file: Path, failure: str, hints: list, not_hinted: list
) -> None:
    fake_terraform.fail_on("destroy", failure)
    result = deploy_faked("down", "--yes", "--var-file", str(var_file))
    assert result.returncode == 5
    message = _err(result)
    for hint in hints:
        assert hint in message
    for other in not_hinted:
        assert other not in message
    assert str(var_file) in message
