"""Design-based versions of the claims tests of means, trends, paired shares and ranks.

Place in the flow: io -> validate -> derive -> weights -> estimate -> **design_tests** (under a
survey weight with unequal weights) -> claims -> registry -> display.

:mod:`calaim.stats.claims` calls these when a weight is set and the weights of the respondents
tested are not all equal (equal weights run the classical tests, so the unweighted book is
unchanged). Each follows R's survey package for ``svydesign(id = ~1, weights = ~w)``, one
respondent per PSU and no strata, with the linearisation ("sandwich") variance of
:func:`calaim.stats.weights.glm_covariance` (Gaussian family) or
:func:`calaim.stats.weights.linearised_mean`:

* :func:`mean_difference` (instead of Welch's t test): ``svyttest(y ~ group)``, the slope of a
  weighted least-squares regression of y on the group indicator, t on n - 2 df;
* :func:`slope` (instead of the Cochran-Armitage trend test): the slope of a *linear-probability*
  survey-weighted regression of the 0/1 answer on the band scores (``svyglm(y ~ score,
  family = gaussian())``), t on n - 2 df. The Cochran-Armitage test is the score test of that
  slope; this is its design-based Wald analogue. A linear rather than logistic model keeps the
  slope's null the same (no trend) and never fails to converge;
* :func:`paired_difference` (instead of McNemar's test): ``svyttest(d ~ 0)`` for the paired
  difference d = x1 - x2 of the two 0/1 answers, t on n - 2 df (R's ``degf - 1``). With equal
  weights and b, c the discordant counts of n pairs, t^2 = M (n - 1) / (n - M), where
  M = (b - c)^2 / (b + c) is McNemar's chi-square: close to M when M is small against n;
* :func:`rank_difference` (instead of the Mann-Whitney U test): ``svyranktest(y ~ group)``
  (Lumley and Scott 2013): each answer's rank score is the estimated population CDF at its
  value, mid-way through ties (weight below plus half the weight at the value, over the total
  weight), regressed on the group indicator as in :func:`mean_difference`; t on n - 2 df. R
  averages the running weights inside a run of ties, which equals this mid-CDF only when the
  tied weights are equal (otherwise R's value depends on row order).

The functions are pure; :func:`unequal_weights` reads the weights of the tested rows.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from calaim.stats import weights as survey_weights


@dataclass(frozen=True)
class DesignT:
    """A design-based t test: ``estimate``, its linearised ``se``, ``t`` = estimate / se on
    ``df`` degrees of freedom and the two-sided ``p``."""

    estimate: float
    se: float
    t: float
    df: int
    p: float

    def statistic(self) -> str:
        return f"t({self.df}) = {self.t:.2f}"


def _t(estimate: float, se: float, df: int) -> DesignT:
    t = estimate / se if se > 0 else np.nan
    p = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(t) and df > 0 else np.nan
    return DesignT(float(estimate), float(se), float(t), int(df), p)


def unequal_weights(frame: pd.DataFrame, column: str | None, *rows) -> list[np.ndarray] | None:
    """The checked weights (``column``) of each selection ``rows`` (boolean masks or index labels
    of ``frame``), or None when no weight is set or all the selected weights are equal."""
    if not column:
        return None
    parts = [survey_weights.check_weights(frame.loc[r, column], column) for r in rows]
    together = np.concatenate(parts) if parts else np.array([])
    return parts if survey_weights.unequal(together) else None


def slope(x, y, w) -> DesignT:
    """Slope of the weighted least-squares line of ``y`` on ``x`` with its linearisation SE
    (R's ``svyglm(y ~ x, design, family = gaussian())``), t on n - 2 df."""
    x, y, w = (np.asarray(v, dtype=float) for v in (x, y, w))
    X = np.column_stack([np.ones(x.size), x])
    beta = np.linalg.solve(X.T @ (X * w[:, None]), X.T @ (w * y))
    design = survey_weights.glm_covariance(X, y, X @ beta, w, family="gaussian")
    return _t(beta[1], math.sqrt(max(design.cov[1, 1], 0.0)), design.df)


def mean_difference(y_a, w_a, y_b, w_b) -> DesignT:
    """Weighted mean of group a minus that of group b, as ``svyttest(y ~ group)``: the slope on
    a 1/0 indicator of group a, t on n - 2 df."""
    y = np.r_[np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)]
    group = np.r_[np.ones(len(y_a)), np.zeros(len(y_b))]
    return slope(group, y, np.r_[np.asarray(w_a, dtype=float), np.asarray(w_b, dtype=float)])


def paired_difference(x1, x2, w) -> DesignT:
    """Weighted mean of d = x1 - x2 over the same respondents with its linearisation SE, as
    ``svyttest(d ~ 0)``: t on R's degf(design) - 1 = n - 2 df."""
    d = np.asarray(x1, dtype=float) - np.asarray(x2, dtype=float)
    lm = survey_weights.linearised_mean(d, w)
    return _t(lm.mean, lm.se, lm.df - 1)


