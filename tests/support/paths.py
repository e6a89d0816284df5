"""Where things are: the checkout under test and the one cache root of every test tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CI_WORKFLOW = REPO / ".github" / "workflows" / "ci.yml"

# Tool venvs, the Vagrant box and home, the SSH key of the stand-in hosts, engine scratch: kept
# between runs (keyed by their inputs' hash) under one root, which `make clean-cache` removes.
# The Makefile exports the same variable, so make targets and tests share one cache.
CACHE_ROOT = Path(
    os.environ.get("FLASK_MT_CACHE")
    or Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "flask-multitier"
)


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())
