"""Shares, means and crosstabs with bases, 95% confidence intervals and small-base suppression.

All functions take a frame already passed through :func:`calaim.data.recode.derive` and return tidy
DataFrames; none print, plot or write files. The conventions are the report's:

* a share's base is everyone in the population (and subgroup) who answered the item, minus the
  codes excluded from the base ("Not applicable" for better/worse items);
* sectors overlap, so a table "by sector" counts a respondent in each sector they belong to;
* an estimate on a base below ``min_base`` is suppressed (value and CI set to missing, with
  ``suppressed`` = True), as the report does for small groups;
* under a public-release policy (``policy=DisclosurePolicy.for_release(True)``; the chapter
  context of ``chapter.setup(..., public=True)``, to which ``calaim build --public`` passes
  ``public``, holds it) no count of 1 to ``min_count - 1`` respondents is shown
  (11 for a public release, the usual small-cell rule): a share whose count, or whose base minus
  count, is that small is suppressed with its count; a base that small is hidden (NaN) and its
  estimate suppressed. With the default policy (``min_count`` 0) nothing changes.

With a weight column (``weight=...``; the chapter context of ``chapter.setup(..., weight=...)``,
to which ``calaim build --weight`` passes it, holds it) shares and means are weighted by that column and
every table gains an ``effective_n`` column (Kish's effective n) beside the unweighted ``base``;
with none (the default) nothing changes.

Every share and mean, with its CI and these rules, comes from the estimate kernel
(:mod:`calaim.stats.estimate`; Wilson score intervals for shares, which behave well near 0% and
100% and on small bases; t intervals for means); the tables here are its released form. The
intervals describe sampling noise only: the survey is a convenience sample.

Nothing here is set for a whole kernel: every function takes the disclosure ``policy`` and the
``weight`` as arguments (defaults: no policy beyond ``min_base``, unweighted). A build's rules
are a :class:`Rules` value (``min_base``, policy, weight), whose methods are these functions with
the rules filled in; a chapter reaches it as ``ctx.tables`` (:class:`calaim.book.chapter.Context`),
so that ``ctx.tables.share(df, "x", [1])`` is ``share(df, "x", [1], min_base=ctx.min_base,
policy=ctx.policy, weight=ctx.weight)``.

Place in the flow: derive -> estimate -> **tables** (chapters' tables and figure CSVs).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calaim.data import compact
from calaim.stats import estimate
from calaim.stats.estimate import DEFAULT_MIN_BASE, DisclosurePolicy

PUBLIC_MIN_COUNT = estimate.PUBLIC_MIN_COUNT
wilson = estimate.wilson  # the kernel's Wilson interval, for a share a notebook computes itself

NO_POLICY = estimate.NO_POLICY  # no rule beyond min_base (the default of every function)


def weights_of(frame: pd.DataFrame, mask=None, weight: str | None = None) -> np.ndarray | None:
    """The values of the weight column ``weight`` for the rows of ``frame`` in ``mask`` (None
    when unweighted). For a share or mean a notebook computes itself: pass them to the kernel
    with the values."""
    if not weight:
        return None
    if weight not in frame.columns:
        raise KeyError(f"weight column '{weight}' is not in the data")
    w = frame[weight] if mask is None else frame.loc[mask, weight]
    return pd.to_numeric(w, errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def suppress_count(k, policy: DisclosurePolicy = NO_POLICY):
    """``k`` (a number of respondents; scalar, array, Series or a frame of counts such as a
    crosstab), with the counts ``policy`` forbids showing replaced by NaN. For counts a notebook
    computes itself; :func:`release` for tables."""
    if np.isscalar(k):
        return np.nan if policy.small(k) else k
    if isinstance(k, (pd.Series, pd.DataFrame)):
        values = k.apply(pd.to_numeric, errors="coerce") if isinstance(k, pd.DataFrame) else pd.to_numeric(k)
        values = values.astype(float)
        return values.mask((values > 0) & (values < policy.min_count))
    values = np.asarray(k, dtype=float)
    return np.where((values > 0) & (values < policy.min_count), np.nan, values)


def release(
    frame: pd.DataFrame,
    counts: Iterable[str] = (),
    estimates: Mapping | None = None,
    min_base: int | None = None,
    policy: DisclosurePolicy = NO_POLICY,
) -> pd.DataFrame:
    """The released form of a table a notebook builds itself (a crosstab, a distribution, the
    data of a figure): the same rules as the estimate kernel's, declared per column.

    ``counts`` are columns of respondent counts: each goes through :func:`suppress_count`.
    ``estimates`` maps an estimate column (or a tuple of columns: value, CI ends, text) to what
    it rests on, ``(base, count)``: the column of its base (None when the table has none, as for
    a share of all completes) and of the respondents it counts (None for a mean). An estimate is
    blanked (NaN, or "–" in a text column) where its base is below ``min_base``, or where the
    policy hides its base, its count or base minus count (from which the count follows). The
    decision uses the values before any count is hidden.
    """
    out = frame.copy()
    for cols, rests in (estimates or {}).items():
        base, count = (rests, None) if isinstance(rests, str) or rests is None else tuple(rests)
        hide = pd.Series(False, index=frame.index)
        b = pd.to_numeric(frame[base], errors="coerce") if base is not None else None
        k = pd.to_numeric(frame[count], errors="coerce") if count is not None else None
        if b is not None:
            if min_base is not None:
                hide |= b < min_base
            hide |= b.map(policy.small).astype(bool)
        if k is not None:
            hide |= k.map(policy.small).astype(bool)
            if b is not None:
                hide |= (b - k).map(policy.small).astype(bool)
        for c in [cols] if isinstance(cols, str) else list(cols):
            if pd.api.types.is_numeric_dtype(out[c]) and not pd.api.types.is_bool_dtype(out[c]):
                out[c] = out[c].astype(float).mask(hide)
            elif pd.api.types.is_string_dtype(out[c]):
                out[c] = out[c].mask(hide, "–")
            else:
                out[c] = out[c].astype(object).mask(hide, "–")
    for c in counts:
        shown = suppress_count(frame[c], policy)
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
        mask &= compact.truthy(frame[subgroup])
    return mask


def count_answers(frame: pd.DataFrame, column: str, mask: pd.Series, codes, exclude=()) -> tuple[int, int]:
    """(k, n): of the respondents in ``mask``, those answering ``codes`` to ``column`` and all who
    answered it (a missing answer or an ``exclude`` code, such as "Not applicable", leaves the base)."""
    values, _ = answers(frame, column, mask, exclude)
    return int(np.isin(values, _codes(codes)).sum()), int(values.size)


def answers(
    frame: pd.DataFrame, column: str, mask: pd.Series, exclude=(), weight: str | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """The answers to ``column`` of the respondents in ``mask`` who are in its base (answered,
    not an ``exclude`` code), and their values of the weight column ``weight`` (None when unweighted)."""
    values = pd.to_numeric(frame.loc[mask, column], errors="coerce")
    keep = values.notna() & ~values.isin(_codes(exclude))
    w = weights_of(frame, mask, weight)
    return values[keep].to_numpy(dtype=float), None if w is None else w[keep.to_numpy()]


def share(
    frame: pd.DataFrame,
    column: str,
    codes,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> dict:
    """Percent of the base whose ``column`` is in ``codes``, with base, count and Wilson CI
    (:func:`calaim.stats.estimate.share`, in its released form under ``policy``; weighted by the
    column ``weight`` when one is given)."""
    values, w = answers(frame, column, mask_of(frame, population, subgroup), exclude, weight)
    return estimate.share(values, _codes(codes), min_base, policy, w).released()


def mean(
    frame: pd.DataFrame,
    column: str,
    population: str | None = "complete",
    subgroup: str | None = None,
    exclude=(),
    min_base: int = DEFAULT_MIN_BASE,
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> dict:
    """Mean of a numeric column with a t interval (:func:`calaim.stats.estimate.mean`)."""
    values, w = answers(frame, column, mask_of(frame, population, subgroup), exclude, weight)
    out = estimate.mean(values, min_base, policy, w).released()
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
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> pd.DataFrame:
    """Every response code's share of the base (one row per code, in codebook order)."""
    rows = []
    for code, label in labels.items():
        if float(code) in _codes(exclude):
            continue
        r = share(frame, column, [code], population, subgroup, exclude, min_base, policy=policy, weight=weight)
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
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> pd.DataFrame:
    """Shares of named code groups (e.g. {"Total better": [1, 2], "Total worse": [4, 5]}) for
    several columns (e.g. the rows of a grid item), in long form."""
    rows = []
    for col, label in columns.items():
        if col not in frame:
            continue
        for gname, codes in groups.items():
            r = share(frame, col, codes, population, subgroup, exclude, min_base, policy=policy, weight=weight)
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
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> pd.DataFrame:
    """One share per (overlapping) subgroup, optionally preceded by the overall share."""
    rules = {"policy": policy, "weight": weight}
    rows = []
    if overall:
        rows.append({"subgroup": overall, **share(frame, column, codes, population, None, exclude, min_base, **rules)})
    for col, label in subgroups.items():
        if col in frame:
            rows.append({"subgroup": label, **share(frame, column, codes, population, col, exclude, min_base, **rules)})
    return pd.DataFrame(rows)


