"""calaim.stats.claims: each test checked against a value worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
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


def test_holm_matches_statsmodels_and_r_p_adjust():
    from statsmodels.stats.multitest import multipletests

    # R: p.adjust(c(0.01, 0.02, 0.03, 0.04, 0.05), "holm") -> 0.05 0.08 0.09 0.09 0.09
    assert claims.holm([0.05, 0.01, 0.04, 0.02, 0.03]).tolist() == pytest.approx([0.09, 0.05, 0.09, 0.08, 0.09])
    rng = np.random.default_rng(7)
    for m in (1, 2, 5, 40):
        p = rng.uniform(0, 0.2, m)
        p[: m // 3] = p[0]  # ties
        assert claims.holm(p) == pytest.approx(multipletests(p, method="holm")[1], abs=1e-15)
    assert claims.holm([0.6, 0.7]).tolist() == [1.0, 1.0]  # capped at 1


def test_claims_table_adjusts_and_judges():
    c = claims.Claims()
    c.add("A higher, strong", "Fig 1", claims.result("z", 0.0005, "z = 3.5", a=60, b=40, n_a=100, n_b=100))
    c.add("A higher, weak", "Fig 1", claims.result("z", 0.06, "z = 1.9", a=60, b=40, n_a=100, n_b=100))
    c.add(
        "B higher, but A is", "Fig 2", claims.result("z", 0.0005, "z = 3.5", a=60, b=40, n_a=100, n_b=100), higher="b"
    )
    eq = claims.equivalent_shares(300, 1000, 290, 1000, margin=10, min_base=0)  # TOST p about 5e-6
    c.add("No difference", "Fig 3", eq, expect="no difference")
    c.add("Too small", "Fig 4", claims.two_proportions(1, 5, 2, 5, min_base=30))
    raw = c.frame()
    # Holm over the four claims that were tested: sorted p_eq, 0.0005, 0.0005, 0.06
    # -> p_eq * 4, 0.0005 * 3, 0.0005 * 2 (raised to 0.0015 to stay monotone), 0.06 * 1
    assert raw["p (Holm)"].iloc[:4].tolist() == pytest.approx([0.0015, 0.06, 0.0015, 4 * eq["p"]])
    assert math.isnan(raw["p (Holm)"].iloc[4])
    t = c.table()
    assert t["supported"].tolist() == ["yes", "direction only", "no", "yes", "not tested"]
    assert (
        t.loc["No difference", "equivalence margin"] == "±10 pts"
        and t.loc["A higher, weak", "equivalence margin"] == "–"
    )
    assert t.loc["A higher, weak", "p"] == "0.060" and t.loc["A higher, strong", "p"] == "< 0.001"
    assert t.loc["A higher, strong", "estimate (a vs b)"] == "60 vs 40"
    assert t.loc["Too small", "bases"] == "5 / 5" and t.loc["Too small", "p"] == "–"
    assert list(c.table(adjust=False).columns) == [
        col for col in claims.Claims.COLUMNS if col not in ("p (Holm)", "supported")
    ]
    assert len(c.table(last=2)) == 2
    only_differences = claims.Claims()
    only_differences.add("A higher", "Fig 1", claims.result("z", 0.01, a=60, b=40))
    assert "equivalence margin" not in only_differences.table().columns


def test_claims_add_checks_its_arguments():
    c = claims.Claims()
    with pytest.raises(ValueError):
        c.add("x", "y", claims.result("z", 0.1), higher="c")
    with pytest.raises(ValueError):
        c.add("x", "y", claims.result("z", 0.1), expect="maybe")
    # a claim of no difference needs an equivalence test: p = 0.2 from a test of difference is no evidence
    with pytest.raises(ValueError, match="equivalence test"):
        c.add("x", "y", claims.result("LR", 0.2, "chi2 = 1"), expect="no difference")


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


# ---------------------------------------------------------------------------- overlapping groups
# Eight respondents in three overlapping groups: A = {0, 1, 2} (mean 8), B = {0, 3, 4, 7} (mean 7),
# C = {2, 4, 5, 6} (mean 4.75); respondents 0, 2 and 4 are in two groups each.
OVERLAP = pd.DataFrame(
    {
        "x": [9, 8, 7, 6, 5, 4, 3, 8],
        "A": [1, 1, 1, 0, 0, 0, 0, 0],
        "B": [1, 0, 0, 1, 1, 0, 0, 1],
        "C": [0, 0, 1, 0, 1, 1, 1, 0],
    }
).astype({"A": bool, "B": bool, "C": bool})


def _cluster_se_by_hand(x, members, a, b, n_groups):
    """Cluster-robust SE of mean_a - mean_b with one cluster per respondent: the difference's
    score for respondent i is e_ia / n_a - e_ib / n_b (zero where i is not in the group), times
    statsmodels' factor G / (G - 1) (N - 1) / (N - K)."""
    ia, ib = members[a].to_numpy(), members[b].to_numpy()
    ma, mb = x[ia].mean(), x[ib].mean()
    score = np.where(ia, x - ma, 0) / ia.sum() - np.where(ib, x - mb, 0) / ib.sum()
    g, n = int((members.sum(axis=1) > 0).sum()), int(members.to_numpy().sum())
    return math.sqrt(g / (g - 1) * (n - 1) / (n - n_groups) * (score**2).sum())


