"""Reads docs/tutorial.md's command blocks (a fenced block right after a marker comment), and runs
them as a reader would.

<!-- tutorial: run expect="text" expect="more" -->   run it; its output must contain each text
<!-- tutorial: run in=ENV -->                        run it in ENV (default: local), see below
<!-- tutorial: start ready=URL -->                   start it in the background; wait for URL
<!-- tutorial: check why="reason" -->               cannot run on a test machine (real AWS,
                                                     Heroku...): parsed, make targets resolved

A runnable block is executed by exactly one test, the one that owns its environment's hosts or
emulator, which asks for it with `claim("<section number>", "<environment>")`: the unit tier
finds those calls in tests/ and checks that every runnable block is claimed once.

Environments, and what a test changes for them. Only the literal texts of SUBSTITUTIONS are
rewritten in a block; everything else a reader would set up is given by files and environment
variables, never by editing the command:
  local           this machine (.venv, PostgreSQL, Redis, nginx, the tool venvs); ports 5000
                  and 8080 become free ones.
  vagrant         `vagrant up` of the single VM with libvirt (VAGRANT_DEFAULT_PROVIDER),
                  its .vagrant/ folder elsewhere (VAGRANT_DOTFILE_PATH), its HTTPS port free.
  stand-in-hosts  the Ansible tests' SSH hosts (systemd containers) instead of the VMs; the
                  inventory path is theirs, secrets from an encrypted vault in it
                  (ANSIBLE_VAULT_PASSWORD_FILE), test-only variables in ANSIBLE_ARGS.
  aws-emulator    moto on loopback instead of AWS: a provider override file in the copy's
                  terraform/, fake credentials, an AMI moto knows (TF_VAR_ami_id, which the
                  example var file leaves to a lookup moto cannot answer).
  compose         the Docker tier's engine and built images, on free ports, its own project.
A reader's edit ("replace every change-me") is done by EDITOR, set to `reader_editor()`.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from tests.support import procs
from tests.support.paths import REPO

TUTORIAL = REPO / "docs" / "tutorial.md"
ENVIRONMENTS = ("local", "vagrant", "stand-in-hosts", "aws-emulator", "compose")
# Per environment, literal text of a block -> what the test puts there ({name}: a value the
# test passes to `adapt`). Kept minimal: a unit test checks each entry still matches a block.
SUBSTITUTIONS: dict[str, dict[str, str]] = {
    "local": {
        "localhost:5000": "localhost:{port}",
        "127.0.0.1:5000": "127.0.0.1:{port}",
        "localhost:8080": "localhost:{stack_port}",
        "127.0.0.1:8080": "127.0.0.1:{stack_port}",
    },
    "vagrant": {".vagrant/": "{dotfile}/", "127.0.0.1:8443": "127.0.0.1:{https_port}"},
    "stand-in-hosts": {"ansible/inventories/vagrant-layered": "{inventory}"},
    "aws-emulator": {},
    "compose": {"127.0.0.1:8443": "127.0.0.1:{https_port}"},
}

_MARKER_AND_BLOCK = re.compile(
    r"<!-- tutorial: (?P<kind>run|start|check)(?P<attrs>[^>]*?)-->\s*\n```sh\n(?P<code>.*?)\n```",
    re.S,
)
_SECTION = re.compile(r"^## (?P<title>.+)$", re.M)
_SHELL_BLOCK = re.compile(r"^```sh\n", re.M)
_COLOUR = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class Block:
    kind: str  # "run", "start" or "check"
    code: str
    environment: str = "local"
    expect: list[str] = field(default_factory=list)
    ready: str | None = None
    why: str = ""  # why a check block cannot run here


@dataclass
class Section:
    title: str
    blocks: list[Block]

    @property
    def number(self) -> str:
        return self.title.split(".")[0]


def _block(match: re.Match[str]) -> Block:
    block = Block(kind=match["kind"], code=match["code"])
    for attribute in shlex.split(match["attrs"]):
        name, _, value = attribute.partition("=")
        if name == "expect":
            block.expect.append(value.encode().decode("unicode_escape"))
        elif name == "ready":
            block.ready = value
        elif name == "in":
            if value not in ENVIRONMENTS:
                raise ValueError(f"unknown tutorial environment {value!r}")
            block.environment = value
        elif name == "why":
            block.why = value
        else:
            raise ValueError(f"unknown tutorial attribute {name!r}")
    return block


def sections(path: Path = TUTORIAL) -> list[Section]:
    """Every section with a marked block, in the page's order, each with its marked blocks."""
    text = path.read_text()
    starts = [(m.start(), m["title"]) for m in _SECTION.finditer(text)] + [(len(text), "")]
    found = []
    for (begin, title), (end, _) in itertools.pairwise(starts):
        blocks = [_block(m) for m in _MARKER_AND_BLOCK.finditer(text, begin, end)]
        if blocks:
            found.append(Section(title=title, blocks=blocks))
    return found


