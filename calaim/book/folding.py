"""Findings before code: fold the code of the executed chapters before jupyter-book renders them.

Where it sits: chapters (executed by papermill, scrubbed) -> **folding** -> jupyter-book. The build
(:func:`calaim.book.build._build_steps`) calls :func:`fold_tree` on the staged ``chapters/`` after
the notebooks ran (or came from the cache) and before ``jupyter-book build``; the committed
notebooks are not changed, so Jupyter users still see every cell.

The rules, per code cell:

* the notebook's own ``parameters`` cell and papermill's ``injected-parameters`` cell are removed
  from the page (``remove-cell``): the chapter's data box says which data, wave and minimum base
  it ran on;
* a cell tagged ``teach`` (a concept shown for the first time) keeps its code open;
* a cell that already says how it is shown (``hide-input``, ``hide-cell``, ``remove-input``,
  ``remove-cell``) is left alone;
* every other code cell gets ``hide-input``: its output shows and its code sits behind a toggle.

Pure functions on :mod:`nbformat` notebooks, except :func:`fold_tree`, which reads and writes the
staged files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

TEACH = "teach"
PARAMETER_TAGS = ("parameters", "injected-parameters")
#: tags that already decide how a cell's code is shown
SHOWN_AS = ("hide-input", "hide-cell", "remove-input", "remove-cell")
#: tags under which a reader does not see a cell's code unless they ask for it
FOLDED = SHOWN_AS
#: the share of code cells a chapter page must fold (issue 15; checked by check_html too)
MIN_FOLDED_SHARE = 0.6


@dataclass(frozen=True)
class FoldResult:
    """How many code cells a notebook has, how many are folded and how many are teaching cells."""

    code_cells: int
    folded: int
    teach: int

    @property
    def share(self) -> float:
        return self.folded / self.code_cells if self.code_cells else 1.0


def cell_tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def fold_cell(cell) -> list[str]:
    """The tags ``cell`` should carry on the page (see the module docstring); ``cell`` unchanged."""
    tags = cell_tags(cell)
    if cell.get("cell_type") != "code":
        return tags
    if any(t in tags for t in PARAMETER_TAGS):
        return tags if "remove-cell" in tags else [*tags, "remove-cell"]
    if TEACH in tags or any(t in tags for t in SHOWN_AS):
        return tags
    return [*tags, "hide-input"]


def fold_notebook(nb):
    """Fold ``nb`` in place (and return it): every code cell gets the tags of :func:`fold_cell`."""
    for cell in nb.cells:
        tags = fold_cell(cell)
        if tags != cell_tags(cell):
            cell.metadata["tags"] = tags
    return nb


def count(nb) -> FoldResult:
    """Code cells, folded cells and teaching cells of ``nb`` (parameter cells not counted)."""
    code = [c for c in nb.cells if c.get("cell_type") == "code" and not set(PARAMETER_TAGS) & set(cell_tags(c))]
    folded = sum(1 for c in code if set(FOLDED) & set(cell_tags(c)))
    teach = sum(1 for c in code if TEACH in cell_tags(c))
    return FoldResult(code_cells=len(code), folded=folded, teach=teach)


def fold_tree(folder: Path) -> dict[str, FoldResult]:
    """Fold every notebook of ``folder`` in place; return each one's :func:`count` after folding."""
    import nbformat

    results = {}
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        before = [cell_tags(c) for c in nb.cells]
        fold_notebook(nb)
        if before != [cell_tags(c) for c in nb.cells]:
            nbformat.write(nb, path)
        results[path.name] = count(nb)
    return results
