"""calaim.stats.claims: each test checked against a value worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import claims


def _frame(groups: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """One row per respondent: ``group`` label, ``y`` = 1 for the first k of each group's n."""
    rows = [{"group": g, "y": int(i < k)} for g, (k, n) in groups.items() for i in range(n)]
    df = pd.DataFrame(rows)
    df["pop_complete"] = True
    df["in_a"] = df["group"] == "a"
    return df


# ---------------------------------------------------------------------------- shares
def test_two_proportions_z_and_chi_square_by_hand():
    # 30/50 vs 20/50: pooled p = 0.5, se = sqrt(0.25 * (1/50 + 1/50)) = 0.1, z = 0.2 / 0.1 = 2
    r = claims.two_proportions(30, 50, 20, 50, min_base=0, method="z")
    assert r["statistic"] == "z = 2.00"
    assert r["p"] == pytest.approx(2 * (1 - stats.norm.cdf(2.0)))
    assert (r["a"], r["b"], r["n_a"], r["n_b"]) == (60.0, 40.0, 50, 50)
    # expected counts are all 25: chi2 = 4 * (30 - 25)^2 / 25 = 4 = z^2, the same p-value
    c = claims.two_proportions(30, 50, 20, 50, min_base=0, method="chi2")
    assert c["statistic"] == "chi2(1) = 4.00"
    assert c["p"] == pytest.approx(r["p"])
    # "auto" keeps the z test: no expected count below 5
    assert claims.two_proportions(30, 50, 20, 50, min_base=0)["test"] == "two-proportion z test"


def test_small_expected_counts_switch_to_fisher():
    # [[1, 5], [5, 1]]: margins 6, expected 3 < 5. Hypergeometric, C(12, 6) = 924 tables:
    # P(1) = P(5) = 6 * 6 / 924, P(0) = P(6) = 1 / 924, two-sided p = 74 / 924; OR = 1 / 25
    r = claims.two_proportions(1, 6, 5, 6, min_base=0)
    assert r["test"] == "Fisher's exact test"
    assert r["p"] == pytest.approx(74 / 924)
    assert r["statistic"] == "OR = 0.04"
    # a higher threshold (as Section 1 uses) switches earlier
    assert claims.two_proportions(30, 50, 20, 50, min_base=0, fisher_below=30)["test"] == "Fisher's exact test"


def test_small_bases_are_not_tested():
    r = claims.two_proportions(3, 10, 5, 40, min_base=30)
    assert r["test"] == claims.NOT_RUN and math.isnan(r["p"])
    assert r["a"] == 30.0 and r["n_a"] == 10


def test_compare_shares_counts_the_frame_and_refuses_overlapping_groups():
    df = _frame({"a": (30, 50), "b": (20, 50)})
    a, b = claims.subgroup_vs_rest(df, "in_a")
    r = claims.compare_shares(df, "y", [1], a, b, min_base=0, method="z")
    assert r["statistic"] == "z = 2.00"
    with pytest.raises(ValueError, match="no respondent in common"):
        claims.compare_shares(df, "y", [1], a, a | b, min_base=0)


def test_count_leaves_missing_and_excluded_answers_out_of_the_base():
    df = pd.DataFrame({"v": [1, 1, 2, 97, np.nan, 1]})
    mask = pd.Series([True] * 5 + [False])
    assert claims.count(df, "v", mask, [1], exclude=[97]) == (2, 3)
    assert claims.count(df, "v", mask, [1]) == (2, 4)
    assert claims.count(df, "absent", mask, [1]) == (0, 0)


def test_subgroup_vs_rest_within_the_population_or_against_a_group():
    df = pd.DataFrame(
        {"pop_x": [True, True, True, False], "s": [True, False, False, True], "t": [False, True, False, False]}
    )
    a, b = claims.subgroup_vs_rest(df, "s", "x")
    assert a.tolist() == [True, False, False, False] and b.tolist() == [False, True, True, False]
    _, b = claims.subgroup_vs_rest(df, "s", "x", against="t")
    assert b.tolist() == [False, True, False, False]


