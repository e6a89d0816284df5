"""The delete guarantee on a real stack, fault by fault: once a DELETE has answered 2xx, no
instance redirects the code 1 s later, whatever Redis does.

One stack (nginx + 3 gunicorn instances of 2 workers) for the whole matrix, with its own
redis-server. Instances reach it through TCP proxies: app-1 and app-2 share one, app-3 has its
own, so a fault can hit every instance or only app-3. Each case, under a steady load of
redirects of another link:

1. warms every instance: the victim link is answered from memory (the local-hit metric grows);
2. applies the fault and deletes the victim through nginx (a DELETE that Redis cannot confirm
   must answer 503 and delete nothing; the case then makes it succeed as a client would);
3. 1 s after the 2xx, asks every instance directly, and nginx, for the victim: 404 only;
4. creates a link during the fault: every instance follows it at once;
5. ends the fault: every instance answers from memory again;
6. checks that no read of the other link failed during all of it.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from prometheus_client.parser import text_string_to_metric_families

from stack import instances
from stack.state import Instance, State
from tests.support.auth import ADMIN
from tests.support.http_client import Reply, call
from tests.support.load import Load, Outcome
from tests.support.redis_server import RedisServer
from tests.support.stacks import running_stack
from tests.support.tcp_proxy import TcpProxy

GUARANTEE_SECONDS = 1.0
LATENCY_SECONDS = 0.3  # each way: above the app's 0.25 s socket timeout
WARM_TIMEOUT = 30.0


@dataclass
class Rig:
    state: State
    redis: RedisServer
    shared: TcpProxy  # app-1 and app-2 reach Redis through this one
    own: TcpProxy  # app-3's alone
    acknowledged_at: float = 0.0  # when the last DELETE answered 2xx

    @property
    def proxies(self) -> tuple[TcpProxy, TcpProxy]:
        return self.shared, self.own

    def heal(self) -> None:
        """Undo any fault a failed case may have left behind."""
        if self.redis.running:
            self.redis.resume()
        else:
            self.redis.start()
        for proxy in self.proxies:
            proxy.latency = 0.0
            proxy.restore()


def _proxy_url(proxy: TcpProxy) -> str:
    return f"redis://127.0.0.1:{proxy.port}/0"


def _restart_with(state: State, instance: Instance, env: dict[str, str]) -> None:
    assert instance.proc is not None
    instances.stop(instance.proc)
    instance.proc = instances.start(state.state_dir, instance.name, instance.port, env)
    state.save()
    instances.wait_ready(state.state_dir, instance.name, instance.port, instance.proc)


@pytest.fixture(scope="module")
def rig(tools: None, database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    state_dir = tmp_path_factory.mktemp("cache-faults")
    with ExitStack() as started:
        redis_server = started.enter_context(RedisServer())
        shared = started.enter_context(TcpProxy("127.0.0.1", redis_server.port))
        own = started.enter_context(TcpProxy("127.0.0.1", redis_server.port))
        # the write limit is not under test; retried deletes must pass
        state = started.enter_context(
            running_stack(state_dir, database_url, _proxy_url(shared), write_rate="off")
        )
        _restart_with(state, state.instances[2], {**state.env, "REDIS_URL": _proxy_url(own)})
        yield Rig(state=state, redis=redis_server, shared=shared, own=own)


# -- talking to the stack ------------------------------------------------------------------------
def _direct(instance: Instance) -> str:
    return f"http://127.0.0.1:{instance.port}"


def _code(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def _create(base_url: str, code: str) -> str:
    url = f"https://example.com/{code}"
    reply = call(base_url, "POST", "/api/links", body={"url": url, "code": code})
    assert reply.status == 201, (reply.status, reply.body)
    return url


def _delete(rig: Rig, base_url: str | None = None) -> Callable[[str], Reply]:
    """DELETE through nginx (or `base_url`), noting when one is acknowledged."""

    def delete(code: str) -> Reply:
        reply = call(base_url or rig.state.url, "DELETE", f"/api/links/{code}", headers=ADMIN)
        if 200 <= reply.status < 300:
            rig.acknowledged_at = time.monotonic()
        return reply

    return delete


def _local_hits(instance: Instance) -> float:
    """The instance's level-1 hits, all workers together, from its own /metrics."""
    reply = call(_direct(instance), "GET", "/metrics")
    assert reply.status == 200, reply.status
    for family in text_string_to_metric_families(reply.body.decode()):
        for sample in family.samples:
            if sample.name == "link_cache_lookups_total" and sample.labels == {
                "level": "local",
                "result": "hit",
            }:
                return sample.value
    return 0.0


def _answers_from_memory(instance: Instance, code: str, timeout: float = WARM_TIMEOUT) -> None:
    """Until nearly every lookup of `code` on the instance (both workers) is a level-1 hit."""
    deadline = time.monotonic() + timeout
    while True:
        before = _local_hits(instance)
        for _ in range(20):
            reply = call(_direct(instance), "GET", f"/{code}")
            assert reply.status == 302, (instance.name, reply.status)
        if _local_hits(instance) - before >= 15:  # a worker's first lookup may miss
            return
        assert time.monotonic() < deadline, f"{instance.name} never answered from memory"
        time.sleep(0.2)


def _every_instance_answers_from_memory(rig: Rig, code: str) -> None:
    for instance in rig.state.instances:
        _answers_from_memory(instance, code)


