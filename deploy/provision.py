"""Run ansible/site.yml against the generated inventory."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from deploy.errors import ProvisionError, require_tool


def run_playbook(
    playbook: Path,
    inventory: Path,
    extra_args: Sequence[str] = (),
    binary: str = "ansible-playbook",
) -> None:
    """ansible-playbook -i INVENTORY PLAYBOOK [extra args]; raises ProvisionError on failure."""
    resolved = require_tool(
        binary,
        ProvisionError,
        install="Ansible (pip install -r ansible/requirements.txt)",
        option="--ansible-playbook / ANSIBLE_PLAYBOOK",
    )
    if not playbook.is_file():
        raise ProvisionError(f"playbook {playbook} not found")
    if not inventory.is_file():
        raise ProvisionError(
            f"inventory {inventory} not found: run `python -m deploy inventory` first"
        )
    # ansible.cfg next to the playbook holds the project's settings; Ansible only reads it from
    # the working directory, so run from there.
    env = {**os.environ, "ANSIBLE_CONFIG": str(playbook.parent / "ansible.cfg")}
    command = [resolved, "-i", str(inventory), str(playbook), *extra_args]
    result = subprocess.run(command, cwd=playbook.parent, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        raise ProvisionError(
            f"ansible-playbook failed (exit {result.returncode}): see its output above"
        )