def runnable(path: Path = TUTORIAL) -> dict[tuple[str, str], list[Block]]:
    """(section number, environment) -> its run/start blocks, in the page's order."""
    found: dict[tuple[str, str], list[Block]] = {}
    for section in sections(path):
        for block in section.blocks:
            if block.kind != "check":
                found.setdefault((section.number, block.environment), []).append(block)
    return found


def claim(section: str, environment: str) -> list[Block]:
    """The blocks of one section that run in `environment`: the calling test executes them."""
    blocks = runnable().get((section, environment))
    assert blocks, f"the tutorial's step {section} has no block that runs in {environment}"
    return blocks


def checked_blocks(path: Path = TUTORIAL) -> list[tuple[str, Block]]:
    """(section title, block) for every `check` block."""
    return [
        (section.title, block)
        for section in sections(path)
        for block in section.blocks
        if block.kind == "check"
    ]


def shell_block_count(path: Path = TUTORIAL) -> int:
    """How many ```sh blocks the page has, marked or not."""
    return len(_SHELL_BLOCK.findall(path.read_text()))


def lines(code: str) -> list[str]:
    """The command lines of `code` (continuations joined), for a test that runs them one by one."""
    return [line for line in code.replace("\\\n", " ").splitlines() if line.strip()]


def make_invocations(code: str) -> list[tuple[dict[str, str], list[str]]]:
    """(environment assignments, arguments) of every command line of `code` that runs make."""
    found = []
    for line in lines(code):
        words = shlex.split(line, comments=True)
        env = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words[:1] == ["make"]:
            found.append((env, words[1:]))
    return found


def adapt(code: str, environment: str, **values: object) -> str:
    """`code` with the environment's substitutions applied (SUBSTITUTIONS)."""
    for text, replacement in SUBSTITUTIONS[environment].items():
        if text in code:  # a block needs only the values of what it contains
            code = code.replace(text, replacement.format(**values))
    return code


@dataclass
class Result:
    returncode: int
    output: str  # stdout and stderr, interleaved as they came
    seconds: float

    def tail(self, lines_count: int = 80) -> str:
        return "\n".join(self.output.splitlines()[-lines_count:])


def run(
    code: str,
    *,
    cwd: Path,
    env: dict[str, str],
    log: Path,
    timeout: float = 600,
) -> Result:
    """Run `code` with bash -euo pipefail as one script, its output streamed to `log` (a slow
    provisioning can be followed while it runs)."""
    start = time.monotonic()
    with log.open("w") as sink:
        process = subprocess.Popen(
            ["bash", "-euo", "pipefail", "-c", code],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        procs.communicate_or_kill_session(process, timeout)
    # compared as a reader reads it: without colour codes (terraform colours even into a pipe)
    output = _COLOUR.sub("", log.read_text())
    return Result(process.returncode, output, time.monotonic() - start)


def assert_as_promised(block: Block, code: str, result: Result, **values: object) -> None:
    """The command succeeded and its output holds every text the page promises."""
    assert result.returncode == 0, f"$ {code}\n{result.tail(200)}"
    for expected in block.expect:
        expected = adapt(expected, block.environment, **values)
        assert expected in result.output, f"$ {code}\n{result.tail(200)}\n(expected {expected!r})"


def reader_checkout(destination: Path, venv: bool = True) -> Path:
    """The working tree as a reader's clone has it (tracked and new files, mtimes kept), with the
    checkout's .venv linked in: a step that writes files (cp ..., .env) writes into this copy."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, destination / name)  # keeps mtimes: make sees .venv as built
    if venv:
        (destination / ".venv").symlink_to(REPO / ".venv")
    return destination


def reader_editor(directory: Path, values: Mapping[str, str] | None = None) -> Path:
    """A stand-in for the reader's $EDITOR: replaces every change-me value of the file it is
    given with a fresh random one (letters and digits, as the example files ask), or, on a
    `name: change-me` line whose name is in `values`, with that value (a reader deploying onto
    hosts provisioned before types the secrets they already have)."""
    script = directory / "reader-editor"
    script.write_text(
        "#!/usr/bin/env python3\n"
        "import json, re, secrets, sys\n"
        "from pathlib import Path\n"
        f"known = json.loads({json.dumps(dict(values or {}))!r})\n"
        "path = Path(sys.argv[-1])\n"
        "def edited(line):\n"
        "    if 'change-me' not in line:\n"
        "        return line\n"
        "    name = line.split(':', 1)[0].strip()\n"
        "    value = known.get(name) or secrets.token_hex(20)\n"
        "    return re.sub(r'change-me[\\w-]*', value, line)\n"
        "lines = path.read_text().splitlines(keepends=True)\n"
        "path.write_text(''.join(edited(line) for line in lines))\n"
    )
    script.chmod(0o755)
    return script
