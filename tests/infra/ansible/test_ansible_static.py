"""Checks that need no host: lint, syntax, input validation, the release archive."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from tests.support import tutorial
from tests.support.ansible import ANSIBLE_DIR, ansible_env
from tests.support.need import need
from tests.support.paths import REPO

PLAYBOOKS = ("site.yml", "release.yml")
INVENTORIES = ("inventories/vagrant-single", "inventories/vagrant-layered")
ARCHIVE_SCRIPT = ANSIBLE_DIR / "roles" / "app" / "files" / "make-release-archive.sh"


def run(bin_dir: Path, *argv: str, cwd: Path = ANSIBLE_DIR) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / argv[0]), *argv[1:]],
        cwd=cwd,
        env=ansible_env(bin_dir),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def run_site_yml(ansible_bin: Path, tmp_path: Path, inventory_text: str) -> tuple[int, str]:
    """site.yml against an inventory written from `inventory_text`: (exit code, all output)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(inventory_text)
    result = run(ansible_bin, "ansible-playbook", "-i", str(inventory), "site.yml")
    return result.returncode, result.stdout + result.stderr


def test_the_tutorial_lints_and_syntax_checks(ansible_bin: Path, tmp_path: Path) -> None:
    """The tutorial's `make ansible-lint ansible-syntax`, as written (lint: production profile)."""
    (block,) = tutorial.claim("4", "local")
    env = {**ansible_env(ansible_bin), "ANSIBLE_LOCAL_TEMP": str(tmp_path)}
    result = tutorial.run(block.code, cwd=REPO, env=env, log=tmp_path / "make.log")
    tutorial.assert_as_promised(block, block.code, result)


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("playbook", PLAYBOOKS)
def test_playbooks_pass_the_syntax_check(ansible_bin: Path, playbook: str, inventory: str) -> None:
    result = run(ansible_bin, "ansible-playbook", "--syntax-check", "-i", inventory, playbook)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("inventory", INVENTORIES)
def test_inventories_define_the_four_groups(ansible_bin: Path, inventory: str) -> None:
    result = run(ansible_bin, "ansible-inventory", "-i", inventory, "--graph")
    assert result.returncode == 0, result.stderr
    for group in ("@lb:", "@app:", "@db:", "@cache:"):
        assert group in result.stdout


def test_an_inventory_without_a_db_group_is_refused_with_a_clear_message(
    ansible_bin: Path, tmp_path: Path
) -> None:
    returncode, output = run_site_yml(
        ansible_bin,
        tmp_path,
        "all:\n  children:\n    lb: {hosts: {h1: {ansible_connection: local}}}\n"
        "    app: {hosts: {h1: {}}}\n",
    )
    assert returncode != 0
    assert "The inventory needs groups lb" in output
    assert "db=[]" in output


def test_a_managed_database_replaces_the_db_group(ansible_bin: Path, tmp_path: Path) -> None:
    """No db host is fine when every app host names its database (RDS): the inventory check
    passes and the next check, the secrets, is the one that stops this secret-less run."""
    returncode, output = run_site_yml(
        ansible_bin,
        tmp_path,
        "all:\n  children:\n    lb: {hosts: {h1: {ansible_connection: local}}}\n"
        "    app: {hosts: {h1: {app_db_host: db.example.internal}}}\n",
    )
    assert returncode != 0
    assert "The inventory needs groups lb" not in output
    assert "No secrets: define vault_app_db_password" in output


def test_missing_secrets_are_refused_with_a_clear_message(
    ansible_bin: Path, tmp_path: Path
) -> None:
    returncode, output = run_site_yml(
        ansible_bin,
        tmp_path,
        "all:\n  hosts: {h1: {ansible_connection: local}}\n  children:\n"
        "    lb: {hosts: {h1: {}}}\n    app: {hosts: {h1: {}}}\n"
        "    db: {hosts: {h1: {}}}\n    cache: {hosts: {h1: {}}}\n",
    )
    assert returncode != 0
    assert "No secrets: define vault_app_db_password" in output


def _archive(source: Path, cache: Path) -> tuple[str, str]:
    result = subprocess.run(
        ["bash", str(ARCHIVE_SCRIPT), str(source), str(cache), "app", "requirements.txt"],
        capture_output=True,
        text=True,
        check=True,
    )
    release_id, state = result.stdout.split()
    return release_id, state


def test_release_archive_id_follows_the_content_only(tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / "app").mkdir(parents=True)
    (source / "app" / "main.py").write_text("print('v1')\n")
    (source / "requirements.txt").write_text("flask==3.1.3\n")
    cache = tmp_path / "cache"

    first = _archive(source, cache)
    again = _archive(source, cache)
    (source / "app" / "main.py").write_text("print('v2')\n")
    changed = _archive(source, cache)

    assert first[1] == "created"
    assert again == (first[0], "unchanged")
    assert changed[0] != first[0]
    assert changed[1] == "created"
    listing = subprocess.run(
        ["tar", "-tzf", str(cache / f"{changed[0]}.tar.gz")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listing) == ["app/main.py", "requirements.txt"]


def test_release_archive_cache_is_private_and_refused_when_someone_elses(tmp_path: Path) -> None:
    source = tmp_path / "tree"
    (source / "app").mkdir(parents=True)
    (source / "app" / "main.py").write_text("print('v1')\n")
    (source / "requirements.txt").write_text("flask==3.1.3\n")

    _archive(source, tmp_path / "mine")
    assert stat.S_IMODE((tmp_path / "mine").stat().st_mode) == 0o700

    need(os.geteuid() == 0, "handing a folder to another user needs root")
    planted = tmp_path / "planted"
    planted.mkdir(mode=0o777)
    os.chown(planted, 65534, 65534)  # nobody: another user got there first (a shared /tmp)
    result = subprocess.run(
        ["bash", str(ARCHIVE_SCRIPT), str(source), str(planted), "app"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert f"release cache {planted} belongs to another user" in result.stderr
    assert list(planted.iterdir()) == []


def test_release_archive_takes_uncommitted_files_but_not_ignored_ones(tmp_path: Path) -> None:
    need_git = shutil.which("git")
    assert need_git, "git is on every machine this project supports"
    source = tmp_path / "repo"
    (source / "app").mkdir(parents=True)
    (source / "app" / "tracked.py").write_text("x = 1\n")
    (source / "requirements.txt").write_text("flask==3.1.3\n")
    (source / ".gitignore").write_text("*.log\n")
    git = ["git", "-C", str(source), "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "init"], check=True)
    (source / "app" / "new_untracked.py").write_text("y = 2\n")
    (source / "app" / "debug.log").write_text("ignored\n")

    release_id, _ = _archive(source, tmp_path / "cache")

    listing = subprocess.run(
        ["tar", "-tzf", str(tmp_path / "cache" / f"{release_id}.tar.gz")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert sorted(listing) == ["app/new_untracked.py", "app/tracked.py", "requirements.txt"]
