"""`python -m deploy up|plan|inventory|provision|smoke|down`: one command per workflow step.

plan       terraform init + plan with the var file
up         init + apply, write the inventory, run ansible/site.yml, smoke-test the public URL
inventory  write the Ansible inventory from the current Terraform outputs
provision  run ansible/site.yml with that inventory
smoke      create and follow a link through the public URL, check /readyz
down       terraform destroy (everything, after a confirmation)
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from deploy.errors import DeployError
from deploy.inventory import build_inventory, write_inventory
from deploy.provision import run_playbook
from deploy.smoke import run_smoke_test
from deploy.varfile import check_var_file

REPO = Path(__file__).resolve().parent.parent
# The project CA's certificate where Ansible keeps it by default (nginx_tls_mode self_signed).
PROJECT_CA_FILE = Path.home() / ".local/share/flask-multitier/ca/ca.pem"


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return value


def _add_common(parser: argparse.ArgumentParser, suppress: bool) -> None:
    """Options accepted before and after the command (`deploy plan --var-file F` works too).

    After the command they default to SUPPRESS, so they never overwrite a value given before it.
    """
    env = os.environ.get

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    parser.add_argument(
        "--terraform-dir",
        type=Path,
        default=default(Path(env("DEPLOY_TERRAFORM_DIR", REPO / "terraform"))),
        help="Terraform root module (default: terraform/)",
    )
    parser.add_argument(
        "--var-file",
        type=Path,
        default=default(Path(env("DEPLOY_VAR_FILE", REPO / "terraform/terraform.tfvars"))),
        help="Terraform var file (default: terraform/terraform.tfvars)",
    )
    parser.add_argument(
        "--terraform-bin",
        default=default(env("TERRAFORM_BIN", "terraform")),
        help="terraform binary",
    )
    parser.add_argument(
        "--inventory",
        type=Path,
        default=default(Path(env("DEPLOY_INVENTORY", REPO / "ansible/inventories/aws/hosts.yml"))),
        help="where the generated Ansible inventory goes",
    )
    parser.add_argument(
        "--ssh-key",
        default=default(env("DEPLOY_SSH_KEY")),
        help="private key matching ssh_public_key (written into the inventory)",
    )
    parser.add_argument(
        "--known-hosts",
        default=default(env("DEPLOY_KNOWN_HOSTS")),
        help="SSH known_hosts file for this environment (default: ~/.ssh/known_hosts)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_common(parser, suppress=False)
    common = argparse.ArgumentParser(add_help=False)
    _add_common(common, suppress=True)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("plan", parents=[common], help="terraform init + plan")
    up = sub.add_parser("up", parents=[common], help="apply, inventory, provision, smoke")
    up.add_argument("--no-provision", action="store_true", help="stop after writing the inventory")
    sub.add_parser("inventory", parents=[common], help="write the inventory from Terraform outputs")
    provision = sub.add_parser("provision", parents=[common], help="run ansible/site.yml")
    provision.add_argument(
        "ansible_args",
        nargs=argparse.REMAINDER,
        help="extra ansible-playbook arguments (after --), e.g. -- -e @vault.yml",
    )
    smoke = sub.add_parser("smoke", parents=[common], help="smoke-test the public URL")
    smoke.add_argument("--url", help="public URL (default: the public_url Terraform output)")
    smoke.add_argument(
        "--attempts", type=_positive_int, default=30, help="readiness polls, 2 s apart"
    )
    smoke.add_argument(
        "--ca-file",
        help="trust only this CA for HTTPS (default: the system's CAs, or the project CA's "
        f"ca.pem, {PROJECT_CA_FILE}, when the Terraform outputs say self_signed)",
    )
    down = sub.add_parser("down", parents=[common], help="terraform destroy")
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _runner(args: argparse.Namespace, need_var_file: bool = True):
    # Imported here so that `--help` and the inventory/smoke helpers work without python-terraform.
    from deploy.tf import TerraformRunner, env_plugin_dir

    var_file = check_var_file(args.var_file) if need_var_file else None
    return TerraformRunner(
        args.terraform_dir.resolve(), var_file, args.terraform_bin, env_plugin_dir()
    )


def _say(message: str) -> None:
    print(f"deploy: {message}", file=sys.stderr, flush=True)


def cmd_plan(args: argparse.Namespace) -> None:
    runner = _runner(args)
    runner.init()
    print(runner.plan())


def _absolute(path: str | None, must_exist: bool) -> str | None:
    # Ansible runs from ansible/, so a relative path would point somewhere else there.
    if not path:
        return None
    resolved = Path(path).expanduser().resolve()
    if must_exist and not resolved.is_file():
        raise DeployError(f"SSH key {resolved} does not exist")
    return str(resolved)


def cmd_inventory(args: argparse.Namespace) -> dict:
    key = _absolute(args.ssh_key, must_exist=True)
    known_hosts = _absolute(args.known_hosts, must_exist=False)
    outputs = _runner(args, need_var_file=False).outputs()
    path = write_inventory(build_inventory(outputs, key, known_hosts), args.inventory)
    _say(f"inventory written to {path}")
    return outputs


def cmd_provision(args: argparse.Namespace) -> None:
    extra = [a for a in getattr(args, "ansible_args", []) if a != "--"]
    binary = os.environ.get("ANSIBLE_PLAYBOOK", "ansible-playbook")
    run_playbook(REPO / "ansible/site.yml", args.inventory, extra, binary)


def _ca_file(args: argparse.Namespace, outputs: dict | None) -> str | None:
    explicit = getattr(args, "ca_file", None)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise DeployError(f"--ca-file {path} does not exist")
        return str(path)
    # Without a domain Ansible's nginx role signs the certificate with the project CA, which
    # lives on this machine (the nginx role's nginx_tls_ca_dir default).
    if outputs and (outputs.get("tls") or {}).get("mode") == "self_signed":
        return str(PROJECT_CA_FILE)
    return None


def cmd_smoke(args: argparse.Namespace, outputs: dict | None = None) -> None:
    url = getattr(args, "url", None) if outputs is None else None
    if not url:
        outputs = outputs or _runner(args, need_var_file=False).outputs()
        url = outputs["public_url"]
    result = run_smoke_test(
        url, attempts=getattr(args, "attempts", 30), ca_file=_ca_file(args, outputs)
    )
    print(json.dumps(result, indent=2))


def cmd_up(args: argparse.Namespace) -> None:
    runner = _runner(args)
    _say("terraform init")
    runner.init()
    _say("terraform apply")
    runner.apply()
    outputs = cmd_inventory(args)
    if args.no_provision:
        return
    _say("ansible-playbook site.yml")
    cmd_provision(args)
    _say(f"smoke test {outputs['public_url']}")
    cmd_smoke(args, outputs)


def cmd_down(args: argparse.Namespace) -> None:
    if not args.yes:
        question = f"Destroy everything Terraform manages in {args.terraform_dir}? Type 'yes': "
        try:
            answer = input(question)
        except EOFError:  # no terminal (CI, a pipe): never destroy without an explicit yes
            answer = ""
        if answer.strip() != "yes":
            raise DeployError("nothing destroyed: answer 'yes' or pass --yes")
    runner = _runner(args)
    runner.init()
    runner.destroy()
    _say("destroyed")


COMMANDS = {
    "plan": cmd_plan,
    "up": cmd_up,
    "inventory": cmd_inventory,
    "provision": cmd_provision,
    "smoke": cmd_smoke,
    "down": cmd_down,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except DeployError as exc:
        _say(f"error: {exc}")
        return exc.exit_code
    except ModuleNotFoundError as exc:
        _say(f"error: {exc.name} is not installed: pip install -r deploy/requirements.txt")
        return 2
    return 0
