"""The statistics a registry row can ask for, one registered class each.

Every row of ``data/published/findings.csv`` names a ``statistic``. Its class says, for that
statistic alone:

* :meth:`Statistic.check_item` / the class flags: what a well-formed row needs (items, codes,
  a model and term) -- :func:`calaim.stats.findings.check_registry` asks the class;
* :meth:`Statistic.compute`: how the number is recomputed from respondent-level data, through
  the estimate kernel (:mod:`calaim.stats.estimate`) for shares, means and counts;
* :meth:`Statistic.tolerance`: how close a reproduction must come to the published value;
* :meth:`Statistic.suppressed`: when the estimate may not be shown (``min_base`` and the
  public small-count rule).

Adding a statistic means one new subclass decorated with :func:`register`, and its tests.
Nothing here reads files, prints or keeps state.

Place in the flow: derive -> estimate -> **statistics** (one recipe per kind of published
number) -> findings (published vs reproduced) -> scorecards.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import numpy as np
import pandas as pd

from calaim.stats import estimate

#: Default tolerances (see the methods page).
SHARE_TOL_LARGE, SHARE_TOL_SMALL, LARGE_BASE = 3.0, 6.0, 100
MEAN_TOL = 0.3


class Absent(Exception):
    """Raised inside a row's computation when what it needs is not in the data."""


class Statistic:
    """One kind of published number. Subclasses set ``name`` and override what differs."""

    name: ClassVar[str] = ""
    #: the row names a population (every statistic computed on respondents)
    needs_population: ClassVar[bool] = True
    #: the row names at least one item
    needs_items: ClassVar[bool] = True
    #: the row lists the codes counted
    needs_codes: ClassVar[bool] = False
    #: the row names a model and a term instead of items
    uses_models: ClassVar[bool] = False
    #: the row is recomputed at all (context rows are facts about the study)
    evaluated: ClassVar[bool] = True
    #: without a registry tolerance, the row matches when the published value is inside the CI
    matches_by_ci: ClassVar[bool] = False
    #: computed outside the estimate kernel, yet resting on a base: hidden below ``min_base``
    needs_min_base: ClassVar[bool] = False

    def check_item(self, item: str, cb, multi_items: set[str]) -> str | None:
        """A problem with one of the row's items, or None."""
        if item in cb.items and item not in cb.columns:
            return f"{item!r} is an item with several columns; name one column"
        return None

    def tolerance(self, base) -> float:
        """The default matching tolerance on ``base`` (NaN: compared by the CI instead)."""
        return float("nan")

    def compute(self, ev, r: dict, items: list[str], mask, codes, exclude, pick) -> dict:
        """Reproduced value, base and CI of row ``r`` (``ev``: the evaluator's data access);
        raises :class:`Absent` when the data lack what the row needs."""
        raise Absent(f"statistic {self.name!r} cannot be evaluated")

    def suppressed(self, base, est: estimate.Estimate | None, min_base: int, tiny: Callable) -> bool:
        """Whether the estimate is hidden: the kernel's rules for what it computed, else a base
        below ``min_base`` or a small count (``tiny``) under the public rules."""
        if est is not None:
            return bool(est.suppressed)
        if self.needs_min_base and (pd.isna(base) or base < min_base):
            return True
        return bool(tiny(base))


STATISTICS: dict[str, Statistic] = {}


def register(cls: type[Statistic]) -> type[Statistic]:
    """Class decorator: make ``cls`` the statistic of its ``name``."""
    if not cls.name or cls.name in STATISTICS:
        raise ValueError(f"statistic {cls.name!r} is unnamed or registered twice")
    STATISTICS[cls.name] = cls()
    return cls


def get(name: str) -> Statistic:
    """The registered statistic ``name`` (KeyError names the known ones)."""
    try:
        return STATISTICS[name]
    except KeyError:
        raise KeyError(f"unknown statistic {name!r} (one of: {', '.join(STATISTICS)})") from None


def _picked(results: list[estimate.Estimate], items: list[str], agg: str, pick) -> tuple[estimate.Estimate, str]:
    values = [e.value for e in results]
    if all(np.isnan(values)):
        raise Absent("empty base")
    j = int(pick(values)) if pick else 0
    note = ""
    if agg:
        empty = [it for it, x in zip(items, results, strict=True) if np.isnan(x.value)]
        note = f"{agg} over {len(items)} items: {items[j]}"
        if empty:
            note += f"; empty: {', '.join(empty)}"
    return results[j], note


