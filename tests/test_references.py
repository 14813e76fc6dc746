"""Published reference values the book's estimators must reproduce (issue 13, item 3).

Each test names its source. A published value is given to the digits the source prints, so the
tolerance is half a unit in its last digit; where a value is a closed form rather than a printed
number, the test says it is a hand computation. The Spector logistic regression (Greene) is in
test_models.py, Firth on logistf's sex2 data in test_firth.py and Newcombe's difference
interval in test_change.py; this file holds the single-proportion, trend and t-test references.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import change, claims, estimate, tables

Z95 = stats.norm.isf(0.025)

# Newcombe RG (1998). Two-sided confidence intervals for the single proportion: comparison of
# seven methods. Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score interval
# without continuity correction), 95% limits printed to 4 decimals. The first two rows are the
# ones the R package propint also checks against the paper.
NEWCOMBE_TABLE_I_METHOD_3 = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]
PRINTED_4DP = 5e-5  # half a unit in the 4th decimal


@pytest.mark.parametrize(("k", "n", "low", "high"), NEWCOMBE_TABLE_I_METHOD_3)
def test_wilson_matches_newcombe_1998_table_i(k, n, low, high):
    """Newcombe (1998), Stat Med 17:857-872, Table I, method 3: the kernel's Wilson interval
    (calaim.stats.estimate.wilson, re-exported as calaim.stats.tables.wilson)."""
    assert tables.wilson is estimate.wilson
    lo, hi = tables.wilson(k, n)
    assert float(lo) == pytest.approx(low, abs=PRINTED_4DP)
    assert float(hi) == pytest.approx(high, abs=PRINTED_4DP)


@pytest.mark.parametrize(("k", "n", "low", "high"), NEWCOMBE_TABLE_I_METHOD_3)
def test_shares_the_book_shows_carry_newcombe_limits(k, n, low, high):
    """Newcombe (1998), Stat Med 17:857-872, Table I, method 3, as the book shows a share: in
    percent, from counts (share_of) and from answers with equal weights (share, whose Kish
    effective n is then n, so the weighted path must give the same limits)."""
    released = estimate.share_of(k, n, min_base=0)
    assert released.value == pytest.approx(100 * k / n)
    assert released.ci_low == pytest.approx(100 * low, abs=100 * PRINTED_4DP)
    assert released.ci_high == pytest.approx(100 * high, abs=100 * PRINTED_4DP)
    answers = np.r_[np.ones(k), np.zeros(n - k)]
    weighted = estimate.share(answers, [1], min_base=0, weights=np.full(n, 2.5))
    assert weighted.effective_n == pytest.approx(n)
    assert (weighted.ci_low, weighted.ci_high) == pytest.approx((released.ci_low, released.ci_high), rel=1e-12)


@pytest.mark.parametrize("n", [1, 20, 29])
def test_wilson_at_the_boundaries_by_hand(n):
    """Hand computation (not a printed value): at 0 of n the Wilson limits are 0 and
    z^2 / (n + z^2); at n of n they are n / (n + z^2) and 1. For n = 20 the first gives
    Newcombe's 0.1611 above, for n = 29 the second gives 0.8830."""
    z2 = Z95**2
    lo0, hi0 = tables.wilson(0, n)
    lo1, hi1 = tables.wilson(n, n)
    assert (float(lo0), float(hi0)) == pytest.approx((0.0, z2 / (n + z2)), abs=1e-12)
    assert (float(lo1), float(hi1)) == pytest.approx((n / (n + z2), 1.0), abs=1e-12)


# Agresti A, Categorical Data Analysis (Wiley), the infant malformation example (Mills and
# Graubard 1987, Pediatrics 80:309-314): sex-organ malformation by the mother's average drinks
# per day in the first trimester, scored by the category midpoints 0, 0.5, 1.5, 4.0, 7.0.
# Agresti reports the linear trend statistic as 6.57 (1 df), P = 0.01; the Cochran-Armitage
# z^2 is the same statistic up to a factor N / (N - 1), which is 1.00003 here.
MALFORMATION = pd.DataFrame(
    {
        "drinks": ["0", "<1", "1-2", "3-5", ">=6"],
        "score": [0.0, 0.5, 1.5, 4.0, 7.0],
        "absent": [17066, 14464, 788, 126, 37],
        "present": [48, 38, 5, 1, 1],
    }
)


def _malformation_rows(scores) -> pd.DataFrame:
    """One row per infant: ``band`` = the consumption score, ``y`` = 1 for a malformation."""
    parts = [
        pd.DataFrame({"band": s, "y": np.r_[np.ones(p, int), np.zeros(a, int)]})
        for s, a, p in zip(scores, MALFORMATION["absent"], MALFORMATION["present"], strict=True)
    ]
    return pd.concat(parts, ignore_index=True)