def _gone_everywhere(rig: Rig, code: str) -> None:
    """1 s after the DELETE's 2xx: 404 from every instance directly, and through nginx."""
    assert rig.acknowledged_at, "no DELETE was acknowledged"
    time.sleep(max(0.0, rig.acknowledged_at + GUARANTEE_SECONDS - time.monotonic()))
    for instance in rig.state.instances:
        statuses = [call(_direct(instance), "GET", f"/{code}").status for _ in range(10)]
        assert set(statuses) == {404}, (instance.name, statuses)
    everyone = {instance.name for instance in rig.state.instances}
    served_by: set[str | None] = set()
    for _ in range(30):  # through nginx, until every instance has answered
        reply = call(rig.state.url, "GET", f"/{code}")
        assert reply.status == 404, (reply.served_by, reply.status)
        served_by.add(reply.served_by)
        if served_by == everyone:
            break
    assert served_by == everyone


def _still_redirects(rig: Rig, code: str) -> None:
    for instance in rig.state.instances:
        assert call(_direct(instance), "GET", f"/{code}").status == 302, instance.name


def _new_link_followed_at_once(rig: Rig) -> None:
    code = _code("new")
    url = _create(rig.state.url, code)
    for instance in rig.state.instances:
        reply = call(_direct(instance), "GET", f"/{code}")
        assert (reply.status, reply.headers.get("location")) == (302, url), instance.name


def _in_background(work: Callable[[], Reply]) -> Callable[[], Reply]:
    """Start `work` in a thread; the returned function waits for its reply."""
    replies: list[Reply] = []
    thread = threading.Thread(target=lambda: replies.append(work()), daemon=True)
    thread.start()

    def result() -> Reply:
        thread.join(timeout=30)
        assert replies, "the request never finished"
        return replies[0]

    return result


# -- the faults -----------------------------------------------------------------------------------
def redis_killed(rig: Rig, victim: str) -> None:
    delete = _delete(rig)
    rig.redis.stop()
    refused = delete(victim)
    assert refused.status == 503, (refused.status, refused.body)
    assert refused.json()["error"]["code"] == "cache_unavailable"
    _still_redirects(rig, victim)  # nothing was deleted
    _new_link_followed_at_once(rig)
    rig.redis.start()  # a new process, its memory empty
    assert delete(victim).status == 204


def redis_hung(rig: Rig, victim: str) -> None:
    rig.redis.pause()
    refused = _delete(rig)(victim)  # waits for Redis, then gives up: nothing deleted
    assert refused.status == 503, (refused.status, refused.body)
    _still_redirects(rig, victim)
    _new_link_followed_at_once(rig)
    _delete_goes_through_when_back(rig, victim, after=1.0, back=rig.redis.resume)


def redis_restarted_empty(rig: Rig, victim: str) -> None:
    rig.redis.stop()
    _new_link_followed_at_once(rig)
    _delete_goes_through_when_back(rig, victim, after=0.5, back=rig.redis.start)


def _delete_goes_through_when_back(
    rig: Rig, victim: str, after: float, back: Callable[[], None]
) -> None:
    """A DELETE sent while Redis is away, which `back` brings back `after` seconds later,
    within the DELETE's wait: it goes through."""
    pending = _in_background(lambda: _delete(rig)(victim))
    time.sleep(after)
    back()
    assert pending().status == 204


def redis_slower_than_the_timeout(rig: Rig, victim: str) -> None:
    for proxy in rig.proxies:
        proxy.latency = LATENCY_SECONDS
    _new_link_followed_at_once(rig)
    assert _delete(rig)(victim).status == 204  # slow, but confirmed
    _gone_everywhere(rig, victim)
    for proxy in rig.proxies:
        proxy.latency = 0.0


def one_instance_cut_off(rig: Rig, victim: str) -> None:
    rig.own.cut()  # app-3 only: a partition, its sockets stay open and silent
    # Through an instance that still reaches Redis (app-3 would answer 503: see redis_killed).
    assert _delete(rig, _direct(rig.state.instances[0]))(victim).status == 204
    _gone_everywhere(rig, victim)  # app-3 included: its lease ran out, memory went off
    _new_link_followed_at_once(rig)
    rig.own.restore()


FAULTS = [
    redis_killed,
    redis_hung,
    redis_restarted_empty,
    redis_slower_than_the_timeout,
    one_instance_cut_off,
]


@pytest.mark.parametrize("fault", FAULTS, ids=[fault.__name__ for fault in FAULTS])
def test_an_acknowledged_delete_holds_on_every_instance(
    rig: Rig, fault: Callable[[Rig, str], None]
) -> None:
    victim, bystander = _code("victim"), _code("other")
    for code in (victim, bystander):
        _create(rig.state.url, code)
    _every_instance_answers_from_memory(rig, victim)
    _every_instance_answers_from_memory(rig, bystander)
    rig.acknowledged_at = 0.0

    def read_other(_: int) -> Outcome:
        return Outcome("redirect", call(rig.state.url, "GET", f"/{bystander}"))

    try:
        with Load({"redirect": read_other}, pause=0.005) as load:
            fault(rig, victim)
            _gone_everywhere(rig, victim)
            _every_instance_answers_from_memory(rig, bystander)
    finally:
        rig.heal()
    failed = [(o.reply.status, o.reply.error) for o in load.outcomes if o.reply.status != 302]
    assert failed == []
    assert len(load.outcomes) >= 50  # the load really ran through the fault
