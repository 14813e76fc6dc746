"""Shares, means and crosstabs with bases, 95% confidence intervals and small-base suppression.

All functions take a frame already passed through :func:`calaim.data.recode.derive` and return tidy
DataFrames; none print, plot or write files. The conventions are the report's:

* a share's base is everyone in the population (and subgroup) who answered the item, minus the
  codes excluded from the base ("Not applicable" for better/worse items);
* sectors overlap, so a table "by sector" counts a respondent in each sector they belong to;
* an estimate on a base below ``min_base`` is suppressed (value and CI set to missing, with
  ``suppressed`` = True), as the report does for small groups;
* under a public-release policy (:func:`set_policy`, set by ``chapter.setup(..., public=True)``
  and by ``calaim build --public``) no count of 1 to ``min_count - 1`` respondents is shown
  (11 for a public release, the usual small-cell rule): a share whose count, or whose base minus
  count, is that small is suppressed with its count; a base that small is hidden (NaN) and its
  estimate suppressed. With the default policy (``min_count`` 0) nothing changes.

Confidence intervals for shares are Wilson score intervals (statsmodels
``proportion_confint(method="wilson")``), which behave well near 0% and 100% and on small bases;
for means, t intervals. They describe sampling noise only: the survey is a convenience sample.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

DEFAULT_MIN_BASE = 30
PUBLIC_MIN_COUNT = 11  # a public release shows no count of 1 to 10 respondents
PUBLIC_ENV = "CALAIM_PUBLIC"  # "1": chapter.setup applies the public policy (calaim build --public sets it)


@dataclass(frozen=True)
class DisclosurePolicy:
    """Disclosure rules on top of ``min_base``: ``min_count`` 0 (the default) adds none;
    ``PUBLIC_MIN_COUNT`` (public releases) forbids showing 1 to ``min_count - 1`` respondents."""

    min_count: int = 0

    @property
    def public(self) -> bool:
        return self.min_count > 1

    def small(self, k) -> bool:
        """True when ``k`` respondents is a count that may not be shown (1 <= k < min_count);
        False for a missing ``k``."""
        return bool(not pd.isna(k) and 0 < k < self.min_count)


_policy = DisclosurePolicy()


def policy() -> DisclosurePolicy:
    """The disclosure policy in force (module-wide, one per kernel)."""
    return _policy


def set_policy(min_count: int = 0) -> DisclosurePolicy:
    """Set the disclosure policy (``chapter.setup`` does, from ``public``); return the previous one."""
    global _policy
    previous = _policy
    _policy = DisclosurePolicy(min_count=int(min_count))
    return previous


def suppress_count(k):
    """``k`` (a number of respondents; scalar, array or Series), with the counts the policy
    forbids showing replaced by NaN. For counts a notebook computes itself."""
    if np.isscalar(k):
        return np.nan if _policy.small(k) else k
    values = np.asarray(k, dtype=float)
    hidden = (values > 0) & (values < _policy.min_count)
    if isinstance(k, (pd.Series, pd.DataFrame)):
        return k.astype(float).mask(hidden)
    return np.where(hidden, np.nan, values)


def _codes(codes) -> list[float]:
    if codes is None:
        return []
    if isinstance(codes, str):
        return [float(c) for c in codes.replace(",", ";").split(";") if c.strip() != ""]
    if np.isscalar(codes):
        return [float(codes)]
    return [float(c) for c in codes]


def mask_of(frame: pd.DataFrame, population: str | None = None, subgroup: str | None = None) -> pd.Series:
    """Boolean mask for ``pop_<population>`` and a boolean subgroup column."""
    mask = pd.Series(True, index=frame.index)
    if population:
        mask &= frame[f"pop_{population}"].astype(bool)
    if subgroup:
        mask &= frame[subgroup].fillna(False).astype(bool)
    return mask


def count_answers(frame: pd.DataFrame, column: str, mask: pd.Series, codes, exclude=()) -> tuple[int, int]:
    """(k, n): of the respondents in ``mask``, those answering ``codes`` to ``column`` and all who
    answered it (a missing answer or an ``exclude`` code, such as "Not applicable", leaves the base)."""
    values = pd.to_numeric(frame.loc[mask, column], errors="coerce")
    values = values[values.notna() & ~values.isin(_codes(exclude))]
    return int(values.isin(_codes(codes)).sum()), int(values.size)


def wilson(k, n, alpha: float = 0.05):
    """Wilson score interval for k successes out of n, as proportions (arrays allowed)."""
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        lo, hi = proportion_confint(k, np.where(n > 0, n, np.nan), alpha=alpha, method="wilson")
    return lo, hi


def share(
    frame: pd.DataFrame,
    column: str,
    codes,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Percent of the base whose ``column`` is in ``codes``, with base, count and Wilson CI."""
    k, n = count_answers(frame, column, mask_of(frame, population, subgroup), codes, exclude)
    lo, hi = wilson(k, n)
    pct = 100 * k / n if n else np.nan
    pol = _policy
    suppressed = n < min_base or pol.small(k) or pol.small(n - k)
    return {
        "value": np.nan if suppressed else pct,
        "ci_low": np.nan if suppressed else 100 * float(lo),
        "ci_high": np.nan if suppressed else 100 * float(hi),
        "count": np.nan if suppressed and pol.public else k,
        "base": np.nan if pol.small(n) else n,
        "suppressed": suppressed,
    }


