"""Faults under load: a killed instance, a rolling restart, Redis gone, PostgreSQL unreachable.

The Terratest pattern: clients keep calling through nginx while the fault happens, and every
single reply is checked afterwards.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from stack import core, procs
from stack.state import State
from tests.support import pg
from tests.support.http_client import Reply, call
from tests.support.load import Load, Outcome
from tests.support.redis_server import RedisServer
from tests.support.stacks import StackFactory, unique
from tests.support.tcp_proxy import TcpProxy


def _reader(state: State, path: str, name: str):  # type: ignore[no-untyped-def]
    def work(_: int) -> Outcome:
        return Outcome(name, call(state.url, "GET", path))

    return work


def _writer(state: State, prefix: str):  # type: ignore[no-untyped-def]
    def work(number: int) -> Outcome:
        code = f"{prefix}{number}"
        body = {"url": f"https://example.com/{code}", "code": code}
        return Outcome("write", call(state.url, "POST", "/api/links", body=body), payload=code)

    return work


def _create(state: State, code: str) -> None:
    reply = call(
        state.url, "POST", "/api/links", body={"url": "https://example.com/t", "code": code}
    )
    assert reply.status == 201, (reply.status, reply.body)


EXPECTED = {"redirect": {302}, "api-read": {200}, "health": {200}, "write": {201}}


def _unexpected(load: Load, allowed: list[Outcome] | None = None) -> list[tuple[str, int, str]]:
    return [
        (o.name, o.reply.status, o.reply.error or o.reply.body[:200].decode(errors="replace"))
        for o in load.outcomes
        if o.reply.status not in EXPECTED[o.name] and o not in (allowed or [])
    ]


def _cut_mid_reply(outcome: Outcome) -> bool:
    """A reply whose headers had arrived when its process died: gunicorn writes the headers and
    the body in two system calls, and nginx forwards the headers as soon as it has them, so a
    SIGKILL between the two leaves the client a short body that no proxy can take back."""
    return outcome.reply.status == 0 and (outcome.reply.error or "").startswith("IncompleteRead")


def test_sigkill_of_one_instance_costs_no_client_request(make_stack: StackFactory) -> None:
    state = make_stack(instances=3)
    code = unique("k")
    _create(state, code)
    victim = state.instances[1]
    assert victim.proc is not None
    workers = {
        "redirect": _reader(state, f"/{code}", "redirect"),
        "api-read": _reader(state, f"/api/links/{code}", "api-read"),
        "health": _reader(state, "/healthz", "health"),
    }
    with Load(workers) as load:
        load.wait_for(150)
        before_kill = load.count()
        os.killpg(victim.proc.pid, signal.SIGKILL)  # the instance and all its workers, no warning
        load.wait_for(450)
    procs.reap(victim.proc.pid)
    # Every request nginx could still send elsewhere succeeded: the only ones allowed to fail are
    # replies already under way in the killed process, at most one per client thread.
    cut = [o for o in load.outcomes if _cut_mid_reply(o)]
    assert len(cut) <= len(workers), cut
    assert _unexpected(load, allowed=cut) == []
    served_before = {o.reply.served_by for o in load.outcomes[:before_kill]}
    assert victim.name in served_before  # it was really taking traffic when it died
    assert len(load.outcomes) >= 600


def test_rolling_restart_under_mixed_load_fails_nothing_and_keeps_every_write(
    make_stack: StackFactory, db: pg.Connection
) -> None:
    # The write limit is not under test here: raise it so every write is a real write.
    state = make_stack(instances=3, write_rate="1000r/s")
    code = unique("rr")
    _create(state, code)
    pids_before = {i.name: i.proc.pid for i in state.instances if i.proc}
    prefix = unique("w") + "-"
    workers = {
        "redirect": _reader(state, f"/{code}", "redirect"),
        "api-read": _reader(state, f"/api/links/{code}", "api-read"),
        "write": _writer(state, prefix),
    }
    with Load(workers) as load:
        load.wait_for(100)
        started_at = load.count()
        core.rolling_restart(state.state_dir, log=lambda _: None)
        restart_requests = load.count() - started_at
        load.wait_for(100)
    assert _unexpected(load) == []
    assert restart_requests >= 100  # the load really overlapped the restart
    after = core.status(state.state_dir)[2]
    assert all(item.ready_status == 200 for item in after)
    assert all(pids_before[item.name] != item.pid for item in after)
    acknowledged = [o.payload for o in load.outcomes if o.name == "write" and o.reply.status == 201]
    assert len(acknowledged) >= 20
    stored = db.execute("SELECT count(*) FROM links WHERE code = ANY(%s)", (acknowledged,))
    assert stored.fetchone() == (len(acknowledged),)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    """A throwaway redis-server this test may kill (never the machine's shared one)."""
    with RedisServer() as server:
        yield server


def test_redis_stopped_mid_load_gives_no_5xx(
    make_stack: StackFactory, own_redis: RedisServer
) -> None:
    state = make_stack(instances=2, redis_url=own_redis.url, write_rate="1000r/s")
    code = unique("r")
    _create(state, code)
    workers = {
        "redirect": _reader(state, f"/{code}", "redirect"),
        "api-read": _reader(state, f"/api/links/{code}", "api-read"),
        "write": _writer(state, unique("rw") + "-"),
    }
    with Load(workers) as load:
        load.wait_for(150)
        cached_hits = load.count()
        own_redis.stop()
        load.wait_for(300)
    assert cached_hits > 0
    assert _unexpected(load) == []
    ready = call(state.url, "GET", "/readyz")
    assert ready.status == 200  # Redis down degrades, it does not unready
    assert ready.json()["checks"]["cache"]["status"] != "ok"


def _database_via(proxy_port: int, database_url: str) -> str:
    parts = urlsplit(database_url)
    netloc = f"{parts.username or 'postgres'}@127.0.0.1:{proxy_port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def test_postgres_unreachable_gives_503_json_from_the_app(
    make_stack: StackFactory, database_url: str
) -> None:
    parts = urlsplit(database_url)
    with TcpProxy(parts.hostname or "127.0.0.1", parts.port or 5432) as proxy:
        state = make_stack(instances=2, database_url=_database_via(proxy.port, database_url))
        code = unique("p")
        _create(state, code)
        proxy.stop()
        replies: list[Reply] = []
        for _ in range(6):  # more than max_fails per server: nginx must keep passing them on
            replies.append(call(state.url, "GET", f"/api/links/{unique('absent')}"))
            replies.append(call(state.url, "GET", "/readyz"))
        for reply in replies:
            assert reply.status == 503, (reply.status, reply.body)
            assert reply.served_by in {i.name for i in state.instances}, reply.headers
            assert reply.headers["content-type"].startswith("application/json")
        assert replies[0].json()["error"]["code"]
        assert replies[1].json()["checks"]["database"]["status"] == "unavailable"

        proxy.start()  # PostgreSQL is back, on the same port
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and call(state.url, "GET", "/readyz").status != 200:
            time.sleep(0.2)
        assert call(state.url, "GET", f"/api/links/{code}").status == 200
