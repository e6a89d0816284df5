"""pyproject.toml names every runtime dependency that requirements.txt pins: `pip install .`
(or the wheel) brings all the app needs, and the deployments' pins stay the versions in force."""

from __future__ import annotations

import re
import tomllib

from tests.support.paths import REPO


def _names(lines: list[str]) -> set[str]:
    """Normalised project names (PEP 503) of requirement lines, comments and options dropped."""
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name = re.match(r"[A-Za-z0-9._-]+", line)
            assert name is not None, line
            names.add(re.sub(r"[-_.]+", "-", name.group(0)).lower())
    return names


def test_every_pinned_runtime_package_is_a_dependency_of_the_package() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    declared = _names(project["dependencies"])
    gevent = _names(project["optional-dependencies"]["gevent"])
    pinned = _names((REPO / "requirements.txt").read_text().splitlines())
    # packaging is gunicorn's need for its gevent worker only: the gevent extra names it.
    assert pinned - declared == {"packaging"} and "packaging" in gevent, pinned - declared
    assert declared <= pinned, declared - pinned  # every dependency is pinned for deployments
