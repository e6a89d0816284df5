"""The elastic app tier (app_scaling = "asg") through the AWS API, with boto3.

What the instances' boot script (terraform/modules/app_scaling/user_data.sh.tftpl) reads:
  s3://<release_bucket>/releases/<release>.tar.gz   the source tree it applies Ansible from
  <ssm_prefix>/release                              which <release> to install
  <ssm_prefix>/secret/SECRET_KEY, ADMIN_TOKEN       the app's own secrets (never Terraform's)
A release is: build the artifact, upload it, move the pointer, start an instance refresh, wait.

boto3 is imported only where a call is made, so `--help` and the wait logic need none. The AWS
endpoint is boto3's own choice: AWS_ENDPOINT_URL (or AWS_ENDPOINT_URL_<SERVICE>) overrides it.
"""

from __future__ import annotations

import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from deploy.errors import AwsApiError, MissingOutputsError, ReleaseBuildError, RolloutError

# What an instance needs of the repository: the playbook and roles, the shared nginx policy and
# the app role's archive paths (ansible/roles/app/defaults/main.yml, app_archive_paths).
RELEASE_PATHS = (
    "ansible",
    "nginx",
    "app",
    "migrations",
    "alembic.ini",
    "gunicorn.conf.py",
    "requirements.txt",
)
# The app role's own builder: content-addressed, deterministic, tracked + untracked files that
# git does not ignore (so uncommitted edits ship, as in the fixed mode's deploys).
ARCHIVE_SCRIPT = Path("ansible/roles/app/files/make-release-archive.sh")
# Secrets the app needs that only the operator's side may create (docs/aws-scaling.md).
GENERATED_SECRETS = ("SECRET_KEY", "ADMIN_TOKEN")
# describe-instance-refreshes statuses that end a refresh; only the first is a success.
REFRESH_SUCCEEDED = "Successful"
REFRESH_ENDED = {"Successful", "Failed", "Cancelled", "RollbackSuccessful", "RollbackFailed"}

T = TypeVar("T")


@dataclass(frozen=True)
class ScalingOutputs:
    """The Terraform outputs of the elastic tier."""

    region: str
    asg_name: str
    release_bucket: str
    ssm_prefix: str
    target_group_arn: str
    min_healthy_percentage: int
    instance_warmup_seconds: int

    @classmethod
    def from_outputs(cls, outputs: dict[str, Any]) -> ScalingOutputs:
        scaling = outputs.get("app_scaling")
        if not scaling:
            raise MissingOutputsError(
                "the deployed app tier is not an Auto Scaling group (the app_scaling output is "
                "null): deploy with `python -m deploy up --scaling asg`, or release a fixed "
                "tier with ansible/release.yml"
            )
        keys = ("asg_name", "release_bucket", "ssm_prefix", "target_group_arn",
                "min_healthy_percentage", "instance_warmup_seconds")  # fmt: skip
        missing = [f"app_scaling.{key}" for key in keys if scaling.get(key) is None]
        if not outputs.get("region"):
            missing.append("region")
        if missing:
            raise MissingOutputsError(
                f"Terraform outputs missing: {', '.join(missing)} (terraform/outputs.tf and "
                "the state disagree: run `python -m deploy up --scaling asg` again)"
            )
        return cls(
            region=outputs["region"],
            asg_name=scaling["asg_name"],
            release_bucket=scaling["release_bucket"],
            ssm_prefix=scaling["ssm_prefix"],
            target_group_arn=scaling["target_group_arn"],
            min_healthy_percentage=int(scaling["min_healthy_percentage"]),
            instance_warmup_seconds=int(scaling["instance_warmup_seconds"]),
        )


