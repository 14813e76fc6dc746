"""Fit statistics of the logistic models that statsmodels does not give as needed: the HC3
sandwich covariance of logistic ML estimates, the (weighted) area under the ROC curve and the
null log-likelihood. :mod:`calaim.stats.models` uses them and re-exports :func:`hc_covariance`
and :func:`auc`.

Place in the flow: claims/models (after estimate), inside the model fits.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


# --------------------------------------------------------------------------- robust covariance
def hc_covariance(X, y, p, kind: str = "HC3") -> np.ndarray:
    """Heteroskedasticity-consistent ("sandwich") covariance of logistic ML estimates.

    ``B M B`` with bread ``B = (X'WX)^-1``, ``W = diag(p (1 - p))``, and meat
    ``M = X' diag(e^2 / (1 - h)^k) X`` on the score residuals ``e = y - p``: ``k = 0`` for HC0 and
    ``k = 2`` for HC3, where ``h`` is the leverage of the GLM, the diagonal of the hat matrix
    ``W^1/2 X (X'WX)^-1 X' W^1/2`` (Long and Ervin 2000, carried over to GLMs as in R's
    ``sandwich::vcovHC``). Written out here because statsmodels' ``Logit`` and ``GLM`` give the
    HC0 matrix whatever HC type is asked for (statsmodels issue 7798, checked on 0.15: on Greene's
    Spector and Mazzeo data both return HC0 for ``cov_type="HC3"``). A leverage of 1 gives an
    infinite variance, which the caller reports as a problem.
    """
    if kind not in ("HC0", "HC3"):
        raise ValueError(f"unknown HC type {kind!r}; known: HC0, HC3")
    X = np.asarray(X, dtype=float)
    e = np.asarray(y, dtype=float) - np.asarray(p, dtype=float)
    w = np.asarray(p, dtype=float) * (1.0 - np.asarray(p, dtype=float))
    bread = np.linalg.inv(X.T @ (X * w[:, None]))
    h = w * np.einsum("ij,jk,ik->i", X, bread, X)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = e**2 if kind == "HC0" else e**2 / (1.0 - h) ** 2
    meat = X.T @ (X * scale[:, None])
    return bread @ meat @ bread


# --------------------------------------------------------------------------- fit statistics
def auc(y, p, w=None) -> float:
    """Area under the ROC curve: the chance that a random case with y = 1 gets a higher
    predicted probability than a random case with y = 0 (ties count half), i.e. the
    Mann-Whitney U statistic divided by n1 * n0. With weights ``w`` each pair counts
    ``w_i w_j`` (the weighted AUC; equal weights give the unweighted one)."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    pos, neg = p[y == 1], p[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    if w is None:
        return float(stats.mannwhitneyu(pos, neg, alternative="two-sided").statistic / (len(pos) * len(neg)))
    w = np.asarray(w, dtype=float)
    wpos, wneg = w[y == 1], w[y == 0]
    order = np.argsort(neg, kind="stable")
    neg, wneg = neg[order], wneg[order]
    below = np.concatenate([[0.0], np.cumsum(wneg)])
    lo = below[np.searchsorted(neg, pos, side="left")]  # negative weight strictly below each positive
    tie = below[np.searchsorted(neg, pos, side="right")] - lo
    return float(np.sum(wpos * (lo + 0.5 * tie)) / (wpos.sum() * wneg.sum()))


def _null_loglik(y: np.ndarray, w=None) -> float:
    w = np.ones(len(y)) if w is None else np.asarray(w, dtype=float)
    k, n = float(np.sum(w * y)), float(np.sum(w))
    if np.all(y == 1) or np.all(y == 0):
        return 0.0
    return k * np.log(k / n) + (n - k) * np.log(1 - k / n)
