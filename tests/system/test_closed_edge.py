"""The closed edge of the shared nginx policy: operations endpoints only for the addresses an
environment names, per-client limits on writes (API and HTML form) and on reads, the real client
address taken only from trusted proxies, and every limit a knob that `off` turns off.

A request's source address is chosen by binding the client socket to another loopback address
(127.0.0.2, 127.0.0.3): nginx listens on 127.0.0.1 and sees the address the client bound.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.support.http_client import Reply, call
from tests.support.stacks import StackFactory

OUTSIDER = "127.0.0.2"
BALANCER = "127.0.0.3"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
API_BURST = 15  # API writes sent at once after the flood: fewer than the policy's burst of 20


def _refused(reply: Reply) -> bool:
    """nginx's own 403 in the app's error shape: the request never reached an instance."""
    return (
        reply.status == 403
        and reply.served_by is None
        and reply.json()["error"]["code"] == "forbidden"
    )


def _form_posts(
    url: str, count: int, source: str | None = None, headers: dict[str, str] | None = None
) -> list[Reply]:
    # No CSRF token: the app answers 400, which is enough to tell "reached the app" from 429.
    body = b"url=https%3A%2F%2Fexample.com%2F"
    send = {**FORM, **(headers or {})}
    return [call(url, "POST", "/", body=body, headers=send, source=source) for _ in range(count)]


def _api_post(url: str) -> Reply:
    return call(url, "POST", "/api/links", body={"url": "https://example.com/"})


def _limited(replies: list[Reply]) -> list[Reply]:
    return [reply for reply in replies if reply.status == 429]


def test_metrics_and_readyz_answer_only_the_allowed_addresses(make_stack: StackFactory) -> None:
    state = make_stack(instances=1, balancer_from=[BALANCER])
    # the default allow-list (loopback 127.0.0.1) is the monitoring address
    assert call(state.url, "GET", "/metrics").status == 200
    assert call(state.url, "GET", "/readyz").status == 200
    # anyone else: refused by nginx, for both
    assert _refused(call(state.url, "GET", "/metrics", source=OUTSIDER))
    assert _refused(call(state.url, "GET", "/readyz", source=OUTSIDER))
    # the balancer's health checks may read /readyz, and nothing more
    assert call(state.url, "GET", "/readyz", source=BALANCER).status == 200
    assert _refused(call(state.url, "GET", "/metrics", source=BALANCER))
    # no trusted proxy is configured: a forged X-Forwarded-For changes nothing
    forged = {"X-Forwarded-For": "127.0.0.1"}
    assert _refused(call(state.url, "GET", "/metrics", source=OUTSIDER, headers=forged))
    # the rest of the app stays open to everyone
    assert call(state.url, "GET", "/healthz", source=OUTSIDER).served_by == "app-1"


def test_form_post_flood_gets_429_and_reads_go_on(make_stack: StackFactory) -> None:
    state = make_stack(instances=1, read_rate=None)  # the policy's own limits, both of them
    replies = _form_posts(state.url, 60)
    limited = _limited(replies)
    assert limited, sorted({reply.status for reply in replies})
    assert limited[0].json()["error"]["code"] == "rate_limited"
    assert limited[0].headers.get("retry-after") == "1"
    assert limited[0].served_by is None
    # the same bucket as the API's writes: it is empty for them too. Sent at once, fewer than the
    # burst (20): a bucket of the API's own would take them all, a refill on a slow machine some.
    with ThreadPoolExecutor(max_workers=API_BURST) as pool:
        api = list(pool.map(lambda _: _api_post(state.url), range(API_BURST)))
    assert _limited(api), sorted({reply.status for reply in api})
    # reads count against their own, looser limit
    reads = [call(state.url, "GET", "/healthz") for _ in range(20)]
    assert {reply.status for reply in reads} == {200}
    # another client has its own buckets
    assert _form_posts(state.url, 1, source=OUTSIDER)[0].served_by == "app-1"


def test_read_flood_gets_429(make_stack: StackFactory) -> None:
    # 1 r/s with the policy's burst of 100: 250 reads are over the limit however slow the machine
    state = make_stack(instances=1, read_rate="1r/s")
    replies = [call(state.url, "GET", path) for path in ("/healthz", "/api/links/nope") * 125]
    limited = _limited(replies)
    assert limited, sorted({reply.status for reply in replies})
    assert {reply.served_by for reply in limited} == {None}
    assert limited[0].json()["error"]["code"] == "rate_limited"
    assert len(replies) - len(limited) >= 100  # the burst went through


def test_off_turns_each_limit_off_and_the_allow_list_is_a_setting(
    make_stack: StackFactory,
) -> None:
    state = make_stack(instances=1, read_rate="off", write_rate="off", monitoring_from=[OUTSIDER])
    reads = [call(state.url, "GET", "/healthz") for _ in range(250)]
    writes = _form_posts(state.url, 60)
    assert not _limited(reads + writes)
    assert {reply.served_by for reply in reads + writes} == {"app-1"}  # each reached the app
    assert call(state.url, "GET", "/metrics", source=OUTSIDER).status == 200
    assert _refused(call(state.url, "GET", "/metrics"))  # 127.0.0.1 is no longer on it


def test_limits_and_allow_list_apply_to_the_client_behind_a_trusted_proxy(
    make_stack: StackFactory,
) -> None:
    # 127.0.0.1 plays a proxy in front of nginx (an ALB): its X-Forwarded-For is believed
    state = make_stack(instances=1, trusted_proxies=["127.0.0.1"])
    first = {"X-Forwarded-For": "198.51.100.1"}
    second = {"X-Forwarded-For": "198.51.100.2"}
    # the proxy itself is a monitoring address, the client it forwards is not
    assert call(state.url, "GET", "/metrics").status == 200
    assert _refused(call(state.url, "GET", "/metrics", headers=first))
    # one client's flood empties its own bucket, not the other's behind the same proxy
    assert _limited(_form_posts(state.url, 60, headers=first))
    assert _form_posts(state.url, 1, headers=second)[0].served_by == "app-1"
    # only the configured proxy is believed: another peer's header is ignored
    forged = {"X-Forwarded-For": "127.0.0.1"}
    assert _refused(call(state.url, "GET", "/metrics", source=OUTSIDER, headers=forged))
