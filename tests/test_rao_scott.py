"""Rao-Scott corrected chi-square tests (calaim.stats.weights.rao_scott, claims.independence and
compare_shares(method="chi2") under a weight): a hand computation of Delta on a small table,
equal weights, and the unweighted tests they fall back to."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import claims, weights

# A small 2 x 3 table of 12 respondents with unequal weights (hand-made fixture, no source).
ROWS = np.array([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
COLS = np.array([0, 1, 2, 0, 1, 2, 0, 0, 1, 2, 2, 2])
W = np.array([1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 2.0, 1.0, 0.5, 1.0, 2.5, 1.0])


def _by_hand(rows, cols, w):
    """Rao and Scott (1984) written out for a 2 x 3 table, respondent by respondent: cells in the
    order (r, c) = (0,0), (1,0), (0,1), (1,1), (0,2), (1,2); interaction contrasts from the
    products of the row and column dummies, residualised on the main effects."""
    n = len(w)
    cells = [(r, c) for c in range(3) for r in range(2)]
    ind = np.array([[1.0 if (rows[i], cols[i]) == rc else 0.0 for rc in cells] for i in range(n)])
    p = np.array([sum(w[i] * ind[i, k] for i in range(n)) / w.sum() for k in range(6)])
    v = np.zeros((6, 6))
    for i in range(n):
        z = w[i] * (ind[i] - p) / w.sum()
        v += np.outer(z, z)
    v *= n / (n - 1)
    x1 = np.array([[1, r, c == 1, c == 2] for r, c in cells], dtype=float)
    x2 = np.array([[r * (c == 1), r * (c == 2)] for r, c in cells], dtype=float)
    hat = x1 @ np.linalg.inv(x1.T @ x1) @ x1.T
    cmat = x2 - hat @ x2
    d_inv = np.diag(1 / p)
    delta = np.linalg.inv(cmat.T @ d_inv @ cmat / n) @ (cmat.T @ d_inv @ v @ d_inv @ cmat)
    table = np.array([[p[cells.index((r, c))] * n for c in range(3)] for r in range(2)])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / n
    x2_stat = float(((table - expected) ** 2 / expected).sum())
    return x2_stat, delta


def test_rao_scott_against_a_hand_computation():
    rs = weights.rao_scott(ROWS, COLS, W)
    x2, delta = _by_hand(ROWS, COLS, W)
    assert rs.pearson == pytest.approx(x2, rel=1e-12) and rs.df == 2 and rs.n == 12
    assert rs.deltas == pytest.approx(sorted(np.linalg.eigvals(delta).real), rel=1e-9)
    tr, tr2 = np.trace(delta), np.trace(delta @ delta)
    assert rs.chisq == pytest.approx(x2 / (tr / 2), rel=1e-9)
    assert rs.p_chisq == pytest.approx(stats.chi2.sf(x2 / (tr / 2), 2), rel=1e-9)
    assert rs.ndf == pytest.approx(tr**2 / tr2, rel=1e-9) and rs.ddf == pytest.approx(11 * tr**2 / tr2, rel=1e-9)
    assert rs.p_f == pytest.approx(stats.f.sf(x2 / tr, tr**2 / tr2, 11 * tr**2 / tr2), rel=1e-9)


def test_equal_weights_give_design_effects_of_n_over_n_minus_1():
    """With equal weights the linearised covariance is (D - p p') / (n - 1), so every generalised
    design effect is n / (n - 1) and the first-order statistic is Pearson's times (n - 1) / n."""
    rs = weights.rao_scott(ROWS, COLS, np.full(12, 2.5))
    assert rs.deltas == pytest.approx([12 / 11, 12 / 11], rel=1e-9)
    plain = stats.chi2_contingency(pd.crosstab(ROWS, COLS).to_numpy(), correction=False)
    assert rs.pearson == pytest.approx(plain.statistic, rel=1e-12)
    assert rs.chisq == pytest.approx(plain.statistic * 11 / 12, rel=1e-9)
    assert rs.ndf == pytest.approx(2.0)


@pytest.fixture
def frame():
    rng = np.random.default_rng(7)
    n = 300
    row = rng.choice([1, 2, 3], n)
    col = np.where(rng.random(n) < 0.3 + 0.1 * row, 1, 2)
    return pd.DataFrame({"r": row, "c": col, "w": rng.uniform(0.3, 3.0, n), "one": 1.0, "all": True})


def test_independence_is_pearson_unweighted_and_with_equal_weights(frame):
    plain = claims.independence(frame, "r", "c", frame["all"])
    ref = stats.chi2_contingency(pd.crosstab(frame["r"], frame["c"]).to_numpy(), correction=False)
    assert plain["test"] == "chi-square test" and plain["p"] == pytest.approx(ref.pvalue)
    ones = claims.independence(frame, "r", "c", frame["all"], weight="one")
    weighted = claims.independence(frame, "r", "c", frame["all"], weight="w")
    shares = claims.compare_shares(frame, "c", [1], frame["r"] == 1, frame["r"] == 3, method="chi2", weight="w")
    assert ones == plain
    rs = weights.rao_scott(frame["r"], frame["c"], frame["w"])
    assert weighted["test"].startswith("Rao-Scott") and weighted["p"] == pytest.approx(rs.p_f)
    assert weighted["n_a"] == 300
    two = frame[frame["r"].isin([1, 3])]
    rs2 = weights.rao_scott(two["r"] == 3, two["c"] == 1, two["w"])
    assert shares["test"].startswith("Rao-Scott") and shares["p"] == pytest.approx(rs2.p_f)
    # one degree of freedom: the second-order F is the first-order chi-square on (1, n - 1) df
    assert rs2.ndf == pytest.approx(1.0) and rs2.f == pytest.approx(rs2.chisq)


def test_independence_not_run_on_small_or_constant_bases(frame):
    assert claims.independence(frame.head(20), "r", "c", frame["all"].head(20))["test"] == claims.NOT_RUN
    const = frame.assign(c=1)
    assert "does not vary" in claims.independence(const, "r", "c", const["all"])["test"]