def test_stack_groups_has_one_row_per_respondent_and_group():
    s = claims.stack_groups(OVERLAP, "x", ["A", "B", "C"])
    assert len(s) == 11 and s.groupby("group").size().to_dict() == {"A": 3, "B": 4, "C": 4}
    assert sorted(s.loc[s["respondent"] == 4, "group"]) == ["B", "C"]
    with pytest.raises(KeyError, match="D"):
        claims.stack_groups(OVERLAP, "x", ["A", "D"])


def test_ranked_means_by_hand_under_overlap():
    r = claims.ranked(OVERLAP, "x", {"A": "Alpha", "B": "Beta", "C": "Gamma"}, "A", min_base=0)
    x, members = OVERLAP["x"].to_numpy(float), OVERLAP[["A", "B", "C"]]
    se_ab, se_ac = (_cluster_se_by_hand(x, members, "A", g, 3) for g in ("B", "C"))
    pairs = r["pairs"].set_index("group")
    assert pairs.loc["B", "difference"] == pytest.approx(1.0) and pairs.loc["C", "difference"] == pytest.approx(3.25)
    assert pairs.loc["B", "se"] == pytest.approx(se_ab) and pairs.loc["C", "se"] == pytest.approx(se_ac)
    # the weakest comparison is against B (z = 1 / se_ab, below 3.25 / se_ac): it carries the claim
    assert 1 / se_ab < 3.25 / se_ac
    assert r["p"] == pytest.approx(2 * stats.norm.sf(1 / se_ab))
    assert (r["a"], r["b"], r["n_a"], r["n_b"]) == (8.0, 7.0, 3, 4)
    assert r["estimate"] == "8.0 vs 7.0 (weakest comparison: Beta)" and r["direction_ok"]
    # C is the lowest; the runner-up (second lowest) is B
    low = claims.ranked(OVERLAP, "x", ["A", "B", "C"], "C", side="lowest", min_base=0)
    assert low["direction_ok"] and low["b"] == 7.0
    assert low["p"] == pytest.approx(2 * stats.norm.sf(2.25 / _cluster_se_by_hand(x, members, "B", "C", 3)))
    # a group on fewer than min_base respondents leaves the comparison; the named one: not run
    assert len(claims.ranked(OVERLAP, "x", ["A", "B", "C"], "B", min_base=4)["pairs"]) == 1
    assert claims.ranked(OVERLAP, "x", ["A", "B", "C"], "A", min_base=4)["test"] == claims.NOT_RUN


def _hundred():
    # A = 0..39 (24 yes: 60%), B = 30..49 (16 yes: 80%; 30..39 also in A), C = 50..99 (10 yes: 20%)
    i = np.arange(100)
    y = np.isin(i, np.r_[0:16, 30:38, 40:48, 50:60]).astype(int)
    return pd.DataFrame({"y": y, "A": i < 40, "B": (i >= 30) & (i < 50), "C": i >= 50})


