"""The local stack's edge settings: validated before anything starts, rendered in the shape and
with the defaults of the shared nginx/edge.conf."""

from __future__ import annotations

import re

import pytest

from stack.__main__ import build_parser, config_of
from stack.config import StackConfig, StackError, address_list, flag, from_environment
from stack.nginx import NGINX_DIR, render_edge_conf


def _zones(text: str) -> list[str]:
    return re.findall(r"^limit_req_zone [^;]+;", text, flags=re.MULTILINE)


def test_default_edge_has_the_shared_files_limits() -> None:
    assert _zones(render_edge_conf()) == _zones((NGINX_DIR / "edge.conf").read_text())


def test_off_keys_a_zone_on_the_always_empty_key() -> None:
    zones = _zones(render_edge_conf(write_rate="off", read_rate="600r/m"))
    assert zones == [
        "limit_req_zone $no_limit_key zone=writes:10m rate=10r/s;",
        "limit_req_zone $read_limit_key zone=reads:10m rate=600r/m;",
    ]


def test_allow_lists_and_trusted_proxies_are_rendered() -> None:
    text = render_edge_conf(
        monitoring_from=["10.0.0.0/8"], balancer_from=["10.1.0.0/16"], trusted_proxies=["10.2.0.1"]
    )
    assert "    10.0.0.0/8 monitoring;" in text
    assert "    10.1.0.0/16 balancer;" in text
    assert "set_real_ip_from 10.2.0.1;" in text
    assert "real_ip_header X-Forwarded-For;" in text
    assert "set_real_ip_from" not in render_edge_conf()  # no proxy is believed by default


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"read_rate": "fast"}, "read rate must look like 10r/s"),
        ({"write_rate": "10/s"}, "write rate must look like 10r/s"),
        ({"monitoring_from": ["10.0.0.0/33"]}, "monitoring addresses: '10.0.0.0/33' is not"),
        ({"balancer_from": ["lb.example"]}, "balancer addresses: 'lb.example' is not"),
        ({"trusted_proxies": ["10.0.0.1; evil"]}, "trusted proxies: '10.0.0.1; evil' is not"),
        ({"tls": True, "port": 8443, "https_port": 8443}, "ports must differ"),
        # What the app and gunicorn refuse, said in the app's words (app/config.py).
        ({"database_url": "sqlite:///one.db"}, "DATABASE_URL: must be a PostgreSQL URL"),
        ({"redis_url": "http://cache:6379"}, "REDIS_URL: must start with redis://"),
        ({"workers": 65}, "WEB_CONCURRENCY: must be 1-64, not 65"),
        ({"worker_class": "eventlet"}, "WORKER_CLASS: must be sync, gthread or gevent"),
    ],
)
def test_bad_edge_settings_are_refused(settings: dict, message: str) -> None:
    with pytest.raises(StackError, match=re.escape(message)):
        StackConfig(**settings).validate()


def test_address_lists_and_flags_from_the_environment() -> None:
    assert address_list(" 10.0.0.0/8, 127.0.0.1  ::1 ") == ["10.0.0.0/8", "127.0.0.1", "::1"]
    assert address_list("none") == []
    assert flag("STACK_TLS", "1") and flag("STACK_TLS", "yes")
    assert not flag("STACK_TLS", "") and not flag("STACK_TLS", "0")
    with pytest.raises(StackError, match="STACK_TLS must be 1 or 0"):
        flag("STACK_TLS", "maybe")


def _up_config(monkeypatch: pytest.MonkeyPatch, *argv: str) -> StackConfig:
    monkeypatch.setenv("STACK_TLS", "1")
    return config_of(build_parser().parse_args(["up", *argv]))


def test_up_options_set_their_fields_and_absent_flags_leave_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plain = _up_config(monkeypatch)
    assert (plain.instances, plain.port, plain.access_log, plain.tls) == (3, 8080, True, True)
    given = _up_config(
        monkeypatch, "-n", "2", "--port", "0", "--no-access-log", "--workers", "3",
        "--write-rate", "5r/s", "--https-port", "9443",
    )  # fmt: skip
    assert (given.instances, given.port, given.access_log) == (2, 0, False)
    assert (given.workers, given.write_rate, given.https_port, given.tls) == (3, "5r/s", 9443, True)


def test_a_setting_the_config_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="no setting 'instance'"):
        from_environment(instance=2)
