"""The code's pointers into docs/design.md name sections that exist, and no docstring or comment cites
a source outside the repository (an issue number, a numbered section of notes kept elsewhere)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DESIGN = ROOT / "docs" / "design.md"
# The file, a comma, then the section's heading in double quotes; maybe broken over lines.
POINTER = re.compile(r'docs/design\.md,\s*"([^"]+)"')
# Written in parts, so that this file does not cite what it looks for.
OUTSIDE = re.compile("|".join([r"\b[Ii]ssues? #?\d", "\u00a7", "design" + r"[ -]notes"]))


def _sources() -> list[Path]:
    return sorted(path for folder in ("bulk_updater", "tests") for path in (ROOT / folder).rglob("*.py"))


def _joined(text: str) -> str:
    """The text with each line break (and a comment's `#` after it) read as one space."""
    return re.sub(r"\s*\n\s*#?\s*", " ", text)


def test_every_pointer_names_a_section_of_design_md():
    sections = set(re.findall(r"^## (.+)$", DESIGN.read_text(encoding="utf-8"), flags=re.M))
    pointers = {(path.relative_to(ROOT).as_posix(), name) for path in _sources() for name in POINTER.findall(_joined(path.read_text(encoding="utf-8")))}
    assert pointers, "no pointer found: the pattern no longer matches how the code points"
    assert [pointer for pointer in sorted(pointers) if pointer[1] not in sections] == []


def test_no_code_cites_an_issue_or_notes_kept_elsewhere():
    found = [
        f"{path.relative_to(ROOT).as_posix()}:{number}: {line.strip()}"
        for path in _sources()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if OUTSIDE.search(line)
    ]
    assert found == []
