"""One computation path: a figure's downloadable table and the scorecard row for the same
published number must carry the same estimate on the same base.

The committed chapters' figure CSVs (chapters/figure_data, written by display.figure on the
default run) are compared with findings.evaluate on the same default data: every share the
registry ties to a figure or table that has a CSV must appear in that CSV, with its base. Any
drift between the chapters' tables and the scorecards' evaluator (another interval, another
base rule, another suppression) fails here."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calaim import ROOT
from calaim.book import chapter
from calaim.stats import findings

FIGURE_DATA = ROOT / "chapters" / "figure_data"


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


@pytest.fixture(scope="module")
def evaluated() -> pd.DataFrame:
    ev = chapter.setup().evaluated()
    reg = findings.load_registry().set_index("id")
    return ev.assign(figure=ev["id"].map(reg["figure"]))


def test_every_share_in_a_figure_csv_equals_its_scorecard_row(evaluated):
    csvs = {p.name: pd.read_csv(p) for p in sorted(Path(FIGURE_DATA).glob("*.csv"))}
    # tables made from the evaluator itself (published beside reproduced) prove nothing here
    csvs = {k: d for k, d in csvs.items() if not {"reproduced", "status"} & set(d.columns)}
    checked, missing = 0, []
    rows = evaluated[(evaluated["statistic"] == "share") & evaluated["status"].isin(["match", "miss"])]
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
