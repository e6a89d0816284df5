"""The errors `deploy` reports: each one says what went wrong and what to do about it.

Each class carries its exit code, and the first line of its docstring is that code's line in
`python -m deploy --help`, so the two cannot drift apart.
"""

from __future__ import annotations

import shutil
from typing import Any


class DeployError(Exception):
    """stopped on purpose or a bad option value (e.g. `down` not confirmed, SSH key missing)

    The base of every error a deploy step raises; the CLI prints it and exits with `exit_code`.
    """

    exit_code = 1

    def __init_subclass__(cls, exit_code: int, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.exit_code = exit_code


class TerraformMissingError(DeployError, exit_code=3):
    """terraform not found"""


class VarFileError(DeployError, exit_code=4):
    """var file refused (missing, wrong format, holds a secret)"""


class TerraformFailedError(DeployError, exit_code=5):
    """terraform failed (init, plan, apply, destroy)"""


class MissingOutputsError(DeployError, exit_code=6):
    """Terraform outputs missing (nothing deployed yet, or `release` on a fixed tier)"""


class ProvisionError(DeployError, exit_code=7):
    """ansible-playbook not found or failed"""


class SmokeTestError(DeployError, exit_code=8):
    """smoke test failed"""


class AwsApiError(DeployError, exit_code=10):
    """an AWS API call failed (credentials, permissions, endpoint: AWS_ENDPOINT_URL)

    `code` is AWS's error code when it sent one.
    """

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class RolloutError(DeployError, exit_code=11):
    """the Auto Scaling group did not get healthy, or the instance refresh failed or timed out"""


class ReleaseBuildError(DeployError, exit_code=12):
    """the release artifact could not be built"""


def require_tool(binary: str, error: type[DeployError], install: str, option: str) -> str:
    """The path of `binary` (a name on the PATH or a path); else `error`, saying how to get it."""
    resolved = shutil.which(binary)
    if resolved is None:
        raise error(f"{binary!r} not found: install {install} or point {option} at it")
    return resolved


def exit_code_lines() -> list[tuple[int, str]]:
    """(code, meaning) of every error above, by code."""
    classes: list[type[DeployError]] = [DeployError, *DeployError.__subclasses__()]
    return sorted((cls.exit_code, (cls.__doc__ or "").splitlines()[0]) for cls in classes)
