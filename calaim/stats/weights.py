"""Survey weights: checks, Kish's design effect, the effective n and a design-based variance.

Place in the flow: io -> validate (:func:`check_weights` on the weight column) -> derive ->
**weights** -> estimate (weighted shares and means) -> tables, claims, registry -> display.

The 2023 survey is unweighted (a convenience sample). A later wave, a county's own survey or a
raked version of the default data (:mod:`calaim.stats.rake`) may carry a weight column; this
module holds what every weighted estimate needs:

* :func:`check_weights`: every weight of an analysed population must be a finite number above
  0; otherwise a :class:`WeightError` names the column, the rows (1-based data rows, as
  :mod:`calaim.data.validate` counts them) and the values, grouped as zero, negative,
  missing, text or infinite;
* :func:`kish_deff` (``n * sum(w^2) / sum(w)^2``, Kish 1965) and :func:`effective_n`
  (``sum(w)^2 / sum(w^2)`` = n / deff), summarised with the weight range in a frozen
  :class:`WeightSummary`;
* :func:`linearised_mean`: the weighted (ratio) mean with its Taylor-linearisation standard
  error, optionally stratified with a finite-population correction (the form R's survey
  package uses for ``svymean``; :mod:`calaim.stats.estimate` calls it without strata);
* :func:`glm_covariance`: the same linearisation for survey-weighted logistic regression
  coefficients (R's ``svyglm``), used by :mod:`calaim.stats.models` under a weight, and for
  weighted least squares (Gaussian family), used by :mod:`calaim.stats.design_tests`.

All functions are pure: no I/O, no printing, no globals.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

MAX_SHOWN = 10


class WeightError(ValueError):
    """A weight column that cannot weight an analysis (the message names column, rows, values)."""


@dataclass(frozen=True)
class WeightSummary:
    """A weight column over the respondents it weights: ``n`` (unweighted), ``total`` (sum of
    weights), ``min``/``max`` and their ``ratio``, Kish's design effect ``deff`` and the
    ``effective_n`` (n / deff)."""

    column: str
    n: int
    total: float
    min: float
    max: float
    ratio: float
    deff: float
    effective_n: float

    def sentence(self) -> str:
        """One sentence for a data box: the weight, its range, deff and effective n."""
        return (
            f"Weighted by '{self.column}': weights {self.min:.3g} to {self.max:.3g} "
            f"(max/min {self.ratio:.3g}); Kish design effect {self.deff:.2f}, "
            f"effective n {self.effective_n:.1f} of {self.n} respondents."
        )


def _fmt(v) -> str:
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return repr(v)
        return v.strip()
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "missing"
    return f"{v:g}" if isinstance(v, (int, float, np.number)) else repr(v)


def _where(label) -> str:
    return label if isinstance(label, str) else f"row {label}"


def check_weights(values, column: str = "weight", rows=None, source: str = "") -> np.ndarray:
    """The weights as floats, after checking that each is a finite number above 0.

    ``values`` holds one weight per analysed respondent; ``rows`` the row labels to report
    (default: 1-based positions; a text label such as "line 4" is shown as it is). A problem
    raises :class:`WeightError` naming ``source`` (a file, if given), the column, and for each
    kind (text, missing, infinite, zero, negative) up to ten rows and their values.
    """
    raw = pd.Series(values).reset_index(drop=True)
    labels = list(range(1, len(raw) + 1)) if rows is None else list(rows)
    if len(labels) != len(raw):
        raise ValueError("rows must have one label per weight")
    text_blank = raw.map(lambda v: isinstance(v, str) and v.strip() == "").astype(bool)  # bool when empty too
    num = pd.to_numeric(raw.mask(text_blank), errors="coerce").astype(float).to_numpy()
    is_missing = raw.isna().to_numpy() | text_blank.to_numpy()
    kinds = {
        "text (not a number)": np.isnan(num) & ~is_missing,
        "missing": is_missing,
        "infinite": np.isinf(num),
        "zero": num == 0,
        "negative": num < 0,
    }
    parts = []
    for kind, bad in kinds.items():
        idx = np.flatnonzero(bad)
        if idx.size:
            shown = ", ".join(f"{_where(labels[i])} ({_fmt(raw.iloc[i])})" for i in idx[:MAX_SHOWN])
            more = f" and {idx.size - MAX_SHOWN} more" if idx.size > MAX_SHOWN else ""
            parts.append(f"{idx.size} {kind}: {shown}{more}")
    if parts:
        where = f"{source}: " if source else ""
        raise WeightError(
            f"{where}weight column '{column}' must be a finite number above 0 for every respondent "
            f"analysed; " + "; ".join(parts) + "."
        )
    return num


def unequal(w) -> bool:
    """Whether the weights ``w`` differ, so that there is a design to honour. Equal weights
    (none at all, or the same weight for everyone, such as a column of 1s) are the unweighted
    design: every estimate, test and model then runs the unweighted way, so that such a weight
    reproduces the unweighted book exactly."""
    w = np.asarray(w, dtype=float)
    return bool(w.size) and bool(np.ptp(w) > 0)


def kish_deff(w) -> float:
    """Kish's design effect of unequal weighting, n * sum(w^2) / sum(w)^2 (1 for equal weights)."""
    w = np.asarray(w, dtype=float)
    return float(w.size * np.sum(w * w) / np.sum(w) ** 2) if w.size else np.nan


