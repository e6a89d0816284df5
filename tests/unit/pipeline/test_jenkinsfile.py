"""The Jenkinsfile (no Jenkins linter here): declarative shape, and the workflow's stages."""

from __future__ import annotations

import re

from tests.support.paths import REPO as ROOT

JENKINSFILE = ROOT / "Jenkinsfile"


def _code() -> str:
    """The Jenkinsfile without // comments (outside strings enough for this file)."""
    return "\n".join(
        re.sub(r"(^|\s)//.*$", "", line) for line in JENKINSFILE.read_text().splitlines()
    )


def _stages(code: str) -> dict[str, str]:
    """Each stage's name and body, by brace matching (quotes inside sh blocks hold no braces
    that are unbalanced, which test_braces_balance checks)."""
    stages = {}
    for match in re.finditer(r"stage\('([^']+)'\)\s*\{", code):
        depth, index = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(code[index], 0)
            index += 1
        stages[match.group(1)] = code[match.end() : index - 1]
    return stages


def test_braces_balance_and_declarative_shape() -> None:
    code = _code()
    assert code.count("{") == code.count("}")
    assert code.lstrip().startswith("pipeline {")
    for section in ("agent", "options", "environment", "stages"):
        assert re.search(rf"^\s*{section}\s*\{{", code, re.M), section


def test_stages_match_the_workflow_jobs(workflow: dict) -> None:
    stages = _stages(_code())
    assert [name.lower() for name in stages] == list(workflow["jobs"])


def test_stages_run_the_same_commands_as_the_workflow(workflow: dict) -> None:
    stages = _stages(_code())
    for name, body in stages.items():
        runs = " ".join(step.get("run", "") for step in workflow["jobs"][name.lower()]["steps"])
        for command in ("make lint", "make test-app", "make test-infra"):
            assert (command in body) == (command in runs), (name, command)
    assert "CI = 'true'" in _code()


def test_publish_only_on_version_tags_with_a_stored_credential(workflow: dict) -> None:
    publish = _stages(_code())["Publish"]
    assert re.search(r"when\s*\{\s*tag pattern: 'v", publish)
    assert "credentials('ghcr')" in publish
    assert "--password-stdin" in publish
    dockerfile = next(
        s["with"]["file"]
        for s in workflow["jobs"]["publish"]["steps"]
        if "with" in s and "file" in s["with"]
    )
    assert f"-f {dockerfile}" in publish


def test_test_stage_removes_its_service_containers() -> None:
    test = _stages(_code())["Test"]
    started = set(re.findall(r'docker run .*?--name "(\$SERVICES-\w+)"', test))
    assert started == {"$SERVICES-pg", "$SERVICES-redis"}
    cleanup = re.search(r"post\s*\{\s*always\s*\{\s*sh '(docker rm -f[^']*)'", test)
    assert cleanup and all(name in cleanup.group(1) for name in started)
