"""Survey weights (calaim.stats.weights): checks with clear errors, Kish's design effect and the
effective n by hand, and the linearised weighted mean against a published R survey example."""

from __future__ import annotations

import math
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calaim.stats import weights

FIXTURES = Path(__file__).parent / "fixtures"


def test_kish_deff_and_effective_n_by_hand():
    w = [1.0, 1.0, 2.0, 4.0]
    # sum w = 8, sum w^2 = 1 + 1 + 4 + 16 = 22, n = 4
    assert weights.kish_deff(w) == pytest.approx(4 * 22 / 64)  # 1.375
    assert weights.effective_n(w) == pytest.approx(64 / 22)  # 2.909...
    assert weights.effective_n(w) == pytest.approx(4 / weights.kish_deff(w))
    assert weights.kish_deff(np.full(7, 3.2)) == pytest.approx(1.0)
    assert weights.effective_n(np.full(7, 3.2)) == pytest.approx(7.0)


def test_summary_is_frozen_and_reports_the_range():
    s = weights.summarize([0.5, 1.0, 2.0, 0.5], "wt")
    assert (s.column, s.n, s.total, s.min, s.max, s.ratio) == ("wt", 4, 4.0, 0.5, 2.0, 4.0)
    # sum w^2 = 0.25 + 1 + 4 + 0.25 = 5.5 -> deff = 4 * 5.5 / 16
    assert s.deff == pytest.approx(1.375) and s.effective_n == pytest.approx(16 / 5.5)
    assert "'wt'" in s.sentence() and "effective n 2.9 of 4" in s.sentence()
    with pytest.raises(FrozenInstanceError):
        s.n = 3  # type: ignore[misc]


def test_check_weights_accepts_positive_numbers_and_text_numbers():
    assert weights.check_weights(pd.Series(["1.5", 2, 0.25])).tolist() == [1.5, 2.0, 0.25]


@pytest.mark.parametrize(
    ("bad", "kind", "shown"),
    [
        (0, "1 zero", "row 3 (0)"),
        (-2.5, "1 negative", "row 3 (-2.5)"),
        (np.nan, "1 missing", "row 3 (missing)"),
        ("", "1 missing", "row 3 ('')"),
        ("heavy", "1 text (not a number)", "row 3 ('heavy')"),
        (np.inf, "1 infinite", "row 3 (inf)"),
    ],
)
def test_check_weights_names_column_rows_and_values(bad, kind, shown):
    values = pd.Series([1.0, 2.0, bad, 1.0], dtype=object)
    with pytest.raises(weights.WeightError) as err:
        weights.check_weights(values, "pw", source="wave2.csv")
    text = str(err.value)
    assert text.startswith("wave2.csv: weight column 'pw'") and kind in text and shown in text


def test_check_weights_reports_every_kind_and_given_row_labels():
    values = pd.Series([0, -1, "x", None, 1.0, 0], dtype=object)
    with pytest.raises(weights.WeightError) as err:
        weights.check_weights(values, "w", rows=[10, 11, 12, 13, 14, 15])
    text = str(err.value)
    assert "2 zero: row 10 (0), row 15 (0)" in text
    assert "1 negative: row 11 (-1)" in text and "row 12 ('x')" in text and "row 13 (missing)" in text
    assert "row 14" not in text


def test_linearised_mean_reproduces_r_survey_apistrat():
    """R survey package, apistrat (the stratified sample of California schools' API scores,
    shipped with the package; the CSV is samplics' copy, samplics-org/samplics
    tests/regression/api_strat.csv at commit 3e242c0a3c125f94ded9efce8f5560e2d227de4d, reduced
    to the columns used here). ``?svymean`` / the package's examples:
    ``dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat, fpc=~fpc)``;
    ``svymean(~api00, dstrat)`` gives mean 662.29, SE 9.4089."""
    d = pd.read_csv(FIXTURES / "apistrat.csv")
    assert len(d) == 200
    r = weights.linearised_mean(d["api00"], d["pw"], strata=d["stype"], fpc=d["fpc"])
    assert r.mean == pytest.approx(662.29, abs=0.005)
    assert r.se == pytest.approx(9.4089, abs=0.00005)
    assert r.df == 197  # n - strata, as R's degf()
    # Dropping the fpc (strata kept) can only widen it: sampling fractions are 2% to 7%.
    no_fpc = weights.linearised_mean(d["api00"], d["pw"], strata=d["stype"])
    assert no_fpc.mean == r.mean and no_fpc.se > r.se
    # The book's kernel uses one stratum and no fpc (svydesign(id=~1, weights=~pw)): larger still.
    srs = weights.linearised_mean(d["api00"], d["pw"])
    assert srs.se > no_fpc.se and srs.df == 199


def test_linearised_mean_equal_weights_is_the_srs_standard_error():
    y = np.array([3.0, 5.0, 6.0, 10.0, 1.0])
    r = weights.linearised_mean(y, np.ones(5))
    assert r.mean == pytest.approx(y.mean())
    assert r.se == pytest.approx(y.std(ddof=1) / math.sqrt(5))


# ------------------------------------------- weights through tables and the registry
@pytest.fixture(scope="module")
def default_df():
    from calaim.book import chapter

    df = chapter.setup("", "2023", 30).df.copy()
    df["w_one"] = 1.0
    rng = np.random.default_rng(2023)
    df["w_rand"] = rng.uniform(0.5, 2.0, len(df))
    return df


def test_all_weights_one_reproduce_every_scorecard_row(default_df):
    """The whole registry (every section's scorecard) evaluated with a weight of 1 for everyone
    is identical to the unweighted evaluation, and each effective n equals its base."""
    from calaim.stats import findings

    plain = findings.evaluate(default_df, min_base=30, weight="")
    ones = findings.evaluate(default_df, min_base=30, weight="w_one")
    assert "effective_n" not in plain and "effective_n" in ones
    has = ones["base"].notna() & ones["effective_n"].notna()
    assert has.sum() > 300
    assert (ones.loc[has, "effective_n"] == ones.loc[has, "base"].astype(float)).all()
    pd.testing.assert_frame_equal(plain, ones.drop(columns="effective_n"), check_exact=True)


def test_tables_follow_the_weight_and_carry_the_effective_n(default_df):
    from calaim.book import display
    from calaim.stats import findings, tables

    reg = findings.load_registry()
    one = (reg["statistic"] == "share") & ~reg["item"].str.contains(r"\|") & (reg["subgroup"] == "")
    r = reg[one & (reg["population"] == "complete")].iloc[0]
    args = (r["item"], r["codes"], "complete", None, r["exclude_codes"])
    plain = tables.share(default_df, *args)
    previous = tables.set_weight("w_one")
    try:
        ones = tables.share(default_df, *args)
        tables.set_weight("w_rand")
        rand = tables.share(default_df, *args)
        csv = display.figure_data(pd.DataFrame([rand]))
    finally:
        tables.set_weight(previous)
    assert {k: ones[k] for k in plain} == plain and ones["effective_n"] == plain["base"]
    # random weights: the same respondents (base, count), a weighted value, a smaller effective n
    assert rand["base"] == plain["base"] and rand["count"] == plain["count"]
    assert rand["value"] != plain["value"] and rand["effective_n"] < rand["base"]
    assert {"base", "effective_n"} <= set(csv.columns)