def rank_scores(y, w) -> np.ndarray:
    """Each answer's estimated population mid-CDF: (weight of smaller answers + half the weight of
    equal ones) / total weight. Equal weights give (mid-rank - 1/2) / n, as R's cumsum(w) - w / 2."""
    y, w = np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    values, inverse = np.unique(y, return_inverse=True)
    at = np.bincount(inverse, weights=w, minlength=values.size)
    below = np.cumsum(at) - at
    return (below + at / 2)[inverse] / w.sum()


def rank_difference(y_a, w_a, y_b, w_b) -> DesignT:
    """``svyranktest(y ~ group)`` (Wilcoxon scores): the difference in mean rank score of group a
    minus group b, by :func:`mean_difference` on :func:`rank_scores`; t on n - 2 df."""
    w_a, w_b = np.asarray(w_a, dtype=float), np.asarray(w_b, dtype=float)
    r = rank_scores(np.r_[np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)], np.r_[w_a, w_b])
    return mean_difference(r[: w_a.size], w_a, r[w_a.size :], w_b)


def prob_higher(y_a, w_a, y_b, w_b) -> float:
    """Weighted chance that an answer from group a sits above one from group b, ties counting
    half: sum_ij w_i w_j [a_i > b_j] (+ half for ties) / (sum w_a sum w_b). Equal weights give
    the Mann-Whitney U / (n_a n_b)."""
    y_a, y_b = np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)
    w_a, w_b = np.asarray(w_a, dtype=float), np.asarray(w_b, dtype=float)
    order = np.argsort(y_b, kind="stable")
    yb, cum = y_b[order], np.r_[0.0, np.cumsum(w_b[order])]
    below = cum[np.searchsorted(yb, y_a, side="left")]
    upto = cum[np.searchsorted(yb, y_a, side="right")]
    return float(np.sum(w_a * (below + (upto - below) / 2)) / (w_a.sum() * w_b.sum()))


def _wmean(y, w) -> float:
    y, w = np.asarray(y, dtype=float), np.asarray(w, dtype=float)
    return float(np.sum(w * y) / np.sum(w)) if y.size else np.nan


# ---------------------------------------------------------------------------- results for claims
def compare_means(y_a, w_a, y_b, w_b) -> dict:
    """Fields of a claims result for :func:`calaim.stats.claims.compare_means` under a weight."""
    res = mean_difference(y_a, w_a, y_b, w_b)
    return {
        "a": _wmean(y_a, w_a),
        "b": _wmean(y_b, w_b),
        "test": "design-based t test (svyttest, weighted)",
        "statistic": res.statistic(),
        "p": res.p,
    }


def trend(scores, yes, w) -> dict:
    """Fields of a claims result for :func:`calaim.stats.claims.trend` under a weight: weighted
    shares (%) in the highest (``a``) and lowest (``b``) band, and the slope test."""
    scores, yes, w = (np.asarray(v, dtype=float) for v in (scores, yes, w))
    hi, lo = scores == scores.max(), scores == scores.min()
    if np.ptp(yes) == 0:
        test, stat, p = "not run (every answer the same)", "", np.nan
    else:
        res = slope(scores, yes, w)
        test, stat, p = "design-based linear-probability trend test (svyglm slope, weighted)", res.statistic(), res.p
    return {
        "a": 100 * _wmean(yes[hi], w[hi]),
        "b": 100 * _wmean(yes[lo], w[lo]),
        "test": test,
        "statistic": stat,
        "p": p,
    }


def paired_shares(yes_a, yes_b, w) -> dict:
    """Fields of a claims result for :func:`calaim.stats.claims.paired_shares` under a weight."""
    yes_a, yes_b = np.asarray(yes_a, dtype=float), np.asarray(yes_b, dtype=float)
    out = {"a": 100 * _wmean(yes_a, w), "b": 100 * _wmean(yes_b, w)}
    if np.all(yes_a == yes_b):
        return {**out, "test": "not run (no discordant pairs)", "statistic": "", "p": np.nan}
    res = paired_difference(yes_a, yes_b, w)
    test = "design-based paired t test (svyttest d ~ 0, weighted)"
    return {**out, "test": test, "statistic": res.statistic(), "p": res.p}


def rank_sum(y_a, w_a, y_b, w_b) -> dict:
    """Fields of a claims result for :func:`calaim.stats.claims.rank_sum` under a weight: the
    weighted chance that a sits higher (``a``; ``b`` = 0.5) and ``svyranktest``'s t."""
    prob = prob_higher(y_a, w_a, y_b, w_b)
    out = {"a": prob, "b": 0.5, "estimate": f"P(a higher) = {prob:.2f}"}
    if np.ptp(np.r_[np.asarray(y_a, dtype=float), np.asarray(y_b, dtype=float)]) == 0:
        return {**out, "test": "not run (every answer the same)", "statistic": "", "p": np.nan}
    res = rank_difference(y_a, w_a, y_b, w_b)
    test = "design-based Wilcoxon rank test (svyranktest, weighted)"
    return {**out, "test": test, "statistic": res.statistic(), "p": res.p}
