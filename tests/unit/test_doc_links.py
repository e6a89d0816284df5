"""Every relative link in the Markdown pages points at a file that exists, and every anchor at a
heading that exists (GitHub's heading ids), so a reader never lands on a 404 or a page top."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from urllib.parse import unquote

import pytest

ROOT = Path(__file__).resolve().parents[2]

_FENCE = re.compile(r"^(```|~~~).*?^\1\s*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"(?<!\!)\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
_IMAGE = re.compile(r"!\[[^\]\n]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.M)


def pages() -> list[Path]:
    """README.md, docs/*.md and every other Markdown file in the repository."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.md"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return sorted(ROOT / name for name in listed if (ROOT / name).is_file())


def _prose(text: str) -> str:
    """The text a reader sees as prose: code blocks and inline code are examples, not links."""
    return _INLINE_CODE.sub("", _FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's id for a heading: link syntax and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # [text](url) -> text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    seen: dict[str, int] = {}
    ids = set()
    for heading in _HEADING.findall(_FENCE.sub("", page.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        ids.add(base if count == 0 else f"{base}-{count}")
    return ids


def links(page: Path) -> list[str]:
    text = _prose(page.read_text())
    return _LINK.findall(text) + _IMAGE.findall(text)


PAGES = pages()


def test_the_link_check_sees_the_pages_that_matter() -> None:
    names = {page.relative_to(ROOT).as_posix() for page in PAGES}
    assert {"README.md", "docs/tutorial.md", "docs/app.md"} <= names
    assert sum(len(links(page)) for page in PAGES) > 50


def test_slugs_follow_github() -> None:
    assert slug("1. Run it locally") == "1-run-it-locally"
    assert slug("The public surface: safe to put on the internet") == (
        "the-public-surface-safe-to-put-on-the-internet"
    )
    assert slug("nginx's status page (needed by the `nginx` job)") == (
        "nginxs-status-page-needed-by-the-nginx-job"
    )


@pytest.mark.parametrize("page", PAGES, ids=[p.relative_to(ROOT).as_posix() for p in PAGES])
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # https:, mailto:, ...: not ours to check
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / unquote(path_part)).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: {destination.relative_to(ROOT)} does not exist")
            continue
        if ROOT not in destination.parents and destination != ROOT:
            broken.append(f"{target}: points outside the repository")
            continue
        if anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.relative_to(ROOT)}")
        elif anchor and destination.suffix != ".md":
            broken.append(f"{target}: an anchor into a file that is not Markdown")
    assert not broken, "\n".join(broken)


def test_readme_maps_every_top_level_entry() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    entries = {name.split("/")[0] for name in listed}
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## What is where") :].split("\n## ")[0]
    named = set(re.findall(r"`([^`]+?)/?`", table))
    missing = sorted(entry for entry in entries if entry not in named)
    assert not missing, f"README's map does not name: {missing}"
