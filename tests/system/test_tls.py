"""`STACK_TLS=1 make stack-up`: HTTPS from a local CA the project makes, plain HTTP redirecting to
it, HSTS, and Mozilla's intermediate profile as testssl sees it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
import requests

from stack.state import State
from tests.support.apt import debian_tool
from tests.support.http_client import call
from tests.support.stacks import unique

# The two findings the design implies, and only those may be HIGH: Mozilla's intermediate profile
# leaves the cipher choice to the client (every suite in it is strong), and a private CA has no
# CRL or OCSP responder to name in its certificates.
EXPECTED_HIGH = {
    "cipher_order": "no server cipher order (the client picks among strong suites)",
    "cert_revocation": "no CRL or OCSP URI (private CA)",
}


def _ca(state: State) -> str:
    assert state.ca_file is not None
    return str(state.ca_file)


def test_up_prints_the_https_url_and_the_ca_file(tls_stack: tuple[State, str]) -> None:
    state, printed = tls_stack
    assert state.url == f"https://127.0.0.1:{state.https_port}"
    assert f"stack is up: {state.url}" in printed
    assert f"--cacert {state.ca_file}" in printed
    assert Path(_ca(state)).read_text().startswith("-----BEGIN CERTIFICATE-----")


def test_https_verifies_with_the_project_ca_and_sends_hsts(tls_stack: tuple[State, str]) -> None:
    state, _ = tls_stack
    for base in (state.url, f"https://localhost:{state.https_port}"):
        reply = requests.get(f"{base}/healthz", verify=_ca(state), timeout=10)
        assert reply.status_code == 200, base
        assert reply.headers["Strict-Transport-Security"] == "max-age=63072000"
        assert reply.headers["X-Served-By"] in {i.name for i in state.instances}
    # control: without the project's CA the certificate is not trusted
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(f"{state.url}/healthz", timeout=10)


def test_plain_http_redirects_to_https_except_the_health_check(
    tls_stack: tuple[State, str],
) -> None:
    state, _ = tls_stack
    for method, path in (("GET", "/abc?x=1"), ("GET", "/healthz"), ("POST", "/api/links")):
        reply = call(state.http_url, method, path)
        assert reply.status == 301, (method, path)
        assert reply.headers["location"] == f"{state.url}{path}"
        assert reply.served_by is None  # nothing reached the app over plain HTTP
    health = call(state.http_url, "GET", "/nginx-health")
    assert health.status == 200
    assert health.json()["status"] == "ok"


def test_links_are_made_on_https_and_the_edge_stays_closed(tls_stack: tuple[State, str]) -> None:
    state, _ = tls_stack
    code = unique("tls")
    created = call(
        state.url,
        "POST",
        "/api/links",
        body={"url": "https://example.com/", "code": code},
        ca_file=_ca(state),
    )
    assert created.status == 201, created.body
    assert created.json()["short_url"] == f"{state.url}/{code}"
    metrics = call(state.url, "GET", "/metrics", source="127.0.0.2", ca_file=_ca(state))
    assert metrics.status == 403


def test_testssl_finds_nothing_high_but_what_the_design_implies(
    tls_stack: tuple[State, str], tmp_path: Path
) -> None:
    state, _ = tls_stack
    testssl = debian_tool("testssl", "testssl.sh")
    report = tmp_path / "testssl.json"
    scan = subprocess.run(
        [
            testssl,
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--add-ca",
            _ca(state),
            "--jsonfile",
            str(report),
            f"127.0.0.1:{state.https_port}",
        ],
        capture_output=True,
        text=True,
        timeout=540,
        check=False,
    )
    assert report.exists(), scan.stdout[-3000:] + scan.stderr[-3000:]
    findings = {item["id"]: item for item in json.loads(report.read_text())}
    high = {
        name: item["finding"]
        for name, item in findings.items()
        if item["severity"] in ("HIGH", "CRITICAL")
    }
    for name, finding in sorted(high.items()):
        print(f"testssl HIGH {name}: {finding} -- {EXPECTED_HIGH.get(name, 'UNEXPECTED')}")
    assert set(high) <= set(EXPECTED_HIGH), high
    # the scan really ran against our profile, with the project CA trusted
    offered = {name: findings[name]["finding"] for name in ("TLS1_2", "TLS1_3", "TLS1_1", "TLS1")}
    assert offered["TLS1_2"].startswith("offered") and offered["TLS1_3"].startswith("offered")
    assert offered["TLS1_1"] == "not offered" and offered["TLS1"] == "not offered", offered
    assert findings["cert_chain_of_trust"]["severity"] == "OK", findings["cert_chain_of_trust"]
    assert findings["HSTS_time"]["severity"] == "OK", findings["HSTS_time"]
