"""The errors `deploy` reports: each one says what went wrong and what to do about it."""

from __future__ import annotations


class DeployError(Exception):
    """Anything that stops a deploy step; the CLI prints it and exits with `exit_code`."""

    exit_code = 1


class TerraformMissingError(DeployError):
    exit_code = 3


class VarFileError(DeployError):
    exit_code = 4


class TerraformFailedError(DeployError):
    exit_code = 5


class MissingOutputsError(DeployError):
    exit_code = 6


class ProvisionError(DeployError):
    exit_code = 7


class SmokeTestError(DeployError):
    exit_code = 8


class AwsApiError(DeployError):
    """An AWS API call failed; `code` is AWS's error code when it sent one."""

    exit_code = 10

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class RolloutError(DeployError):
    """The Auto Scaling group did not get healthy, or an instance refresh failed or timed out."""

    exit_code = 11


class ReleaseBuildError(DeployError):
    exit_code = 12
