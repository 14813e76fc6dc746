"""The estimate kernel: every share, mean and count of the book, with its CI and disclosure rules.

Place in the flow: io -> validate -> derive (:mod:`calaim.data`) -> **estimate** -> tables,
claims, findings (the registry) -> display -> chapters -> book. Everything that shows a share,
mean or count of respondents (chapter tables and figure CSVs through :mod:`calaim.stats.tables`,
the published-vs-reproduced scorecards and key findings through :mod:`calaim.stats.findings`)
gets it from :func:`share`, :func:`mean` or :func:`count` here, so a figure and its scorecard
row cannot drift apart. This is the only module of ``calaim`` that computes a confidence
interval for a share.

Each function takes the answers that are in the base (one value per respondent, missing answers
and excluded codes already removed) and returns an :class:`Estimate`: the value as computed,
its 95% CI, base and count, whether it is suppressed and why, and the method used. The
estimate keeps its value when suppressed (the registry still compares it, the scorecard shows
a dash); :meth:`Estimate.released` gives the form a table may show.

Rules, in order:

* ``min_base``: an estimate on a base below it is suppressed (reason ``"base below N"``);
* a :class:`DisclosurePolicy` with ``min_count`` (11 for a public release) also suppresses a
  share or count whose count, or base minus count, is 1 to ``min_count - 1`` (it could be
  worked out), and any estimate on such a base; the released base and count are then hidden.

Shares get Wilson score intervals (statsmodels ``proportion_confint(method="wilson")``), means t
intervals.

Survey weights (``weights``: one finite weight above 0 per value, checked by
:func:`calaim.stats.weights.check_weights`) make shares and means weighted:

* a weighted share is sum(w in codes) / sum(w); its CI is the Wilson interval on Kish's
  effective n (sum(w)^2 / sum(w^2)), with the weighted share times the effective n as count;
* a weighted mean is sum(w y) / sum(w); its CI is a t interval (n - 1 df) on the Taylor
  linearisation SE (:func:`calaim.stats.weights.linearised_mean`, one respondent per PSU, no
  strata, no finite-population correction: R's ``svydesign(id = ~1, weights = ~w)``);
* ``base`` and ``count`` stay the unweighted numbers of respondents, and the suppression rules
  apply to them (disclosure is about respondents); ``effective_n`` is Kish's effective n
  (the base itself without weights) and ``method`` says that the estimate is weighted.

With all weights equal the weighted estimators reduce exactly to the unweighted ones: every
field is the same except ``weighted`` and ``method``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from calaim.stats import weights as survey_weights

DEFAULT_MIN_BASE = 30
PUBLIC_MIN_COUNT = 11  # a public release shows no count of 1 to 10 respondents


@dataclass(frozen=True)
class DisclosurePolicy:
    """Disclosure rules on top of ``min_base``: ``min_count`` 0 (the default) adds none;
    ``PUBLIC_MIN_COUNT`` (public releases) forbids showing 1 to ``min_count - 1`` respondents."""

    min_count: int = 0

    @classmethod
    def for_release(cls, public: bool) -> DisclosurePolicy:
        return cls(PUBLIC_MIN_COUNT if public else 0)

    @property
    def public(self) -> bool:
        return self.min_count > 1

    def small(self, k) -> bool:
        """True when ``k`` respondents is a count that may not be shown (1 <= k < min_count);
        False for a missing ``k``."""
        return bool(not pd.isna(k) and 0 < k < self.min_count)


NO_POLICY = DisclosurePolicy()


@dataclass(frozen=True)
class Estimate:
    """One estimate: ``value`` (percent for a share), its 95% CI, ``base`` (respondents in the
    base), ``count`` (respondents counted; NaN for a mean), ``suppressed`` with its ``reason``
    and ``method`` (how value and CI were computed)."""

    value: float
    ci_low: float
    ci_high: float
    base: int
    count: float
    suppressed: bool
    reason: str
    method: str
    base_hidden: bool = False  # the base itself is a count the policy may not show
    count_hidden: bool = False
    effective_n: float = np.nan  # Kish's effective n (the base when unweighted)
    weighted: bool = False

    def released(self) -> dict:
        """The form a table may show: value and CI missing when suppressed; base and count
        missing when the policy forbids showing them."""
        off = self.suppressed
        return {
            "value": np.nan if off else self.value,
            "ci_low": np.nan if off else self.ci_low,
            "ci_high": np.nan if off else self.ci_high,
            "count": np.nan if self.count_hidden else self.count,
            "base": np.nan if self.base_hidden else self.base,
            "suppressed": off,
        } | ({"effective_n": np.nan if self.base_hidden else self.effective_n} if self.weighted else {})


def wilson(k, n, alpha: float = 0.05):
    """Wilson score interval for k successes out of n, as proportions (arrays allowed; NaN where
    n is 0)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(k, np.where(n > 0, n, np.nan), alpha=alpha, method="wilson")
    return lo, hi


def _checked(weights, n: int) -> np.ndarray | None:
    """The weights as floats (None: unweighted), one finite weight above 0 per value."""
    if weights is None:
        return None
    w = np.asarray(weights).ravel()
    if w.dtype.kind in "fiu" and bool(np.all(np.isfinite(w) & (w > 0))):
        w = w.astype(float)
    else:  # the slow path names the bad rows and values
        w = survey_weights.check_weights(w.astype(object))
    if w.size != n:
        raise ValueError(f"{w.size} weights for {n} values")
    return w


