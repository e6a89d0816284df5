"""site.yml on one fresh Debian 12 host that plays every part (the single-VM Vagrant shape)."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.ansible import PlaybookRun, Runner, extra_ca_certificates
from tests.support.hosts import Hosts, boot_hosts, readyz_from_the_host
from tests.support.web import create_link, follow, static_file

GROUPS = {"lb": ["aio"], "app": ["aio"], "db": ["aio"], "cache": ["aio"]}

# setup of the module fixture counts into the first test (slow on 2 shared cores)
pytestmark = pytest.mark.timeout(2700)


@dataclass
class AllInOne:
    hosts: Hosts
    runner: Runner
    first: PlaybookRun
    # the project CA that self_signed made on the controller (the one file a person trusts)
    ca_file: str

    @property
    def base_url(self) -> str:
        return f"https://{self.hosts.address('aio')}"


@pytest.fixture(scope="module")
def aio(engine_ready: None, ansible_bin: Path, workdir: Path) -> Iterator[AllInOne]:
    with boot_hosts(["aio"], prefix="fmt-aio") as hosts:
        inventory = workdir / "hosts.yml"
        inventory.write_text(
            hosts.inventory(
                GROUPS,
                {
                    # the dev-VM secret source: generated on the controller, kept in workdir
                    "flaskmt_local_secrets_dir": str(workdir / "secrets"),
                    "common_ca_certificates": extra_ca_certificates(),
                    "app_archive_cache_dir": str(workdir / "releases"),
                },
            )
        )
        runner = Runner(ansible_bin, inventory, workdir)
        first = runner.run("site.yml", label="all-in-one: site.yml on a fresh host")
        assert first.returncode == 0, first.tail()
        yield AllInOne(hosts, runner, first, str(workdir / "secrets" / "ca" / "ca.pem"))


def test_first_run_provisions_the_host(aio: AllInOne) -> None:
    counters = aio.first.recap["aio"]
    assert counters["failed"] == 0
    assert counters["unreachable"] == 0
    assert counters["changed"] > 0


def test_a_link_is_created_and_followed_through_nginx(aio: AllInOne) -> None:
    code, target = create_link(aio.base_url, verify=aio.ca_file)

    response = follow(aio.base_url, code, verify=aio.ca_file)

    assert response.status_code == 302
    assert response.headers["Location"] == target
    assert response.headers["X-Served-By"] == "aio"
    assert response.headers["Strict-Transport-Security"] == "max-age=63072000"


def test_the_edge_is_closed_to_the_public_and_open_to_monitoring_on_the_host(aio: AllInOne) -> None:
    for path in ("/readyz", "/metrics"):
        refused = requests.get(f"{aio.base_url}{path}", timeout=30, verify=aio.ca_file)
        assert refused.status_code == 403, path
    # nginx_monitoring_from's default is the host itself: a local scrape gets through nginx.
    status, ready = readyz_from_the_host(aio.hosts, "aio", aio.hosts.address("aio"))
    assert status == 200, ready


def test_plain_http_only_redirects_to_https_and_answers_the_health_path(aio: AllInOne) -> None:
    address = aio.hosts.address("aio")

    moved = requests.get(f"http://{address}/abc?x=1", allow_redirects=False, timeout=30)
    health = requests.get(f"http://{address}/nginx-health", timeout=30)

    assert moved.status_code == 301
    assert moved.headers["Location"] == f"https://{address}/abc?x=1"
    assert health.status_code == 200
    assert health.json()["source"] == "nginx"


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_request_for_an_unknown_name_is_closed_unanswered(aio: AllInOne, scheme: str) -> None:
    url = f"{scheme}://{aio.hosts.address('aio')}/"
    known = requests.get(url, allow_redirects=False, timeout=30, verify=aio.ca_file)
    assert known.status_code in {200, 301}

    with pytest.raises(requests.ConnectionError):
        requests.get(url, headers={"Host": "attacker.example"}, allow_redirects=False,
                     timeout=30, verify=aio.ca_file)  # fmt: skip


def test_the_project_ca_stays_private_on_the_controller(aio: AllInOne) -> None:
    ca_dir = Path(aio.ca_file).parent
    assert stat.S_IMODE(ca_dir.stat().st_mode) == 0o700
    assert stat.S_IMODE((ca_dir / "ca.key").stat().st_mode) == 0o600
    key = aio.hosts.ssh("aio", "sudo stat -c '%a %U' /etc/nginx/flask-multitier/tls/privkey.pem")
    assert key.stdout.split() == ["600", "root"]


def test_static_files_are_served_by_nginx_from_the_release(aio: AllInOne) -> None:
    path = static_file()
    response = requests.get(f"{aio.base_url}/{path}", timeout=30, verify=aio.ca_file)
    assert response.status_code == 200
    assert "X-Served-By" not in response.headers  # nginx answered, not the app
    root = aio.hosts.ssh("aio", "readlink -f /srv/flask-multitier/current").stdout.strip()
    assert root.startswith("/srv/flask-multitier/releases/")


def test_everything_stays_on_loopback_and_secrets_are_root_only(aio: AllInOne) -> None:
    env_file = aio.hosts.ssh("aio", "sudo stat -c '%a %U' /etc/flask-multitier/app.env")
    assert env_file.stdout.split() == ["600", "root"]
    owner = aio.hosts.ssh("aio", "ps -o user= -C gunicorn | sort -u").stdout.split()
    assert owner == ["flaskmt"]
    listening = aio.hosts.ssh("aio", "ss -Hltn").stdout
    for port in (5432, 6379, 8000):
        addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()
                     if line.split()[3].endswith(f":{port}")}  # fmt: skip
        assert addresses, f"nothing listens on {port}"
        assert addresses <= {"127.0.0.1", "[::1]"}, (port, addresses)


def test_a_second_run_changes_nothing(aio: AllInOne) -> None:
    again = aio.runner.run("site.yml", label="all-in-one: second site.yml run")
    assert again.returncode == 0, again.tail()
    assert again.recap["aio"]["changed"] == 0, again.tail(200)
