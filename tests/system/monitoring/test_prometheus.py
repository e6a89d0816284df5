"""A real Prometheus (Debian's) scrapes the local layered stack: every app instance is up, its
request counter moves with the traffic nginx sends it, the alert rules load and evaluate, and
every dashboard query runs against real data.

Prometheus gets its own config in tmp: monitoring/prometheus.yml with the stack's real targets in
place of compose's DNS discovery, a 1 s scrape interval, and a free port.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
import yaml

from stack import instances
from stack.state import State
from tests.support.apt import debian_tool
from tests.support.ports import free_port
from tests.support.stacks import running_stack

ROOT = Path(__file__).resolve().parents[3]
MONITORING = ROOT / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "flask-multitier.json"


def prometheus_config(state: State, own_port: int) -> dict:
    config = yaml.safe_load((MONITORING / "prometheus.yml").read_text())
    config["global"].update(scrape_interval="1s", evaluation_interval="1s")
    config["rule_files"] = [str(MONITORING / "alerts.yml")]
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    app = jobs["app"]
    del app["dns_sd_configs"]
    app["scrape_timeout"] = "1s"
    app["static_configs"] = [
        {"targets": [f"127.0.0.1:{instance.port}" for instance in state.instances]}
    ]
    jobs["prometheus"]["static_configs"] = [{"targets": [f"127.0.0.1:{own_port}"]}]
    del jobs["nginx"]  # the stack's nginx has no stub_status page (see docs/monitoring.md)
    config["scrape_configs"] = list(jobs.values())
    return config


class Prometheus:
    def __init__(self, base: str) -> None:
        self.base = base

    def query(self, promql: str) -> list[dict]:
        response = requests.get(f"{self.base}/api/v1/query", params={"query": promql}, timeout=10)
        body = response.json()
        assert body["status"] == "success", (promql, body)
        return body["data"]["result"]

    def by_instance(self, promql: str) -> dict[str, float]:
        return {item["metric"]["instance"]: float(item["value"][1]) for item in self.query(promql)}

    def wait_for(self, check: Callable[[], bool], what: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.5)
        raise AssertionError(f"Prometheus never saw: {what}")


@pytest.fixture(scope="module")
def monitored_stack(
    tools: None, database_url: str, redis_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[State, Prometheus]]:
    """Two app instances behind nginx, and a Prometheus scraping them; shared by this module."""
    binary = debian_tool("prometheus", "prometheus")
    tmp_path = tmp_path_factory.mktemp("monitoring")
    stack = running_stack(tmp_path / "stack", database_url, redis_url, instances=2, workers=1)
    with stack as state, running_prometheus(state, binary, tmp_path) as prometheus:
        yield state, prometheus


@contextmanager
def running_prometheus(state: State, binary: str, tmp_path: Path) -> Iterator[Prometheus]:
    port = free_port()
    config_path = tmp_path / "prometheus.yml"
    config_path.write_text(yaml.safe_dump(prometheus_config(state, port)))
    log = (tmp_path / "prometheus.log").open("w")
    process = subprocess.Popen(
        [
            binary,
            f"--config.file={config_path}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
            try:
                if requests.get(f"{base}/-/ready", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            assert time.monotonic() < deadline, "Prometheus did not become ready"
            time.sleep(0.3)
        yield Prometheus(base)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _healthz_counts(prometheus: Prometheus) -> dict[str, float]:
    return prometheus.by_instance(
        'sum by (instance) (http_requests_total{job="app", endpoint="/healthz", status="200"})'
    )


def _send(state: State, count: int) -> Counter[str]:
    """`count` requests through nginx; how many each instance answered."""
    served: Counter[str] = Counter()
    for _ in range(count):
        response = requests.get(f"{state.url}/healthz", headers={"Connection": "close"}, timeout=10)
        assert response.status_code == 200
        served[response.headers["X-Served-By"]] += 1
    return served


def test_prometheus_sees_every_instance_up_and_counting(
    monitored_stack: tuple[State, Prometheus],
) -> None:
    state, prometheus = monitored_stack
    targets = {f"127.0.0.1:{instance.port}" for instance in state.instances}
    prometheus.wait_for(
        lambda: prometheus.by_instance('up{job="app"}') == dict.fromkeys(targets, 1.0),
        f"every app instance up: {sorted(targets)}",
    )

    # Traffic through nginx; X-Served-By says which instance answered each request. A first
    # round makes every instance's /healthz series exist (a counter's first sample is only a
    # baseline for Prometheus), the second must then show as an increase.
    target_of = {instance.name: f"127.0.0.1:{instance.port}" for instance in state.instances}
    warmup = _send(state, 20)
    assert set(warmup) == set(target_of), f"nginx spread {dict(warmup)}"
    prometheus.wait_for(
        lambda: set(_healthz_counts(prometheus)) == targets, "a /healthz series per instance"
    )
    before = _healthz_counts(prometheus)
    served = _send(state, 40)
    expected = {target_of[name]: before[target_of[name]] + count for name, count in served.items()}
    prometheus.wait_for(
        lambda: all(_healthz_counts(prometheus).get(t, 0) >= n for t, n in expected.items()),
        f"each instance's /healthz counter reach {expected}",
    )
    after = _healthz_counts(prometheus)
    assert all(after[target] > before[target] for target in expected), (before, after)
    rate = prometheus.by_instance(
        'sum by (instance) (rate(http_requests_total{job="app", endpoint="/healthz"}[30s]))'
    )
    assert set(rate) == targets, rate
    assert all(value > 0 for value in rate.values()), rate
    print(f"\nnginx spread: {dict(served)}; /healthz rate per instance (30s): {rate}")


def test_alert_rules_load_and_dashboard_queries_return_data(
    monitored_stack: tuple[State, Prometheus],
) -> None:
    state, prometheus = monitored_stack
    for _ in range(10):
        requests.get(f"{state.url}/healthz", timeout=10)
    prometheus.wait_for(
        lambda: bool(prometheus.query('rate(http_requests_total{job="app"}[15s]) > 0')),
        "a request rate",
    )

    rules = requests.get(f"{prometheus.base}/api/v1/rules", timeout=10).json()["data"]["groups"]
    loaded = {rule["name"]: rule for group in rules for rule in group["rules"]}
    assert {"InstanceDown", "HighErrorRatio", "ReadinessFailing"} <= set(loaded)
    prometheus.wait_for(
        lambda: all(
            rule.get("lastEvaluation", "").startswith("20")
            for group in requests.get(f"{prometheus.base}/api/v1/rules", timeout=10).json()["data"][
                "groups"
            ]
            for rule in group["rules"]
        ),
        "every rule evaluated",
    )
    rules = requests.get(f"{prometheus.base}/api/v1/rules", timeout=10).json()["data"]["groups"]
    states = {}
    for rule in (rule for group in rules for rule in group["rules"]):
        assert rule["health"] == "ok", rule
        states[rule["name"]] = rule["state"]
    # A healthy stack fires none of the failure alerts (latency depends on the machine's load).
    for name in ("InstanceDown", "HighErrorRatio", "ReadinessFailing"):
        assert states[name] == "inactive", states
    print(f"\nalert states: {states}")

    dashboard = json.loads(DASHBOARD.read_text())
    empty = []
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = (
                target["expr"].replace("$__rate_interval", "15s").replace('=~"$instance"', '=~".*"')
            )
            result = prometheus.query(expr)  # asserts the query is valid PromQL
            if not result and "nginx_" not in expr:
                empty.append((panel["title"], expr))
    # Cache and error panels are empty until there are redirects or errors; these must not be.
    must_have_data = {
        "App instances up",
        "Requests / s",
        "Request rate by instance",
        "Requests by status",
        "Latency percentiles (in the app)",
        "DB pool connections in use",
    }
    assert not [title for title, _ in empty if title in must_have_data], empty


def test_a_stopped_instance_is_down_and_alerted(
    make_stack: Callable[..., State], tmp_path: Path
) -> None:
    state = make_stack(instances=2, workers=1)
    kept, stopped = (f"127.0.0.1:{instance.port}" for instance in state.instances)
    with running_prometheus(state, debian_tool("prometheus", "prometheus"), tmp_path) as prometheus:
        prometheus.wait_for(
            lambda: prometheus.by_instance('up{job="app"}') == {kept: 1.0, stopped: 1.0},
            "both instances up",
        )
        instances.stop(state.instances[1].proc)
        prometheus.wait_for(
            lambda: prometheus.by_instance('up{job="app"}') == {kept: 1.0, stopped: 0.0},
            f"{stopped} down and {kept} still up",
        )

        def alerted() -> list[dict]:
            body = requests.get(f"{prometheus.base}/api/v1/alerts", timeout=10).json()
            return [a for a in body["data"]["alerts"] if a["labels"]["alertname"] == "InstanceDown"]

        prometheus.wait_for(lambda: bool(alerted()), "InstanceDown pending")
        assert [alert["labels"]["instance"] for alert in alerted()] == [stopped]
        assert alerted()[0]["state"] in {"pending", "firing"}  # firing after `for: 1m`
