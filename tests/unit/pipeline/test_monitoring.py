"""Monitoring definitions: promtool accepts the config and rules, the alert unit tests pass,
and the Grafana dashboard only asks for metrics the app really exports."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

from prometheus_client import REGISTRY

from app import metrics  # noqa: F401  (registers the app's metrics)
from tests.support.paths import REPO as ROOT
from tests.support.paths import load_yaml

MONITORING = ROOT / "monitoring"
DASHBOARD = MONITORING / "grafana" / "dashboards" / "flask-multitier.json"
DATASOURCES = MONITORING / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
SELECTOR = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)\{")
# Series that come from Prometheus itself or from nginx-prometheus-exporter, not from the app.
NOT_FROM_THE_APP = {"up"}
NGINX_EXPORTER_PREFIX = "nginx_"


def _promtool(promtool: str, *args: str, cwd: Path = MONITORING) -> subprocess.CompletedProcess:
    return subprocess.run(
        [promtool, *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _app_series() -> set[str]:
    """Every series name the app's metrics produce."""
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    return {
        family.name + suffix
        for family in REGISTRY.collect()
        for suffix in suffixes.get(family.type, [])
    }


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    exprs += [var["definition"] for var in dashboard["templating"]["list"]]
    return exprs


def test_promtool_accepts_config_and_rules(promtool: str) -> None:
    config = _promtool(promtool, "check", "config", "prometheus.yml")
    assert config.returncode == 0, config.stdout + config.stderr
    rules = _promtool(promtool, "check", "rules", "alerts.yml")
    assert rules.returncode == 0, rules.stdout + rules.stderr
    assert "SUCCESS: 5 rules found" in rules.stdout


def test_alert_unit_tests_pass(promtool: str) -> None:
    result = _promtool(promtool, "test", "rules", "alerts.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_alert_unit_tests_catch_a_wrong_threshold(promtool: str, tmp_path: Path) -> None:
    shutil.copy(MONITORING / "alerts.test.yml", tmp_path)
    rules = (MONITORING / "alerts.yml").read_text()
    assert "> 0.05" in rules
    (tmp_path / "alerts.yml").write_text(rules.replace("> 0.05", "> 0.5"))
    result = _promtool(promtool, "test", "rules", "alerts.test.yml", cwd=tmp_path)
    assert result.returncode != 0
    assert "HighErrorRatio" in result.stdout + result.stderr


def test_the_obvious_failures_have_alerts() -> None:
    rules = load_yaml(MONITORING / "alerts.yml")["groups"][0]["rules"]
    names = {rule["alert"] for rule in rules}
    assert names == {
        "InstanceDown",
        "HighErrorRatio",
        "ReadinessFailing",
        "HighLatencyP99",
        "CacheHitRatioLow",
    }
    by_name = {rule["alert"]: rule for rule in rules}
    assert by_name["InstanceDown"]["expr"].strip() == "up == 0"
    for rule in rules:
        assert rule["labels"]["severity"] in {"critical", "warning"}
        assert rule["annotations"]["summary"]


def test_rules_and_dashboard_use_only_real_metric_names() -> None:
    exported = _app_series()
    assert {"http_requests_total", "http_request_duration_seconds_bucket"} <= exported
    rules = load_yaml(MONITORING / "alerts.yml")["groups"][0]["rules"]
    exprs = _dashboard_exprs() + [rule["expr"] for rule in rules]
    used = {name for expr in exprs for name in SELECTOR.findall(expr)}
    unknown = {
        name
        for name in used - exported - NOT_FROM_THE_APP
        if not name.startswith(NGINX_EXPORTER_PREFIX)
    }
    assert unknown == set()
    # What the dashboard is for: rate, errors, latency, cache, pool.
    assert {
        "http_requests_total",
        "http_request_duration_seconds_bucket",
        "link_cache_lookups_total",
        "db_pool_connections_in_use",
    } <= used


def test_dashboard_is_well_formed_and_uses_the_provisioned_datasource() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    uid = load_yaml(DATASOURCES)["datasources"][0]["uid"]
    ids = [panel["id"] for panel in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    assert dashboard["uid"] and dashboard["title"]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == uid
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == uid
            assert target["expr"].count("(") == target["expr"].count(")")
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("request rate", "error", "latency", "cache hit", "pool"):
        assert topic in titles


def test_prometheus_config_scrapes_app_nginx_and_loads_the_rules() -> None:
    config = load_yaml(MONITORING / "prometheus.yml")
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert {"app", "nginx", "prometheus"} <= set(jobs)
    assert jobs["app"]["metrics_path"] == "/metrics"
    assert config["rule_files"] == ["alerts.yml"]
