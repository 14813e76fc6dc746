"""The one full build of the test suite, shared by the tests that need a real book: every
chapter, on the synthetic data with its ids remapped to distinctive tokens (so the id scan can
see them). Built once for this module (pytest-xdist keeps a file on one worker)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calaim import ROOT
from calaim.book import build, chapter, privacy
from calaim.stats import findings

pytestmark = pytest.mark.book


@pytest.fixture(scope="module")
def real_book(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("real_book")
    synthetic = pd.read_csv(chapter.DEFAULT_DATA, dtype=str, keep_default_na=False)
    ids = [f"R7Q{int(i):06d}" for i in synthetic["resp_id"]]
    data = tmp / "calaim_synthetic_remapped_ids.csv"
    synthetic.assign(resp_id=ids).to_csv(data, index=False, lineterminator="\n")
    before = data.read_bytes()
    lines: list[str] = []
    result = build.build(data=data, out=tmp / "out", log=lines.append)
    return {"result": result, "ids": ids, "data": data, "before": before, "lines": lines}


def test_the_real_book_shows_no_respondent_id(real_book):
    """No built page, script, notebook or data file holds an id; every chapter is a page; the
    data file is untouched."""
    result, ids = real_book["result"], real_book["ids"]
    assert any(f"searching the pages for {len(ids):,} respondent ids" in line for line in real_book["lines"])
    assert privacy.scan(result.html, ids) == []
    pages = sorted(p.relative_to(result.html).as_posix() for p in result.html.rglob("*.html"))
    assert {f"chapters/{p.stem}.html" for p in (ROOT / "chapters").glob("*.ipynb")} <= set(pages)
    assert real_book["data"].read_bytes() == real_book["before"]


# ---------------------------------------------------------------------------- one computation path
def _csvs_for(figure: str, csvs: dict[str, pd.DataFrame]) -> list[str]:
    """The figure CSVs of a registry row's ``figure`` (``Fig 13`` -> ``s2-fig13-...``, ``Table B1``
    -> ``ab-table-b1...``)."""
    m = re.fullmatch(r"Fig(?:ure)? (\d+)", str(figure))
    if m:
        return [k for k in csvs if re.search(rf"fig0*{int(m.group(1))}(\D|$)", k)]
    m = re.fullmatch(r"Table ([AB]\d+)", str(figure))
    if m:
        return [k for k in csvs if f"table-{m.group(1).lower()}" in k]
    return []


def test_every_share_in_a_figure_csv_equals_its_scorecard_row(real_book):
    """One computation path: a figure's CSV download and the scorecard row for the same published
    number carry the same estimate on the same base. The book's CSVs (every chapter's
    display.figure output, as published in ``_downloads``) are compared with findings.evaluate
    on the same data: every share the registry ties to a figure or table that has a CSV must
    appear there, with its base. Tables made from the evaluator itself (published beside
    reproduced) are left out, as they would prove nothing."""
    html: Path = real_book["result"].html
    csvs = {p.name: pd.read_csv(p) for p in sorted(html.glob("_downloads/*/*.csv"))}
    csvs = {k: d for k, d in csvs.items() if not {"reproduced", "status"} & set(d.columns)}
    assert len(csvs) >= 40, f"only {len(csvs)} figure CSVs in the book"
    ev = chapter.setup(str(real_book["data"])).evaluated()
    reg = findings.load_registry().set_index("id")
    ev = ev.assign(figure=ev["id"].map(reg["figure"]))
    checked, missing = 0, []
    rows = ev[(ev["statistic"] == "share") & ev["status"].isin(["match", "miss"])]
    for r in rows.itertuples():
        names = _csvs_for(r.figure, csvs)
        if not names:
            continue
        checked += 1
        found = False
        for name in names:
            d = csvs[name]
            if "base" not in d.columns:
                continue
            for col in d.columns:
                if col in ("ci_low", "ci_high", "base") or d[col].dtype.kind != "f":
                    continue
                # CSVs keep 4 decimals
                if ((np.abs(d[col] - r.reproduced) < 5e-4) & (d["base"] == r.base)).any():
                    found = True
        if not found:
            missing.append(f"{r.id} ({r.figure}): {r.reproduced:.4f} on base {r.base} not in {names}")
    assert checked >= 400, f"only {checked} registry shares have a figure CSV"
    assert not missing, "\n".join(missing)
