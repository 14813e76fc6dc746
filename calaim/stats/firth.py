"""Firth's penalized-likelihood logistic regression with profile-likelihood inference.

Sits beside :mod:`calaim.stats.models` in the data flow (io -> validate -> recode -> estimate ->
claims/models -> registry -> display -> chapters -> book): :func:`calaim.stats.models.fit_formula`
calls it for ``estimator="firth"`` (and ``"firth_wald"``) on the design matrix statsmodels builds.

* :func:`firth_logit` maximises the penalized log-likelihood ``l(b) + 0.5 log det I(b)`` (Firth
  1993; Heinze and Schemper 2002), optionally with some coefficients held fixed;
* :func:`profile_test` is the penalized likelihood-ratio test of one coefficient being 0:
  ``2 (l*(b_hat) - l*(b_hat with b_j = 0, the others re-maximised))`` against chi-square(1);
* :func:`profile_interval` gives the profile penalized-likelihood confidence limits: the values
  ``b_j`` at which that statistic, with ``b_j`` fixed there instead of at 0, reaches the
  chi-square(1) quantile.

These are the defaults of R's logistf (``pl = TRUE``). Unlike Wald limits they are not
symmetric around the estimate, which matters exactly where Firth is used: sparse cells and
(quasi-)separation. The tests check them against logistf's published output on its ``sex2``
data. Pure functions of numpy arrays; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, stats


@dataclass(frozen=True)
class FirthResult:
    """What :func:`firth_logit` returns: estimates on the log-odds scale and their covariance."""

    params: np.ndarray
    cov: np.ndarray  # inverse Fisher information at the estimate (Wald)
    loglik: float  # the ordinary log-likelihood at the penalized estimate
    penalized_loglik: float
    converged: bool
    iterations: int

    @property
    def bse(self) -> np.ndarray:
        return np.sqrt(np.diag(self.cov))


def _logit_loglik(y: np.ndarray, eta: np.ndarray) -> float:
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def _pieces(y, X, b):
    eta = X @ b
    p = 1.0 / (1.0 + np.exp(-eta))
    w = p * (1.0 - p)
    info = X.T @ (X * w[:, None])
    sign, logdet = np.linalg.slogdet(info)
    pen = _logit_loglik(y, eta) + 0.5 * logdet if sign > 0 else -np.inf
    return p, w, info, pen


def firth_logit(
    y,
    X,
    *,
    fixed: dict[int, float] | None = None,
    start=None,
    maxiter: int = 100,
    tol: float = 1e-8,
    max_step: float = 5.0,
) -> FirthResult:
    """Firth's bias-reduced logistic regression (Firth 1993; Heinze and Schemper 2002).

    Maximises the penalized log-likelihood ``l(b) + 0.5 log det I(b)`` (the Jeffreys prior) by
    Newton steps on the modified score ``X'(y - p + h (1/2 - p))``, where ``h`` is the diagonal of
    the weighted hat matrix, with step halving and steps capped at ``max_step`` as in R's
    logistf. Estimates stay finite under separation, and with sparse cells they are less biased
    away from zero than ML. statsmodels has no Firth estimator, hence this short implementation;
    the tests check it against closed forms (intercept only: log((k + 1/2) / (n - k + 1/2));
    a 2x2 table: the log odds ratio of the counts plus 1/2) and against logistf.

    ``fixed`` maps column positions to values held fixed while the other coefficients are
    maximised (the penalty stays that of the full model, as in logistf's profile fits); ``start``
    is the starting vector (default zeros, with the fixed values in place).

    ``cov`` is the inverse Fisher information at the estimate: the basis of Wald intervals.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    k = X.shape[1]
    beta = np.zeros(k) if start is None else np.array(start, dtype=float)
    free = np.ones(k, dtype=bool)
    for j, value in (fixed or {}).items():
        beta[j] = value
        free[j] = False

    converged, it = False, 0
    p, w, info, pen = _pieces(y, X, beta)
    for iteration in range(1, maxiter + 1):
        it = iteration
        cov = np.linalg.inv(info)
        h = w * np.einsum("ij,jk,ik->i", X, cov, X)
        score = (X.T @ (y - p + h * (0.5 - p)))[free]
        step = np.zeros(k)
        step[free] = np.linalg.solve(info[np.ix_(free, free)], score)
        biggest = np.max(np.abs(step)) if free.any() else 0.0
        if biggest > max_step:
            step *= max_step / biggest
        t = 1.0
        while True:
            candidate = beta + t * step
            p_c, w_c, info_c, pen_c = _pieces(y, X, candidate)
            if pen_c >= pen - 1e-10 or t < 1e-8:
                break
            t /= 2.0
        beta, p, w, info, pen = candidate, p_c, w_c, info_c, pen_c
        if np.max(np.abs(t * step)) < tol and (not free.any() or np.max(np.abs(score)) < 1e-6 * max(1.0, len(y))):
            converged = True
            break
    cov = np.linalg.inv(info)
    return FirthResult(beta, cov, _logit_loglik(y, X @ beta), float(pen), converged, it)


def _profile_stat(y, X, fit: FirthResult, j: int, value: float, start=None) -> tuple[float, np.ndarray]:
    """``2 (l*(b_hat) - max l* with b_j = value)`` and the constrained estimate."""
    constrained = firth_logit(y, X, fixed={j: value}, start=fit.params if start is None else start)
    if not constrained.converged:
        raise ArithmeticError(f"constrained Firth fit with coefficient {j} = {value:g} did not converge")
    return max(0.0, 2.0 * (fit.penalized_loglik - constrained.penalized_loglik)), constrained.params


@dataclass(frozen=True)
class ProfileTest:
    """Penalized likelihood-ratio test of one coefficient being 0."""

    chisq: float
    p_value: float


def profile_test(y, X, fit: FirthResult, j: int) -> ProfileTest:
    """Penalized likelihood-ratio test of ``b_j = 0`` (logistf's ``Chisq`` and ``p``)."""
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    chisq, _ = _profile_stat(y, X, fit, j, 0.0)
    return ProfileTest(chisq, float(stats.chi2.sf(chisq, 1)))


def profile_interval(
    y, X, fit: FirthResult, j: int, *, level: float = 0.95, max_se: float = 40.0, xtol: float = 1e-9
) -> tuple[float, float]:
    """Profile penalized-likelihood confidence limits of coefficient ``j`` (log-odds scale).

    Each limit is the root of ``2 (l*(b_hat) - l*_j(b)) = chi2_1(level)``, where ``l*_j(b)`` is
    the penalized log-likelihood maximised over the other coefficients with ``b_j = b``. The
    root is bracketed by walking out from the estimate in doubling steps of its Wald standard
    error and then found by Brent's method. A side on which the statistic never reaches the
    quantile within ``max_se`` standard errors gets an infinite limit.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    crit = float(stats.chi2.ppf(level, 1))
    b_hat, se = float(fit.params[j]), float(fit.bse[j])
    limits = []
    for sign in (-1.0, 1.0):
        warm = fit.params
        inner, outer, step = 0.0, None, 0.5
        while step <= max_se:
            value, warm = _profile_stat(y, X, fit, j, b_hat + sign * step * se, start=warm)
            if value >= crit:
                outer = step
                break
            inner, step = step, step * 2.0
        if outer is None:
            limits.append(sign * np.inf)
            continue
        start = warm

        def gap(d, start=start, sign=sign):
            return _profile_stat(y, X, fit, j, b_hat + sign * d * se, start=start)[0] - crit

        root = optimize.brentq(gap, inner, outer, xtol=xtol / max(se, 1e-12))
        limits.append(b_hat + sign * root * se)
    return float(limits[0]), float(limits[1])
