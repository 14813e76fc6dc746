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
  coefficients (R's ``svyglm``), used by :mod:`calaim.stats.models` under a weight.

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
    text_blank = raw.map(lambda v: isinstance(v, str) and v.strip() == "")
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


def glm_covariance(X, y, p, w, strata=None, fpc=None) -> GLMCovariance:
    """Design-based ("sandwich") covariance of survey-weighted logistic estimates.

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
    bread = np.linalg.inv(X.T @ (X * (w * p * (1.0 - p))[:, None]))
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
