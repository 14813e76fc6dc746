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
reference of the tests and of ``benchmarks/bench_cache.py``). The work is sized by what the
survey repeats: the fits run on each design's distinct rows (identical answers weighted
together), the potential outcomes on the distinct covariate patterns, and the matrix products
in blocks that the BLAS keeps on one thread (:func:`_matmul`).

Unlike statsmodels' summary, which shows the mean (or median) of the replicates, the estimate
reported is the full-sample plug-in estimate (potential mediators averaged analytically over
their fitted probabilities); the replicates give the 95% percentile interval and the p-value.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import patsy

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
#: OpenBLAS multiplies an (m, k) by a (k, n) matrix on the calling thread when m * n * k is at most
#: this (its SMP_THRESHOLD_MIN x GEMM_MULTITHREAD_THRESHOLD) and splits bigger products over every
#: core. The replicates' products are a few million multiply-adds, done in a fraction of a
#: millisecond on one core; split, each waits for a second thread, and with the other core busy
#: (a second notebook of the build, any other process) that wait made the bootstrap 3x slower.
_SERIAL_GEMM = 4 * 65536


def _matmul(a, b) -> np.ndarray:
    """``a (R, n) @ b (n, m)`` in blocks of rows small enough for the BLAS to keep on this thread."""
    rows = max(1, _SERIAL_GEMM // (a.shape[1] * b.shape[1]))
    if a.shape[0] <= rows:
        return a @ b
    blocks, cut = a.shape[0] // rows, a.shape[0] // rows * rows
    out = np.empty((a.shape[0], b.shape[1]))
    np.matmul(a[:cut].reshape(blocks, rows, -1), b, out=out[:cut].reshape(blocks, rows, -1))
    if cut < a.shape[0]:
        np.matmul(a[cut:], b, out=out[cut:])
    return out


def _expit(x) -> np.ndarray:
    """The logistic function as statsmodels' logit link computes it, ``1 / (1 + exp(-x))`` (numpy's
    vectorised exp: a third of the time of scipy's expit), in a new array."""
    out = np.negative(x)
    with np.errstate(over="ignore"):
        np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _deviance(w, mu, n_zero) -> np.ndarray:
    """Binomial deviance per replicate of rows whose first ``n_zero`` have outcome 0 and the others
    outcome 1, with statsmodels' clipping of the mean."""
    mu = np.clip(mu, _EPS, 1 - _EPS)
    zero, one = slice(None, n_zero), slice(n_zero, None)
    return -2 * ((w[:, zero] * np.log1p(-mu[:, zero])).sum(axis=1) + (w[:, one] * np.log(mu[:, one])).sum(axis=1))


def _distinct(rows) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The distinct rows of a 2-d array in lexicographic order, ``keys``, with ``inverse`` (which
    key each row is), ``order`` (the rows sorted by key) and ``starts`` (where each key's rows
    start in ``order``): a quantity of the rows sums over the keys as
    ``np.add.reduceat(values[..., order], starts, axis=-1)``."""
    order = np.lexsort(rows.T[::-1])  # stable, the first column most significant
    ranked = rows[order]
    new = np.concatenate([[True], (ranked[1:] != ranked[:-1]).any(axis=1)])
    starts = np.flatnonzero(new)
    inverse = np.empty(len(rows), dtype=np.intp)
    inverse[order] = np.cumsum(new) - 1
    return ranked[starts], inverse, order, starts


def logit_newton(y, X, weights=None, start=None, *, maxiter: int = 100, tol: float = 1e-10, dev_tol=None):
    """Maximum-likelihood logistic coefficients for many weightings of one data set at once.

    ``y`` (n,) 0/1, ``X`` (n, k), ``weights`` (R, n) frequency weights (``None``: one unweighted
    fit), ``start`` (k,) or (R, k). Returns ``(beta (R, k), converged (R,))``. Newton-Raphson,
    which for the canonical logit link is IRLS. Each replicate stops when its largest step is
    below ``tol`` or, with ``dev_tol``, when its deviance changes by at most ``dev_tol``
    (statsmodels' GLM rule, ``tol=1e-8``: with it, a replicate under separation stops where
    statsmodels' stops). Where ``X'WX`` is singular (a resample in which a category is absent)
    the update is the minimum-norm one, as statsmodels' least-squares IRLS makes it.

    Rows with the same ``y`` and ``x`` add the same terms to the likelihood, so the fits run on
    the distinct rows with their weights summed (a few hundred survey answers have far fewer
    distinct rows), and ``X'WX`` is a product with the distinct columns of ``x_j x_l``.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    if not np.isin(y, (0.0, 1.0)).all():
        raise ValueError("logit_newton fits a 0/1 outcome")
    w = np.ones((1, len(y))) if weights is None else np.asarray(weights, dtype=float)
    keys, _, order, starts = _distinct(np.column_stack([y, X]))
    y, X, w = keys[:, 0], keys[:, 1:], np.add.reduceat(w[:, order], starts, axis=1)
    n_zero = int((y == 0).sum())  # the distinct rows are sorted by outcome first
    n_rep, k = w.shape[0], X.shape[1]
    products, which, _, _ = _distinct((X[:, :, None] * X[:, None, :]).reshape(len(X), k * k).T)
    products = np.ascontiguousarray(products.T)

    def gram(v):  # X' diag(v) X per replicate
        return _matmul(v, products)[:, which].reshape(-1, k, k)

    beta = np.zeros((n_rep, k)) if start is None else np.broadcast_to(np.asarray(start, float), (n_rep, k)).copy()
    # singular designs are a property of the weights (which rows are in), found once
    singular = np.linalg.matrix_rank(gram(w), hermitian=True) < k
    x_t = np.ascontiguousarray(X.T)
    mu = _expit(_matmul(beta, x_t))
    dev = _deviance(w, mu, n_zero) if dev_tol is not None else None
    active = np.ones(n_rep, dtype=bool)
    converged = np.zeros(n_rep, dtype=bool)
    for _ in range(maxiter):
        idx = np.flatnonzero(active)
        if idx.size == 0:
            break
        b, wa, m = (beta, w, mu) if idx.size == n_rep else (beta[idx], w[idx], mu[idx])
        grad = _matmul(wa * (y - m), X)
        hess = gram(wa * m * (1 - m))
        bad = singular[idx]
        if not bad.any():
            step = np.linalg.solve(hess, grad[..., None])[..., 0]
        else:
            step = np.empty_like(b)
            step[~bad] = np.linalg.solve(hess[~bad], grad[~bad][..., None])[..., 0]
            # the minimum-norm IRLS update pinv(X'WX) X'Wz, with X'Wz = X'WX beta + gradient
            h = hess[bad]
            target = np.einsum("rkl,rl->rk", h, b[bad]) + grad[bad]
            step[bad] = np.einsum("rkl,rl->rk", np.linalg.pinv(h, hermitian=True), target) - b[bad]
        b = b + step
        beta[idx] = b
        m = _expit(_matmul(b, x_t))
        mu[idx] = m
        done = np.abs(step).max(axis=1) < tol
        if dev_tol is not None:
            new_dev = _deviance(wa, m, n_zero)
            done |= np.abs(new_dev - dev[idx]) <= dev_tol
            dev[idx] = new_dev
        converged[idx[done]] = True
        active[idx[done]] = False
    return beta, converged


def _logit_cov(y, X, beta) -> np.ndarray:
    mu = _expit(X @ beta)
    return np.linalg.inv((X * (mu * (1 - mu))[:, None]).T @ X)


# --------------------------------------------------------------------------- effects
def _potential_outcomes(b_o, b_m, xo0, groups, pos, draws=None):
    """``po[tm][te]`` (R,): the mean over respondents of P(outcome) with the exposure at ``te``
    and the mediator at its potential value under exposure ``tm``. ``draws[tm]`` (R, n) are the
    uniforms that simulate the mediator the way numpy's binomial sampler turns them into 0/1;
    without draws the mediator is averaged over its fitted probability (the plug-in estimate).

    Respondents with the same covariates share every probability, so those are computed once per
    covariate pattern (``groups``: :func:`_covariate_patterns` of ``xo0`` and ``xm0``, the designs
    with exposure and mediator set to 0); only the simulated mediators are per respondent,
    counted per pattern."""
    e_o, m_o, e_m = pos
    n, k_o = len(xo0), xo0.shape[1]
    patterns, _, order, starts = groups
    size = np.diff(np.append(starts, n))
    base = _matmul(b_o, np.ascontiguousarray(patterns[:, :k_o].T))  # exposure and mediator at 0
    rest_m = _matmul(b_m, np.ascontiguousarray(patterns[:, k_o:].T))  # exposure at 0
    lin = [base + b_o[:, [e_o]] * te for te in (0, 1)]
    without, with_m = [_expit(v) for v in lin], [_expit(v + b_o[:, [m_o]]) for v in lin]
    po = [[None, None], [None, None]]
    for tm in (0, 1):
        p_m = _expit(rest_m + b_m[:, [e_m]] * tm)
        if draws is None:
            treated = p_m * size  # expected number of respondents per pattern with the mediator
        else:
            p, u = np.repeat(p_m, size, axis=1), draws[tm][:, order]
            treated = np.add.reduceat(np.where(p <= 0.5, u > 1 - p, u <= p), starts, axis=1, dtype=float)
        for te in (0, 1):
            po[tm][te] = ((size - treated) * without[te] + treated * with_m[te]).sum(axis=1) / n
    return po


def _covariate_patterns(xo0, xm0):
    """:func:`_distinct` rows of the two designs side by side (exposure and mediator at 0)."""
    return _distinct(np.column_stack([xo0, xm0]))


def _effects(po) -> dict[str, np.ndarray]:
    """Average effects per replicate (as statsmodels' MediationResults combines them)."""
    acme = [po[1][t] - po[0][t] for t in (0, 1)]
    ade = [po[t][1] - po[t][0] for t in (0, 1)]
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
    groups = _covariate_patterns(xo0, xm0)
    point = {k: float(v[0]) for k, v in _effects(_potential_outcomes(b_o, b_m, xo0, groups, (e_o, m_o, e_m))).items()}

    rng = np.random.default_rng(seed)
    if engine == "statsmodels":
        reps = _statsmodels_replicates(y_o, x_o, y_m, x_m, exposure, mediator, method, n_rep, rng)
    else:
        reps = _batched_replicates(yo, xo, ym, xm, xo0, groups, (e_o, m_o, e_m), b_o[0], b_m[0], method, n_rep, rng)
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


#: the replicates are simulated in blocks of at most this many (replicate, respondent) cells, so
#: that memory stays bounded on a large file (1,000 replicates of 300,000 respondents would be
#: 2.4 GB a simulated mediator); the default data's 1,000 replicates are one block
BLOCK_CELLS = 1 << 21


def _batched_replicates(yo, xo, ym, xm, xo0, groups, pos, start_o, start_m, method, n_rep, rng):
    """All replicates' effects, in blocks of replicates (:data:`BLOCK_CELLS`), drawing the
    random numbers replicate by replicate in statsmodels' order (so the blocks do not change them)."""
    n = len(yo)
    block = max(1, min(n_rep, BLOCK_CELLS // max(n, 1)))
    cov = None if method == "bootstrap" else (_logit_cov(yo, xo, start_o), _logit_cov(ym, xm, start_m))
    parts = []
    for first in range(0, n_rep, block):
        r = min(block, n_rep - first)
        b_o, b_m, draws = _replicate_block(yo, xo, ym, xm, start_o, start_m, cov, r, rng)
        with np.errstate(all="ignore"):
            parts.append(_effects(_potential_outcomes(b_o, b_m, xo0, groups, pos, draws)))
    return {k: np.concatenate([p[k] for p in parts]) for k in EFFECTS}


def _replicate_block(yo, xo, ym, xm, start_o, start_m, cov, n_rep, rng):
    """``n_rep`` replicates' coefficients of both models and their uniforms: bootstrap refits
    (``cov`` None) or draws from the estimates' normal approximation (``cov``: both covariances)."""
    n = len(yo)
    draws = [np.empty((n_rep, n)), np.empty((n_rep, n))]
    if cov is None:
        rows = np.empty((2, n_rep, n), dtype=np.int64)  # the resampled rows: outcome's, mediator's
        for r in range(n_rep):
            rows[0, r], rows[1, r] = rng.integers(0, n, n), rng.integers(0, n, n)
            draws[0][r], draws[1][r] = rng.random(n), rng.random(n)
        # each row's frequency in each resample: one bincount of the rows offset by replicate
        offset = rows + n * np.arange(2 * n_rep).reshape(2, n_rep, 1)
        w_o, w_m = np.bincount(offset.ravel(), minlength=2 * n_rep * n).reshape(2, n_rep, n).astype(float)
        with np.errstate(all="ignore"):
            b_o, _ = logit_newton(yo, xo, w_o, start_o, dev_tol=1e-8)
            b_m, _ = logit_newton(ym, xm, w_m, start_m, dev_tol=1e-8)
    else:
        cov_o, cov_m = cov
        b_o, b_m = np.empty((n_rep, len(start_o))), np.empty((n_rep, len(start_m)))
        for r in range(n_rep):
            b_o[r] = rng.multivariate_normal(start_o, cov_o)
            b_m[r] = rng.multivariate_normal(start_m, cov_m)
            draws[0][r], draws[1][r] = rng.random(n), rng.random(n)
    return b_o, b_m, draws


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
