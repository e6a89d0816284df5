"""`vagrant validate` for both topologies and both provider blocks, and bad settings refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.support.paths import REPO
from tests.support.vagrant import run_vagrant, vagrant_env

TOPOLOGIES = ("single", "layered")


@pytest.fixture
def fake_virtualbox(tmp_path: Path) -> str:
    """A VBoxManage that only tells its version: enough for Vagrant to check the VirtualBox block
    of the Vagrantfile, which it skips entirely while libvirt is the provider."""
    bin_dir = tmp_path / "fakevbox"
    bin_dir.mkdir()
    script = bin_dir / "VBoxManage"
    script.write_text("#!/bin/sh\necho 7.0.14r161095\n")
    script.chmod(0o755)
    return str(bin_dir)


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return vagrant_env(tmp_path / "dot", **extra)


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_vagrantfile_validates_with_libvirt(
    vagrant_ready: None, tmp_path: Path, topology: str
) -> None:
    result = run_vagrant("validate", env=_env(tmp_path, FLASK_MT_TOPOLOGY=topology))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "validated successfully" in result.stdout


@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_vagrantfile_validates_with_virtualbox(
    vagrant_ready: None, tmp_path: Path, fake_virtualbox: str, topology: str
) -> None:
    env = _env(
        tmp_path,
        FLASK_MT_TOPOLOGY=topology,
        VAGRANT_DEFAULT_PROVIDER="virtualbox",
        PATH=f"{fake_virtualbox}:{vagrant_env(tmp_path)['PATH']}",
    )
    result = run_vagrant("validate", env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_virtualbox_check_is_real(
    vagrant_ready: None, tmp_path: Path, fake_virtualbox: str
) -> None:
    """A typo in the VirtualBox block fails the same validation that passes above."""
    project = tmp_path / "project"
    (project / "vagrant").mkdir(parents=True)
    shutil.copy2(REPO / "vagrant" / "settings.yml", project / "vagrant" / "settings.yml")
    vagrantfile = (REPO / "Vagrantfile").read_text()
    assert "vb.memory = memory" in vagrantfile
    (project / "Vagrantfile").write_text(vagrantfile.replace("vb.memory =", "vb.memroy ="))
    env = _env(
        tmp_path,
        VAGRANT_DEFAULT_PROVIDER="virtualbox",
        PATH=f"{fake_virtualbox}:{vagrant_env(tmp_path)['PATH']}",
    )
    result = run_vagrant("validate", env=env, cwd=project)
    assert result.returncode != 0
    assert "memroy" in result.stdout + result.stderr


def test_layered_topology_defines_one_machine_per_layer(
    vagrant_ready: None, tmp_path: Path
) -> None:
    result = run_vagrant("status", env=_env(tmp_path, FLASK_MT_TOPOLOGY="layered"))
    assert result.returncode == 0, result.stdout + result.stderr
    machines = [line.split()[0] for line in result.stdout.splitlines() if "not created" in line]
    assert machines == ["lb", "app1", "app2", "db", "cache"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("FLASK_MT_TOPOLOGY", "triple", "must be 'single' or 'layered'"),
        ("FLASK_MT_MEMORY", "lots", "'memory' (FLASK_MT_MEMORY) must be a positive integer"),
        ("FLASK_MT_CPUS", "0", "'cpus' (FLASK_MT_CPUS) must be a positive integer"),
        ("FLASK_MT_HTTP_PORT", "70000", "http_port must be at most 65535"),
        ("FLASK_MT_HTTPS_PORT", "https", "'https_port' (FLASK_MT_HTTPS_PORT) must be a positive"),
        ("FLASK_MT_HTTPS_PORT", "8080", "http_port and https_port must differ"),
        ("FLASK_MT_NETWORK", "10.0", "must be three octets"),
        ("FLASK_MT_CA_CERTS", "/nonexistent/ca.crt", "does not exist"),
    ],
)
def test_bad_settings_are_refused_with_a_clear_message(
    vagrant_ready: None, tmp_path: Path, variable: str, value: str, message: str
) -> None:
    result = run_vagrant("validate", env=_env(tmp_path, **{variable: value}))
    assert result.returncode != 0
    assert message in result.stdout + result.stderr