def test_ranked_shares_agree_with_gee_independence():
    # cluster-robust logistic = GEE with an independence working correlation, up to the factor
    # G / (G - 1) (N - 1) / (N - K) that statsmodels applies to the cluster sandwich (not to GEE)
    df = _hundred()
    r = claims.ranked(df, "y", ["A", "B", "C"], "B", codes=[1], min_base=0)
    s = claims.stack_groups(df, "y", ["A", "B", "C"])
    x = pd.get_dummies(s["group"]).astype(float)[["A", "B", "C"]]
    gee = sm.GEE(s["value"], x, groups=s["respondent"], family=sm.families.Binomial()).fit()
    g, n = 100, len(s)
    cov = gee.cov_robust * g / (g - 1) * (n - 1) / (n - 3)
    params = gee.params.to_numpy()
    for j, other in ((0, "A"), (2, "C")):
        d = params[1] - params[j]
        se = math.sqrt(cov[1, 1] + cov[j, j] - 2 * cov[1, j])
        row = r["pairs"].set_index("group").loc[other]
        assert row["difference"] == pytest.approx(d) and row["se"] == pytest.approx(se, rel=1e-6)
    # log-odds of 80% against 60%: log 4 - log 1.5
    assert r["pairs"].set_index("group").loc["A", "difference"] == pytest.approx(math.log(4 / 1.5))
    assert (r["a"], r["b"]) == (80.0, 60.0) and r["direction_ok"]


def test_ranked_flags_a_group_that_beats_the_rest_but_not_every_group():
    df = _hundred()
    a, b = claims.subgroup_vs_rest(df.assign(pop_all=True), "A", "all")
    vs_rest = claims.compare_shares(df, "y", [1], a, b, min_base=0, method="z")
    assert (vs_rest["a"], vs_rest["b"]) == (60.0, 30.0) and vs_rest["p"] < 0.01  # the complement test passes
    r = claims.ranked(df, "y", ["A", "B", "C"], "A", codes=[1], min_base=0)
    assert not r["direction_ok"] and (r["a"], r["b"]) == (60.0, 80.0) and "weakest comparison: B" in r["estimate"]
    c = claims.Claims()
    c.add("A is the most likely of all", "Fig", r)
    c.add("A more likely than the rest", "Fig", vs_rest)
    assert c.table()["supported"].tolist() == ["no", "yes"]


def test_ranked_uses_a_linear_model_when_a_share_is_at_the_edge():
    df = _hundred()
    df.loc[df["B"], "y"] = 1  # B: 100%, an infinite log-odds
    r = claims.ranked(df, "y", ["A", "B", "C"], "B", codes=[1], min_base=0)
    assert "linear" in r["test"] and r["direction_ok"]
    # A is now 16 + 10 = 26 of 40: the difference is in percentage points
    assert r["pairs"].set_index("group").loc["A", "difference"] == pytest.approx(100 - 65)


