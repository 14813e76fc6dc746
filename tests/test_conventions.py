"""Missing-value conventions (calaim.data.conventions) on generated vendor-style files.

Each file is derived from the synthetic default (written to tmp_path, never changed in place);
the expected counts are counted from the default itself, so every assertion can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from calaim.book import chapter
from calaim.data import conventions, io
from calaim.data.validate import expected_codes


def _kinds(problems):
    return {p.kind for p in problems}


def test_no_codebook_label_is_a_csv_na_marker(cb):
    markers = {m.casefold() for m in conventions.CSV_NA_MARKERS}
    labels = {io.normalise_label(v) for c in cb.columns.values() for v in expected_codes(c, cb).values()}
    assert "none" in labels  # the label that pandas' default list would have lost
    assert not labels & markers


def test_label_text_none_stays_an_answer(tmp_path, base, cb):
    """Experience code 4 and information-amount code 5 are labelled 'None' in the codebook."""
    assert cb.columns["sso_exp_contract_sso"].codes[4] == "None"
    assert cb.columns["info_amount"].codes[5] == "None"
    df = base.copy()
    for c in ("sso_exp_contract_sso", "info_amount"):
        codes = expected_codes(cb.columns[c], cb)
        df[c] = df[c].map(lambda v, codes=codes: "" if pd.isna(v) else codes[int(v)])
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    got = io.load(path, cb)
    for c, code in (("sso_exp_contract_sso", 4), ("info_amount", 5)):
        assert (got[c] == code).sum() == (base[c] == code).sum() > 0
        pd.testing.assert_series_equal(got[c], base[c])


def test_na_marker_is_missing(tmp_path, base, cb):
    df = base.copy().astype(object)
    first = int(np.flatnonzero(base["info_amount"].notna())[0])
    df.loc[first, "info_amount"] = "NA"
    path = tmp_path / "na.csv"
    df.to_csv(path, index=False)
    got = io.load(path, cb)
    assert np.isnan(got.loc[first, "info_amount"])
    assert got["info_amount"].notna().sum() == base["info_amount"].notna().sum() - 1


def _write_sav(df, path, missing_ranges):
    out = io._for_writing(df, "sav")
    pyreadstat.write_sav(out, str(path), missing_ranges=missing_ranges)


def test_spss_user_missing_valid_code_stays_and_refused_goes(tmp_path, base, cb):
    df = base.copy()
    col = "goal_seamless"
    assert expected_codes(cb.columns[col], cb)[9] == "Unsure"
    n_unsure = int((base[col] == 9).sum())
    answered = np.flatnonzero(base[col].isin([1, 2]).to_numpy())[:17]
    df.loc[answered, col] = 99.0  # 17 refusals
    path = tmp_path / "wave.sav"
    _write_sav(df, path, {col: [9, 99]})
    got, problems = io.read_with_problems(path, cb)
    assert (got[col] == 9).sum() == n_unsure > 0
    assert got[col].isna().sum() == base[col].isna().sum() + 17
    assert {"user_missing", "user_missing_valid", "user_missing_dropped"} <= _kinds(problems)
    listed = next(p for p in problems if p.kind == "user_missing").message
    assert "'goal_seamless' 9" in listed and "'goal_seamless' 99" in listed
    dropped = next(p for p in problems if p.kind == "user_missing_dropped").message
    assert "(17 cells)" in dropped
    kept = next(p for p in problems if p.kind == "user_missing_valid").message
    assert f"code 9 = Unsure ({n_unsure} cells)" in kept
    # the option: a declared-missing valid answer is treated as missing
    got2 = io.load(path, cb, user_missing="missing")
    assert (got2[col] == 9).sum() == 0
    assert got2[col].isna().sum() == base[col].isna().sum() + 17 + n_unsure


def test_stata_extended_missing_is_counted(tmp_path, base, cb):
    df = io._for_writing(base, "dta")
    col = "info_amount"
    rows = np.flatnonzero(base[col].notna().to_numpy())[:5]
    s = df[col].astype(object)
    s.iloc[rows] = "a"
    df[col] = s
    path = tmp_path / "wave.dta"
    pyreadstat.write_dta(df, str(path), missing_user_values={col: ["a"]}, version=15)
    got, problems = io.read_with_problems(path, cb)
    assert got[col].notna().sum() == base[col].notna().sum() - 5
    dropped = next(p for p in problems if p.kind == "user_missing_dropped").message
    assert "'info_amount' .a (5 cells)" in dropped


def test_choice_text_select_all(tmp_path, base, cb):
    item = cb.items["partner"]
    cols = [c.name for c in item.columns]
    df = base.copy().astype(object)
    for c in cols:
        label = item.parts[cb.columns[c].part]
        df[c] = base[c].map(lambda v, label=label: label if v == 1 else "")
    path = tmp_path / "choice_text.csv"
    df.to_csv(path, index=False)
    got = io.load(path, cb)
    for c in cols:
        pd.testing.assert_series_equal(got[c], base[c])
    asked = base["disposition"] == 1
    assert got["partner__housing"][asked].mean() == pytest.approx(base["partner__housing"][asked].mean())
    none = int((base.loc[asked, cols].sum(axis=1) == 0).sum())
    warning = next(w for w in got.attrs["warnings"] if "choice-text" in w)
    assert f"{int(asked.sum()):,} respondents asked, {none:,} of them chose none" in warning


def test_synthetic_default_needs_no_convention(base):
    assert not [w for w in base.attrs["warnings"] if "choice-text" in w or "declare" in w]


def test_data_box_repeats_the_conventions(tmp_path, base, cb):
    item = cb.items["partner"]
    df = base.copy().astype(object)
    for c in (c.name for c in item.columns):
        df[c] = base[c].map(lambda v: "Selected" if v == 1 else "")
    path = tmp_path / "wave_2024.csv"
    df.to_csv(path, index=False)
    ctx = chapter.setup(str(path), wave="2024")
    box = ctx.header().data
    assert conventions.csv_na_note() in box
    assert "a blank was read as 'not chosen' (0)" in box
