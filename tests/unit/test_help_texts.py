"""`make help` and `bench --help`: what a newcomer reads first, grouped and true to the text."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def make_help() -> str:
    result = subprocess.run(
        ["make", "--no-print-directory", "help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def documented_targets() -> set[str]:
    """Every target with a `## text` in the Makefile and mk/*.mk."""
    names = set()
    for path in [ROOT / "Makefile", *sorted((ROOT / "mk").glob("*.mk"))]:
        names |= set(re.findall(r"^([a-zA-Z_-]+):.*## ", path.read_text(), re.M))
    return names


def test_make_help_lists_every_target_under_a_layer_heading() -> None:
    groups: dict[str, list[str]] = {}
    heading = None
    for line in make_help().splitlines():
        if not line.strip():
            continue
        if not line.startswith(" "):
            heading = line
            groups[heading] = []
            continue
        assert heading is not None, f"{line!r} comes before any heading"
        groups[heading].append(line.split()[0])
    listed = [target for targets in groups.values() for target in targets]
    assert sorted(listed) == sorted(documented_targets())
    assert len(listed) == len(set(listed))
    assert len(groups) >= 8
    assert all(groups.values()), "a heading without targets"


def test_make_help_prints_no_make_syntax() -> None:
    text = make_help()
    assert "$" not in text
    assert "##" not in text


def test_every_mk_file_is_included() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for path in (ROOT / "mk").glob("*.mk"):
        assert f"mk/{path.name}" in makefile, f"{path.name} is not included"


def test_each_old_name_runs_its_new_target_and_nothing_else() -> None:
    """mk/old-names.mk: `old: new ## = new`, one line each; the old name plans what the new does."""
    rules = re.findall(
        r"^([a-z-]+): ([a-z-]+) ## = (\S+)$", (ROOT / "mk" / "old-names.mk").read_text(), re.M
    )
    assert rules, "no `old: new ## = new` line found"
    for old, new, shown in rules:
        assert shown == new, f"{old}: help says {shown}, runs {new}"
        plans = [
            subprocess.run(
                ["make", "-n", "-B", name], cwd=ROOT, capture_output=True, text=True, timeout=60
            )
            for name in (old, new)
        ]
        assert [plan.returncode for plan in plans] == [0, 0], plans[0].stderr + plans[1].stderr
        assert plans[0].stdout == plans[1].stdout
        assert "warning" not in plans[0].stderr  # the old name is defined nowhere else


def test_bench_help_shows_defaults_and_needs() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--help"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    options = re.findall(r"^  (--[a-z0-9-]+)(.*?)(?=^  --|^\n|\Z)", result.stdout, re.M | re.S)
    assert len(options) >= 10
    for name, text in options:
        if name == "--no-p99-8":  # a switch: off unless given
            continue
        assert "default" in text, f"{name} hides its default"
    assert "needs: wrk and nginx" in " ".join(result.stdout.split())
