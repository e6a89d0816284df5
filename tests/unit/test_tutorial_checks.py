"""The tutorial's blocks that a test machine cannot run (a whole dev VM, real AWS, Heroku, Docker on
this page's ports): each is valid bash, and every make target it names resolves with `make -n`.
The runnable blocks are executed by tests/stack/docs/test_tutorial.py."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.tutorial import (
    checked_blocks,
    make_invocations,
    runnable_sections,
    sections,
    shell_block_count,
)

ROOT = Path(__file__).resolve().parents[2]
TUTORIAL = ROOT / "docs" / "tutorial.md"
CHECKED = checked_blocks(TUTORIAL)


def test_every_shell_block_of_the_tutorial_is_run_or_checked() -> None:
    marked = sum(len(section.blocks) for section in sections(TUTORIAL))
    assert marked == shell_block_count(TUTORIAL)


def test_runnable_and_checked_steps_cover_the_workflow_in_order() -> None:
    titles = [section.title for section in sections(TUTORIAL)]
    assert [title.split(".")[0] for title in titles] == ["1", "2", "3", "4", "6", "7", "8", "9"]
    assert [s.title for s in runnable_sections(TUTORIAL)][:2] == [
        "1. Run it locally",
        "2. All four layers on one machine",
    ]


def _make_dry_run(env: dict[str, str], args: list[str]) -> subprocess.CompletedProcess[str]:
    # -B: print the recipes of every prerequisite too, as on a machine that has built nothing.
    return subprocess.run(
        ["make", "-n", "-B", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("title", "code"),
    [(title, block.code) for title, block in CHECKED],
    ids=[f"{title.split('.')[0]}-{n}" for n, (title, _) in enumerate(CHECKED)],
)
def test_checked_block_parses_and_its_make_targets_resolve(title: str, code: str) -> None:
    syntax = subprocess.run(["bash", "-n", "-c", code], capture_output=True, text=True)
    assert syntax.returncode == 0, f"{title}:\n{code}\n{syntax.stderr}"
    for env, args in make_invocations(code):
        result = _make_dry_run(env, args)
        assert result.returncode == 0, f"{title}: make {' '.join(args)}\n{result.stderr}"
        for argument in args:
            name, _, value = argument.partition("=")
            if value and re.fullmatch(r"[\w.-]+(/[\w.-]+)+", value):  # a path from the root
                assert (ROOT / value).exists(), f"{title}: {name}={value} does not exist"


def test_deploy_up_builds_the_ansible_it_calls() -> None:
    result = _make_dry_run({}, ["deploy-up"])
    assert result.returncode == 0, result.stderr
    assert "-r ansible/requirements.txt" in result.stdout
    assert "ANSIBLE_PLAYBOOK=" in result.stdout


def test_make_inventory_paths_are_from_the_repository_root() -> None:
    result = _make_dry_run({}, ["ansible-syntax", "INVENTORY=ansible/inventories/vagrant-layered"])
    assert result.returncode == 0, result.stderr
    inventory = re.search(r" -i (\S+) ", result.stdout)
    assert inventory is not None, result.stdout
    assert Path(inventory[1]).is_absolute()
    assert Path(inventory[1]) == ROOT / "ansible/inventories/vagrant-layered"
