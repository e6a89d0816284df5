"""Checks on a Terraform var file before Terraform sees it, so a typo gets a plain answer."""

from __future__ import annotations

import json
import re
from pathlib import Path

from deploy.errors import VarFileError

SUFFIXES = (".tfvars", ".tfvars.json")
# Secrets come from the environment (TF_VAR_...), never from a file that may end up committed.
SECRET_VARIABLES = ("db_master_password", "cache_auth_token")


def check_var_file(path: Path) -> Path:
    """Return the var file's absolute path, or raise VarFileError saying what is wrong with it."""
    if not path.name.endswith(SUFFIXES):
        raise VarFileError(
            f"var file {path}: the name must end in .tfvars or .tfvars.json "
            f"(Terraform reads the format from it); see terraform/terraform.tfvars.example"
        )
    if not path.is_file():
        raise VarFileError(
            f"var file {path} does not exist: copy terraform/terraform.tfvars.example to it "
            f"and fill in admin_cidrs and ssh_public_key"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise VarFileError(f"var file {path} cannot be read as UTF-8 text: {exc}") from exc
    if path.name.endswith(".json"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise VarFileError(f"var file {path} is not valid JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise VarFileError(f"var file {path} must hold a JSON object of variable names")
        names = set(data)
    else:
        names = {line.split("=", 1)[0].strip() for line in text.splitlines() if "=" in line}
    leaked = sorted(names & set(SECRET_VARIABLES))
    if leaked:
        raise VarFileError(
            f"var file {path} sets {', '.join(leaked)}: pass secrets as environment variables "
            f"(TF_VAR_{leaked[0]}=...) so that they never land in a file"
        )
    return path.resolve()


def string_setting(path: Path, name: str) -> str | None:
    """The value a checked var file gives `name` when it is a plain string, else None."""
    text = path.read_text(encoding="utf-8")
    if path.name.endswith(".json"):
        value = json.loads(text).get(name)
        return value if isinstance(value, str) else None
    match = re.search(rf'^\s*{re.escape(name)}\s*=\s*"([^"]*)"', text, re.MULTILINE)
    return match.group(1) if match else None
