"""Ansible on the controller for the tests: its pinned venv, playbook runs logged to files with
their PLAY RECAP read back, and a fresh encrypted vault."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.paths import REPO
from tests.support.timing import record_phase
from tests.support.venvs import tool_venv

ANSIBLE_DIR = REPO / "ansible"
REQUIREMENTS = ANSIBLE_DIR / "requirements.txt"
CA_DIR = Path("/usr/local/share/ca-certificates")
RECAP = re.compile(
    r"^(?P<host>\S+)\s+:\s+ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)",
    re.MULTILINE,
)


def ensure_ansible_venv() -> Path:
    """bin/ of the venv with ansible/requirements.txt (the one `make ansible-venv` builds)."""
    return tool_venv("ansible", REQUIREMENTS) / "bin"


def ansible_env(bin_dir: Path, **extra: str) -> dict[str, str]:
    """Environment for ansible-* commands: this project's ansible.cfg, no colours, no prompts."""
    env = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(ANSIBLE_DIR / "ansible.cfg"),
        "ANSIBLE_HOST_KEY_CHECKING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PY_COLORS": "0",
        "ANSIBLE_RETRY_FILES_ENABLED": "0",
        # each task's duration at the end of the log: where a slow provisioning spends its time
        "ANSIBLE_CALLBACKS_ENABLED": "ansible.posix.profile_tasks",
    }
    env.update(extra)
    return env


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host, e.g. {"app1": {"ok": 30, "changed": 0, ...}}."""
    return {
        m["host"]: {k: int(m[k]) for k in ("ok", "changed", "unreachable", "failed")}
        for m in RECAP.finditer(output)
    }


def extra_ca_certificates() -> list[str]:
    """This machine's extra CAs (a TLS-inspecting proxy): hosts need them to reach PyPI."""
    return sorted(str(p) for p in CA_DIR.glob("*.crt")) if CA_DIR.is_dir() else []


@dataclass
class PlaybookRun:
    returncode: int
    output: str
    seconds: float
    log: Path

    @property
    def recap(self) -> dict[str, dict[str, int]]:
        return recap(self.output)

    def tail(self, lines: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


@dataclass
class Runner:
    """Runs ansible-playbook from ansible/ with one inventory, logging each run to a file."""

    bin_dir: Path
    inventory: Path
    workdir: Path
    extra_args: tuple[str, ...] = ()

    # bounded, yet with room for a fresh provisioning while other jobs load the 2 shared cores
    def run(self, playbook: str, *args: str, label: str, timeout: float = 1800) -> PlaybookRun:
        """Run one playbook; the label names the log file and the printed phase time."""
        log = self.workdir / (re.sub(r"[^A-Za-z0-9]+", "-", label).strip("-") + ".log")
        start = time.monotonic()
        # streamed to the log file, so a slow run can be followed while it happens
        with log.open("w") as sink:
            result = subprocess.run(
                [
                    str(self.bin_dir / "ansible-playbook"),
                    "-i",
                    str(self.inventory),
                    playbook,
                    *self.extra_args,
                    *args,
                ],
                cwd=ANSIBLE_DIR,
                env=ansible_env(self.bin_dir, ANSIBLE_LOCAL_TEMP=str(self.workdir / "tmp")),
                stdout=sink,
                stderr=subprocess.STDOUT,
                timeout=timeout,
                check=False,
            )
        seconds = time.monotonic() - start
        output = log.read_text()
        record_phase(label, seconds)
        return PlaybookRun(result.returncode, output, seconds, log)


def write_vault(inventory_dir: Path, bin_dir: Path) -> tuple[Path, dict[str, str]]:
    """group_vars/all/vault.yml from vault.example.yml with fresh values, encrypted; returns the
    vault password file and the values."""
    values = yaml.safe_load((ANSIBLE_DIR / "vault.example.yml").read_text())
    values = {name: secrets.token_hex(16) for name in values}
    vault = inventory_dir / "group_vars" / "all" / "vault.yml"
    vault.parent.mkdir(parents=True)
    vault.write_text(yaml.safe_dump(values))
    password_file = inventory_dir.parent / "vault-password"
    password_file.write_text(secrets.token_hex(16) + "\n")
    password_file.chmod(0o600)
    subprocess.run(
        [str(bin_dir / "ansible-vault"), "encrypt", "--vault-password-file", str(password_file),
         str(vault)],
        env=ansible_env(bin_dir),
        check=True,
        capture_output=True,
    )  # fmt: skip
    assert vault.read_text().startswith("$ANSIBLE_VAULT;")
    return password_file, values
