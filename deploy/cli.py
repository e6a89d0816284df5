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
from typing import TYPE_CHECKING, Any

from deploy.errors import DeployError, TerraformFailedError
from deploy.inventory import build_inventory, write_inventory
from deploy.provision import run_playbook
from deploy.smoke import run_smoke_test
from deploy.varfile import check_var_file

if TYPE_CHECKING:
    from deploy.tf import TerraformRunner

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


# Which options each command reads: its help lists those and no others.
TERRAFORM = ("terraform_dir", "terraform_bin")
SSH = ("inventory", "ssh_key", "known_hosts")
OPTIONS_OF = {
    "plan": (*TERRAFORM, "var_file"),
    "up": (*TERRAFORM, "var_file", *SSH, "ansible_playbook"),
    "inventory": (*TERRAFORM, *SSH),
    "provision": ("inventory", "ansible_playbook"),
    "smoke": TERRAFORM,
    "down": (*TERRAFORM, "var_file"),
}

EXIT_CODES = """\
exit codes:
  0  done
  1  stopped on purpose or a bad option value (e.g. `down` not confirmed, SSH key missing)
  2  command-line usage error (argparse)
  3  terraform not found
  4  var file refused (missing, wrong format, holds a secret)
  5  terraform failed (init, plan, apply, destroy)
  6  Terraform outputs missing (nothing deployed yet)
  7  ansible-playbook not found or failed
  8  smoke test failed
  9  a Python dependency of this CLI is missing (pip install -r deploy/requirements.txt)
"""
EXIT_MISSING_DEPENDENCY = 9


def _add_options(parser: argparse.ArgumentParser, names: Sequence[str], suppress: bool) -> None:
    """The shared options in `names`. Before the command they are accepted for any command (so
    `make deploy-up DEPLOY_ARGS=...` and scripts written that way keep working); after it, each
    command takes only its own, defaulting to SUPPRESS so they never overwrite a value given
    before it.
    """
    env = os.environ.get

    def default(value: object) -> object:
        return argparse.SUPPRESS if suppress else value

    options = {
        "terraform_dir": (
            ("--terraform-dir",),
            {
                "type": Path,
                "default": default(Path(env("DEPLOY_TERRAFORM_DIR", REPO / "terraform"))),
                "help": "Terraform root module (env DEPLOY_TERRAFORM_DIR; default: terraform/)",
            },
        ),
        "var_file": (
            ("--var-file",),
            {
                "type": Path,
                "default": default(
                    Path(env("DEPLOY_VAR_FILE", REPO / "terraform/terraform.tfvars"))
                ),
                "help": "Terraform var file (env DEPLOY_VAR_FILE; default: "
                "terraform/terraform.tfvars)",
            },
        ),
        "terraform_bin": (
            ("--terraform-bin",),
            {
                "default": default(env("TERRAFORM_BIN", "terraform")),
                "help": "terraform binary (env TERRAFORM_BIN; default: terraform on PATH)",
            },
        ),
        "inventory": (
            ("--inventory",),
            {
                "type": Path,
                "default": default(
                    Path(env("DEPLOY_INVENTORY", REPO / "ansible/inventories/aws/hosts.yml"))
                ),
                "help": "the generated Ansible inventory (env DEPLOY_INVENTORY; default: "
                "ansible/inventories/aws/hosts.yml)",
            },
        ),
        "ssh_key": (
            ("--ssh-key",),
            {
                "default": default(env("DEPLOY_SSH_KEY")),
                "help": "private key matching ssh_public_key, written into the inventory "
                "(env DEPLOY_SSH_KEY; default: ssh's own choice)",
            },
        ),
        "known_hosts": (
            ("--known-hosts",),
            {
                "default": default(env("DEPLOY_KNOWN_HOSTS")),
                "help": "SSH known_hosts file for this environment (env DEPLOY_KNOWN_HOSTS; "
                "default: ~/.ssh/known_hosts)",
            },
        ),
        "ansible_playbook": (
            ("--ansible-playbook",),
            {
                "default": default(env("ANSIBLE_PLAYBOOK", "ansible-playbook")),
                "help": "ansible-playbook binary (env ANSIBLE_PLAYBOOK; default: "
                "ansible-playbook on PATH; `make deploy-up` passes the project's pinned one)",
            },
        ),
    }
    for name in names:
        flags, settings = options[name]
        parser.add_argument(*flags, **settings)  # type: ignore[arg-type]  # one table, mixed values