def effective_n(w) -> float:
    """Kish's effective sample size, sum(w)^2 / sum(w^2) (n for equal weights; 0 for none)."""
    w = np.asarray(w, dtype=float)
    return float(np.sum(w) ** 2 / np.sum(w * w)) if w.size else 0.0


def summarize(w, column: str = "weight") -> WeightSummary:
    """The :class:`WeightSummary` of checked weights ``w``."""
    w = np.asarray(w, dtype=float)
    if not w.size:
        return WeightSummary(column, 0, 0.0, np.nan, np.nan, np.nan, np.nan, 0.0)
    lo, hi = float(w.min()), float(w.max())
    return WeightSummary(column, int(w.size), float(w.sum()), lo, hi, hi / lo, kish_deff(w), effective_n(w))


@dataclass(frozen=True)
class LinearisedMean:
    """A weighted mean, its Taylor-linearisation ``se`` and the ``df`` for a t interval
    (respondents minus strata)."""

    mean: float
    se: float
    df: int


def linearised_mean(y, w, strata=None, fpc=None) -> LinearisedMean:
    """Weighted mean sum(w y) / sum(w) with its linearisation SE, one respondent per PSU.

    The linearised variable is z_i = w_i (y_i - mean) / sum(w); within each stratum h with
    n_h respondents, V = (1 - n_h / N_h) * n_h / (n_h - 1) * sum_h (z_i - zbar_h)^2, summed
    over strata. ``strata`` (one label per respondent; None: one stratum) and ``fpc`` (the
    stratum population size N_h per respondent; None: no correction) follow R's
    ``svydesign(id = ~1, strata = ..., fpc = ...)``.
    """
    y = np.asarray(y, dtype=float)
    w = np.asarray(w, dtype=float)
    n = y.size
    if n == 0:
        return LinearisedMean(np.nan, np.nan, 0)
    m = float(np.sum(w * y) / np.sum(w))
    z = w * (y - m) / np.sum(w)
    labels = np.zeros(n) if strata is None else pd.factorize(pd.Series(strata))[0]
    var = 0.0
    for h in np.unique(labels):
        sel = labels == h
        nh = int(sel.sum())
        if nh < 2:
            return LinearisedMean(m, np.nan, 0)
        zh = z[sel]
        vh = nh / (nh - 1) * float(np.sum((zh - zh.mean()) ** 2))
        if fpc is not None:
            vh *= 1 - nh / float(np.asarray(fpc, dtype=float)[sel][0])
        var += vh
    return LinearisedMean(m, math.sqrt(var), n - int(np.unique(labels).size))


@dataclass(frozen=True)
class GLMCovariance:
    """The linearisation covariance of survey-weighted GLM estimates and the design's residual
    degrees of freedom (respondents minus strata minus coefficients plus one, R's
    ``df.residual`` of ``svyglm``)."""

    cov: np.ndarray
    df: int


def glm_covariance(X, y, p, w, strata=None, fpc=None, family: str = "binomial") -> GLMCovariance:
    """Design-based ("sandwich") covariance of survey-weighted logistic estimates, or with
    ``family="gaussian"`` of weighted least squares (``p`` then holds the fitted values and the
    bread drops ``p (1 - p)``: R's ``svyglm(..., family = gaussian())``, which ``svyttest`` uses).

    With the bread ``B = (X' diag(w p (1 - p)) X)^-1`` and each respondent's influence
    ``u_i = B x_i w_i (y_i - p_i)``, the covariance is the with-replacement variance of the total
    of the ``u_i``: ``sum_h (1 - n_h / N_h) n_h / (n_h - 1) sum_{i in h} (u_i - ubar_h)(u_i - ubar_h)'``
    over strata ``h`` (one stratum and no finite-population correction by default). Without
    strata the ``u_i`` sum to zero at the estimate, so this is ``n / (n - 1)`` times the HC0
    sandwich ``B (sum_i w_i^2 e_i^2 x_i x_i') B``: R survey's ``svy.varcoef`` for
    ``svydesign(id = ~1, strata = ..., weights = ..., fpc = ...)``, one respondent per PSU. The
    scale of ``w`` cancels. ``fpc`` is the stratum population size ``N_h`` of each respondent.
    """
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    w = np.asarray(w, dtype=float)
    n, k = X.shape
    if family not in ("binomial", "gaussian"):
        raise ValueError(f"unknown family {family!r}")
    working = w * p * (1.0 - p) if family == "binomial" else w
    bread = np.linalg.inv(X.T @ (X * working[:, None]))
    u = (X * (w * (y - p))[:, None]) @ bread
    labels = np.zeros(n, dtype=int) if strata is None else pd.factorize(pd.Series(strata))[0]
    cov = np.zeros((k, k))
    groups = np.unique(labels)
    for h in groups:
        sel = labels == h
        nh = int(sel.sum())
        if nh < 2:
            return GLMCovariance(np.full((k, k), np.nan), 0)
        c = u[sel] - u[sel].mean(axis=0)
        vh = nh / (nh - 1) * (c.T @ c)
        if fpc is not None:
            vh = vh * (1.0 - nh / float(np.asarray(fpc, dtype=float)[sel][0]))
        cov += vh
    return GLMCovariance(cov, int(n - groups.size - k + 1))


