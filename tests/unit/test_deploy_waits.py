"""The deploy CLI's waits on an Auto Scaling group (deploy/scaling.py), on a scripted clock:
what ends a wait, what it reports, and that it never ends early or late."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deploy.errors import MissingOutputsError, RolloutError
from deploy.scaling import Poll, ScalingOutputs, wait_for_group, wait_for_refresh
from deploy.varfile import string_setting


class Clock:
    """time.monotonic and time.sleep for a wait: sleeping moves the clock, nothing else does."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def poll(self, timeout: float, say: Callable[[str], None] = lambda _: None) -> Poll:
        """A wait of `timeout` seconds on this clock, polling every 15 seconds."""
        return Poll(timeout, 15, say, self, self.sleep)


def scripted(*answers: dict) -> Callable[[], dict]:
    remaining = list(answers)

    def next_answer() -> dict:
        return remaining.pop(0) if len(remaining) > 1 else remaining[0]

    return next_answer


def refresh(status: str, done: int = 0, reason: str = "") -> dict:
    return {"InstanceRefreshId": "r-1", "Status": status, "PercentageComplete": done,
            "StatusReason": reason}  # fmt: skip


def test_refresh_wait_follows_the_refresh_to_success() -> None:
    clock, said = Clock(), []
    describe = scripted(refresh("Pending"), refresh("InProgress", 50), refresh("InProgress", 50),
                        refresh("Successful", 100))  # fmt: skip
    last = wait_for_refresh(describe, clock.poll(600, said.append))
    assert last["Status"] == "Successful"
    assert clock.slept == [15, 15, 15]
    # Each change said once, not each poll.
    assert said == [
        "instance refresh Pending, 0% done",
        "instance refresh InProgress, 50% done",
        "instance refresh Successful, 100% done",
    ]


@pytest.mark.parametrize("status", ["Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"])
def test_refresh_wait_stops_at_an_end_that_is_not_success(status: str) -> None:
    clock = Clock()
    describe = scripted(refresh("InProgress", 20), refresh(status, 20, "health checks failed"))
    with pytest.raises(RolloutError, match=f"r-1 ended {status}: health checks failed"):
        wait_for_refresh(describe, clock.poll(600))
    assert clock.slept == [15]


def test_refresh_wait_gives_up_at_the_timeout_not_before() -> None:
    clock = Clock()
    with pytest.raises(RolloutError, match=r"still InProgress \(40% done\) after 100 s") as info:
        wait_for_refresh(scripted(refresh("InProgress", 40)), clock.poll(100))
    assert "describe-instance-refreshes" in str(info.value)
    # Polls at 0, 15, ..., 90, then one last look at 100: never past the deadline.
    assert clock.now == 100
    assert clock.slept[-1] == 10


def health(in_service: int, healthy: int, min_size: int = 2) -> dict:
    return {"min_size": min_size, "in_service": in_service, "healthy_targets": healthy}


def test_group_wait_needs_the_minimum_in_service_and_healthy() -> None:
    clock, said = Clock(), []
    answers = scripted(health(0, 0), health(2, 0), health(2, 1), health(2, 2))
    assert wait_for_group(answers, clock.poll(900, said.append)) == health(2, 2)
    assert len(clock.slept) == 3
    assert said[0] == "0 of 2 instances in service, 0 healthy behind the load balancer"


def test_group_wait_timeout_says_where_to_look() -> None:
    clock = Clock()
    with pytest.raises(RolloutError, match=r"not healthy after 60 s \(2 of 2 instances in service, "
                       r"0 healthy") as info:  # fmt: skip
        wait_for_group(scripted(health(2, 0)), clock.poll(60))
    assert "cloud-init-output.log" in str(info.value)
    assert clock.now == 60


def scaling_outputs(**changes: object) -> dict:
    tier = {"asg_name": "t-app", "release_bucket": "t-releases", "ssm_prefix": "/t/app",
            "target_group_arn": "arn:tg", "min_healthy_percentage": 90,
            "instance_warmup_seconds": 300}  # fmt: skip
    tier.update(changes)
    return {"region": "eu-west-1", "app_scaling": tier}


def test_scaling_outputs_read_from_terraform() -> None:
    tier = ScalingOutputs.from_outputs(scaling_outputs())
    assert (tier.region, tier.asg_name, tier.min_healthy_percentage) == ("eu-west-1", "t-app", 90)


def test_scaling_outputs_of_a_fixed_tier_or_an_older_state() -> None:
    with pytest.raises(MissingOutputsError, match="not an Auto Scaling group"):
        ScalingOutputs.from_outputs({"region": "eu-west-1", "app_scaling": None})
    with pytest.raises(MissingOutputsError, match=r"missing: app_scaling\.ssm_prefix, region"):
        ScalingOutputs.from_outputs({**scaling_outputs(ssm_prefix=None), "region": None})


@pytest.mark.parametrize(
    ("name", "text", "value"),
    [
        ("a.tfvars", 'app_scaling = "asg"\n', "asg"),
        ("a.tfvars", '  app_scaling="fixed" # the tutorial\n', "fixed"),
        ("a.tfvars", '# app_scaling = "asg"\nname = "x"\n', None),
        ("a.tfvars", "asg_min_size = 2\n", None),
        ("a.tfvars.json", '{"app_scaling": "asg"}', "asg"),
        ("a.tfvars.json", '{"app_scaling": null}', None),
    ],
)
def test_string_setting_of_a_var_file(tmp_path: Path, name: str, text: str, value: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    assert string_setting(path, "app_scaling") == value