def _suppression(n: int, k, min_base: int | None, policy: DisclosurePolicy) -> str:
    """Why an estimate on base ``n`` with count ``k`` (NaN: none) is suppressed ('' if it is not)."""
    if min_base is not None and n < min_base:
        return f"base below {min_base}"
    if policy.small(n):
        return f"base of 1 to {policy.min_count - 1}"
    if not pd.isna(k) and (policy.small(k) or policy.small(n - k)):
        return f"count of 1 to {policy.min_count - 1}"
    return ""


def counts(values, codes) -> tuple[int, int]:
    """(k, n): answers in ``codes`` among ``values`` (the answers in the base), and the base."""
    values = np.asarray(values, dtype=float)
    return int(np.isin(values, np.asarray(codes, dtype=float)).sum()), int(values.size)


def share_of(
    k: int,
    n: int,
    min_base: int = DEFAULT_MIN_BASE,
    policy: DisclosurePolicy = NO_POLICY,
    weights=None,
) -> Estimate:
    """Percent ``k`` of ``n`` with a Wilson 95% CI and the suppression rules (unweighted: for
    weights, pass the answers and their weights to :func:`share`)."""
    if weights is not None:
        raise TypeError("share_of takes counts; pass the answers and their weights to share()")
    k, n = int(k), int(n)
    lo, hi = wilson(k, n)
    reason = _suppression(n, k, min_base, policy)
    return Estimate(
        value=100 * k / n if n else np.nan,
        ci_low=100 * float(lo),
        ci_high=100 * float(hi),
        base=n,
        count=k,
        suppressed=bool(reason),
        reason=reason,
        method="Wilson score interval",
        base_hidden=policy.small(n),
        count_hidden=bool(reason) and policy.public,
        effective_n=float(n),
    )


def share(
    values,
    codes,
    min_base: int = DEFAULT_MIN_BASE,
    policy: DisclosurePolicy = NO_POLICY,
    weights=None,
) -> Estimate:
    """Percent of ``values`` (the answers in the base) that are in ``codes``; weighted when
    ``weights`` (one per value) are given."""
    values = np.asarray(values, dtype=float)
    w = _checked(weights, values.size)
    k, n = counts(values, codes)
    if w is None:
        return share_of(k, n, min_base, policy)
    hit = np.isin(values, np.asarray(codes, dtype=float))
    total, kw = float(w.sum()), float(w[hit].sum())
    neff = survey_weights.effective_n(w) if n else 0.0
    lo, hi = wilson(kw * neff / total if n else 0.0, neff)
    reason = _suppression(n, k, min_base, policy)
    return Estimate(
        value=100 * kw / total if n else np.nan,
        ci_low=100 * float(lo),
        ci_high=100 * float(hi),
        base=n,
        count=k,
        suppressed=bool(reason),
        reason=reason,
        method="Wilson score interval on Kish's effective n (weighted share)",
        base_hidden=policy.small(n),
        count_hidden=bool(reason) and policy.public,
        effective_n=neff,
        weighted=True,
    )


def mean(
    values,
    min_base: int = DEFAULT_MIN_BASE,
    policy: DisclosurePolicy = NO_POLICY,
    weights=None,
) -> Estimate:
    """Mean of ``values`` (numbers in the base) with a t 95% CI (n - 1 df); weighted, with the
    linearisation SE, when ``weights`` are given. Unweighted, the linearisation SE is s / sqrt(n)."""
    v = np.asarray(values, dtype=float)
    n = int(v.size)
    w = _checked(weights, n)
    lin = survey_weights.linearised_mean(v, np.ones(n) if w is None else w)
    if n > 1:
        half = float(stats.t.ppf(0.975, n - 1) * lin.se)
        lo, hi = lin.mean - half, lin.mean + half
    else:
        lo = hi = np.nan
    reason = _suppression(n, np.nan, min_base, policy)
    if w is None:
        method, neff = "t interval", float(n)
    else:
        method, neff = "t interval on the linearisation (Taylor) SE (weighted mean)", survey_weights.effective_n(w)
    return Estimate(
        lin.mean, lo, hi, n, np.nan, bool(reason), reason, method, policy.small(n), False, neff, w is not None
    )


def count(
    values,
    codes=None,
    policy: DisclosurePolicy = NO_POLICY,
    weights=None,
) -> Estimate:
    """Number of ``values`` in ``codes`` (all of them without ``codes``); no CI, no ``min_base``.
    A count is of respondents, weighted or not; ``weights`` only add the effective n."""
    w = _checked(weights, int(np.asarray(values).size))
    k, n = counts(values, codes) if codes is not None else (int(np.asarray(values).size),) * 2
    reason = _suppression(n, k, None, policy)
    hidden = bool(reason) and policy.public
    neff = float(n) if w is None else survey_weights.effective_n(w)
    return Estimate(
        float(k), np.nan, np.nan, n, k, bool(reason), reason, "count", policy.small(n), hidden, neff, w is not None
    )
