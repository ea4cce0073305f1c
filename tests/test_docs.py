"""The commands shown in README and docs/ parse with today's CLI, so examples never rot."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from weboter.runtime.cli.main import build_parser

ROOT = Path(__file__).parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def shown_commands() -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        for block in re.findall(r"```(?:bash)?\n(.*?)```", doc.read_text(), flags=re.S):
            for line in block.replace("\\\n", " ").splitlines():  # continued lines joined
                command = re.split(r"#| > | \| ", line)[0].strip()  # no comment, redirect, pipe
                if command.startswith("weboter "):
                    found.append((doc.name, command))
    return found


@pytest.mark.parametrize(("doc", "command"), shown_commands())
def test_documented_command_parses(doc: str, command: str) -> None:
    words = shlex.split(command)[1:]
    args = build_parser().parse_args(words)  # SystemExit (a failure) on an unknown flag
    assert callable(args.handler), f"{doc}: {command}"


def test_there_are_documented_commands() -> None:
    assert len(shown_commands()) >= 15


def test_every_screenshot_docs_show_is_made_by_a_test() -> None:
    """docs/ui.md's pictures exist, and each is one an end-to-end test keeps for the docs
    (`keep(page, NAME, doc=True)`): `just doc-shots` makes them all again."""
    shown = re.findall(r"\(images/ui/([\w-]+)\.png\)", (ROOT / "docs" / "ui.md").read_text())
    assert shown, "docs/ui.md shows no screenshot"
    kept = set()
    for test in (ROOT / "tests" / "ui").glob("test_*.py"):
        kept |= set(re.findall(r'keep\(page, "([\w-]+)", doc=True\)', test.read_text()))
    for name in shown:
        assert name in kept, f"docs/ui.md shows {name}.png, which no test makes"
        assert (ROOT / "docs" / "images" / "ui" / f"{name}.png").is_file(), name
