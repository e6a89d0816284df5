"""A rolling deploy across the newest migration, as an operator runs one, under client load.

The previous release (taken from git) serves through nginx; the new release's migration runs
while it does; then the new release replaces the instances one at a time (`python -m stack
rolling-restart` of the new code). Readers and a writer call through nginx the whole time:
not one request may fail, and every write acknowledged with 201 must be there afterwards.

Both releases run on this checkout's virtualenv: the old one's pinned dependencies are a
subset of the new one's (the new release only adds packages), which is what a deploy that
installs the new requirements before restarting gives the old instances too.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack import core
from stack.config import REPO_ROOT
from tests.support import pg
from tests.support.auth import ADMIN, ADMIN_TOKEN
from tests.support.http_client import call
from tests.support.load import Load, Outcome
from tests.support.need import need
from tests.support.previous_release import (
    commit_before_newest_migration,
    history_problem,
    newest_migration,
    unpack,
)
from tests.support.procs import run
from tests.support.services import scratch_database

EXPECTED = {"redirect": {302}, "api-read": {200}, "write": {201}}


@pytest.fixture
def database() -> Iterator[str]:
    """A database of its own: the previous release must find it empty and migrate it itself."""
    with scratch_database("fm_roll") as url:
        yield url


def _stack_cli(code_dir: Path, env: dict[str, str], *args: str) -> str:
    """`python -m stack ARGS` of the release in `code_dir`; what it printed."""
    return run([sys.executable, "-m", "stack", *args], env=env, cwd=code_dir).stdout


def _writer(base_url: str):  # type: ignore[no-untyped-def]
    def work(number: int) -> Outcome:
        code = f"roll{number}"
        body = {"url": f"https://example.com/{code}", "code": code}
        return Outcome("write", call(base_url, "POST", "/api/links", body=body), payload=code)

    return work


def _reader(base_url: str, path: str, name: str):  # type: ignore[no-untyped-def]
    def work(_: int) -> Outcome:
        return Outcome(name, call(base_url, "GET", path))

    return work


def test_rolling_deploy_across_the_newest_migration_fails_nothing_and_keeps_every_write(
    tools: None, database: str, redis_url: str, tmp_path: Path
) -> None:
    problem = history_problem()
    need(problem is None, problem or "")
    old_release = unpack(commit_before_newest_migration(), tmp_path / "previous-release")
    state_dir = tmp_path / "stack"
    env = {
        **os.environ,
        "DATABASE_URL": database,
        "REDIS_URL": redis_url,
        # The new release's production rules, harmless to the old one.
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "ADMIN_TOKEN": ADMIN_TOKEN,
        # A load test: neither nginx's nor the app's write limit is under test here.
        "STACK_WRITE_RATE": "off",
        "RATELIMIT_ENABLED": "false",
    }
    env.pop("PORT", None)
    up = _stack_cli(
        old_release,
        env,
        "--state-dir",
        str(state_dir),
        "up",
        "-n",
        "3",
        "--port",
        "0",
        "--workers",
        "2",
    )
    try:
        match = re.search(r"stack is up: (http://\S+)", up)
        assert match, up
        base = match.group(1)
        legacy = call(
            base, "POST", "/api/links", body={"url": "https://example.com/legacy", "code": "legacy"}
        )
        assert legacy.status == 201  # made by the previous release, before the migration
        pids_before = {item.name: item.pid for item in core.status(state_dir)[2]}

        workers = {
            "redirect": _reader(base, "/legacy", "redirect"),
            "api-read": _reader(base, "/api/links/legacy", "api-read"),
            "write": _writer(base),
        }
        with Load(workers) as load:
            load.wait_for(100)
            core.migrate(env)  # the new code's migrations; the old release keeps serving
            load.wait_for(100)
            after_migration = load.count()
            _stack_cli(REPO_ROOT, env, "--state-dir", str(state_dir), "rolling-restart")
            restart_requests = load.count() - after_migration
            load.wait_for(100)

        failures = [
            (o.name, o.reply.status, o.reply.error or o.reply.body[:200].decode(errors="replace"))
            for o in load.outcomes
            if o.reply.status not in EXPECTED[o.name]
        ]
        assert failures == []
        assert restart_requests >= 100  # the load really overlapped the roll

        # Every instance is a new process, started from the new release's code.
        after = core.status(state_dir)[2]
        assert all(item.pid != pids_before[item.name] for item in after)
        assert all(item.ready_status == 200 for item in after)
        writes = [o for o in load.outcomes if o.name == "write"]
        acknowledged = [o.payload for o in writes]
        assert len(acknowledged) >= 30
        with pg.connect(database) as connection:
            stored = connection.execute(
                "SELECT count(*) FROM links WHERE code = ANY(%s)", (acknowledged,)
            ).fetchone()
            version = connection.execute("SELECT version_num FROM alembic_version").fetchone()
        assert stored == (len(acknowledged),)
        assert version == (newest_migration()[0],)
        for code in acknowledged:
            follow = call(base, "GET", f"/{code}")
            assert (follow.status, follow.headers.get("location")) == (
                302,
                f"https://example.com/{code}",
            ), code

        # The link the previous release made before the migration lives on, and goes as usual.
        assert call(base, "GET", "/legacy").status == 302
        assert call(base, "DELETE", "/api/links/legacy").status == 401
        assert call(base, "DELETE", "/api/links/legacy", headers=ADMIN).status == 204
        assert call(base, "GET", "/legacy").status == 404
    finally:
        core.down(state_dir)