@register
class Share(Statistic):
    """The percentage of a base giving one of the listed codes (Wilson interval)."""

    name = "share"
    needs_codes = True

    def tolerance(self, base) -> float:
        large = base is not None and not pd.isna(base) and base >= LARGE_BASE
        return SHARE_TOL_LARGE if large else SHARE_TOL_SMALL

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        e, note = _picked([ev.share(it, codes, mask, exclude) for it in items], items, r["aggregate"], pick)
        return dict(reproduced=e.value, base=e.base, k=e.count, ci_low=e.ci_low, ci_high=e.ci_high, estimate=e,
                    note=note)


@register
class Mean(Statistic):
    """The mean answer of a base (t interval)."""

    name = "mean"

    def tolerance(self, base) -> float:
        return MEAN_TOL

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        e, note = _picked([ev.mean(it, mask, exclude) for it in items], items, r["aggregate"], pick)
        return dict(reproduced=e.value, base=e.base, k=e.count, ci_low=e.ci_low, ci_high=e.ci_high, estimate=e,
                    note=note)


@register
class Count(Statistic):
    """A number of respondents: all of the population, or those giving the listed codes."""

    name = "count"
    needs_items = False

    def tolerance(self, base) -> float:
        return 0.0

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        if not items:
            w = None if ev.weight is None else ev.values(ev.weight, mask)
            e = estimate.count(np.ones(int(mask.sum())), policy=ev.policy, weights=w)
        else:
            v, w = ev.answered_w(items[0], mask, exclude)
            e = estimate.count(v, codes or None, ev.policy, w)
        return dict(reproduced=e.value, base=e.base, estimate=e)


@register
class NSelected(Statistic):
    """How many options of a select-all question at least one respondent chose."""

    name = "n_selected"

    def check_item(self, item, cb, multi_items):
        return None if item in multi_items else f"n_selected needs a multi-select item, not {item!r}"

    def tolerance(self, base) -> float:
        return 0.0

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        item = items[0]
        cols = [c for c in ev.cb.columns_of(item) if c in ev.frame.columns] if item in ev.cb.items else []
        if not cols:
            raise Absent(f"no option of {item!r} in data")
        chosen = sum(bool(np.any(ev.values(c, mask) == 1)) for c in cols)
        return dict(reproduced=float(chosen), base=int(mask.sum()))


@register
class Rank(Statistic):
    """The rank of one option among its question's options, by share choosing it (1 = most)."""

    name = "rank"
    needs_min_base = True

    def check_item(self, item, cb, multi_items):
        if not (item in cb.columns and cb.columns[item].kind == "binary"):
            return f"rank needs a multi-select option column, not {item!r}"
        return super().check_item(item, cb, multi_items)

    def tolerance(self, base) -> float:
        return 0.0

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        item = items[0]
        ev.column(item)  # Absent when the data lack it
        cols = ev.options_of(item)
        shares = {c: ev.share(c, codes or (1.0,), mask, exclude) for c in cols}
        own = shares[item].value
        if np.isnan(own):
            raise Absent("empty base")
        higher = sum(1 for c, e in shares.items() if c != item and not np.isnan(e.value) and e.value > own + 1e-12)
        return dict(reproduced=float(1 + higher), base=shares[item].base)


@register
class OddsRatio(Statistic):
    """An odds ratio of a term in one of the paper's models (or the min / max over several)."""

    name = "odds_ratio"
    needs_population = False
    needs_items = False
    uses_models = True
    matches_by_ci = True
    needs_min_base = True

    def compute(self, ev, r, items, mask, codes, exclude, pick) -> dict:
        mids = [m for m in r["model"].split("|") if m]
        fits = [ev.odds_ratio(m, r["term"]) for m in mids]
        j = int(pick([f[0] for f in fits])) if pick else 0
        orr, lo, hi, n = fits[j]
        note = f"{r['aggregate']} over {len(mids)} models: {mids[j]}" if len(mids) > 1 else ""
        return dict(reproduced=orr, ci_low=lo, ci_high=hi, base=n, note=note)


@register
class Context(Statistic):
    """A fact about the study (a date, the number of focus groups): listed, never evaluated."""

    name = "context"
    needs_population = False
    needs_items = False
    evaluated = False