def mean(
    frame: pd.DataFrame,
    column: str,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Mean of a numeric column with a t interval."""
    mask = mask_of(frame, population, subgroup)
    values = pd.to_numeric(frame.loc[mask, column], errors="coerce")
    values = values[values.notna() & ~values.isin(_codes(exclude))].astype(float)
    n = int(values.size)
    m = float(values.mean()) if n else np.nan
    if n > 1:
        half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n)
    else:
        half = np.nan
    suppressed = n < min_base or _policy.small(n)
    return {
        "value": np.nan if suppressed else m,
        "ci_low": np.nan if suppressed else m - half,
        "ci_high": np.nan if suppressed else m + half,
        "base": np.nan if _policy.small(n) else n,
        "suppressed": suppressed,
    }


def distribution(
    frame: pd.DataFrame,
    column: str,
    labels: Mapping[int, str],
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> pd.DataFrame:
    """Every response code's share of the base (one row per code, in codebook order)."""
    rows = []
    for code, label in labels.items():
        if float(code) in _codes(exclude):
            continue
        r = share(frame, column, [code], population, subgroup, exclude, min_base)
        rows.append({"code": code, "response": label, **r})
    return pd.DataFrame(rows)


def grid(
    frame: pd.DataFrame,
    columns: Mapping[str, str],
    groups: Mapping[str, Sequence],
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> pd.DataFrame:
    """Shares of named code groups (e.g. {"Total better": [1, 2], "Total worse": [4, 5]}) for
    several columns (e.g. the rows of a grid item), in long form."""
    rows = []
    for col, label in columns.items():
        if col not in frame:
            continue
        for gname, codes in groups.items():
            r = share(frame, col, codes, population, subgroup, exclude, min_base)
            rows.append({"column": col, "row": label, "group": gname, **r})
    return pd.DataFrame(rows)


def by_subgroups(
    frame: pd.DataFrame,
    column: str,
    codes,
    subgroups: Mapping[str, str],
    population: str | None = "complete",
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
    overall: str | None = "Overall",
) -> pd.DataFrame:
    """One share per (overlapping) subgroup, optionally preceded by the overall share."""
    rows = []
    if overall:
        rows.append({"subgroup": overall, **share(frame, column, codes, population, None, exclude, min_base)})
    for col, label in subgroups.items():
        if col in frame:
            rows.append({"subgroup": label, **share(frame, column, codes, population, col, exclude, min_base)})
    return pd.DataFrame(rows)


def means_by_subgroups(
    frame: pd.DataFrame,
    column: str,
    subgroups: Mapping[str, str],
    population: str | None = "complete",
    min_base: int = DEFAULT_MIN_BASE,
    overall: str | None = "Overall",
) -> pd.DataFrame:
    rows = []
    if overall:
        rows.append({"subgroup": overall, **mean(frame, column, population, None, (), min_base)})
    for col, label in subgroups.items():
        if col in frame:
            rows.append({"subgroup": label, **mean(frame, column, population, col, (), min_base)})
    return pd.DataFrame(rows)


def format_pct(value, decimals: int = 0) -> str:
    """'52%' style text; suppressed or missing values show an en dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.{decimals}f}%"


def present(columns: Iterable[str], frame: pd.DataFrame) -> list[str]:
    """The subset of ``columns`` present in the data (new waves may drop items)."""
    return [c for c in columns if c in frame.columns]
