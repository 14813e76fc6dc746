"""Findings before code (issue 15): calaim.book.folding folds every code cell but the teaching
cells, removes the parameter cells, and the committed chapters fold at least 60% of their code."""

import nbformat
import pytest

from calaim import ROOT
from calaim.book import folding


def _nb(*cells):
    nb = nbformat.v4.new_notebook()
    for kind, tags in cells:
        cell = nbformat.v4.new_code_cell("1") if kind == "code" else nbformat.v4.new_markdown_cell("text")
        if tags:
            cell.metadata["tags"] = list(tags)
        nb.cells.append(cell)
    return nb


def test_each_rule():
    nb = _nb(
        ("code", ["parameters"]),
        ("code", ["injected-parameters"]),
        ("code", []),
        ("code", ["teach"]),
        ("code", ["remove-input"]),
        ("code", ["hide-cell"]),
        ("markdown", []),
    )
    ids = [c.id for c in nb.cells]
    folding.fold_notebook(nb)
    tags = [c.metadata.get("tags", []) for c in nb.cells]
    assert tags == [
        ["parameters", "remove-cell"],
        ["injected-parameters", "remove-cell"],
        ["hide-input"],
        ["teach"],
        ["remove-input"],
        ["hide-cell"],
        [],
    ]
    assert [c.id for c in nb.cells] == ids  # cells keep their ids
    r = folding.count(nb)
    assert (r.code_cells, r.folded, r.teach) == (4, 3, 1)
    assert r.share == pytest.approx(0.75)


def test_folding_twice_changes_nothing():
    nb = folding.fold_notebook(_nb(("code", []), ("code", ["parameters"])))
    before = [list(c.metadata["tags"]) for c in nb.cells]
    folding.fold_notebook(nb)
    assert [c.metadata["tags"] for c in nb.cells] == before


def test_fold_tree_writes_only_changed_notebooks(tmp_path):
    nbformat.write(_nb(("code", [])), tmp_path / "a.ipynb")
    nbformat.write(_nb(("code", ["teach"])), tmp_path / "b.ipynb")
    mtime = (tmp_path / "b.ipynb").stat().st_mtime_ns
    results = folding.fold_tree(tmp_path)
    assert results["a.ipynb"].folded == 1 and results["b.ipynb"].folded == 0
    assert nbformat.read(tmp_path / "a.ipynb", as_version=4).cells[0].metadata["tags"] == ["hide-input"]
    assert (tmp_path / "b.ipynb").stat().st_mtime_ns == mtime


@pytest.mark.parametrize("path", sorted((ROOT / "chapters").glob("*.ipynb")), ids=lambda p: p.stem)
def test_every_chapter_folds_most_code_and_teaches_something(path):
    nb = folding.fold_notebook(nbformat.read(path, as_version=4))
    r = folding.count(nb)
    assert r.share >= folding.MIN_FOLDED_SHARE, f"{path.name}: {r.folded} of {r.code_cells} code cells folded"
    if path.stem.startswith(("s1", "s2", "s3", "s4", "s5", "paper", "appendix")):
        assert r.teach >= 1, f"{path.name} has no teaching cell (tag one that shows a concept first)"
