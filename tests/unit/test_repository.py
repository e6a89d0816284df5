"""The repository as a reader meets it: product code stands on its own, and every file speaks of
the project only."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

from tests.support.need import need
from tests.support.paths import REPO

PRODUCT_PACKAGES = ("app", "bench", "stack", "deploy", "scripts", "tools")
# Targets a person runs to build or operate the kit (not the test targets).
USER_TARGETS = ("compose-build", "compose-up", "docker-engine", "vagrant-box", "libvirt-start",
                "libvirt-stop", "tf-checkov", "ansible-venv", "deploy-venv")  # fmt: skip
# Words that belong in a tracker or a build machine, not in the project's files.
FOREIGN = re.compile(
    r"\bissue\s*#?\d+|shared/notes|/work/|firecracker|please do not edit|ask (me )?instead"
    r"|owned by the \w+ layer",
    re.IGNORECASE,
)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_product_code_never_imports_the_tests() -> None:
    offenders = [
        f"{path.relative_to(REPO)}: {name}"
        for package in PRODUCT_PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for name in sorted(_imports(path))
        if name == "tests" or name.startswith("tests.")
    ]
    assert offenders == []


def test_user_targets_run_nothing_from_the_tests() -> None:
    plan = subprocess.run(
        ["make", "-n", "-B", *USER_TARGETS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "tests/" not in plan


def _tracked_text_files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.decode()
    return [REPO / name for name in listed.split("\0") if name and (REPO / name).is_file()]


def test_files_speak_of_the_project_only() -> None:
    need((REPO / ".git").exists(), "not a git checkout: no list of tracked files")
    here = Path(__file__).resolve()
    found = []
    for path in _tracked_text_files():
        if path == here:
            continue
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        found += [f"{path.relative_to(REPO)}: {m.group(0)!r}" for m in FOREIGN.finditer(text)]
    assert found == []
