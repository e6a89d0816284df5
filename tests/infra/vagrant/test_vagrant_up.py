"""A real `vagrant up` of the project's unmodified Vagrantfile (single VM, libvirt on QEMU TCG),
provisioned by ansible/site.yml; the app is checked through the forwarded port, then destroyed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from tests.support import vagrant
from tests.support.ansible import extra_ca_certificates
from tests.support.paths import REPO
from tests.support.ports import free_port
from tests.support.timing import phase
from tests.support.web import create_link, follow, static_file

# booting a stock kernel under TCG and provisioning every layer is slow; bounded all the same
UP_TIMEOUT = 2400

# setup of the module fixture counts into the first test (slow on 2 shared cores)
pytestmark = pytest.mark.timeout(3000)


def test_vagrant_up_serves_the_app_through_the_forwarded_port(
    vagrant_ready: None, provisioner_path: str, tmp_path: Path
) -> None:
    if os.environ.get("FLASK_MT_SKIP_VAGRANT_UP") == "1":
        # an explicit choice (CI time budget), never a missing tool: see docs/vagrant.md
        pytest.skip("FLASK_MT_SKIP_VAGRANT_UP=1: the real vagrant up (about 16 min) is not run")
    port, https_port = free_port(), free_port()
    env = vagrant.vagrant_env(
        tmp_path / "dot",
        PATH=provisioner_path,
        FLASK_MT_HTTP_PORT=str(port),
        FLASK_MT_HTTPS_PORT=str(https_port),
        # two vCPUs: QEMU's TCG then emulates on two host threads (the settings' override)
        FLASK_MT_CPUS="2",
        FLASK_MT_CA_CERTS=":".join(extra_ca_certificates()),
    )
    registered = vagrant.ensure_box(env)
    started = vagrant.libvirt("start") == "started"
    # the VM's libvirt name comes from the folder: a developer's own VM here would clash
    own_vm = REPO / ".vagrant" / "machines" / "single" / "libvirt" / "id"
    assert not own_vm.exists(), "this checkout has its own `vagrant up` VM: destroy it first"
    vagrant.remove_leftover_domain("single")
    if registered:
        vagrant.drop_stale_box_volumes()
    try:
        with phase("vagrant up (boot + ansible/site.yml)"):
            up = vagrant.run_vagrant("up", "--provider=libvirt", env=env, timeout=UP_TIMEOUT)
        (tmp_path / "vagrant-up.log").write_text(up.stdout + up.stderr)
        assert up.returncode == 0, (up.stdout + up.stderr)[-5000:]
        assert "ansible-playbook" in up.stdout  # the provisioner really ran

        # the project CA the provisioning made next to the dev-VM secrets
        ca = str(tmp_path / "dot" / "secrets" / "ca" / "ca.pem")
        base_url = f"https://127.0.0.1:{https_port}"
        code, target = create_link(base_url, verify=ca)
        response = follow(base_url, code, verify=ca)
        assert response.status_code == 302
        assert response.headers["Location"] == target
        assert response.headers["X-Served-By"] == "single"
        assert "Strict-Transport-Security" in response.headers
        static = requests.get(f"{base_url}/{static_file()}", timeout=30, verify=ca)
        assert static.status_code == 200
        # plain HTTP on the forwarded port only sends the browser to the forwarded HTTPS port
        moved = requests.get(f"http://127.0.0.1:{port}/{code}", allow_redirects=False, timeout=30)
        assert moved.status_code == 301
        assert moved.headers["Location"] == f"{base_url}/{code}"
    finally:
        with phase("vagrant destroy -f"):
            destroyed = vagrant.run_vagrant("destroy", "-f", env=env, timeout=300)
        if started:
            vagrant.libvirt("stop")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