# ---------------------------------------------------------------------------- no difference: equivalence
def test_equivalent_shares_by_hand_and_a_wide_ci_is_not_support():
    # 30/100 vs 25/100: d = 5 points; Wald variance .3 * .7 / 100 + .25 * .75 / 100 = .003975;
    # TOST within +-10: max(P(Z > (5 + 10) / se), P(Z < (5 - 10) / se)), se = 100 sqrt(.003975)
    se = 100 * math.sqrt(0.003975)
    r = claims.equivalent_shares(30, 100, 25, 100, margin=10, min_base=0)
    assert r["p"] == pytest.approx(max(stats.norm.sf(15 / se), stats.norm.cdf(-5 / se)))
    q = stats.norm.ppf(0.95)
    assert r["estimate"] == f"difference +5, 90% CI {5 - q * se:.0f} to {5 + q * se:.0f}"
    assert r["direction_ok"] and r["margin_text"] == "±10 pts"
    # the test of a difference finds nothing (p > 0.05), yet the 90% CI (-5 to 15) is wider than
    # the margin: not shown to be equal. The old rule (p >= 0.05) would have called it supported.
    assert claims.two_proportions(30, 100, 25, 100, min_base=0, method="z")["p"] > 0.05
    c = claims.Claims()
    c.add("no difference, small samples", "Fig", r, expect="no difference")
    assert r["p"] > 0.05 and c.table()["supported"].tolist() == ["direction only"]
    # 300/1000 vs 290/1000: se = 100 sqrt(.3 * .7 / 1000 + .29 * .71 / 1000), CI about -2 to 4: supported
    big = claims.equivalent_shares(300, 1000, 290, 1000, margin=10, min_base=0)
    se = 100 * math.sqrt(0.3 * 0.7 / 1000 + 0.29 * 0.71 / 1000)
    assert big["p"] == pytest.approx(stats.norm.cdf((1 - 10) / se)) and big["p"] < 1e-4
    # an estimated difference beyond the margin does not lean the reported way
    far = claims.equivalent_shares(450, 1000, 290, 1000, margin=10, min_base=0)
    assert not far["direction_ok"] and far["p"] > 0.5
    assert claims.equivalent_shares(3, 10, 2, 10, min_base=30)["test"] == claims.NOT_RUN


def test_equivalent_means_is_welch_tost_by_hand():
    # means 2.5 and 6, se^2 = 29/12 and Welch df as in test_welch_t_by_hand; margin 4
    df = pd.DataFrame({"x": [1, 2, 3, 4, 2, 4, 6, 8, 10], "g": [True] * 4 + [False] * 5})
    r = claims.equivalent_means(df, "x", df["g"], ~df["g"], margin=4, min_base=0)
    se, dof = math.sqrt(29 / 12), (29 / 12) ** 2 / ((5 / 12) ** 2 / 3 + 2**2 / 4)
    p = max(stats.t.sf((-3.5 + 4) / se, dof), stats.t.cdf((-3.5 - 4) / se, dof))
    assert r["p"] == pytest.approx(p) and r["direction_ok"] and r["margin_text"] == "±4"
    q = stats.t.ppf(0.95, dof)
    assert r["estimate"] == f"difference -3.50, 90% CI {-3.5 - q * se:.2f} to {-3.5 + q * se:.2f}"
    assert not claims.equivalent_means(df, "x", df["g"], ~df["g"], margin=3, min_base=0)["direction_ok"]


def test_equivalent_groups_by_hand_under_overlap():
    # the OVERLAP fixture: A - B = 1, A - C = 3.25, B - C = 2.25, cluster-robust SEs by hand
    x, members = OVERLAP["x"].to_numpy(float), OVERLAP[["A", "B", "C"]]
    r = claims.equivalent_groups(OVERLAP, "x", ["A", "B", "C"], margin=5, min_base=0)
    by_hand = {}
    for a, b, d in (("A", "B", 1.0), ("A", "C", 3.25), ("B", "C", 2.25)):
        se = _cluster_se_by_hand(x, members, a, b, 3)
        by_hand[(a, b)] = max(stats.norm.sf((d + 5) / se), stats.norm.cdf((d - 5) / se))
    pairs = r["pairs"].set_index(["group_a", "group_b"])
    for key, p in by_hand.items():
        assert pairs.loc[key, "p"] == pytest.approx(p)
    worst = max(by_hand, key=by_hand.get)
    assert r["p"] == pytest.approx(by_hand[worst]) and r["statistic"] == f"{worst[0]} vs {worst[1]}"
    assert r["direction_ok"] and r["margin_text"] == "±5"
    # a margin below the A - C gap: the estimates no longer lie within it
    assert not claims.equivalent_groups(OVERLAP, "x", ["A", "B", "C"], margin=3, min_base=0)["direction_ok"]
    # shares are compared in percentage points, with the default margin of 10
    df = _hundred()
    s = claims.equivalent_groups(df, "y", ["A", "B", "C"], codes=[1], min_base=0)
    assert s["margin"] == 10 and s["pairs"].set_index(["group_a", "group_b"]).loc[
        ("A", "B"), "difference"
    ] == pytest.approx(-20)
    assert not s["direction_ok"]
