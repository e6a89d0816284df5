"""Reads docs/tutorial.md's command blocks: a fenced block right after a marker comment.

<!-- tutorial: run expect="text" expect="more" -->   run it; its output must contain each text
<!-- tutorial: start ready=URL -->                   start it in the background; wait for URL
<!-- tutorial: check -->                            cannot run on a test machine (real AWS,
                                                     Heroku...): parsed, make targets resolved
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_MARKER_AND_BLOCK = re.compile(
    r"<!-- tutorial: (?P<kind>run|start|check)(?P<attrs>[^>]*?)-->\s*\n```sh\n(?P<code>.*?)\n```",
    re.S,
)
_SECTION = re.compile(r"^## (?P<title>.+)$", re.M)
_SHELL_BLOCK = re.compile(r"^```sh\n", re.M)


@dataclass
class Block:
    kind: str  # "run", "start" or "check"
    code: str
    expect: list[str] = field(default_factory=list)
    ready: str | None = None


@dataclass
class Section:
    title: str
    blocks: list[Block]


def _block(match: re.Match[str]) -> Block:
    block = Block(kind=match["kind"], code=match["code"])
    for attribute in shlex.split(match["attrs"]):
        name, _, value = attribute.partition("=")
        if name == "expect":
            block.expect.append(value.encode().decode("unicode_escape"))
        elif name == "ready":
            block.ready = value
        else:
            raise ValueError(f"unknown tutorial attribute {name!r}")
    return block


def sections(path: Path) -> list[Section]:
    """Every section with a marked block, in the page's order, each with its marked blocks."""
    text = path.read_text()
    starts = [(m.start(), m["title"]) for m in _SECTION.finditer(text)] + [(len(text), "")]
    found = []
    for (begin, title), (end, _) in itertools.pairwise(starts):
        blocks = [_block(m) for m in _MARKER_AND_BLOCK.finditer(text, begin, end)]
        if blocks:
            found.append(Section(title=title, blocks=blocks))
    return found


def runnable_sections(path: Path) -> list[Section]:
    """The sections whose blocks a test machine runs (each keeps only its run/start blocks)."""
    runnable = []
    for section in sections(path):
        blocks = [block for block in section.blocks if block.kind != "check"]
        if blocks:
            runnable.append(Section(title=section.title, blocks=blocks))
    return runnable


def checked_blocks(path: Path) -> list[tuple[str, Block]]:
    """(section title, block) for every `check` block."""
    return [
        (section.title, block)
        for section in sections(path)
        for block in section.blocks
        if block.kind == "check"
    ]


def shell_block_count(path: Path) -> int:
    """How many ```sh blocks the page has, marked or not."""
    return len(_SHELL_BLOCK.findall(path.read_text()))


def make_invocations(code: str) -> list[tuple[dict[str, str], list[str]]]:
    """(environment assignments, arguments) of every command line of `code` that runs make."""
    found = []
    for line in code.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        env = {}
        while words and "=" in words[0] and not words[0].startswith("-"):
            name, _, value = words.pop(0).partition("=")
            env[name] = value
        if words[:1] == ["make"]:
            found.append((env, words[1:]))
    return found