# ------------------------------------------------------------------ the artifact
def build_artifact(repo: Path, cache_dir: Path) -> tuple[str, Path]:
    """The release artifact of the working tree: (release id, path of <id>.tar.gz)."""
    script = repo / ARCHIVE_SCRIPT
    try:
        result = subprocess.run(  # noqa: S603 (a script of this repository)
            [str(script), str(repo), str(cache_dir), *RELEASE_PATHS],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError as exc:
        raise ReleaseBuildError(f"cannot run {script}: {exc}") from exc
    if result.returncode != 0:
        raise ReleaseBuildError(
            f"building the release artifact failed: {result.stderr.strip() or result.stdout}"
        )
    release = result.stdout.split()[0]
    return release, cache_dir / f"{release}.tar.gz"


# ------------------------------------------------------------------ the AWS calls
class Aws:
    """boto3 clients for one region; every failure becomes one AwsApiError naming the call."""

    def __init__(self, region: str) -> None:
        import boto3

        self._session = boto3.session.Session(region_name=region)
        self._clients: dict[str, Any] = {}

    def call(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError
        from botocore.parsers import ResponseParserError

        if service not in self._clients:
            self._clients[service] = self._session.client(service)
        try:
            answer: dict[str, Any] = getattr(self._clients[service], operation)(**params)
            return answer
        except ClientError as exc:
            error = exc.response.get("Error", {})
            raise AwsApiError(
                f"AWS {service} {operation} failed: {error.get('Code')}: {error.get('Message')}",
                code=str(error.get("Code")),
            ) from exc
        except (BotoCoreError, ResponseParserError) as exc:  # no credentials, no endpoint, garbage
            raise AwsApiError(f"AWS {service} {operation} failed: {exc}") from exc

    def upload(self, path: Path, bucket: str, key: str) -> None:
        """Upload unless the object is there already (artifacts are named by their content)."""
        try:
            self.call("s3", "head_object", Bucket=bucket, Key=key)
            return
        except AwsApiError as exc:
            if exc.code not in ("404", "NoSuchKey", "NotFound"):
                raise
        with path.open("rb") as body:
            self.call("s3", "put_object", Bucket=bucket, Key=key, Body=body)

    def parameter_key(self, name: str) -> str | None:
        """The KMS key a SecureString parameter is encrypted with (None: it does not exist)."""
        found = self.call(
            "ssm",
            "describe_parameters",
            ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": [name]}],
        )["Parameters"]
        return found[0].get("KeyId") if found else None


def release_key(release: str) -> str:
    return f"releases/{release}.tar.gz"


def publish(aws: Aws, scaling: ScalingOutputs, release: str, artifact: Path) -> None:
    """Upload the artifact and point <ssm_prefix>/release at it (new instances install it)."""
    pointer = f"{scaling.ssm_prefix}/release"
    key_id = aws.parameter_key(pointer)
    if key_id is None:
        raise MissingOutputsError(
            f"SSM parameter {pointer} does not exist: Terraform creates it; run "
            "`python -m deploy up --scaling asg`"
        )
    aws.upload(artifact, scaling.release_bucket, release_key(release))
    # Overwriting without KeyId would re-encrypt with the account's default key, which the
    # instance role is not granted: keep the key Terraform chose.
    aws.call("ssm", "put_parameter", Name=pointer, Value=release, Type="SecureString",
             KeyId=key_id, Overwrite=True)  # fmt: skip


def current_release(aws: Aws, scaling: ScalingOutputs) -> str:
    answer = aws.call(
        "ssm", "get_parameter", Name=f"{scaling.ssm_prefix}/release", WithDecryption=True
    )
    return str(answer["Parameter"]["Value"])


def ensure_secrets(aws: Aws, scaling: ScalingOutputs) -> list[str]:
    """Create SECRET_KEY and ADMIN_TOKEN under <ssm_prefix>/secret/ when missing (never replace
    one: sessions and the admin's token would break). Returns the names created."""
    key_id = aws.parameter_key(f"{scaling.ssm_prefix}/release")
    created = []
    for name in GENERATED_SECRETS:
        full = f"{scaling.ssm_prefix}/secret/{name}"
        if aws.parameter_key(full) is not None:
            continue
        params = {"KeyId": key_id} if key_id else {}
        aws.call("ssm", "put_parameter", Name=full, Value=secrets.token_urlsafe(48),
                 Type="SecureString", Overwrite=False, **params)  # fmt: skip
        created.append(name)
    return created


def delete_secrets(aws: Aws, prefix: str) -> list[str]:
    """Delete what ensure_secrets made (Terraform does not know these parameters)."""
    names = [f"{prefix}/secret/{name}" for name in GENERATED_SECRETS]
    existing = [name for name in names if aws.parameter_key(name) is not None]
    if existing:
        aws.call("ssm", "delete_parameters", Names=existing)
    return existing


def start_refresh(aws: Aws, scaling: ScalingOutputs) -> str:
    """Start a rolling instance refresh with the group's Terraform settings; returns its id."""
    try:
        answer = aws.call(
            "autoscaling",
            "start_instance_refresh",
            AutoScalingGroupName=scaling.asg_name,
            Strategy="Rolling",
            Preferences={
                "MinHealthyPercentage": scaling.min_healthy_percentage,
                "InstanceWarmup": scaling.instance_warmup_seconds,
            },
        )
    except AwsApiError as exc:
        if exc.code == "InstanceRefreshInProgress":
            raise RolloutError(
                f"an instance refresh of {scaling.asg_name} is already running: wait for it "
                "(aws autoscaling describe-instance-refreshes) or cancel it, then release again"
            ) from exc
        raise
    return str(answer["InstanceRefreshId"])


def describe_refresh(aws: Aws, scaling: ScalingOutputs, refresh_id: str) -> dict[str, Any]:
    answer = aws.call(
        "autoscaling",
        "describe_instance_refreshes",
        AutoScalingGroupName=scaling.asg_name,
        InstanceRefreshIds=[refresh_id],
    )["InstanceRefreshes"]
    if not answer:
        raise RolloutError(f"instance refresh {refresh_id} of {scaling.asg_name} is gone")
    refresh: dict[str, Any] = answer[0]
    return refresh


def group_health(aws: Aws, scaling: ScalingOutputs) -> dict[str, Any]:
    """What the API says of the group: its minimum, instances in service, healthy targets."""
    groups = aws.call(
        "autoscaling", "describe_auto_scaling_groups", AutoScalingGroupNames=[scaling.asg_name]
    )["AutoScalingGroups"]
    if not groups:
        raise RolloutError(f"Auto Scaling group {scaling.asg_name} does not exist")
    group = groups[0]
    targets = aws.call("elbv2", "describe_target_health", TargetGroupArn=scaling.target_group_arn)[
        "TargetHealthDescriptions"
    ]
    return {
        "min_size": group["MinSize"],
        "in_service": sum(
            1
            for i in group.get("Instances", [])
            if i.get("LifecycleState") == "InService" and i.get("HealthStatus") == "Healthy"
        ),
        "healthy_targets": sum(
            1 for t in targets if t.get("TargetHealth", {}).get("State") == "healthy"
        ),
    }


# ------------------------------------------------------------------ waiting
def _silent(_line: str) -> None:
    pass


@dataclass(frozen=True)
class Poll:
    """How a wait polls: every `interval` seconds for at most `timeout`, saying each new status
    line once. `clock` and `sleep` are time's own, or a test's scripted clock."""

    timeout: float
    interval: float = 15.0
    say: Callable[[str], None] = _silent
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep

    def until(
        self,
        look: Callable[[], T],
        line_of: Callable[[T], str],
        done: Callable[[T], bool],
        late: Callable[[T, str], str],
    ) -> T:
        """Call `look` until `done` holds for its answer (returned); at the timeout, raises
        RolloutError with what `late` says of the last answer and its status line."""
        deadline = self.clock() + self.timeout
        last_line = ""
        while True:
            answer = look()
            line = line_of(answer)
            if line != last_line:
                self.say(line)
                last_line = line
            if done(answer):
                return answer
            if self.clock() >= deadline:
                raise RolloutError(late(answer, line))
            # The last look comes at the deadline, not an interval past it.
            self.sleep(min(self.interval, deadline - self.clock()))


def wait_for_refresh(describe: Callable[[], dict[str, Any]], poll: Poll) -> dict[str, Any]:
    """Poll an instance refresh until it ends; returns its last description when Successful,
    raises RolloutError when it failed, was cancelled, rolled back, or the timeout passed."""

    def line_of(refresh: dict[str, Any]) -> str:
        done = refresh.get("PercentageComplete", 0)
        return f"instance refresh {refresh.get('Status', '?')}, {done}% done"

    def succeeded(refresh: dict[str, Any]) -> bool:
        status = str(refresh.get("Status", "?"))
        if status in REFRESH_ENDED and status != REFRESH_SUCCEEDED:
            reason = refresh.get("StatusReason") or "no reason given"
            raise RolloutError(
                f"instance refresh {refresh.get('InstanceRefreshId')} ended {status}: {reason}"
            )
        return status == REFRESH_SUCCEEDED

    def late(refresh: dict[str, Any], _line: str) -> str:
        return (
            f"instance refresh {refresh.get('InstanceRefreshId')} still "
            f"{refresh.get('Status', '?')} ({refresh.get('PercentageComplete', 0)}% done) after "
            f"{poll.timeout:.0f} s; it goes on without us: watch it with aws autoscaling "
            "describe-instance-refreshes"
        )

    return poll.until(describe, line_of, succeeded, late)


def wait_for_group(health: Callable[[], dict[str, Any]], poll: Poll) -> dict[str, Any]:
    """Poll until min_size instances are in service and as many targets are healthy."""

    def line_of(now: dict[str, Any]) -> str:
        return (
            f"{now['in_service']} of {now['min_size']} instances in service, "
            f"{now['healthy_targets']} healthy behind the load balancer"
        )

    def healthy(now: dict[str, Any]) -> bool:
        return bool(
            now["in_service"] >= now["min_size"] and now["healthy_targets"] >= now["min_size"]
        )

    def late(_now: dict[str, Any], line: str) -> str:
        return (
            f"the Auto Scaling group is not healthy after {poll.timeout:.0f} s ({line}); an "
            "instance's boot log is /var/log/cloud-init-output.log"
        )

    return poll.until(health, line_of, healthy, late)
