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


def test_unequal_is_the_one_rule_for_when_a_weight_is_a_design():
    assert not weights.unequal([]) and not weights.unequal([1.0, 1.0, 1.0]) and not weights.unequal([3.0])
    assert weights.unequal([1.0, 1.5]) and weights.unequal(np.array([2.0, 2.0, 0.5]))


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
    is identical to the unweighted evaluation, odds ratios and their CIs included (equal weights
    are the unweighted design), and each effective n equals its base. Unequal weights do change
    the odds ratios' intervals to the design-based sandwich (tests/test_weighted_models.py)."""
    from calaim.stats import findings, models

    plain = findings.evaluate(default_df, min_base=30, weight="")
    ones = findings.evaluate(default_df, min_base=30, weight="w_one")
    assert "effective_n" not in plain and "effective_n" in ones
    has = ones["base"].notna() & ones["effective_n"].notna()
    assert has.sum() > 300
    assert (ones.loc[has, "effective_n"] == ones.loc[has, "base"].astype(float)).all()
    pd.testing.assert_frame_equal(plain, ones.drop(columns=["effective_n"]), check_exact=True)
    assert (plain["statistic"] == "odds_ratio").sum() > 10
    unweighted = models.fit(default_df, "participation").set_index("term").loc["pilot"]
    ones_fit = models.fit(default_df, "participation", weight="w_one").set_index("term").loc["pilot"]
    rand_fit = models.fit(default_df, "participation", weight="w_rand").set_index("term").loc["pilot"]
    assert ones_fit["estimator"] == unweighted["estimator"] == "ml" and rand_fit["estimator"] == models.WEIGHTED
    assert (ones_fit["ci_low"], ones_fit["ci_high"]) == (unweighted["ci_low"], unweighted["ci_high"])
    assert rand_fit["ci_low"] != unweighted["ci_low"]


def test_tables_follow_the_weight_and_carry_the_effective_n(default_df):
    from calaim.book import display
    from calaim.stats import findings, tables

    reg = findings.load_registry()
    one = (reg["statistic"] == "share") & ~reg["item"].str.contains(r"\|") & (reg["subgroup"] == "")
    r = reg[one & (reg["population"] == "complete")].iloc[0]
    args = (r["item"], r["codes"], "complete", None, r["exclude_codes"])
    plain = tables.share(default_df, *args)
    ones = tables.share(default_df, *args, weight="w_one")
    rand = tables.share(default_df, *args, weight="w_rand")
    csv = display.figure_data(pd.DataFrame([rand]))
    assert {k: ones[k] for k in plain} == plain and ones["effective_n"] == plain["base"]
    # random weights: the same respondents (base, count), a weighted value, a smaller effective n
    assert rand["base"] == plain["base"] and rand["count"] == plain["count"]
    assert rand["value"] != plain["value"] and rand["effective_n"] < rand["base"]
    assert {"base", "effective_n"} <= set(csv.columns)


# ------------------------------------------- the weight column in validation
def test_validate_accepts_a_weight_column_outside_the_codebook(valid_frame, cb, tmp_path):
    from calaim.data import io, validate

    df = valid_frame.assign(pw=np.linspace(0.5, 2.0, len(valid_frame)))
    assert "unknown_column" in {p.kind for p in validate.validate(df, cb, source="s.csv")}
    assert validate.validate(df, cb, source="s.csv", weight="pw") == []
    path = tmp_path / "weighted.csv"
    df.to_csv(path, index=False)
    loaded = io.load(path, cb, weight="pw")
    assert loaded["pw"].astype(float).tolist() == pytest.approx(df["pw"].tolist())
    missing = validate.validate(valid_frame, cb, source="s.csv", weight="pw")
    assert [p.kind for p in missing] == ["missing_weight"] and "'pw'" in missing[0].message


def test_validate_names_bad_weights_by_file_line(valid_frame, cb, tmp_path):
    from calaim.data import io, validate

    df = valid_frame.assign(pw=1.0).astype({"pw": object})
    df.loc[2, "pw"], df.loc[5, "pw"], df.loc[7, "pw"] = 0, -1.5, "big"
    df.loc[9, "pw"] = None
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    with pytest.raises(validate.DataError) as err:
        io.load(path, cb, weight="pw")
    bad = [p for p in err.value.problems if p.kind == "bad_weight"]
    assert len(bad) == 1 and bad[0].rows == [3, 6, 8, 10]
    text = bad[0].message
    assert text.startswith("bad.csv: weight column 'pw'")
    # data row 3 is file line 4 (line 1 is the header)
    assert "1 zero: line 4 (0)" in text and "1 negative: line 7 (-1.5)" in text
    assert "line 9 ('big')" in text and "1 missing: line 11" in text


