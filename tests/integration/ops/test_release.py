"""`make release VERSION=x.y.z`, run in a throwaway clone (the real repository is never tagged).

The clone gets the working-tree copies of the files the release touches, so the test checks the
release as it is now, committed or not.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
RELEASE_FILES = (
    "Makefile",
    "mk/release.mk",
    "scripts/release.sh",
    "CHANGELOG.md",
    "app/__init__.py",
)
# An isolated git: no user or system config (signing, hooks, templates) leaks into the test.
GIT_ENV = {
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_AUTHOR_NAME": "Release Test",
    "GIT_AUTHOR_EMAIL": "release@example.invalid",
    "GIT_COMMITTER_NAME": "Release Test",
    "GIT_COMMITTER_EMAIL": "release@example.invalid",
}


def run(cwd: Path, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def git(cwd: Path, *args: str) -> str:
    result = run(cwd, "git", *args)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of the repository with the current release files committed, and a change noted."""
    clone = tmp_path_factory.mktemp("release") / "template"
    git(ROOT, "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone))
    for name in RELEASE_FILES:
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, clone / name)
    changelog = clone / "CHANGELOG.md"
    # Start from nothing unreleased (the repository's own Unreleased section may have entries).
    unreleased = re.compile(r"(## \[Unreleased\]\n).*?(?=\n## \[)", flags=re.S)
    changelog.write_text(unreleased.sub(r"\1", changelog.read_text(), count=1))
    git(clone, "add", "--all")
    if run(clone, "git", "diff", "--cached", "--quiet").returncode != 0:
        git(clone, "commit", "--quiet", "-m", "test: the release files as in the working tree")
    changelog.write_text(
        changelog.read_text().replace(
            "## [Unreleased]\n", "## [Unreleased]\n\n### Fixed\n- A made-up fix for the test.\n", 1
        )
    )
    git(clone, "commit", "--quiet", "-am", "test: note a change")
    git(clone, "remote", "remove", "origin")  # nothing can reach the real repository
    return clone


@pytest.fixture
def repo(template: Path, tmp_path: Path) -> Path:
    clone = tmp_path / "repo"
    git(template, "clone", "--quiet", str(template), str(clone))
    git(clone, "remote", "remove", "origin")
    return clone


def current_version(repo: Path) -> str:
    text = (repo / "app" / "__init__.py").read_text()
    return re.search(r'^__version__ = "([^"]+)"', text, re.M).group(1)


def bump(version: str) -> str:
    major, minor, _ = map(int, version.split("."))
    return f"{major}.{minor + 1}.0"


def test_release_bumps_dates_commits_and_tags(repo: Path) -> None:
    before = current_version(repo)
    new = bump(before)
    result = run(repo, "make", "-s", "release", f"VERSION={new}")
    assert result.returncode == 0, result.stderr
    assert "Nothing was pushed" in result.stdout

    assert current_version(repo) == new
    changelog = (repo / "CHANGELOG.md").read_text()
    today = datetime.now(UTC).strftime("%Y-%m-%d")
    unreleased, rest = changelog.split("## [Unreleased]\n", 1)[1].split(
        f"## [{new}] - {today}\n", 1
    )
    assert unreleased.strip() == ""  # the notes moved into the release
    assert rest.index("A made-up fix for the test.") < rest.index(f"## [{before}]")
    assert f"/compare/v{new}...HEAD" in changelog
    assert f"[{new}]: " in changelog and f"/compare/v{before}...v{new}" in changelog

    assert git(repo, "status", "--porcelain") == ""
    assert git(repo, "log", "-1", "--format=%s") == f"Release {new}"
    assert git(repo, "rev-parse", f"v{new}^{{commit}}") == git(repo, "rev-parse", "HEAD")
    assert git(repo, "cat-file", "-t", f"v{new}") == "tag"  # annotated
    assert git(repo, "diff", "--name-only", "HEAD~1") == "CHANGELOG.md\napp/__init__.py"
    version = run(repo, "make", "-s", "version")
    assert version.stdout.strip() == new


@pytest.mark.parametrize(
    ("version", "message"),
    [
        ("", "set VERSION"),
        ("1.2", "not a semantic version"),
        ("v1.2.3", "not a semantic version"),
        ("01.2.3", "not a semantic version"),
        ("1.2.3-rc.1", "not a semantic version"),
        ("1.2.3; touch pwned", "not a semantic version"),
        ("CURRENT", "not greater than the current version"),
        ("0.0.1", "not greater than the current version"),
    ],
)
def test_release_refuses_bad_versions(repo: Path, version: str, message: str) -> None:
    if version == "CURRENT":
        version = current_version(repo)
    head = git(repo, "rev-parse", "HEAD")
    result = run(repo, "make", "-s", "release", f"VERSION={version}")
    assert result.returncode != 0
    assert message in result.stderr
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "tag", "--list", "v*", "--contains", head) == ""
    assert git(repo, "status", "--porcelain") == ""
    assert not (repo / "pwned").exists()


def test_release_refuses_a_dirty_tree(repo: Path) -> None:
    (repo / "README.md").write_text((repo / "README.md").read_text() + "\nlocal edit\n")
    result = run(repo, "make", "-s", "release", f"VERSION={bump(current_version(repo))}")
    assert result.returncode != 0
    assert "uncommitted changes" in result.stderr
    assert git(repo, "log", "-1", "--format=%s") == "test: note a change"


def test_release_refuses_an_existing_tag_and_empty_notes(repo: Path) -> None:
    new = bump(current_version(repo))
    tags = git(repo, "tag", "--list")
    git(repo, "tag", f"v{new}")
    taken = run(repo, "make", "-s", "release", f"VERSION={new}")
    assert taken.returncode != 0
    assert f"tag v{new} already exists" in taken.stderr
    git(repo, "tag", "--delete", f"v{new}")

    git(repo, "reset", "--quiet", "--hard", "HEAD~1")  # before the changelog entry
    empty = run(repo, "make", "-s", "release", f"VERSION={new}")
    assert empty.returncode != 0
    assert "nothing under ## [Unreleased]" in empty.stderr
    assert git(repo, "tag", "--list") == tags
