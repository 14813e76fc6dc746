"""The validity page (chapters/validity.md) and the table of contents that lists it.

The page tells students which test checks each estimator; these tests keep it honest: every test
file and test function it names exists, and every page the table of contents lists is a chapter
in chapters/ or one of the two pages the build generates.
"""

from __future__ import annotations

import re
from pathlib import Path

from calaim.book import build

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "chapters" / "validity.md"
GENERATED = {"chapters/data_dictionary", "chapters/inconsistencies"}  # written by calaim.book.build


def _toc_files() -> list[str]:
    return build.toc_files(ROOT)  # the walk the build itself does


def test_every_toc_entry_is_a_chapter_or_a_generated_page():
    files = _toc_files()
    assert len(files) == len(set(files)), "a page is listed twice"
    for f in files:
        if f in GENERATED:
            continue
        assert (ROOT / f"{f}.md").is_file() or (ROOT / f"{f}.ipynb").is_file(), f"_toc.yml lists {f}, not in chapters/"


def test_validity_page_follows_the_methods_page():
    files = _toc_files()
    assert files.index("chapters/validity") == files.index("chapters/methods") + 1


def test_validity_page_names_only_tests_that_exist():
    text = PAGE.read_text(encoding="utf-8")
    named_files = set(re.findall(r"tests/(test_\w+\.py)", text))
    assert {"test_references.py", "test_models.py", "test_firth.py", "test_claims.py"} <= named_files
    for name in named_files:
        assert (ROOT / "tests" / name).is_file(), f"validity.md names tests/{name}, which does not exist"
    defined = {
        m
        for path in (ROOT / "tests").glob("test_*.py")
        for m in re.findall(r"^def (test_\w+)\(", path.read_text(encoding="utf-8"), flags=re.M)
    }
    named_tests = set(re.findall(r"`(test_\w+)`", text))
    assert named_tests, "the page names no test function"
    assert named_tests <= defined, f"validity.md names tests that do not exist: {sorted(named_tests - defined)}"


def test_every_row_of_the_summary_names_a_test_file():
    text = PAGE.read_text(encoding="utf-8")
    summary = text.split("## Summary", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in summary.splitlines() if line.startswith("| ") and not line.startswith("| ---")][1:]
    assert len(rows) >= 12
    for row in rows:
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert len(cells) == 5, row
        assert re.search(r"tests/test_\w+\.py", cells[3]), f"no test file in: {row}"