@dataclass(frozen=True)
class RaoScott:
    """Pearson's X^2 of a weighted r x c table with Rao and Scott's corrections.

    ``pearson`` is X^2 on the weighted table scaled to the n respondents, ``df`` = (r - 1)(c - 1);
    ``deltas`` are the generalised design effects (eigenvalues of Delta). First order:
    ``chisq`` = X^2 / mean(delta) on ``df`` (``p_chisq``). Second order: ``f`` = X^2 / trace(Delta)
    on an F with ``ndf`` = trace(Delta)^2 / trace(Delta^2) and ``ddf`` = ndf * (n - 1) (``p_f``),
    R survey's default for ``svychisq``."""

    pearson: float
    df: int
    deltas: tuple[float, ...]
    chisq: float
    p_chisq: float
    f: float
    ndf: float
    ddf: float
    p_f: float
    n: int


def rao_scott(rows, cols, w) -> RaoScott:
    """Rao-Scott corrected chi-square test of independence of ``rows`` and ``cols`` (one label per
    respondent) under weights ``w``, for a design of independent respondents without strata.

    The cell proportions p are weighted means of the cell indicators, their covariance V the
    linearisation one of :func:`linearised_mean` (n / (n - 1) times the sum of outer products of
    w_i (indicator_i - p) / sum(w)); with C the interaction contrasts made orthogonal to the main
    effects and D = diag(p), Delta = (C' D^-1 C / n)^-1 C' D^-1 V D^-1 C, as in R survey's
    ``svychisq`` (Rao and Scott 1984)."""
    from scipy import stats  # noqa: PLC0415  (only the tests of tables need it)

    r_codes, r = np.unique(np.asarray(rows), return_inverse=True)
    c_codes, c = np.unique(np.asarray(cols), return_inverse=True)
    w = np.asarray(w, dtype=float)
    n, nr, nc = w.size, r_codes.size, c_codes.size
    if nr < 2 or nc < 2 or n < 2:
        raise ValueError("a test of independence needs two rows, two columns and two respondents")
    cell = r + nr * c
    m = np.zeros((n, nr * nc))
    m[np.arange(n), cell] = 1.0
    p = w @ m / w.sum()
    z = w[:, None] * (m - p) / w.sum()
    v = n / (n - 1) * (z.T @ z)
    grid_r, grid_c = np.tile(np.arange(nr), nc), np.repeat(np.arange(nc), nr)
    row_d = (grid_r[:, None] == np.arange(1, nr)).astype(float)
    col_d = (grid_c[:, None] == np.arange(1, nc)).astype(float)
    x1 = np.column_stack([np.ones(nr * nc), row_d, col_d])
    x12 = np.column_stack([row_d[:, i] * col_d[:, j] for j in range(nc - 1) for i in range(nr - 1)])
    cmat = x12 - x1 @ np.linalg.lstsq(x1, x12, rcond=None)[0]
    inv_d = np.diag(np.where(p > 0, 1 / np.where(p > 0, p, 1), 0.0))
    denom = cmat.T @ (inv_d / n) @ cmat
    delta = np.linalg.solve(denom, cmat.T @ inv_d @ v @ inv_d @ cmat)
    table = (p * n).reshape(nc, nr).T
    x2 = float(stats.chi2_contingency(table, correction=False).statistic)
    df = (nr - 1) * (nc - 1)
    tr, tr2 = float(np.trace(delta)), float(np.trace(delta @ delta))
    ndf = tr * tr / tr2
    chisq = x2 / (tr / df)
    f = x2 / tr
    eig = tuple(sorted(float(e) for e in np.linalg.eigvals(delta).real))
    return RaoScott(
        x2,
        df,
        eig,
        chisq,
        float(stats.chi2.sf(chisq, df)),
        f,
        ndf,
        ndf * (n - 1),
        float(stats.f.sf(f, ndf, ndf * (n - 1))),
        n,
    )