# ------------------------------------------- chapter setup, data box and the CLI
@pytest.fixture(scope="module")
def weighted_file(tmp_path_factory):
    from calaim.book import chapter

    raw = pd.read_csv(chapter.DEFAULT_DATA)
    raw = pd.concat([raw, pd.DataFrame({"pw": np.where(np.arange(len(raw)) % 3 == 0, 2.0, 1.0)})], axis=1)
    path = tmp_path_factory.mktemp("w") / "calaim_synthetic_weighted.csv"
    raw.to_csv(path, index=False)
    return path


def test_setup_weights_the_chapter_and_names_the_weight_in_the_data_box(weighted_file):
    from calaim.book import chapter

    ctx = chapter.setup(str(weighted_file), "2023", 30, weight="pw")
    assert ctx.tables.weight == "pw" and ctx.weight == "pw"
    w = ctx.df.loc[ctx.df["pop_complete"], "pw"].to_numpy()
    ws = ctx.weight_summary
    assert (ws.n, ws.min, ws.max) == (len(w), 1.0, 2.0)
    assert ws.deff == pytest.approx(weights.kish_deff(w)) and ws.effective_n == pytest.approx(len(w) / ws.deff)
    box = ctx.header().data
    assert "`pw`" in box and f"Kish design effect {ws.deff:.2f}" in box and f"{ws.effective_n:,.1f}" in box
    from calaim.stats import findings

    section = findings.load_registry()["section"].iloc[0]
    assert "effective_n" in ctx.evaluated([section])
    plain = chapter.setup("", "2023", 30)
    assert plain.tables.weight is None and plain.weight_summary is None
    assert "weighted" not in plain.header().data


def test_cli_validate_with_a_weight(weighted_file, tmp_path, capsys):
    from calaim import cli

    assert cli.main(["validate", str(weighted_file)]) == 1  # pw is not in the codebook
    capsys.readouterr()
    assert cli.main(["validate", str(weighted_file), "--weight", "pw"]) == 0
    out = capsys.readouterr().out
    assert "OK" in out and "Weighted by 'pw'" in out and "Kish design effect" in out
    bad = pd.read_csv(weighted_file)
    bad.loc[4, "pw"] = 0
    path = tmp_path / "bad_weight.csv"
    bad.to_csv(path, index=False)
    assert cli.main(["validate", str(path), "--weight", "pw"]) == 1
    assert "1 zero: line 6 (0)" in capsys.readouterr().err


# ------------------------------------------- claims on effective bases
def test_compare_shares_under_a_weight_uses_effective_bases():
    from statsmodels.stats.proportion import proportions_ztest

    from calaim.stats import claims

    n = 80
    df = pd.DataFrame(
        {
            "x": np.r_[np.tile([1.0, 2.0], 20), np.tile([1.0, 2.0, 2.0, 2.0], 10)],
            "grp": np.r_[np.ones(40, bool), np.zeros(40, bool)],
            "one": 1.0,
            "w": np.r_[np.tile([3.0, 1.0], 20), np.ones(40)],
        }
    )
    a, b = df["grp"], ~df["grp"]
    plain = claims.compare_shares(df, "x", [1], a, b, min_base=30)
    assert claims.compare_shares(df, "x", [1], a, b, min_base=30, weight="one") == plain  # equal weights: same test
    weighted = claims.compare_shares(df, "x", [1], a, b, min_base=30, weight="w")
    # group a: share 60/80 = 75%, effective n = 80^2 / (20 * 9 + 20) = 32; group b: 25% of 40
    assert weighted["a"] == pytest.approx(75.0) and weighted["b"] == pytest.approx(25.0)
    assert (weighted["n_a"], weighted["n_b"]) == (40, 40) and "effective bases" in weighted["test"]
    z, p = proportions_ztest([0.75 * 32, 0.25 * 40], [32, 40])
    assert weighted["p"] == pytest.approx(p) and weighted["statistic"] == f"z = {z:.2f}"
    assert len(df) == n


def test_hand_counted_cells_say_they_are_unweighted_under_a_weight():
    """Nothing stays unweighted silently: a chapter cell that counts respondents by hand shows a
    note naming the weight in a weighted build, and nothing in an unweighted one."""
    import dataclasses

    from calaim.book import chapter

    ctx = chapter.setup()
    assert ctx.unweighted_note("the worked example") is None
    note = dataclasses.replace(ctx, weight="pw").unweighted_note("the worked example")
    assert "Unweighted: the worked example" in note.data and "`pw`" in note.data