def test_cochran_armitage_matches_agresti_malformation_example():
    """Agresti, Categorical Data Analysis, infant malformation by maternal alcohol consumption
    (midpoint scores): trend statistic 6.57, P = 0.010. calaim.stats.claims.trend on the 32,574
    infants reproduces both to the printed digits."""
    df = _malformation_rows(MALFORMATION["score"])
    assert len(df) == 32574
    r = claims.trend(df, "y", [1], "band", pd.Series(True, index=df.index), min_base=0)
    assert r["test"] == "Cochran-Armitage trend test"
    z2 = stats.norm.isf(r["p"] / 2) ** 2
    assert z2 == pytest.approx(6.57, abs=0.005)
    assert r["p"] == pytest.approx(0.010, abs=0.0005)
    assert r["statistic"] == "z = 2.56"
    # a and b are the shares with a malformation in the highest and lowest band: 1/38 and 48/17114
    assert (r["a"], r["b"]) == pytest.approx((100 / 38, 100 * 48 / 17114))
    assert (r["n_a"], r["n_b"]) == (38, 17114)


def test_cochran_armitage_equals_n_minus_1_r_squared_by_hand():
    """Hand computation of the same statistic by Agresti's formula M^2 = (N - 1) r^2, with r
    the Pearson correlation of score and outcome over all infants; the project's test (with the
    permutation variance) must agree to rounding error."""
    df = _malformation_rows(MALFORMATION["score"])
    r_xy = np.corrcoef(df["band"], df["y"])[0, 1]
    m2 = (len(df) - 1) * r_xy**2
    r = claims.trend(df, "y", [1], "band", pd.Series(True, index=df.index), min_base=0)
    assert stats.norm.isf(r["p"] / 2) ** 2 == pytest.approx(m2, rel=1e-9)
    assert r["p"] == pytest.approx(stats.chi2.sf(m2, 1), rel=1e-9)


def test_the_trend_depends_on_the_scores_as_graubard_and_korn_show():
    """Graubard BI and Korn EL (1987), Biometrics 43:471-476, used these data to show that the
    choice of scores can change the conclusion: with equally spaced scores 0..4 the trend is no
    longer significant at 5%, against P = 0.010 with the midpoints. Checked here against the
    same (N - 1) r^2 hand computation."""
    df = _malformation_rows([0.0, 1.0, 2.0, 3.0, 4.0])
    r = claims.trend(df, "y", [1], "band", pd.Series(True, index=df.index), min_base=0)
    m2 = (len(df) - 1) * np.corrcoef(df["band"], df["y"])[0, 1] ** 2
    assert r["p"] == pytest.approx(stats.chi2.sf(m2, 1), rel=1e-9)
    assert r["p"] > 0.05


# Student (1908) / Cushny and Peebles (1905): extra hours of sleep of 10 patients under two drugs,
# R's `sleep` data set. The worked examples of R's ?t.test print, for `t.test(extra ~ group, data =
# sleep)` (Welch): t = -1.8608, df = 17.776, p-value = 0.07939, 95% CI -3.3654832 to 0.2054832,
# means 0.75 and 2.33; and for the paired test, which is the one-sample t interval of the ten
# differences (drug 1 - drug 2): t = -4.0621, df = 9, p-value = 0.002833, 95% CI -2.4598858 to
# -0.7001142, mean -1.58.
SLEEP_DRUG_1 = np.array([0.7, -1.6, -0.2, -1.2, -0.1, 3.4, 3.7, 0.8, 0.0, 2.0])
SLEEP_DRUG_2 = np.array([1.9, 0.8, 1.1, 0.1, -0.1, 4.4, 5.5, 1.6, 4.6, 3.4])


def test_t_interval_of_a_mean_matches_r_t_test_on_the_sleep_data():
    """R ?t.test, paired example on the sleep data = the t interval of the mean difference:
    -1.58, 95% CI -2.4598858 to -0.7001142 (printed to 7 decimals)."""
    m = estimate.mean(SLEEP_DRUG_1 - SLEEP_DRUG_2, min_base=0)
    assert m.value == pytest.approx(-1.58, abs=1e-12)
    assert m.ci_low == pytest.approx(-2.4598858, abs=5e-8)
    assert m.ci_high == pytest.approx(-0.7001142, abs=5e-8)
    assert m.method == "t interval"


def test_welch_test_matches_r_t_test_on_the_sleep_data():
    """R ?t.test, `t.test(extra ~ group, data = sleep)`: Welch t = -1.8608, p = 0.07939; the
    chapters' claims test (claims.compare_means) and the change-since-2023 difference of means
    (change.mean_change, from means and SDs) with its 95% CI -3.3654832 to 0.2054832."""
    df = pd.DataFrame({"extra": np.r_[SLEEP_DRUG_1, SLEEP_DRUG_2], "drug": [1] * 10 + [2] * 10})
    r = claims.compare_means(df, "extra", df["drug"] == 1, df["drug"] == 2, min_base=0)
    assert (r["a"], r["b"]) == pytest.approx((0.75, 2.33))
    assert r["test"] == "Welch t test" and r["statistic"] == "t = -1.86"
    assert r["p"] == pytest.approx(0.07939, abs=5e-6)
    sd1, sd2 = SLEEP_DRUG_1.std(ddof=1), SLEEP_DRUG_2.std(ddof=1)
    c = change.mean_change(SLEEP_DRUG_1.mean(), sd1, 10, SLEEP_DRUG_2.mean(), sd2, 10)
    assert c.change == pytest.approx(-1.58)
    assert c.ci_low == pytest.approx(-3.3654832, abs=5e-8)
    assert c.ci_high == pytest.approx(0.2054832, abs=5e-8)
    assert c.p_value == pytest.approx(0.07939, abs=5e-6)
