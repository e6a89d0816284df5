"""One upstream template (nginx/upstream.conf.j2) for every topology: the local stack renders it,
the Ansible role renders it, and Docker's file is its rendering, kept in step here."""

from __future__ import annotations

from stack.nginx import DOCKER_UPSTREAM, render_docker_upstream, render_upstream
from tests.support.paths import REPO
from tests.support.procs import run


def test_docker_upstream_is_the_templates_rendering() -> None:
    committed = (REPO / DOCKER_UPSTREAM).read_text()
    assert committed == render_docker_upstream(), (
        f"{DOCKER_UPSTREAM} is out of step with nginx/upstream.conf.j2: "
        f"python -m stack.nginx > {DOCKER_UPSTREAM}"
    )
    assert "server app:8000 max_fails=2 fail_timeout=5s;" in committed
    assert "keepalive " not in committed  # replicas are replaced at the same address


def test_no_other_file_writes_an_upstream_block() -> None:
    # git grep exits 1 when nothing matches: then the template itself is gone
    found = run(["git", "grep", "-l", "^upstream app_servers {", "--", ":!*.md"], check=False)
    assert sorted(found.stdout.split()) == sorted(["nginx/upstream.conf.j2", DOCKER_UPSTREAM])


def test_the_stacks_list_drains_and_balances_as_asked() -> None:
    text = render_upstream([8001, 8002], "least_conn", frozenset({8002}))
    assert "    least_conn;\n" in text
    assert "server 127.0.0.1:8001 max_fails=2 fail_timeout=5s;" in text
    assert "server 127.0.0.1:8002 max_fails=2 fail_timeout=5s down;" in text
    assert "keepalive 32;" in text and "keepalive_timeout 60s;" in text
    assert "least_conn;" not in render_upstream([8001], "round_robin")