def test_paired_shares_mcnemar_exact_and_asymptotic():
    # 10 yes/yes, 15 yes/no, 5 no/yes, 20 no/no: 20 discordant pairs, 15 vs 5
    cells = [(1, 1)] * 10 + [(1, 0)] * 15 + [(0, 1)] * 5 + [(0, 0)] * 20
    df = pd.DataFrame(cells, columns=["p", "q"])
    everyone = pd.Series(True, index=df.index)
    r = claims.paired_shares(df, "p", "q", everyone, min_base=0)
    # exact: 2 * P(X <= 5), X ~ Bin(20, 1/2) = 2 * 21700 / 2^20
    assert r["test"] == "McNemar's test (exact)"
    assert r["p"] == pytest.approx(2 * 21700 / 2**20)
    assert r["statistic"] == "discordant 15 vs 5"
    assert (r["a"], r["b"], r["n_a"]) == (50.0, 30.0, 50)
    assert r["table"].tolist() == [[10, 15], [5, 20]]
    # with continuity correction: (|15 - 5| - 1)^2 / 20 = 4.05 on 1 df
    r = claims.paired_shares(df, "p", "q", everyone, min_base=0, exact=False)
    assert r["test"] == "McNemar's test"
    assert r["p"] == pytest.approx(stats.chi2.sf(4.05, 1))


def test_trend_is_cochran_armitage_with_permutation_variance():
    # scores 1, 2, 3; 2/10, 5/10, 8/10. T = sum t (x - n p) = -3 + 0 + 9 = 6;
    # sum n t^2 - (sum n t)^2 / N = 140 - 120 = 20; variance 20 * K (N - K) / (N (N - 1)) = 20 * 225 / 870
    df = pd.DataFrame(
        {"band": [1] * 10 + [2] * 10 + [3] * 10, "y": [1] * 2 + [0] * 8 + [1] * 5 + [0] * 5 + [1] * 8 + [0] * 2}
    )
    r = claims.trend(df, "y", [1], "band", pd.Series(True, index=df.index), min_base=0)
    z = 6 / math.sqrt(20 * 225 / 870)
    assert r["statistic"] == f"z = {z:.2f}"
    assert r["p"] == pytest.approx(2 * stats.norm.sf(z))
    assert (r["a"], r["b"]) == (80.0, 20.0)


def test_binomial_by_hand():
    # 8 of 10 against 1/2: 2 * (C(10,8) + C(10,9) + C(10,10)) / 2^10 = 112 / 1024
    r = claims.binomial(8, 10, min_base=0)
    assert r["p"] == pytest.approx(112 / 1024)
    assert (r["a"], r["b"], r["statistic"]) == (80.0, 20.0, "8 of 10")
    df = pd.DataFrame({"v": [1] * 8 + [2] * 2 + [9] * 5})
    assert claims.binomial_split(df, "v", pd.Series(True, index=df.index), [1], [2], min_base=0)["p"] == pytest.approx(
        112 / 1024
    )


# ---------------------------------------------------------------------------- means and ranks
def test_welch_t_by_hand():
    # means 2.5 and 6; variances 5/3 and 10; se^2 = (5/3)/4 + 10/5 = 29/12
    df = pd.DataFrame({"x": [1, 2, 3, 4, 2, 4, 6, 8, 10], "g": [True] * 4 + [False] * 5})
    r = claims.compare_means(df, "x", df["g"], ~df["g"], min_base=0)
    t = -3.5 / math.sqrt(29 / 12)
    dof = (29 / 12) ** 2 / ((5 / 12) ** 2 / 3 + 2**2 / 4)
    assert r["statistic"] == f"t = {t:.2f}"
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(t), dof))
    assert (r["a"], r["b"], r["kind"]) == (2.5, 6.0, "mean")


def test_rank_tests():
    # every a above every b: U = 3 * 2 = 6, P(a higher) = 1; exact two-sided p = 2 / C(5, 2)
    r = claims.rank_sum([3, 4, 5], [1, 2], min_base=0)
    assert r["p"] == pytest.approx(0.2) and r["estimate"] == "P(a higher) = 1.00"
    # perfect concordance of 4 pairs: tau = 1, exact p = 2 / 4!
    r = claims.rank_correlation([1, 2, 3, 4], [2, 4, 6, 8], "kendall", min_base=0)
    assert r["estimate"] == "tau = 1.00" and r["p"] == pytest.approx(2 / 24)
    assert claims.rank_correlation([1, 2], [1, 2], min_base=30)["test"] == claims.NOT_RUN


