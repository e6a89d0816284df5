"""A real `vagrant up` of the project's unmodified Vagrantfile (single VM, libvirt on QEMU TCG),
provisioned by ansible/site.yml; the app is checked through the forwarded port, then destroyed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from tests.infra.ansible.tooling import extra_ca_certificates
from tests.infra.ansible.web import create_link, follow, static_file
from tests.infra.vagrant import harness

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
    port = harness.free_port()
    env = harness.vagrant_env(
        tmp_path / "dot",
        PATH=provisioner_path,
        FLASK_MT_HTTP_PORT=str(port),
        # two vCPUs: QEMU's TCG then emulates on two host threads (the settings' override)
        FLASK_MT_CPUS="2",
        FLASK_MT_CA_CERTS=":".join(extra_ca_certificates()),
    )
    box_phases = harness.ensure_box(env)
    for label, seconds in box_phases.items():
        harness.record_phase(label, seconds)
    started = harness.libvirt("start") == "started"
    # the VM's libvirt name comes from the folder: a developer's own VM here would clash
    own_vm = harness.REPO / ".vagrant" / "machines" / "single" / "libvirt" / "id"
    assert not own_vm.exists(), "this checkout has its own `vagrant up` VM: destroy it first"
    harness.remove_leftover_domain("single")
    if "register box" in box_phases:
        harness.drop_stale_box_volumes()
    try:
        start = time.monotonic()
        up = harness.vagrant("up", "--provider=libvirt", env=env, timeout=UP_TIMEOUT)
        harness.record_phase("vagrant up (boot + ansible/site.yml)", time.monotonic() - start)
        (tmp_path / "vagrant-up.log").write_text(up.stdout + up.stderr)
        assert up.returncode == 0, (up.stdout + up.stderr)[-5000:]
        assert "ansible-playbook" in up.stdout  # the provisioner really ran

        start = time.monotonic()
        base_url = f"http://127.0.0.1:{port}"
        code, target = create_link(base_url)
        response = follow(base_url, code)
        assert response.status_code == 302
        assert response.headers["Location"] == target
        assert response.headers["X-Served-By"] == "single"
        assert requests.get(f"{base_url}/{static_file()}", timeout=30).status_code == 200
        harness.record_phase("HTTP checks through the forwarded port", time.monotonic() - start)
    finally:
        start = time.monotonic()
        destroyed = harness.vagrant("destroy", "-f", env=env, timeout=300)
        harness.record_phase("vagrant destroy -f", time.monotonic() - start)
        if started:
            harness.libvirt("stop")
    assert destroyed.returncode == 0, destroyed.stdout + destroyed.stderr
