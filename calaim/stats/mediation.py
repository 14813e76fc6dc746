"""Mediation analysis of ``exposure -> mediator -> outcome`` (all 0/1) with batched refits.

The method is statsmodels' :class:`~statsmodels.stats.mediation.Mediation` (Imai, Keele and
Tingley's simulation approach): a logistic model of the mediator on the exposure and covariates,
a logistic model of the outcome on exposure, mediator and covariates, and for each replicate a
refit (bootstrap) or a draw of both coefficient vectors (parametric), simulated potential
mediators, and the implied average indirect (ACME) and direct (ADE) effects.

statsmodels refits the two GLMs once per replicate in a Python loop (2,000 fits for 1,000
replicates). Here every replicate is fitted at once: a bootstrap resample is the same as the
full sample with multinomial counts as frequency weights, so all replicates share one design
matrix and a vectorised Newton-Raphson (IRLS) updates a ``(replicates, terms)`` coefficient
array. The random numbers are drawn in exactly the order statsmodels draws them (outcome
indices, mediator indices, then one uniform per respondent for each of the two potential
mediators), so on the same seed the replicates, and hence the intervals and p-values, equal
statsmodels' to numerical precision. ``engine="statsmodels"`` runs statsmodels itself (the
reference of the tests and of ``benchmarks/bench_build.py``).

Unlike statsmodels' summary, which shows the mean (or median) of the replicates, the estimate
reported is the full-sample plug-in estimate (potential mediators averaged analytically over
their fitted probabilities); the replicates give the 95% percentile interval and the p-value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import patsy
from scipy.special import expit

from calaim.stats.models import ROLE_VAR, _base_mask, _model_frame, term_expression

MEDIATION_COLUMNS = ["exposure", "effect", "estimate_pp", "ci_low_pp", "ci_high_pp", "p_value", "n", "n_rep", "method"]
#: ``method="auto"`` bootstraps bases up to this size and simulates from the estimates' normal
#: approximation ("parametric", the quasi-Bayesian default of Imai et al.'s R package) above it,
#: where the two agree (``tests/test_mediation.py`` checks it).
BOOTSTRAP_MAX_N = 5000
EFFECTS = ("indirect (through the mediator)", "direct", "total", "share mediated")
_SM_NAMES = dict(
    zip(EFFECTS, ("ACME (average)", "ADE (average)", "Total effect", "Prop. mediated (average)"), strict=True)
)
ENGINES = ("batched", "statsmodels")
_EPS = np.finfo(float).eps  # statsmodels' FLOAT_EPS, the clipping of the binomial mean


def format_p(p: float, n_rep: int) -> str:
    """A replicate-based p-value as text: 0 is only "below one replicate in ``n_rep``"."""
    if not np.isfinite(p):
        return "–"
    if p == 0:
        return f"< {1 / n_rep:.3g}"
    return f"{p:.3f}"


# --------------------------------------------------------------------------- batched logistic fits
def _deviance(y, w, eta) -> np.ndarray:
    """Binomial deviance per replicate (0/1 outcome), with statsmodels' clipping of the mean."""
    mu = np.clip(expit(eta), _EPS, 1 - _EPS)
    return -2 * (w * (y * np.log(mu) + (1 - y) * np.log1p(-mu))).sum(axis=1)