# ---------------------------------------------------------------------------- the claims table
def test_holm_on_three_known_p_values():
    # sorted 0.01, 0.03, 0.04 -> 0.01 * 3, 0.03 * 2, 0.04 * 1 = 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    assert claims.holm([0.01, 0.04, 0.03]).tolist() == pytest.approx([0.03, 0.06, 0.06])
    out = claims.holm([0.01, np.nan, 0.04])
    assert math.isnan(out[1]) and out[[0, 2]].tolist() == pytest.approx([0.02, 0.04])


def test_claims_table_adjusts_and_judges():
    c = claims.Claims()
    c.add("A higher, strong", "Fig 1", claims.result("z", 0.0005, "z = 3.5", a=60, b=40, n_a=100, n_b=100))
    c.add("A higher, weak", "Fig 1", claims.result("z", 0.06, "z = 1.9", a=60, b=40, n_a=100, n_b=100))
    c.add(
        "B higher, but A is", "Fig 2", claims.result("z", 0.0005, "z = 3.5", a=60, b=40, n_a=100, n_b=100), higher="b"
    )
    c.add("No difference", "Fig 3", claims.result("LR", 0.2, "chi2 = 1"), expect="no difference")
    c.add("Too small", "Fig 4", claims.two_proportions(1, 5, 2, 5, min_base=30))
    raw = c.frame()
    # Holm over the three claims of a difference that were tested: sorted 0.0005, 0.0005, 0.06
    # -> 0.0005 * 3, 0.0005 * 2 (raised to 0.0015 to stay monotone), 0.06 * 1
    assert raw["p (Holm)"].iloc[:3].tolist() == pytest.approx([0.0015, 0.06, 0.0015])
    assert math.isnan(raw["p (Holm)"].iloc[3]) and math.isnan(raw["p (Holm)"].iloc[4])
    t = c.table()
    assert t["supported"].tolist() == ["yes", "direction only", "no", "yes", "not tested"]
    assert t.loc["A higher, weak", "p"] == "0.060" and t.loc["A higher, strong", "p"] == "<0.001"
    assert t.loc["A higher, strong", "estimate (a vs b)"] == "60 vs 40"
    assert t.loc["Too small", "bases"] == "5 / 5" and t.loc["Too small", "p"] == "–"
    assert list(c.table(adjust=False).columns) == [
        col for col in claims.Claims.COLUMNS if col not in ("p (Holm)", "supported")
    ]
    assert len(c.table(last=2)) == 2


def test_claims_add_checks_its_arguments():
    c = claims.Claims()
    with pytest.raises(ValueError):
        c.add("x", "y", claims.result("z", 0.1), higher="c")
    with pytest.raises(ValueError):
        c.add("x", "y", claims.result("z", 0.1), expect="maybe")


def test_trend_exclude_leaves_the_base():
    # the fixture of the test above plus "Not applicable" (97) answers: 0 in band 1, 5 in band 2,
    # 10 in band 3. Excluded, the test is the one above; kept, they count as "no" (3: 8/20)
    base = {"band": [1] * 10 + [2] * 10 + [3] * 10, "y": [1] * 2 + [0] * 8 + [1] * 5 + [0] * 5 + [1] * 8 + [0] * 2}
    extra = pd.DataFrame({"band": [2] * 5 + [3] * 10, "y": [97] * 15})
    df = pd.concat([pd.DataFrame(base), extra], ignore_index=True)
    everyone = pd.Series(True, index=df.index)
    r = claims.trend(df, "y", [1], "band", everyone, min_base=0, exclude=[97])
    z = 6 / math.sqrt(20 * 225 / 870)
    assert r["statistic"] == f"z = {z:.2f}" and (r["a"], r["b"], r["n_a"]) == (80.0, 20.0, 10)
    kept = claims.trend(df, "y", [1], "band", everyone, min_base=0)
    assert (kept["a"], kept["n_a"], kept["n_b"]) == (40.0, 20, 10)
    # kept: 2/10, 5/15, 8/20; p = 1/3; T = -4/3 + 0 + 4 = 8/3;
    # sum n t^2 - (sum n t)^2 / N = 250 - 100^2 / 45; variance that * 15 * 30 / (45 * 44)
    z_kept = (8 / 3) / math.sqrt((250 - 100**2 / 45) * 15 * 30 / (45 * 44))
    assert kept["statistic"] == f"z = {z_kept:.2f}" and kept["p"] == pytest.approx(2 * stats.norm.sf(z_kept))
