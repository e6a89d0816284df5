"""site.yml on one fresh Debian 12 host that plays every part (the single-VM Vagrant shape)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.support.ansible import PlaybookRun, Runner, extra_ca_certificates
from tests.support.hosts import Hosts, boot_hosts
from tests.support.web import create_link, follow, static_file

GROUPS = {"lb": ["aio"], "app": ["aio"], "db": ["aio"], "cache": ["aio"]}

# setup of the module fixture counts into the first test (slow on 2 shared cores)
pytestmark = pytest.mark.timeout(1800)


@dataclass
class AllInOne:
    hosts: Hosts
    runner: Runner
    first: PlaybookRun

    @property
    def base_url(self) -> str:
        return f"http://{self.hosts.address('aio')}"


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
        yield AllInOne(hosts, runner, first)


def test_first_run_provisions_the_host(aio: AllInOne) -> None:
    counters = aio.first.recap["aio"]
    assert counters["failed"] == 0
    assert counters["unreachable"] == 0
    assert counters["changed"] > 0


def test_a_link_is_created_and_followed_through_nginx(aio: AllInOne) -> None:
    code, target = create_link(aio.base_url)

    response = follow(aio.base_url, code)

    assert response.status_code == 302
    assert response.headers["Location"] == target
    assert response.headers["X-Served-By"] == "aio"
    assert requests.get(f"{aio.base_url}/readyz", timeout=30).status_code == 200


def test_static_files_are_served_by_nginx_from_the_release(aio: AllInOne) -> None:
    path = static_file()
    response = requests.get(f"{aio.base_url}/{path}", timeout=30)
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
