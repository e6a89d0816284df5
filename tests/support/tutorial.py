"""Reads docs/tutorial.md's runnable blocks: a fenced block right after a marker comment.

<!-- tutorial: run expect="text" expect="more" -->   run it; its output must contain each text
<!-- tutorial: start ready=URL -->                   start it in the background; wait for URL
"""

from __future__ import annotations

import itertools
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

_MARKER_AND_BLOCK = re.compile(
    r"<!-- tutorial: (?P<kind>run|start)(?P<attrs>[^>]*?)-->\s*\n```sh\n(?P<code>.*?)\n```",
    re.S,
)
_SECTION = re.compile(r"^## (?P<title>.+)$", re.M)


@dataclass
class Block:
    kind: str  # "run" or "start"
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


def runnable_sections(path: Path) -> list[Section]:
    text = path.read_text()
    starts = [(m.start(), m["title"]) for m in _SECTION.finditer(text)] + [(len(text), "")]
    sections = []
    for (begin, title), (end, _) in itertools.pairwise(starts):
        blocks = [_block(m) for m in _MARKER_AND_BLOCK.finditer(text, begin, end)]
        if blocks:
            sections.append(Section(title=title, blocks=blocks))
    return sections
