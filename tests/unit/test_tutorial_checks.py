"""The tutorial's blocks: every one is run by exactly one test or marked `check` with a reason;
a `check` block (a whole 5-VM dev VM set, real AWS, Heroku) is valid bash and every make target
it names resolves with `make -n`. Runnable blocks are executed by the tests that claim them
(tests/support/tutorial.py says which environment each needs)."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.support.tutorial import (
    SUBSTITUTIONS,
    TUTORIAL,
    checked_blocks,
    make_invocations,
    runnable,
    sections,
    shell_block_count,
)

ROOT = Path(__file__).resolve().parents[2]
CHECKED = checked_blocks(TUTORIAL)


def _claims() -> list[tuple[tuple[str, str], str]]:
    """((section, environment), test file) of every claim("...", "...") call under tests/."""
    found = []
    for path in sorted((ROOT / "tests").rglob("*.py")):  # tests and their helpers
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", getattr(node.func, "attr", None)) == "claim"
                and len(node.args) == 2
                and all(isinstance(a, ast.Constant) for a in node.args)
            ):
                pair = (node.args[0].value, node.args[1].value)
                found.append((pair, str(path.relative_to(ROOT))))
    return found


def test_every_shell_block_of_the_tutorial_is_run_or_checked() -> None:
    marked = sum(len(section.blocks) for section in sections(TUTORIAL))
    assert marked == shell_block_count(TUTORIAL)


def test_every_runnable_block_is_run_by_exactly_one_test() -> None:
    claims = _claims()
    claimed = [pair for pair, _ in claims]
    assert sorted(claimed) == sorted(set(claimed)), f"claimed twice: {claims}"
    assert set(claimed) == set(runnable(TUTORIAL)), claims


def test_each_check_block_says_why_it_cannot_run_here() -> None:
    for title, block in CHECKED:
        assert len(block.why) > 20, f"{title}: a check block without its reason\n{block.code}"


def test_the_substitution_table_names_only_texts_the_page_has() -> None:
    blocks = {env: "" for env in SUBSTITUTIONS}
    for section in sections(TUTORIAL):
        for block in section.blocks:
            if block.kind != "check":
                texts = [block.code, *block.expect, block.ready or ""]
                blocks[block.environment] += "\n".join(texts)
    for environment, table in SUBSTITUTIONS.items():
        for text in table:
            assert text in blocks[environment], f"{environment}: {text!r} is in no block"


def test_the_workflow_is_covered_in_order() -> None:
    titles = [section.title for section in sections(TUTORIAL)]
    assert [title.split(".")[0] for title in titles] == ["1", "2", "3", "4", "6", "7", "8", "9"]
    # every step this machine can run has a runnable block (only real AWS and Heroku cannot)
    assert {number for number, _ in runnable(TUTORIAL)} == {"1", "2", "3", "4", "6", "7", "8"}


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


BLOCKS = [(s.title, b) for s in sections(TUTORIAL) for b in s.blocks]


@pytest.mark.parametrize(
    ("title", "code"),
    [(title, block.code) for title, block in BLOCKS],
    ids=[f"{title.split('.')[0]}-{n}" for n, (title, _) in enumerate(BLOCKS)],
)
def test_every_block_parses_and_its_make_targets_resolve(title: str, code: str) -> None:
    """Checked here for every block, so a typo shows in the unit tier before an infra test."""
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
