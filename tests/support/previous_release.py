"""The release before the newest migration, unpacked from git: the old side of a rolling deploy.

"Before" is the parent of the commit that added the newest migration file (or HEAD itself while
that file is not committed yet), so the test always runs across the newest migration, whichever
it is. It needs the repository's history: a shallow clone (CI's default fetch) has none.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from alembic.config import Config
from alembic.script import ScriptDirectory

from app.migrate import MIGRATIONS_DIR
from tests.support.paths import REPO


def _git(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, check=False)


def newest_migration() -> tuple[str, Path]:
    """(revision id, file) of the migrations' head."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    head = ScriptDirectory.from_config(config).get_revision("head")
    assert head is not None and head.path is not None
    return head.revision, Path(head.path)


def history_problem() -> str | None:
    """Why the previous release cannot be taken from git here, or None."""
    if _git("rev-parse", "--git-dir").returncode != 0:
        return "not a git checkout: the previous release comes from its history"
    if _git("rev-parse", "--is-shallow-repository").stdout.strip() == b"true":
        return "a shallow clone has no history to take the previous release from (fetch-depth: 0)"
    return None


def commit_before_newest_migration() -> str:
    """The newest commit whose tree does not have the newest migration yet."""
    migration = newest_migration()[1].relative_to(REPO).as_posix()
    # --follow: the migrations moved into the package once; their history goes on before that.
    log = ("log", "--follow", "--diff-filter=A", "--format=%H", "--", migration)
    added = _git(*log).stdout.split()
    commit = f"{added[-1].decode()}^" if added else "HEAD"
    resolved = _git("rev-parse", "--verify", commit).stdout.decode().strip()
    assert resolved, f"git cannot resolve {commit}"
    assert _git("cat-file", "-e", f"{resolved}:{migration}").returncode != 0, resolved
    return resolved


def unpack(commit: str, destination: Path) -> Path:
    """The tree of `commit`, as `git archive` gives it, under `destination`."""
    archive = _git("archive", "--format=tar", commit)
    assert archive.returncode == 0, archive.stderr.decode()
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(destination, filter="data")
    return destination
