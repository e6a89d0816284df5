"""A stand-in for the terraform binary, for the deploy CLI's tests that need no real apply."""

from __future__ import annotations

import json
import sys
from pathlib import Path

# A stand-in for the terraform binary: records its arguments, answers `output -json` with the
# outputs in $FAKE_TF_OUTPUTS, and fails with $FAKE_TF_FAIL_ON's message for that subcommand.
FAKE_TERRAFORM = f"""#!{sys.executable}
import json, os, sys
args = sys.argv[1:]
with open(os.environ["FAKE_TF_LOG"], "a") as log:
    log.write(json.dumps(args) + "\\n")
if args and args[0] == os.environ.get("FAKE_TF_FAIL_ON"):
    sys.stderr.write("Error: " + os.environ.get("FAKE_TF_MESSAGE", "boom") + "\\n")
    sys.exit(1)
if args[:1] == ["output"]:
    print(os.environ.get("FAKE_TF_OUTPUTS", "{{}}"))
"""


class FakeTerraform:
    def __init__(self, directory: Path) -> None:
        self.path = directory / "terraform"
        self.path.write_text(FAKE_TERRAFORM)
        self.path.chmod(0o755)
        self.log = directory / "calls.jsonl"
        self.env = {"FAKE_TF_LOG": str(self.log)}

    def outputs(self, values: dict) -> None:
        wrapped = {name: {"value": value, "sensitive": False} for name, value in values.items()}
        self.env["FAKE_TF_OUTPUTS"] = json.dumps(wrapped)

    def fail_on(self, subcommand: str, message: str) -> None:
        self.env.update(FAKE_TF_FAIL_ON=subcommand, FAKE_TF_MESSAGE=message)

    def calls(self) -> list[list[str]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines()]