def _command(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        name,
        help=summary,
        description=description,
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_options(parser, OPTIONS_OF[name], suppress=True)
    return parser


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m deploy",
        description=__doc__,
        epilog=EXIT_CODES + "\n`python -m deploy COMMAND --help` lists the options of one command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    every_option = sorted({name for names in OPTIONS_OF.values() for name in names})
    _add_options(parser, every_option, suppress=False)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _command(
        sub,
        "plan",
        "terraform init + plan",
        "terraform init, then terraform plan with the var file: what `up` would change. "
        "Creates nothing.",
    )
    up = _command(
        sub,
        "up",
        "apply, inventory, provision, smoke (creates billable AWS resources)",
        "terraform init + apply (creates billable AWS resources), write the Ansible inventory "
        "from the outputs, run ansible/site.yml through the bastion, smoke-test the public URL.",
    )
    up.add_argument("--no-provision", action="store_true", help="stop after writing the inventory")
    _command(
        sub,
        "inventory",
        "write the inventory from Terraform outputs",
        "Write the Ansible inventory from the current Terraform outputs (nothing is applied).",
    )
    provision = _command(
        sub,
        "provision",
        "run ansible/site.yml",
        "Run ansible/site.yml against the generated inventory; arguments after -- go to "
        "ansible-playbook (e.g. -- --vault-password-file ~/.flaskmt-vault-pass).",
    )
    provision.add_argument(
        "ansible_args",
        nargs=argparse.REMAINDER,
        help="extra ansible-playbook arguments, after --",
    )
    smoke = _command(
        sub,
        "smoke",
        "smoke-test the public URL",
        "Wait for /readyz through the public URL, create a link and follow its redirect.",
    )
    smoke.add_argument("--url", help="public URL (default: the public_url Terraform output)")
    smoke.add_argument(
        "--attempts",
        type=_positive_int,
        default=30,
        help="readiness polls, 2 s apart (default: 30)",
    )
    smoke.add_argument(
        "--ca-file",
        help="trust only this CA for HTTPS (default: the system's CAs, or the project CA's "
        f"ca.pem, {PROJECT_CA_FILE}, when the Terraform outputs say self_signed)",
    )
    down = _command(
        sub,
        "down",
        "terraform destroy (asks first)",
        "terraform destroy of everything the root module manages, after a confirmation. RDS "
        "refuses while db_deletion_protection is true (the default): set it to false in the "
        "var file and run `up` once before `down`.",
    )
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _runner(args: argparse.Namespace, need_var_file: bool = True) -> TerraformRunner:
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


def cmd_inventory(args: argparse.Namespace) -> dict[str, Any]:
    key = _absolute(args.ssh_key, must_exist=True)
    known_hosts = _absolute(args.known_hosts, must_exist=False)
    outputs = _runner(args, need_var_file=False).outputs()
    path = write_inventory(build_inventory(outputs, key, known_hosts), args.inventory)
    _say(f"inventory written to {path}")
    return outputs


def cmd_provision(args: argparse.Namespace) -> None:
    extra = [a for a in getattr(args, "ansible_args", []) if a != "--"]
    run_playbook(REPO / "ansible/site.yml", args.inventory, extra, args.ansible_playbook)


def _ca_file(args: argparse.Namespace, outputs: dict[str, Any] | None) -> str | None:
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


def cmd_smoke(args: argparse.Namespace, outputs: dict[str, Any] | None = None) -> None:
    url = getattr(args, "url", None) if outputs is None else None
    if not url:
        outputs = outputs or _runner(args, need_var_file=False).outputs()
        url = outputs["public_url"]
    result = run_smoke_test(
        url, attempts=getattr(args, "attempts", 30), ca_file=_ca_file(args, outputs)
    )
    print(json.dumps(result, indent=2))
    _say(
        f"smoke test passed: {url} (link {result['code']} created by {result['created_by']}, "
        f"followed via {result['redirected_by']})"
    )


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
    try:
        runner.destroy()
    except TerraformFailedError as exc:
        if "deletion protection" not in str(exc).lower():
            raise
        raise TerraformFailedError(
            f"{exc}\nThe RDS instance has deletion protection on (db_deletion_protection, true "
            f"by default). Set db_deletion_protection = false (and db_skip_final_snapshot = true "
            f"to skip the final snapshot) in {args.var_file}, run `python -m deploy up` to apply "
            f"it, then `python -m deploy down` again."
        ) from None
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
        return EXIT_MISSING_DEPENDENCY
    return 0
