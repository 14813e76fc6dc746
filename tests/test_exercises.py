"""Exercises for students (issue 15, item 7): every section chapter and the paper chapter end with
2-3 sphinx-exercise exercises, each followed by a gated solution (``solution-start`` /
``solution-end`` with the dropdown class) around an executed code cell, so that nbval checks the
solution's output and the page folds its code inside the dropdown."""

import re

import nbformat
import pytest
import yaml

from calaim import ROOT
from calaim.book import folding

CHAPTERS = [
    "s1_implementer_views",
    "s2_partnerships",
    "s3_data_exchange",
    "s4_ecm_cs",
    "s5_other_programs",
    "paper_sso",
]
EXERCISE = re.compile(r"^```\{exercise\}[^\n]*\n:label: (\S+)", re.M)
SOLUTION_START = re.compile(r"^```\{solution-start\} (\S+)\n:class: dropdown\n```", re.M)


def _cells(name):
    return nbformat.read(ROOT / "chapters" / f"{name}.ipynb", as_version=4).cells


def exercises(cells):
    """(label, solution code cell) of each exercise in ``cells``, checking the gated layout."""
    found = []
    for i, cell in enumerate(cells):
        m = EXERCISE.search(cell.source) if cell.cell_type == "markdown" else None
        if not m:
            continue
        label = m.group(1)
        start, code, end = cells[i + 1 : i + 4]
        assert SOLUTION_START.search(start.source) and SOLUTION_START.search(start.source).group(1) == label, label
        assert code.cell_type == "code", f"{label}: the solution's code cell must follow solution-start"
        assert end.cell_type == "markdown" and end.source.strip() == "```{solution-end}\n```", label
        found.append((label, code, i))
    return found


def test_sphinx_exercise_is_an_extension():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "sphinx_exercise" in config["sphinx"]["extra_extensions"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_ends_with_executed_exercises(name):
    cells = _cells(name)
    found = exercises(cells)
    assert 2 <= len(found) <= 3, f"{name}: {len(found)} exercises"
    first = found[0][2]
    assert cells[first - 1].source.startswith("## Exercises"), f"{name}: the exercises need their own heading"
    assert first - 1 + 1 + 4 * len(found) == len(cells), f"{name}: the exercises must close the chapter"
    for label, code, _ in found:
        assert label.startswith(f"{name.split('_')[0]}-ex-"), label
        streams = [o for o in code.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"]
        assert streams and streams[-1]["text"].strip().endswith("."), f"{label}: no one-sentence answer printed"
        assert not [o for o in code.outputs if o.get("output_type") == "error"], label
        # the page folds the solution's code (its output stays visible inside the dropdown)
        assert folding.fold_cell(code) == [*folding.cell_tags(code), "hide-input"], label


def test_labels_unique_across_the_book():
    labels = [label for name in CHAPTERS for label, _, _ in exercises(_cells(name))]
    assert len(labels) == len(set(labels))


def test_layout_check_catches_a_missing_solution():
    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    cells = [md("```{exercise} T\n:label: x-ex-1\n\nDo it.\n```"), code("1"), md("```{solution-end}\n```"), md("")]
    with pytest.raises(AssertionError):
        exercises(cells)
