"""Design-based claims tests (calaim.stats.design_tests and the dispatch in calaim.stats.claims).

Each test states its reference: hand formulas written out here (independent of the module's
code path), the classical test the design-based one must reduce to with equal weights, and
integer frequency weights against replicated rows for the point estimates, and the point
estimates of R survey's own svyttest examples."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import claims, design_tests, tables

FIXTURES = Path(__file__).parent / "fixtures"

# Hand fixture (made up, no source): two groups with unequal weights.
Y_A, W_A = np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 1.0])
Y_B, W_B = np.array([3.0, 5.0]), np.array([2.0, 1.0])


def test_mean_difference_against_the_hand_sandwich():
    res = design_tests.mean_difference(Y_A, W_A, Y_B, W_B)
    m_a = (1 * 1 + 2 * 2 + 4 * 1) / 4  # 2.25
    m_b = (3 * 2 + 5 * 1) / 3  # 11 / 3
    assert res.estimate == pytest.approx(m_a - m_b, rel=1e-12)
    # the slope on a group indicator is m_a - m_b; respondent i's influence on it is
    # w_i (y_i - m_a) / W_a in a and -w_i (y_i - m_b) / W_b in b; they sum to zero, so the
    # with-replacement variance of their total is n / (n - 1) times their sum of squares
    infl = np.r_[W_A * (Y_A - m_a) / W_A.sum(), -W_B * (Y_B - m_b) / W_B.sum()]
    se = np.sqrt(5 / 4 * np.sum(infl**2))
    assert res.se == pytest.approx(se, rel=1e-12)
    assert res.df == 3 and res.t == pytest.approx((m_a - m_b) / se, rel=1e-12)
    assert res.p == pytest.approx(2 * stats.t.sf(abs(res.t), 3), rel=1e-12)


def test_slope_against_the_hand_sandwich():
    x = np.array([1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 0.0])
    w = np.array([1.0, 3.0, 2.0, 1.0, 0.5, 2.0, 1.5])
    res = design_tests.slope(x, y, w)
    xb, yb = np.sum(w * x) / w.sum(), np.sum(w * y) / w.sum()
    sxx = np.sum(w * (x - xb) ** 2)
    b = np.sum(w * (x - xb) * (y - yb)) / sxx
    e = y - yb - b * (x - xb)
    # influence of respondent i on the weighted least-squares slope: w_i (x_i - xbar) e_i / Sxx
    se = np.sqrt(7 / 6 * np.sum((w * (x - xb) * e / sxx) ** 2))
    assert res.estimate == pytest.approx(b, rel=1e-12) and res.se == pytest.approx(se, rel=1e-12)
    assert res.df == 5


def test_paired_difference_against_the_hand_linearisation():
    x1 = np.array([1, 1, 0, 1, 0, 0, 1, 1], dtype=float)
    x2 = np.array([0, 1, 1, 0, 0, 1, 1, 0], dtype=float)
    w = np.array([2.0, 1.0, 1.0, 3.0, 1.0, 0.5, 1.0, 1.5])
    res = design_tests.paired_difference(x1, x2, w)
    d = x1 - x2
    dbar = np.sum(w * d) / w.sum()
    se = np.sqrt(8 / 7 * np.sum((w * (d - dbar) / w.sum()) ** 2))
    assert res.estimate == pytest.approx(dbar, rel=1e-12) and res.se == pytest.approx(se, rel=1e-12)
    assert res.df == 6  # R's svyttest(d ~ 0): degf(design) - 1 = n - 2


def test_paired_difference_with_equal_weights_is_mcnemar_rescaled():
    # 30 pairs: 10 yes/yes, b = 8 yes/no, c = 3 no/yes, 9 no/no
    x1 = np.r_[np.ones(10), np.ones(8), np.zeros(3), np.zeros(9)]
    x2 = np.r_[np.ones(10), np.zeros(8), np.ones(3), np.zeros(9)]
    res = design_tests.paired_difference(x1, x2, np.full(30, 4.0))
    b, c, n = 8, 3, 30
    mcnemar = (b - c) ** 2 / (b + c)
    assert res.estimate == pytest.approx((b - c) / n, rel=1e-12)
    assert res.t**2 == pytest.approx(mcnemar * (n - 1) / (n - mcnemar), rel=1e-12)
    assert res.t**2 != pytest.approx(mcnemar, rel=1e-3)  # close, not identical


def test_rank_scores_and_prob_higher_reduce_to_mann_whitney():
    rng = np.random.default_rng(3)
    a, b = rng.integers(1, 6, 40).astype(float), rng.integers(1, 6, 30).astype(float)
    y = np.r_[a, b]
    scores = design_tests.rank_scores(y, np.full(70, 2.0))
    assert scores == pytest.approx((stats.rankdata(y) - 0.5) / 70, rel=1e-12)
    u = stats.mannwhitneyu(a, b).statistic
    assert design_tests.prob_higher(a, np.ones(40), b, np.ones(30)) == pytest.approx(u / 1200, rel=1e-12)
    res = design_tests.rank_difference(a, np.ones(40), b, np.ones(30))
    ranks = stats.rankdata(y)
    assert res.estimate * 70 == pytest.approx(ranks[:40].mean() - ranks[40:].mean(), rel=1e-12)


def test_integer_weights_match_replicated_rows_for_point_estimates():
    wa, wb = np.array([1, 3, 2]), np.array([2, 1])
    ra, rb = np.repeat(Y_A, wa), np.repeat(Y_B, wb)
    one_a, one_b = np.ones(ra.size), np.ones(rb.size)
    fw = design_tests.mean_difference(Y_A, wa, Y_B, wb)
    rep = design_tests.mean_difference(ra, one_a, rb, one_b)
    assert fw.estimate == pytest.approx(rep.estimate, rel=1e-12)
    assert design_tests.prob_higher(Y_A, wa, Y_B, wb) == pytest.approx(
        design_tests.prob_higher(ra, one_a, rb, one_b), rel=1e-12
    )
    fr = design_tests.rank_difference(Y_A, wa, Y_B, wb)
    assert fr.estimate == pytest.approx(design_tests.rank_difference(ra, one_a, rb, one_b).estimate, rel=1e-12)
    # the standard errors differ: a weight is not a count of independent respondents
    assert fw.se != pytest.approx(rep.se, rel=1e-3)


@pytest.fixture
def frame():
    rng = np.random.default_rng(11)
    n = 200
    band = rng.integers(1, 5, n)
    return pd.DataFrame(
        {
            "band": band.astype(float),
            "q": np.where(rng.random(n) < 0.2 + 0.1 * band, 1.0, 2.0),
            "q2": np.where(rng.random(n) < 0.4, 1.0, 2.0),
            "x": rng.normal(3, 1, n),
            "g": rng.random(n) < 0.4,
            "w": rng.uniform(0.3, 3.0, n),
            "one": 1.0,
            "all": True,
        }
    )


def _four(f, weight=None):
    return [
        claims.compare_means(f, "x", f["g"], ~f["g"], weight=weight),
        claims.trend(f, "q", [1], "band", f["all"], weight=weight),
        claims.paired_shares(f, "q", "q2", f["all"], weight=weight),
        claims.rank_sum(
            f.loc[f["g"], "band"],
            f.loc[~f["g"], "band"],
            weights_a=tables.weights_of(f, f["g"], weight),
            weights_b=tables.weights_of(f, ~f["g"], weight),
            weight=weight,
        ),
    ]


def _same(x, y):
    assert x.keys() == y.keys()
    for k in x:
        if isinstance(x[k], np.ndarray):
            assert (x[k] == y[k]).all()
        else:
            assert x[k] == y[k] or (x[k] != x[k] and y[k] != y[k]), k


def test_equal_weights_run_the_unweighted_tests_and_unequal_the_design_based(frame):
    plain = _four(frame)
    ones = _four(frame, "one")
    weighted = _four(frame, "w")
    unpassed = claims.rank_sum(frame.loc[frame["g"], "band"], frame.loc[~frame["g"], "band"], weight="w")
    for p, o in zip(plain, ones, strict=True):
        _same(p, o)
    assert [r["test"] for r in plain] == [
        "Welch t test",
        "Cochran-Armitage trend test",
        "McNemar's test",
        "Mann-Whitney U test (two-sided)",
    ]
    means, trend, paired, ranks = weighted
    for res, old in zip(weighted, plain, strict=True):
        assert "weighted" in res["test"] and res.keys() == old.keys()
        assert res["statistic"].startswith("t(") and 0 <= res["p"] <= 1
    g, w = frame["g"], frame["w"]
    assert means["a"] == pytest.approx(np.average(frame.loc[g, "x"], weights=w[g]))
    ref = design_tests.mean_difference(frame.loc[g, "x"], w[g], frame.loc[~g, "x"], w[~g])
    assert means["p"] == pytest.approx(ref.p) and means["n_a"] == int(g.sum())
    top = frame["band"] == 4
    assert trend["a"] == pytest.approx(100 * np.average(frame.loc[top, "q"] == 1, weights=w[top]))
    slope = design_tests.slope(frame["band"], frame["q"] == 1, w)
    assert trend["p"] == pytest.approx(slope.p)
    assert paired["a"] == pytest.approx(100 * np.average(frame["q"] == 1, weights=w))
    assert (paired["table"] == plain[2]["table"]).all()  # the counts stay unweighted
    prob = design_tests.prob_higher(frame.loc[g, "band"], w[g], frame.loc[~g, "band"], w[~g])
    assert ranks["a"] == pytest.approx(prob)
    assert unpassed["test"] == "Mann-Whitney U test (two-sided, unweighted)"


def test_point_estimates_match_svyttest_on_apiclus2():
    """R survey, man/svyttest.Rd (printed on the package's pkgdown reference page,
    r-survey.r-forge.r-project.org/pkgdown/docs/reference/svyttest.html): with ``dclus2 <-
    svydesign(id=~dnum+snum, fpc=~fpc1+fpc2, data=apiclus2)``, ``svyttest(enroll~comp.imp, dclus2)``
    prints the difference in mean -225.7371 (t = -2.8882, df = 36) and ``svyttest(I(api00-api99)~0,
    dclus2)`` the mean 25.77786 (t = 9.0704, df = 38). The fixture is apiclus2 as samplics ships it
    (samplics-org/samplics tests/regression/api_clus2.csv at commit
    3e242c0a3c125f94ded9efce8f5560e2d227de4d), with the columns used here. The estimates depend
    only on the weights, so they are compared at the printed precision. The standard errors are
    not: that design samples districts, then schools (two stages), and the book's designs have
    one respondent per PSU, which design_tests assumes."""
    d = pd.read_csv(FIXTURES / "apiclus2_ttest.csv")
    assert len(d) == 126 and d["dnum"].nunique() == 40
    e = d[d["enroll"].notna()]
    yes = e["comp.imp"] == "Yes"
    y, w = e["enroll"], e["pw"]
    res = design_tests.mean_difference(y[yes], w[yes], y[~yes], w[~yes])
    assert res.estimate == pytest.approx(-225.7371, abs=5e-5)
    assert e["dnum"].nunique() - 2 == 36  # R's df: the 38 districts with enroll, less 2
    one = design_tests.paired_difference(d["api00"], d["api99"], d["pw"])
    assert one.estimate == pytest.approx(25.77786, abs=5e-6)