def logit_newton(y, X, weights=None, start=None, *, maxiter: int = 100, tol: float = 1e-10, dev_tol=None):
    """Maximum-likelihood logistic coefficients for many weightings of one data set at once.

    ``y`` (n,), ``X`` (n, k), ``weights`` (R, n) frequency weights (``None``: one unweighted fit),
    ``start`` (k,) or (R, k). Returns ``(beta (R, k), converged (R,))``. Newton-Raphson, which
    for the canonical logit link is IRLS. Each replicate stops when its largest step is below
    ``tol`` or, with ``dev_tol``, when its deviance changes by at most ``dev_tol`` (statsmodels'
    GLM rule, ``tol=1e-8``: with it, a replicate under separation stops where statsmodels'
    stops). Where ``X'WX`` is singular (a resample in which a category is absent) the update is
    the minimum-norm one, as statsmodels' least-squares IRLS makes it.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    w = np.ones((1, len(y))) if weights is None else np.asarray(weights, dtype=float)
    n_rep, k = w.shape[0], X.shape[1]
    beta = np.zeros((n_rep, k)) if start is None else np.broadcast_to(np.asarray(start, float), (n_rep, k)).copy()
    # singular designs are a property of the weights (which rows are in), found once
    singular = np.linalg.matrix_rank(np.einsum("rn,nk,nl->rkl", w, X, X, optimize=True), hermitian=True) < k
    dev = _deviance(y, w, beta @ X.T)
    active = np.ones(n_rep, dtype=bool)
    converged = np.zeros(n_rep, dtype=bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        b, wa = beta[idx], w[idx]
        mu = expit(b @ X.T)
        grad = (wa * (y - mu)) @ X
        hess = np.einsum("rn,nk,nl->rkl", wa * mu * (1 - mu), X, X, optimize=True)
        step = np.empty_like(b)
        bad = singular[idx]
        if (~bad).any():
            step[~bad] = np.linalg.solve(hess[~bad], grad[~bad][..., None])[..., 0]
        if bad.any():
            # the minimum-norm IRLS update pinv(X'WX) X'Wz, with X'Wz = X'WX beta + gradient
            h = hess[bad]
            target = np.einsum("rkl,rl->rk", h, b[bad]) + grad[bad]
            step[bad] = np.einsum("rkl,rl->rk", np.linalg.pinv(h, hermitian=True), target) - b[bad]
        beta[idx] = b + step
        done = np.abs(step).max(axis=1) < tol
        if dev_tol is not None:
            new_dev = _deviance(y, wa, beta[idx] @ X.T)
            done |= np.abs(new_dev - dev[idx]) <= dev_tol
            dev[idx] = new_dev
        converged[idx[done]] = True
        active[idx[done]] = False
    return beta, converged


def _logit_cov(y, X, beta) -> np.ndarray:
    mu = expit(X @ beta)
    return np.linalg.inv((X * (mu * (1 - mu))[:, None]).T @ X)


# --------------------------------------------------------------------------- effects
def _potential_outcomes(b_o, b_m, xo0, xm, e_o, m_o, e_m, draws=None):
    """``po[tm][te]`` (R, n): P(outcome) with the exposure at ``te`` and the mediator at its
    potential value under exposure ``tm``. ``draws[tm]`` (R, n) are the uniforms that simulate
    the mediator the way numpy's binomial sampler turns them into 0/1; without draws the
    mediator is averaged over its fitted probability (the plug-in estimate)."""
    base = b_o @ xo0.T  # outcome linear predictor with exposure and mediator set to 0
    rest_m = b_m @ xm.T  # mediator linear predictor with exposure set to 0
    po = [[None, None], [None, None]]
    for tm in (0, 1):
        p_m = expit(rest_m + b_m[:, [e_m]] * tm)
        for te in (0, 1):
            lin = base + b_o[:, [e_o]] * te
            if draws is None:
                po[tm][te] = p_m * expit(lin + b_o[:, [m_o]]) + (1 - p_m) * expit(lin)
            else:
                u = draws[tm]
                m = np.where(p_m <= 0.5, u > 1 - p_m, u <= p_m)
                po[tm][te] = expit(lin + b_o[:, [m_o]] * m)
    return po


def _effects(po) -> dict[str, np.ndarray]:
    """Average effects per replicate (as statsmodels' MediationResults combines them)."""
    acme = [(po[1][t] - po[0][t]).mean(axis=1) for t in (0, 1)]
    ade = [(po[t][1] - po[t][0]).mean(axis=1) for t in (0, 1)]
    total = (acme[0] + acme[1] + ade[0] + ade[1]) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        share = (acme[0] / total + acme[1] / total) / 2
    return dict(zip(EFFECTS, ((acme[0] + acme[1]) / 2, (ade[0] + ade[1]) / 2, total, share), strict=True))


def _pvalue(vec: np.ndarray) -> float:
    return 2 * min((vec > 0).sum(), (vec < 0).sum()) / float(len(vec))


# --------------------------------------------------------------------------- the analysis
def _design(frame, exposure, mediator, outcome, covariates, population):
    others = [c for c in covariates if c not in (exposure, mediator)]
    frame, mask = _base_mask(frame, population)
    needed = [outcome, mediator, exposure, *others]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KeyError(f"not in this data set: {', '.join(missing)}")
    data = _model_frame(frame.loc[mask, needed].dropna()).reset_index(drop=True)
    flat = [c for c in (outcome, mediator, exposure) if data[c].nunique() < 2]
    if len(data) < 20 or flat:
        why = f"{len(data)} complete cases" if len(data) < 20 else f"{', '.join(flat)} does not vary"
        raise ValueError(f"mediation cannot be estimated: {why}")
    rhs_m = " + ".join([exposure, *(term_expression(c) for c in others)])
    rhs_o = " + ".join([exposure, mediator, *(term_expression(c) for c in others)])
    y_o, x_o = patsy.dmatrices(f"{outcome} ~ {rhs_o}", data, return_type="dataframe")
    y_m, x_m = patsy.dmatrices(f"{mediator} ~ {rhs_m}", data, return_type="dataframe")
    return y_o.iloc[:, 0], x_o, y_m.iloc[:, 0], x_m


def mediation(
    frame: pd.DataFrame,
    exposure: str,
    *,
    mediator: str = "pilot",
    outcome: str = "contracted",
    covariates=("fte_lt50", "nonprofit", "single_county", "prior_mc_contract", ROLE_VAR, "housing_provider"),
    population: str = "sso_analytic",
    n_rep: int = 1000,
    seed: int = 2023,
    method: str = "auto",
    engine: str = "batched",
) -> pd.DataFrame:
    """Mediation of ``exposure -> mediator -> outcome`` (see the module docstring).

    ``n_rep`` seeded replicates give the intervals: bootstrap resamples with
    ``method="bootstrap"``, draws from the estimates' approximate normal distribution with
    ``"parametric"``, and with ``"auto"`` the bootstrap up to :data:`BOOTSTRAP_MAX_N` complete
    cases and the parametric draws above. ``engine``: ``"batched"`` (default) or
    ``"statsmodels"`` (the same replicates from statsmodels' own loop, for reference).

    Returns the average indirect effect (ACME), direct effect (ADE) and total effect in
    percentage points of the outcome's probability, and the share mediated (indirect / total,
    in percent): the full-sample estimate with a 95% percentile interval and the replicate
    p-value (show it with :func:`format_p`: 0 means below ``1 / n_rep``). These are causal
    quantities only under strong assumptions (no unmeasured confounding of exposure, mediator
    and outcome; the mediator measured before the outcome): with a cross-sectional convenience
    sample they describe a pattern that is consistent with mediation, not evidence of it.
    """
    if engine not in ENGINES:
        raise ValueError(f"unknown mediation engine {engine!r}: {' or '.join(ENGINES)}")
    y_o, x_o, y_m, x_m = _design(frame, exposure, mediator, outcome, covariates, population)
    n = len(y_o)
    if method == "auto":
        method = "bootstrap" if n <= BOOTSTRAP_MAX_N else "parametric"
    if method not in ("bootstrap", "parametric"):
        raise ValueError(f"unknown mediation method {method!r}: bootstrap, parametric or auto")
    yo, xo, ym, xm = y_o.to_numpy(float), x_o.to_numpy(float), y_m.to_numpy(float), x_m.to_numpy(float)
    e_o, m_o = x_o.columns.get_loc(exposure), x_o.columns.get_loc(mediator)
    e_m = x_m.columns.get_loc(exposure)
    xo0, xm0 = xo.copy(), xm.copy()
    xo0[:, [e_o, m_o]] = 0.0
    xm0[:, e_m] = 0.0

    b_o, ok_o = logit_newton(yo, xo)
    b_m, ok_m = logit_newton(ym, xm)
    if not (ok_o.all() and ok_m.all()):
        raise ValueError("mediation cannot be estimated: a logistic model does not converge (separation?)")
    point = {k: float(v[0]) for k, v in _effects(_potential_outcomes(b_o, b_m, xo0, xm0, e_o, m_o, e_m)).items()}

    rng = np.random.default_rng(seed)
    if engine == "statsmodels":
        reps = _statsmodels_replicates(y_o, x_o, y_m, x_m, exposure, mediator, method, n_rep, rng)
    else:
        reps = _batched_replicates(yo, xo, ym, xm, xo0, xm0, (e_o, m_o, e_m), b_o[0], b_m[0], method, n_rep, rng)
    rows = []
    for effect in EFFECTS:
        vec = reps[effect]
        rows.append(
            {
                "exposure": exposure,
                "effect": effect,
                "estimate_pp": 100 * point[effect],
                "ci_low_pp": 100 * np.percentile(vec, 2.5),
                "ci_high_pp": 100 * np.percentile(vec, 97.5),
                "p_value": _pvalue(vec),
                "n": n,
                "n_rep": n_rep,
                "method": method,
            }
        )
    return pd.DataFrame(rows, columns=MEDIATION_COLUMNS)


def _batched_replicates(yo, xo, ym, xm, xo0, xm0, pos, start_o, start_m, method, n_rep, rng):
    """All replicates' effects at once, drawing the random numbers in statsmodels' order."""
    n = len(yo)
    e_o, m_o, e_m = pos
    draws = [np.empty((n_rep, n)), np.empty((n_rep, n))]
    if method == "bootstrap":
        w_o, w_m = np.empty((n_rep, n)), np.empty((n_rep, n))
        for r in range(n_rep):
            w_o[r] = np.bincount(rng.integers(0, n, n), minlength=n)
            w_m[r] = np.bincount(rng.integers(0, n, n), minlength=n)
            draws[0][r], draws[1][r] = rng.random(n), rng.random(n)
        with np.errstate(all="ignore"):
            b_o, _ = logit_newton(yo, xo, w_o, start_o, dev_tol=1e-8)
            b_m, _ = logit_newton(ym, xm, w_m, start_m, dev_tol=1e-8)
    else:
        cov_o, cov_m = _logit_cov(yo, xo, start_o), _logit_cov(ym, xm, start_m)
        b_o, b_m = np.empty((n_rep, len(start_o))), np.empty((n_rep, len(start_m)))
        for r in range(n_rep):
            b_o[r] = rng.multivariate_normal(start_o, cov_o)
            b_m[r] = rng.multivariate_normal(start_m, cov_m)
            draws[0][r], draws[1][r] = rng.random(n), rng.random(n)
    with np.errstate(all="ignore"):
        return _effects(_potential_outcomes(b_o, b_m, xo0, xm0, e_o, m_o, e_m, draws))


def _statsmodels_replicates(y_o, x_o, y_m, x_m, exposure, mediator, method, n_rep, rng):
    """The replicates from statsmodels' Mediation loop (reference implementation)."""
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation, MediationResults

    binomial = sm.families.Binomial()
    outcome_model = sm.GLM(y_o, x_o, family=binomial)
    mediator_model = sm.GLM(y_m, x_m, family=binomial)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start_o = outcome_model.fit().params.to_numpy()
        start_m = mediator_model.fit().params.to_numpy()
        res: MediationResults = Mediation(
            outcome_model,
            mediator_model,
            exposure,
            mediator,
            outcome_fit_kwargs={"start_params": start_o},
            mediator_fit_kwargs={"start_params": start_m},
        ).fit(method=method, n_rep=n_rep, rng=rng)
    vecs = (res.ACME_avg, res.ADE_avg, res.total_effect, res.prop_med_avg)
    return dict(zip(EFFECTS, (np.asarray(v, float) for v in vecs), strict=True))
