"""Every sentence a reader of tui/ needs is in the repository: no comment or docstring points to a document
the repository does not hold (a spec and its section numbers, field notes) or names a benchmark by its id;
each gives its reason in place. The contract itself is docs/reference-contract.md."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
POINTERS = re.compile(
    # A document under docs/ is the project's own: pointing there is fine.
    r"spec section|section \d|spec \d|(?<!docs/)(executors|lua|console|policy|quality)\.md|field notes|field-notes"
    r"|\bB\d[A-Z]?\b(?!\d)|\bSAME\b|\bBETTER\b"
)
def _sources() -> list[Path]:
    return sorted((ROOT / "tui").rglob("*.py"))


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_comment_points_outside_the_repository(path: Path) -> None:
    found = [f"{number}: {line.strip()}" for number, line in enumerate(path.read_text().splitlines(), 1)
             if POINTERS.search(line) and "noqa: B0" not in line]
    assert found == []


def test_the_contract_is_a_document_of_the_project_linked_from_the_readme() -> None:
    assert (ROOT / "docs" / "reference-contract.md").is_file()
    assert "(docs/reference-contract.md)" in (ROOT / "README.md").read_text()
