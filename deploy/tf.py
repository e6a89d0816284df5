"""Terraform through python-terraform, with its sharp edges filed off.

python-terraform 0.10.1 (the last release) predates Terraform 0.15, so:
- its destroy() always passes `-force`, which Terraform removed in 0.15: we pass `-auto-approve`;
- it lets FileNotFoundError escape for a missing binary: we say which one and how to fix it;
- it returns (code, stdout, stderr) and never raises: we turn failures into DeployError subclasses
  carrying Terraform's own error lines.
"""

from __future__ import annotations

import atexit
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, IsNotFlagged, Terraform

from deploy.errors import (
    MissingOutputsError,
    TerraformFailedError,
    TerraformMissingError,
    VarFileError,
    require_tool,
)

# Outputs of terraform/outputs.tf that the inventory and the smoke test read.
REQUIRED_OUTPUTS = (
    "public_url",
    "ssh_user",
    "bastion_public_ip",
    "lb_hosts",
    "app_hosts",
    "db_hosts",
    "cache_hosts",
    "database",
    "cache",
)

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


class _Terraform(Terraform):
    """python-terraform's client with a destroy() that works on Terraform >= 0.15."""

    def destroy(
        self, dir_or_plan: str | None = None, force: Any = IsNotFlagged, **kwargs: Any
    ) -> tuple[int | None, str, str]:
        # `force` is accepted and ignored so that callers of the original signature keep working.
        kwargs.setdefault("auto_approve", IsFlagged)
        options = self._generate_default_options(kwargs)
        args = self._generate_default_args(dir_or_plan)
        result: tuple[int | None, str, str] = self.cmd("destroy", *args, **options)
        return result


def _error_lines(stderr: str, stdout: str = "") -> str:
    """Terraform's `Error:` blocks, without colours or box drawing, for a one-screen message."""
    text = _ANSI.sub("", stderr or stdout)
    lines = [line.strip("│╷╵ ").rstrip() for line in text.splitlines()]
    kept = [line for line in lines if line]
    return "\n".join(kept[-40:]) or "(no output)"


class TerraformRunner:
    """The Terraform steps `deploy` needs, on one root module and one var file."""

    def __init__(
        self,
        working_dir: Path,
        var_file: Path | None,
        binary: str = "terraform",
        plugin_dir: Path | None = None,
        overrides: dict[str, Any] | None = None,
    ) -> None:
        resolved = require_tool(
            binary,
            TerraformMissingError,
            install="Terraform >= 1.11 (https://developer.hashicorp.com/terraform/install)",
            option="TERRAFORM_BIN / --terraform-bin",
        )
        if not (working_dir / "main.tf").is_file():
            raise TerraformFailedError(f"{working_dir} is not a Terraform root module (no main.tf)")
        self.working_dir = working_dir
        self.var_file = var_file
        self.plugin_dir = plugin_dir
        self.overrides = dict(overrides or {})
        self._override_file: Path | None = None
        self._tf = _Terraform(working_dir=str(working_dir), terraform_bin_path=resolved)

    def _run(
        self, step: str, call: Any, *args: Any, ok_codes: tuple[int, ...] = (0,), **kw: Any
    ) -> str:
        try:
            code, out, err = call(*args, **kw)
        except FileNotFoundError as exc:  # the binary vanished between which() and Popen
            raise TerraformMissingError(f"terraform binary disappeared: {exc}") from exc
        if code not in ok_codes:
            message = _error_lines(err, out)
            if self.var_file is not None and self.var_file.name in message:
                raise VarFileError(
                    f"terraform {step} rejected var file {self.var_file}:\n{message}"
                )
            raise TerraformFailedError(f"terraform {step} failed (exit {code}):\n{message}")
        text: str = out
        return text

    def _var_options(self) -> dict[str, Any]:
        # Only plan/apply/destroy take variables. Command-line overrides (`--scaling`) go in a
        # var file of their own *after* the user's, so that they win: python-terraform's own
        # `var` dict would become a var file placed before it.
        files = [str(self.var_file)] if self.var_file else []
        if self.overrides:
            files.append(str(self._overrides_file()))
        return {"var": None, "var_file": files or None}

    def _overrides_file(self) -> Path:
        if self._override_file is None:
            handle, name = tempfile.mkstemp(prefix="deploy-overrides-", suffix=".tfvars.json")
            with os.fdopen(handle, "w") as file:
                json.dump(self.overrides, file)
            self._override_file = Path(name)
            atexit.register(self._override_file.unlink, missing_ok=True)
        return self._override_file

    def init(self) -> None:
        """`terraform init` (with -plugin-dir when given: offline mirrors, tests)."""
        extra: dict[str, Any] = {"plugin_dir": str(self.plugin_dir)} if self.plugin_dir else {}
        self._run("init", self._tf.init, var=None, reconfigure=IsNotFlagged, **extra)

    def plan(self) -> str:
        """`terraform plan`; returns Terraform's plan text."""
        return self._run(
            "plan",
            self._tf.plan,
            ok_codes=(0, 2),
            detailed_exitcode=IsFlagged,
            **self._var_options(),
        )

    def apply(self) -> str:
        """`terraform apply -auto-approve`."""
        return self._run(
            # skip_plan=True is python-terraform's spelling of -auto-approve (=true).
            "apply",
            self._tf.apply,
            skip_plan=True,
            **self._var_options(),
        )

    def destroy(self) -> str:
        """`terraform destroy -auto-approve` (never `-force`)."""
        return self._run("destroy", self._tf.destroy, **self._var_options())

    def outputs(self) -> dict[str, Any]:
        """The root module's outputs as values; raises if one the inventory needs is missing."""
        out = self._run("output", self._tf.output_cmd, json=IsFlagged, var=None)
        try:
            raw = json.loads(out or "{}")
        except json.JSONDecodeError as exc:
            raise MissingOutputsError(f"terraform output -json printed no JSON: {exc}") from exc
        values = {name: item.get("value") for name, item in raw.items()}
        missing = [name for name in REQUIRED_OUTPUTS if values.get(name) is None]
        if missing:
            hint = (
                "nothing is deployed yet: run `python -m deploy up` first"
                if not values
                else "terraform/outputs.tf and the state disagree: run `python -m deploy up` again"
            )
            raise MissingOutputsError(f"Terraform outputs missing: {', '.join(missing)} ({hint})")
        return values


def env_plugin_dir() -> Path | None:
    """TF_PLUGIN_DIR: a local provider mirror for `terraform init -plugin-dir` (offline use)."""
    value = os.environ.get("TF_PLUGIN_DIR", "").strip()
    return Path(value) if value else None
