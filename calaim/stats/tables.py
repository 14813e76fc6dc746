"""Shares, means and crosstabs with bases, 95% confidence intervals and small-base suppression.

All functions take a frame already passed through :func:`calaim.data.recode.derive` and return tidy
DataFrames; none print, plot or write files. The conventions are the report's:

* a share's base is everyone in the population (and subgroup) who answered the item, minus the
  codes excluded from the base ("Not applicable" for better/worse items);
* sectors overlap, so a table "by sector" counts a respondent in each sector they belong to;
* an estimate on a base below ``min_base`` is suppressed (value and CI set to missing, with
  ``suppressed`` = True), as the report does for small groups;
* under a public-release policy (:func:`set_policy`, set by ``chapter.setup(..., public=True)``,
  to which ``calaim build --public`` passes ``public``) no count of 1 to ``min_count - 1`` respondents is shown
  (11 for a public release, the usual small-cell rule): a share whose count, or whose base minus
  count, is that small is suppressed with its count; a base that small is hidden (NaN) and its
  estimate suppressed. With the default policy (``min_count`` 0) nothing changes.

With a weight column in force (:func:`set_weight`, set by ``chapter.setup(..., weight=...)``,
to which ``calaim build --weight`` passes it) shares and means are weighted by that column and
every table gains an ``effective_n`` column (Kish's effective n) beside the unweighted ``base``;
with none (the default) nothing changes.

Every share and mean, with its CI and these rules, comes from the estimate kernel
(:mod:`calaim.stats.estimate`; Wilson score intervals for shares, which behave well near 0% and
100% and on small bases; t intervals for means); the tables here are its released form. The
intervals describe sampling noise only: the survey is a convenience sample.

Place in the flow: derive -> estimate -> **tables** (chapters' tables and figure CSVs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from calaim.stats import estimate
from calaim.stats.estimate import DEFAULT_MIN_BASE, DisclosurePolicy

PUBLIC_MIN_COUNT = estimate.PUBLIC_MIN_COUNT
wilson = estimate.wilson  # the kernel's Wilson interval, for a share a notebook computes itself

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


_weight: str | None = None


def weight() -> str | None:
    """The weight column in force (None: unweighted)."""
    return _weight


def set_weight(column: str | None = None) -> str | None:
    """Weight every share and mean by ``column`` (None: unweighted); return the previous one."""
    global _weight
    previous = _weight
    _weight = column or None
    return previous


def weights_of(frame: pd.DataFrame, mask=None) -> np.ndarray | None:
    """The weights in force for the rows of ``frame`` in ``mask`` (None when unweighted). For a
    share or mean a notebook computes itself: pass them to the kernel with the values."""
    if _weight is None:
        return None
    if _weight not in frame.columns:
        raise KeyError(f"weight column '{_weight}' is not in the data")
    w = frame[_weight] if mask is None else frame.loc[mask, _weight]
    return pd.to_numeric(w, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def suppress_count(k, policy: DisclosurePolicy | None = None):
    """``k`` (a number of respondents; scalar, array, Series or a frame of counts such as a
    crosstab), with the counts the policy (the one in force unless ``policy`` is given) forbids
    showing replaced by NaN. For counts a notebook computes itself; :func:`release` for tables."""
    pol = _policy if policy is None else policy
    if np.isscalar(k):
        return np.nan if pol.small(k) else k
    if isinstance(k, (pd.Series, pd.DataFrame)):
        values = k.apply(pd.to_numeric, errors="coerce") if isinstance(k, pd.DataFrame) else pd.to_numeric(k)
        values = values.astype(float)
        return values.mask((values > 0) & (values < pol.min_count))
    values = np.asarray(k, dtype=float)
    return np.where((values > 0) & (values < pol.min_count), np.nan, values)


def release(
    frame: pd.DataFrame,
    counts: Iterable[str] = (),
    estimates: Mapping | None = None,
    min_base: int | None = None,
    policy: DisclosurePolicy | None = None,
) -> pd.DataFrame:
    """The released form of a table a notebook builds itself (a crosstab, a distribution, the
    data of a figure): the same rules as the estimate kernel's, declared per column.

    ``counts`` are columns of respondent counts: each goes through :func:`suppress_count`.
    ``estimates`` maps an estimate column (or a tuple of columns: value, CI ends, text) to what
    it rests on, ``(base, count)``: the column of its base (None when the table has none, as for
    a share of all completes) and of the respondents it counts (None for a mean). An estimate is
    blanked (NaN, or "–" in a text column) where its base is below ``min_base``, or where the
    policy hides its base, its count or base minus count (from which the count follows). The
    decision uses the values before any count is hidden. ``policy``: the one in force unless given.
    """
    pol = _policy if policy is None else policy
    out = frame.copy()
    for cols, rests in (estimates or {}).items():
        base, count = (rests, None) if isinstance(rests, str) or rests is None else tuple(rests)
        hide = pd.Series(False, index=frame.index)
        b = pd.to_numeric(frame[base], errors="coerce") if base is not None else None
        k = pd.to_numeric(frame[count], errors="coerce") if count is not None else None
        if b is not None:
            if min_base is not None:
                hide |= b < min_base
            hide |= b.map(pol.small).astype(bool)
        if k is not None:
            hide |= k.map(pol.small).astype(bool)
            if b is not None:
                hide |= (b - k).map(pol.small).astype(bool)
        for c in [cols] if isinstance(cols, str) else list(cols):
            if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
                out[c] = out[c].astype(float).mask(hide)
            elif pd.api.types.is_string_dtype(out[c]):
                out[c] = out[c].mask(hide, "–")
            else:
                out[c] = out[c].astype(object).mask(hide, "–")
    for c in counts:
        shown = suppress_count(frame[c], pol)
        out[c] = shown.astype("Int64") if pd.api.types.is_integer_dtype(frame[c]) else shown  # whole numbers stay so
    return out


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
    values, _ = answers(frame, column, mask, exclude)
    return int(np.isin(values, _codes(codes)).sum()), int(values.size)


def answers(frame: pd.DataFrame, column: str, mask: pd.Series, exclude=()) -> tuple[np.ndarray, np.ndarray | None]:
    """The answers to ``column`` of the respondents in ``mask`` who are in its base (answered,
    not an ``exclude`` code), and their weights (None when unweighted)."""
    values = pd.to_numeric(frame.loc[mask, column], errors="coerce")
    keep = values.notna() & ~values.isin(_codes(exclude))
    w = weights_of(frame, mask)
    return values[keep].to_numpy(dtype=float), None if w is None else w[keep.to_numpy()]


def share(
    frame: pd.DataFrame,
    column: str,
    codes,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Percent of the base whose ``column`` is in ``codes``, with base, count and Wilson CI
    (:func:`calaim.stats.estimate.share`, in its released form; weighted when a weight is set)."""
    values, w = answers(frame, column, mask_of(frame, population, subgroup), exclude)
    return estimate.share(values, _codes(codes), min_base, _policy, w).released()


def mean(
    frame: pd.DataFrame,
    column: str,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Mean of a numeric column with a t interval (:func:`calaim.stats.estimate.mean`)."""
    values, w = answers(frame, column, mask_of(frame, population, subgroup), exclude)
    out = estimate.mean(values, min_base, _policy, w).released()
    del out["count"]
    return out


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
