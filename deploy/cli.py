"""`python -m deploy plan|up|inventory|provision|smoke|release|down`: one command per workflow step.

plan       terraform init + plan with the var file
up         init + apply, then for the fixed tier: write the inventory, run ansible/site.yml;
           for an Auto Scaling group (--scaling asg): publish the first release, wait for the group;
           then smoke-test the public URL
inventory  write the Ansible inventory from the current Terraform outputs
provision  run ansible/site.yml with that inventory
smoke      create and follow a link through the public URL, check /readyz
release    Auto Scaling group: build and upload a release, point the instances at it, roll it
           through the group (instance refresh), smoke-test
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

from deploy import errors, scaling
from deploy.errors import DeployError, MissingOutputsError, TerraformFailedError, VarFileError
from deploy.inventory import build_inventory, write_inventory
from deploy.provision import run_playbook
from deploy.smoke import run_smoke_test
from deploy.varfile import check_var_file, string_setting

if TYPE_CHECKING:
    from deploy.tf import TerraformRunner

REPO = Path(__file__).resolve().parent.parent
# The project CA's certificate where Ansible keeps it by default (nginx_tls_mode self_signed).
PROJECT_CA_FILE = Path.home() / ".local/share/flask-multitier/ca/ca.pem"
# Built release artifacts, one per content hash: the same cache the app role's archives use.
RELEASE_CACHE = Path.home() / ".cache/flask-multitier/releases"
SCALING_MODES = ("fixed", "asg")


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
    "release": TERRAFORM,
    "down": (*TERRAFORM, "var_file"),
}

EXIT_MISSING_DEPENDENCY = 9
MISSING_DEPENDENCY = (
    "a Python dependency of this CLI is missing (pip install -r deploy/requirements.txt)"
)
EXIT_CODES = "exit codes:\n" + "".join(
    f"  {code}  {meaning}\n"
    for code, meaning in sorted(
        [
            (0, "done"),
            (2, "command-line usage error (argparse)"),
            (EXIT_MISSING_DEPENDENCY, MISSING_DEPENDENCY),
            *errors.exit_code_lines(),
        ]
    )
)


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


def _scaling_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scaling",
        choices=SCALING_MODES,
        help="app tier: fixed instances provisioned by Ansible, or an Auto Scaling group behind "
        "an ALB (docs/aws-scaling.md); passed to Terraform as app_scaling (default: the var "
        "file's app_scaling, else the deployed tier's, else fixed)",
    )


def _no_smoke_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-smoke",
        action="store_true",
        help="skip the smoke test over HTTPS (e.g. when the public name is not reachable from "
        "here)",
    )


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
    plan = _command(
        sub,
        "plan",
        "terraform init + plan",
        "terraform init, then terraform plan with the var file: what `up` would change. "
        "Creates nothing.",
    )
    _scaling_option(plan)
    up = _command(
        sub,
        "up",
        "apply, then provision or publish, smoke (creates billable AWS resources)",
        "terraform init + apply (creates billable AWS resources). Fixed tier: write the Ansible "
        "inventory from the outputs, run ansible/site.yml through the bastion. Auto Scaling "
        "group (--scaling asg; the instances configure themselves at boot, no SSH): create the "
        "app's SECRET_KEY and ADMIN_TOKEN in SSM Parameter Store when missing, publish this "
        "checkout as the first release when none is, wait until the group's minimum of "
        "instances is in service and healthy behind the ALB. Then smoke-test the public URL.",
    )
    _scaling_option(up)
    up.add_argument(
        "--no-provision",
        action="store_true",
        help="fixed tier: stop after writing the inventory",
    )
    _no_smoke_option(up)
    up.add_argument(
        "--timeout",
        type=_positive_int,
        default=1200,
        help="Auto Scaling group: seconds to wait for it to be healthy (default: 1200)",
    )
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
    release = _command(
        sub,
        "release",
        "Auto Scaling group: publish this checkout and roll it out",
        'Auto Scaling group only (app_scaling = "asg"; a fixed tier releases with '
        "ansible/release.yml). Build the release artifact of this checkout (the app role's "
        "archive: tracked and untracked, not ignored files, named by a hash of their content), "
        "upload it to the release bucket as releases/<id>.tar.gz, point the SSM parameter "
        "<ssm_prefix>/release at it (new instances install it), start an instance refresh that "
        "replaces the running instances in batches, wait for it, smoke-test the public URL.",
    )
    release.add_argument(
        "--no-refresh",
        action="store_true",
        help="only publish and move the pointer: running instances keep their release, "
        "instances launched from now on (scale-out, replacements) install the new one",
    )
    _no_smoke_option(release)
    release.add_argument(
        "--timeout",
        type=_positive_int,
        default=3600,
        help="seconds to wait for the instance refresh (default: 3600)",
    )
    down = _command(
        sub,
        "down",
        "terraform destroy (asks first)",
        "terraform destroy of everything the root module manages, after a confirmation, and of "
        "the app secrets `up` created in SSM Parameter Store for an Auto Scaling group. RDS "
        "refuses while db_deletion_protection is true (the default), the ALB while "
        "alb_deletion_protection is, the release bucket while it holds artifacts and "
        "release_bucket_force_destroy is false: set them in the var file and run `up` once "
        "before `down`.",
    )
    down.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    return parser


def _runner(args: argparse.Namespace, need_var_file: bool = True) -> TerraformRunner:
    # Imported here so that `--help` and the inventory/smoke helpers work without python-terraform.
    from deploy.tf import TerraformRunner, env_plugin_dir

    var_file = check_var_file(args.var_file) if need_var_file else None
    overrides = {}
    wanted = getattr(args, "scaling", None)
    if wanted and var_file is not None:
        declared = string_setting(var_file, "app_scaling")
        if declared not in (None, wanted):
            raise VarFileError(
                f'--scaling {wanted} contradicts app_scaling = "{declared}" in {var_file}: '
                "change one of them"
            )
        overrides["app_scaling"] = wanted
    return TerraformRunner(
        args.terraform_dir.resolve(), var_file, args.terraform_bin, env_plugin_dir(), overrides
    )


def _say(message: str) -> None:
    print(f"deploy: {message}", file=sys.stderr, flush=True)


def _deployed(runner: TerraformRunner) -> dict[str, Any] | None:
    """The outputs of what is deployed, or None when nothing (or no state) is."""
    try:
        return runner.outputs()
    except (MissingOutputsError, TerraformFailedError):
        return None


def _init(args: argparse.Namespace) -> tuple[TerraformRunner, dict[str, Any] | None]:
    """terraform init, then the app tier to plan for: --scaling, else the var file's
    app_scaling, else the deployed one (so that `up` without --scaling never turns an Auto
    Scaling group into fixed instances by accident), else fixed. Returns the runner and the
    deployed outputs when it read them ({} for nothing deployed; None: not read)."""
    runner = _runner(args)
    runner.init()
    if "app_scaling" in runner.overrides:
        return runner, None
    if runner.var_file and string_setting(runner.var_file, "app_scaling") is not None:
        return runner, None
    deployed = _deployed(runner) or {}
    if deployed.get("app_scaling"):
        _say('keeping app_scaling = "asg", the deployed tier (--scaling fixed to change it)')
        runner.overrides["app_scaling"] = "asg"
    return runner, deployed


def cmd_plan(args: argparse.Namespace) -> None:
    runner, _ = _init(args)
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


def _publish(aws: scaling.Aws, tier: scaling.ScalingOutputs) -> str:
    release, artifact = scaling.build_artifact(REPO, RELEASE_CACHE)
    _say(f"release {release}: uploading {artifact.name} to s3://{tier.release_bucket}/releases/")
    scaling.publish(aws, tier, release, artifact)
    _say(f"{tier.ssm_prefix}/release now points at {release}")
    return release


def cmd_up(args: argparse.Namespace) -> None:
    if args.no_provision and args.scaling == "asg":
        raise DeployError(_NO_PROVISION_IN_ASG)
    _say("terraform init")
    runner, _ = _init(args)
    _say("terraform apply")
    runner.apply()
    outputs = runner.outputs()
    if outputs.get("app_scaling"):
        _up_scaling(args, outputs)
        return
    outputs = cmd_inventory(args)
    if args.no_provision:
        return
    _say("ansible-playbook site.yml")
    cmd_provision(args)
    _say(f"smoke test {outputs['public_url']}")
    cmd_smoke(args, outputs)


_NO_PROVISION_IN_ASG = (
    "--no-provision is for the fixed tier: an Auto Scaling group has no provisioning step "
    "(skip the smoke test with --no-smoke)"
)


def _up_scaling(args: argparse.Namespace, outputs: dict[str, Any]) -> None:
    """The Auto Scaling group configures its instances itself: give them secrets and a release,
    then wait for what the API says of their health."""
    if args.no_provision:
        raise DeployError(f"{_NO_PROVISION_IN_ASG} (the apply is done)")
    tier = scaling.ScalingOutputs.from_outputs(outputs)
    aws = scaling.Aws(tier.region)
    for name in scaling.ensure_secrets(aws, tier):
        _say(f"created {tier.ssm_prefix}/secret/{name} (a random value, kept in SSM only)")
    if scaling.current_release(aws, tier) == "none":
        release = _publish(aws, tier)
        _say(f"first release {release} published: the instances install it as they boot")
    _say(f"waiting for the Auto Scaling group {tier.asg_name} (up to {args.timeout} s)")
    poll = scaling.Poll(args.timeout, say=_say)
    health = scaling.wait_for_group(lambda: scaling.group_health(aws, tier), poll)
    print(json.dumps({"asg_name": tier.asg_name, **health}, indent=2))
    if args.no_smoke:
        _say("smoke test skipped (--no-smoke)")
        return
    _say(f"smoke test {outputs['public_url']}")
    cmd_smoke(args, outputs)


def cmd_release(args: argparse.Namespace) -> None:
    outputs = _runner(args, need_var_file=False).outputs()
    tier = scaling.ScalingOutputs.from_outputs(outputs)
    aws = scaling.Aws(tier.region)
    release = _publish(aws, tier)
    refresh_id = None
    if args.no_refresh:
        _say("no instance refresh (--no-refresh): instances launched from now on install it")
    else:
        refresh_id = scaling.start_refresh(aws, tier)
        _say(f"instance refresh {refresh_id} of {tier.asg_name} started (up to {args.timeout} s)")
        scaling.wait_for_refresh(
            lambda: scaling.describe_refresh(aws, tier, refresh_id),
            scaling.Poll(args.timeout, say=_say),
        )
    print(
        json.dumps(
            {
                "release": release,
                "artifact": f"s3://{tier.release_bucket}/{scaling.release_key(release)}",
                "instance_refresh": refresh_id,
            },
            indent=2,
        )
    )
    if args.no_smoke:
        _say("smoke test skipped (--no-smoke)")
        return
    _say(f"smoke test {outputs['public_url']}")
    cmd_smoke(args, outputs)


_PROTECTION_HINTS = (
    (
        ("db instance", "deletion protection"),
        "The RDS instance has deletion protection on (db_deletion_protection, true by "
        "default). Set db_deletion_protection = false (and db_skip_final_snapshot = true to "
        "skip the final snapshot)",
    ),
    (
        ("load balancer", "deletion protection"),
        "The ALB has deletion protection on (alb_deletion_protection, true by default). Set "
        "alb_deletion_protection = false",
    ),
    (
        ("bucketnotempty",),
        "The release bucket still holds artifacts. Set release_bucket_force_destroy = true "
        "(its artifacts go with it)",
    ),
)


def cmd_down(args: argparse.Namespace) -> None:
    if not args.yes:
        question = f"Destroy everything Terraform manages in {args.terraform_dir}? Type 'yes': "
        try:
            answer = input(question)
        except EOFError:  # no terminal (CI, a pipe): never destroy without an explicit yes
            answer = ""
        if answer.strip() != "yes":
            raise DeployError("nothing destroyed: answer 'yes' or pass --yes")
    runner, deployed = _init(args)
    # Where `up` put the app secrets, read before destroy forgets it.
    deployed = (_deployed(runner) or {}) if deployed is None else deployed
    tier = deployed.get("app_scaling")
    try:
        runner.destroy()
    except TerraformFailedError as exc:
        text = str(exc).lower()
        hints = [hint for words, hint in _PROTECTION_HINTS if all(w in text for w in words)]
        if not hints:
            raise
        raise TerraformFailedError(
            f"{exc}\n" + ".\n".join(hints) + f" in {args.var_file}, run `python -m deploy up` "
            "to apply it, then `python -m deploy down` again."
        ) from None
    _say("destroyed")
    if tier and deployed.get("region"):
        for name in scaling.delete_secrets(scaling.Aws(deployed["region"]), tier["ssm_prefix"]):
            _say(f"deleted {name}")


COMMANDS = {
    "plan": cmd_plan,
    "up": cmd_up,
    "inventory": cmd_inventory,
    "provision": cmd_provision,
    "smoke": cmd_smoke,
    "release": cmd_release,
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
