"""Debian's `pebble` (Let's Encrypt's ACME test server) on a stand-in host (tests.support.hosts).

    with boot_hosts(["acme", "lb"]) as hosts:
        acme = start_pebble(hosts, "acme", workdir, {"links.test": hosts.address("lb")})
        acme.directory_url      # https://<acme>:14000/dir, for certbot --server
        acme.wfe_ca             # Path of the CA that signed pebble's own HTTPS certificate
        acme.root(workdir)      # Path of the root pebble issues from (fetch after starting)

Pebble's validation authority resolves the names it checks through the host's /etc/hosts, so
the `names` map points each certificate name at the host that must answer the HTTP-01 challenge.
"""

from __future__ import annotations

import json
import ssl
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.certs import server_certificate
from tests.support.hosts import Hosts
from tests.support.procs import run

API_PORT = 14000
MANAGEMENT_PORT = 15000


@dataclass
class Pebble:
    address: str
    wfe_ca: Path

    @property
    def directory_url(self) -> str:
        return f"https://{self.address}:{API_PORT}/dir"

    def _get(self, url: str) -> bytes:
        context = ssl.create_default_context(cafile=str(self.wfe_ca))
        with urllib.request.urlopen(url, context=context, timeout=10) as response:
            return response.read()

    def root(self, workdir: Path) -> Path:
        """The root certificate pebble issues from (new on every pebble start)."""
        path = workdir / "pebble-root.pem"
        path.write_bytes(self._get(f"https://{self.address}:{MANAGEMENT_PORT}/roots/0"))
        return path


def start_pebble(hosts: Hosts, name: str, workdir: Path, names: dict[str, str]) -> Pebble:
    """Install pebble on host `name`, start it as a transient systemd unit, wait for it."""
    address = hosts.address(name)
    workdir.mkdir(parents=True, exist_ok=True)
    wfe = server_certificate(workdir, "pebble-wfe", address)
    config = {
        "pebble": {
            "listenAddress": f"0.0.0.0:{API_PORT}",
            "managementListenAddress": f"0.0.0.0:{MANAGEMENT_PORT}",
            "certificate": f"/etc/pebble/{wfe.cert.name}",
            "privateKey": f"/etc/pebble/{wfe.key.name}",
            # the ports of a real CA's checks: HTTP-01 on 80
            "httpPort": 80,
            "tlsPort": 443,
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
        }
    }
    (workdir / "pebble-config.json").write_text(json.dumps(config))
    login = f"{hosts.user}@{address}"
    files = [str(wfe.cert), str(wfe.key), str(workdir / "pebble-config.json")]
    run(["scp", *hosts.ssh_args, *files, f"{login}:/tmp/"], timeout=60)
    hosts_lines = "".join(f"{ip} {host}\\n" for host, ip in names.items())
    script = (
        "set -e; sudo apt-get update -qq; "
        "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq pebble >/dev/null; "
        "sudo install -d -m 755 /etc/pebble; "
        f"sudo install -m 600 /tmp/{wfe.cert.name} /tmp/{wfe.key.name} /tmp/pebble-config.json "
        "/etc/pebble/; "
        f"printf '{hosts_lines}' | sudo tee -a /etc/hosts >/dev/null; "
        # no random sleeps before validation, no deliberately rejected nonces: a quick, exact run
        "sudo systemd-run --unit pebble --setenv=PEBBLE_VA_NOSLEEP=1 "
        "--setenv=PEBBLE_WFE_NONCEREJECT=0 /usr/bin/pebble -config /etc/pebble/pebble-config.json"
    )
    started = hosts.ssh(name, script, timeout=600)
    assert started.returncode == 0, started.stdout + started.stderr
    pebble = Pebble(address, wfe.ca)
    deadline = time.monotonic() + 60
    while True:
        try:
            json.loads(pebble._get(pebble.directory_url))
            return pebble
        except OSError as exc:
            if time.monotonic() > deadline:
                log = hosts.ssh(name, "sudo journalctl -u pebble --no-pager | tail -20").stdout
                raise AssertionError(f"pebble did not answer: {exc}\n{log}") from exc
            time.sleep(1)
