"""Suppression on a file with tiny subgroups (issue 14, "Suppression everywhere").

The data are the synthetic default with rows recoded or dropped so that three groups are tiny:
2 managed care plan respondents (the other MCP rows dropped), 3 hospital discharge planners (the
others answer "No") and 1 respondent in the Greater Sacramento region (the others dropped). The
chapters that tabulate sectors, respondent types and regions are executed with and without
``public``; every HTML table, text output and figure CSV is then scanned for

* an estimate (a share, a CI) shown on a base below ``min_base`` (both runs), and
* with ``public``, a count of 1 to 10 respondents in a count column (``n``, ``base``,
  ``count``, "respondents ...", "... (n)", "(n = ...)" in text, or a square sector-by-sector
  matrix, whose cells are all counts).

Only the chapters the issue names are executed (about a minute on 2 cores).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from calaim import ROOT
from calaim.book import build, chapter, privacy
from calaim.data import codebook

MIN_BASE = 30
CHAPTERS = [
    "appendix_a_sample",
    "appendix_b_collaboration",
    "s1_implementer_views",
    "s2_partnerships",
    "s3_data_exchange",
]
SMALL_REGION = "greater_sacramento"

_COUNT = re.compile(
    r"(^|[\s(])(n|count|base|effective_n|respondents|completes|providers|in both groups)([\s)]|$)"
    r"|\(n\)|^n in |respondents in",
    re.IGNORECASE,
)
_ESTIMATE = re.compile(r"(^|\s)(value|ci_low|ci_high|%|95% ci)$|%\)?$|^share", re.IGNORECASE)
_BASE = re.compile(r"(^|[\s(])(base|n)([\s)]|$)", re.IGNORECASE)
_N_TEXT = re.compile(r"\bn = ([\d,]+(?:\.\d+)?)")


def tiny_frame() -> pd.DataFrame:
    """The synthetic default as text, with the three tiny groups (see the module docstring)."""
    cb = codebook.load()
    raw = pd.read_csv(chapter.DEFAULT_DATA, dtype=str, keep_default_na=False)
    complete = raw["disposition"] == "1"
    mcp = raw["org_type"] == "7"
    raw = raw.drop(raw.index[mcp].difference(raw.index[mcp & complete][:2]))
    complete = raw["disposition"] == "1"
    dp = raw["discharge_planner"] == "1"
    recoded = raw.index[dp].difference(raw.index[dp & complete][:3])
    raw.loc[recoded, "discharge_planner"] = "2"
    raw.loc[recoded, [c for c in raw.columns if c.startswith("hdp_")]] = ""  # asked of planners only
    counties = [f"county__{k}" for k, c in cb.counties.items() if c["region"] == SMALL_REGION]
    in_region = (raw[counties] == "1").any(axis=1) & (raw["statewide"] != "1")
    return raw.drop(raw.index[in_region].difference(raw.index[in_region & complete][:1]))


def _number(text: str) -> float | None:
    try:
        return float(str(text).replace(",", "").strip())
    except ValueError:
        return None


def _blank(text) -> bool:
    return pd.isna(text) or str(text).strip() in {"", "–", "-", "nan", "NaN"}


def table_problems(header: list[str], rows: list[list[str]], public: bool, where: str) -> list[str]:
    """Estimates on bases below MIN_BASE and, when ``public``, counts of 1 to 10."""
    out = []
    width = len(header)
    rows = [r[-width:] if len(r) > width else r for r in rows if len(r) >= width]
    labels = [r[0] for r in rows]
    square = len(rows) > 1 and set(header[-len(rows) :]) == set(labels)  # a group-by-group count matrix
    counts = [i for i, h in enumerate(header) if i and (square or (_COUNT.search(h) and not _ESTIMATE.search(h)))]
    if public:
        for r in rows:
            for i in counts:
                v = _number(r[i])
                if v is not None and 1 <= v <= 10:
                    out.append(f"{where}: count {r[i]!r} in column {header[i]!r} (row {r[0]!r})")
    bases = [i for i in counts if not square and _BASE.search(header[i])]
    for i, h in enumerate(header):
        if not i or i in bases or not _ESTIMATE.search(h):
            continue
        if len(bases) == 1:
            base = bases[0]
        else:  # "own n" goes with "own %", "own 95% CI"
            same = [b for b in bases if header[b].split()[0] == h.split()[0]]
            if len(same) != 1:
                continue
            base = same[0]
        for r in rows:
            b = _number(r[base])
            if b is not None and b < MIN_BASE and not _blank(r[i]):
                out.append(f"{where}: {h!r} = {r[i]!r} on base {r[base]!r} (row {r[0]!r})")
    return out


def text_problems(text: str, public: bool, where: str) -> list[str]:
    out = []
    for m in _N_TEXT.finditer(text):
        v = _number(m.group(1))
        if "." in m.group(1):
            out.append(f"{where}: a count shown with decimals, {m.group(0)!r}")
        elif public and v is not None and 1 <= v <= 10:
            out.append(f"{where}: {m.group(0)!r}")
    return out


def notebook_problems(path: Path, public: bool) -> list[str]:
    nb = nbformat.read(path, as_version=4)
    out = []
    for i, cell in enumerate(nb.cells):
        for o in cell.get("outputs", []):
            data = o.get("data", {})
            where = f"{path.stem}, cell {i}"
            html = data.get("text/html", "")
            for t in privacy.html_tables(html) if "<table" in html else []:
                if len(t) > 1:
                    # a header row per index level: the last one carries the index name, the
                    # first the column labels; keep the column labels, padded to the row width
                    head = [h for h in t[0]]
                    body = [r for r in t[1:] if len(r) > 1]
                    if body and len(head) < len(body[0]):
                        head = [""] * (len(body[0]) - len(head)) + head
                    out += table_problems(head, body, public, where)
                    out += text_problems(" ".join(head), public, where)  # "Overall (n = 1,000)" headers
            for key in ("text/markdown",):
                out += text_problems(data.get(key, ""), public, where)
            if o.get("output_type") == "stream":
                out += text_problems(o.get("text", ""), public, where)
    return out


def csv_problems(path: Path, public: bool) -> list[str]:
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    return table_problems(["", *t.columns], [["", *r] for r in t.to_numpy().tolist()], public, path.name)


def run(tmp: Path) -> list[str]:
    """Execute CHAPTERS on ``tmp/tiny.csv`` with and without ``public`` (copies in ``tmp``, two
    at a time) and return every problem found."""
    runs = {}
    for public in (False, True):
        folder = tmp / ("public" if public else "default")
        folder.mkdir()
        for name in CHAPTERS:
            shutil.copy(ROOT / "chapters" / f"{name}.ipynb", folder / f"{name}.ipynb")
            params = {"data_path": str(tmp / "tiny.csv"), "min_base": MIN_BASE, "public": public}
            runs[folder / f"{name}.ipynb"] = params
    with build.notebook_pool(2) as pool:
        failures = [f for f in pool.map(build._execute_one, list(runs), list(runs.values())) if f]
    assert not failures, failures
    problems = []
    for nb, params in runs.items():
        problems += notebook_problems(nb, params["public"])
    for public in (False, True):
        for csv in sorted((tmp / ("public" if public else "default") / "figure_data").glob("*.csv")):
            problems += csv_problems(csv, public)
    return problems


# ---------------------------------------------------------------------------- the scanner itself
def test_scanner_finds_small_counts_and_estimates_on_small_bases():
    header = ["", "sector", "respondents in both", "share (%)", "base (row sector)"]
    rows = [["0", "MCP", "2", "100.0", "2"], ["1", "SSO", "400", "55.0", "400"]]
    assert table_problems(header, rows, public=False, where="t") == [
        "t: 'share (%)' = '100.0' on base '2' (row '0')"
    ]
    assert len(table_problems(header, rows, public=True, where="t")) == 3  # count 2, base 2, share
    blanked = [["0", "MCP", "–", "–", "–"], rows[1]]
    assert table_problems(header, blanked, public=True, where="t") == []
    matrix = ["", "A", "B"], [["A", "40", "3"], ["B", "3", "50"]]
    assert len(table_problems(*matrix, public=True, where="m")) == 2
    assert text_problems("Overall (n = 1,000.0) and MCP (n = 2)", public=True, where="x") == [
        "x: a count shown with decimals, 'n = 1,000.0'",
        "x: 'n = 2'",
    ]
    assert text_problems("MCP (n = 2)", public=False, where="x") == []


# ---------------------------------------------------------------------------- the chapters
@pytest.mark.book
def test_tiny_groups_leak_nothing(tmp_path):
    tiny_frame().to_csv(tmp_path / "tiny.csv", index=False)
    df, _ = chapter.prepare(tmp_path / "tiny.csv")
    comp = df["pop_complete"].astype(bool)
    assert int((comp & df["sector_mcp"]).sum()) == 2
    assert int((comp & df["sector_hdp"]).sum()) == 3
    assert int((comp & df[f"region_{SMALL_REGION}"]).sum()) == 1
    problems = run(tmp_path)
    assert not problems, "\n".join(problems)


@pytest.mark.book
def test_one_respondent_chapters_say_not_enough_data(tmp_path):
    """The README calls a one-respondent file valid: the chapters that crashed on it (Section 1:
    an empty likert pivot, then the equivalence text; Section 3: the likert pivot) now say
    "not enough data" where a figure or test would be."""
    raw = pd.read_csv(chapter.DEFAULT_DATA, dtype=str, keep_default_na=False)
    raw[raw["disposition"] == "1"].head(1).to_csv(tmp_path / "one.csv", index=False)
    notebooks = []
    for name in ("s1_implementer_views", "s3_data_exchange"):
        shutil.copy(ROOT / "chapters" / f"{name}.ipynb", tmp_path / f"{name}.ipynb")
        notebooks.append(tmp_path / f"{name}.ipynb")
    params = [{"data_path": str(tmp_path / "one.csv")}] * len(notebooks)
    with build.notebook_pool(2) as pool:
        assert [f for f in pool.map(build._execute_one, notebooks, params) if f] == []
    for nb in notebooks:
        outputs = [o for c in nbformat.read(nb, as_version=4).cells for o in c.get("outputs", [])]
        assert not [o for o in outputs if o.get("output_type") == "error"]
        if nb.stem == "s1_implementer_views":  # Section 3 writes its note into the figure panel
            shown = " ".join(str(o.get("data", {}).get("text/markdown", "")) for o in outputs)
            assert "not enough data (every row rests on fewer than 30 respondents)" in shown