def means_by_subgroups(
    frame: pd.DataFrame,
    column: str,
    subgroups: Mapping[str, str],
    population: str | None = "complete",
    min_base: int = DEFAULT_MIN_BASE,
    overall: str | None = "Overall",
    *,
    policy: DisclosurePolicy = NO_POLICY,
    weight: str | None = None,
) -> pd.DataFrame:
    """One mean per (overlapping) subgroup, optionally preceded by the overall mean."""
    rules = {"policy": policy, "weight": weight}
    rows = []
    if overall:
        rows.append({"subgroup": overall, **mean(frame, column, population, None, (), min_base, **rules)})
    for col, label in subgroups.items():
        if col in frame:
            rows.append({"subgroup": label, **mean(frame, column, population, col, (), min_base, **rules)})
    return pd.DataFrame(rows)


def format_pct(value, decimals: int = 0) -> str:
    """'52%' style text; suppressed or missing values show an en dash."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "–"
    return f"{value:.{decimals}f}%"


def present(columns: Iterable[str], frame: pd.DataFrame) -> list[str]:
    """The subset of ``columns`` present in the data (new waves may drop items)."""
    return [c for c in columns if c in frame.columns]


@dataclass(frozen=True)
class Rules:
    """The rules every table of one build follows: ``min_base``, the disclosure ``policy`` and
    the survey ``weight`` column (None: unweighted). Its methods are the functions of this
    module, same arguments in the same order, with those rules filled in (a method's own
    ``min_base`` overrides the rules' one); ``chapter.Context.tables`` is the chapter's.
    Immutable: two contexts in one process never share rules by accident."""

    min_base: int = DEFAULT_MIN_BASE
    policy: DisclosurePolicy = NO_POLICY
    weight: str | None = None

    @property
    def _kw(self) -> dict:
        return {"policy": self.policy, "weight": self.weight}

    def _base(self, min_base: int | None) -> int:
        return self.min_base if min_base is None else int(min_base)

    def share(
        self,
        frame: pd.DataFrame,
        column: str,
        codes,
        population: str | None = "complete",
        subgroup: str | None = None,
        exclude=(),
        min_base: int | None = None,
    ) -> dict:
        """:func:`share` under these rules."""
        return share(frame, column, codes, population, subgroup, exclude, self._base(min_base), **self._kw)

    def mean(
        self,
        frame: pd.DataFrame,
        column: str,
        population: str | None = "complete",
        subgroup: str | None = None,
        exclude=(),
        min_base: int | None = None,
    ) -> dict:
        """:func:`mean` under these rules."""
        return mean(frame, column, population, subgroup, exclude, self._base(min_base), **self._kw)

    def distribution(
        self,
        frame: pd.DataFrame,
        column: str,
        labels: Mapping[int, str],
        population: str | None = "complete",
        subgroup: str | None = None,
        exclude=(),
        min_base: int | None = None,
    ) -> pd.DataFrame:
        """:func:`distribution` under these rules."""
        return distribution(frame, column, labels, population, subgroup, exclude, self._base(min_base), **self._kw)

    def grid(
        self,
        frame: pd.DataFrame,
        columns: Mapping[str, str],
        groups: Mapping[str, Sequence],
        population: str | None = "complete",
        subgroup: str | None = None,
        exclude=(),
        min_base: int | None = None,
    ) -> pd.DataFrame:
        """:func:`grid` under these rules."""
        return grid(frame, columns, groups, population, subgroup, exclude, self._base(min_base), **self._kw)

    def by_subgroups(
        self,
        frame: pd.DataFrame,
        column: str,
        codes,
        subgroups: Mapping[str, str],
        population: str | None = "complete",
        exclude=(),
        min_base: int | None = None,
        overall: str | None = "Overall",
    ) -> pd.DataFrame:
        """:func:`by_subgroups` under these rules."""
        base = self._base(min_base)
        return by_subgroups(frame, column, codes, subgroups, population, exclude, base, overall, **self._kw)

    def means_by_subgroups(
        self,
        frame: pd.DataFrame,
        column: str,
        subgroups: Mapping[str, str],
        population: str | None = "complete",
        min_base: int | None = None,
        overall: str | None = "Overall",
    ) -> pd.DataFrame:
        """:func:`means_by_subgroups` under these rules."""
        return means_by_subgroups(frame, column, subgroups, population, self._base(min_base), overall, **self._kw)

    def suppress_count(self, k):
        """:func:`suppress_count` under this policy."""
        return suppress_count(k, self.policy)

    def release(
        self,
        frame: pd.DataFrame,
        counts: Iterable[str] = (),
        estimates: Mapping | None = None,
        min_base: int | None = None,
    ) -> pd.DataFrame:
        """:func:`release` under these rules (estimates on a base below ``min_base`` blanked)."""
        return release(frame, counts, estimates, self._base(min_base), self.policy)

    def weights_of(self, frame: pd.DataFrame, mask=None) -> np.ndarray | None:
        """:func:`weights_of` of this weight column."""
        return weights_of(frame, mask, self.weight)

    def answers(
        self, frame: pd.DataFrame, column: str, mask: pd.Series, exclude=()
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """:func:`answers` with this weight column."""
        return answers(frame, column, mask, exclude, self.weight)
