"""Change since 2023: this wave's registry rows tested against the 2023 published values.

Where it sits: registry (:func:`calaim.stats.findings.evaluate`) -> **change** -> display
(the "Change since 2023" scorecard, key findings' what-changed panel). When a book runs on a
wave other than 2023, the published numbers are a comparison, not a target, so match/miss is
replaced by a tested change:

* shares: the change in percentage points, Newcombe's hybrid score interval for a difference
  of independent proportions (statsmodels ``confint_proportions_2indep(method="newcomb")``;
  Newcombe 1998, method 10) and a two-sided score test, the 2023 count taken as the published
  share of the published base (``published_n``); no published base -> not comparable;
* means: the change in units with Welch's interval and test when both SDs are known (the
  registry gives no 2023 SD, so published means are "not testable");
* odds ratios: the ratio of odds ratios, its interval and a z test from the two log-scale
  standard errors worked out from the 95% intervals;
* counts, ranks and everything else: the difference is shown, not tested;
* a published bound ("over 90%", registry ``comparison`` gt / ge / lt / le): not comparable,
  since the 2023 value itself is not known, only that it lies beyond the bound.

With the previous wave's microdata (``calaim build --compare-data OLD_FILE``) both sides are
samples: :func:`micro_change` compares this wave's evaluated row with the same row evaluated
on the old file, so every share and mean is testable (the counts and standard errors come
from the two estimates; a mean's standard error is recovered from its t interval) and the
published numbers play no part.

p-values are Holm-adjusted within each chapter section; the verdict is "changed" (adjusted
p < 0.05), "no detectable change" or "not comparable". Pure functions; nothing is read here.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, test_proportions_2indep

from calaim.stats import claimtable

ALPHA = 0.05
Z = stats.norm.ppf(0.975)
CHANGED, NO_CHANGE, NOT_COMPARABLE = "changed", "no detectable change", "not comparable"
VERDICTS = (CHANGED, NO_CHANGE, NOT_COMPARABLE)
UNITS = {"share": "points", "mean": "units", "odds_ratio": "ratio"}


@dataclass(frozen=True)
class Change:
    """One comparison: ``change`` (new - old, or new / old for a ratio) with its 95% CI and p."""

    change: float
    ci_low: float
    ci_high: float
    p_value: float
    unit: str
    method: str
    reason: str = ""  # why not testable (then CI and p are NaN)

    @property
    def testable(self) -> bool:
        return not math.isnan(self.p_value)


def _untested(change: float, unit: str, reason: str) -> Change:
    return Change(change, math.nan, math.nan, math.nan, unit, "none", reason)


def share_change(count_new: int, n_new: int, count_old: int, n_old: int) -> Change:
    """Difference of two independent proportions in points (new - old)."""
    if min(n_new, n_old) <= 0:
        return _untested(math.nan, "points", "no base")
    with warnings.catch_warnings():  # statsmodels divides by zero on shares of 0% or 100% (p is then NaN)
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = confint_proportions_2indep(count_new, n_new, count_old, n_old, method="newcomb", compare="diff")
        _, p = test_proportions_2indep(count_new, n_new, count_old, n_old, method="score", compare="diff")
    diff = count_new / n_new - count_old / n_old
    if not np.isfinite(p):
        p = 1.0 if diff == 0 else 0.0  # both 0% or both 100%: no difference; otherwise a degenerate certain one
    return Change(100 * diff, 100 * lo, 100 * hi, float(p), "points", "Newcombe hybrid score interval; score test")


def mean_change(m_new, sd_new, n_new, m_old, sd_old, n_old) -> Change:
    """Difference of two means (new - old), Welch's interval and test; untested without both SDs."""
    diff = float(m_new) - float(m_old)
    if any(v is None or (isinstance(v, float) and math.isnan(v)) for v in (sd_new, sd_old, n_new, n_old)):
        return _untested(diff, "units", "no 2023 SD")
    v1, v2 = sd_new**2 / n_new, sd_old**2 / n_old
    se = math.sqrt(v1 + v2)
    df = (v1 + v2) ** 2 / (v1**2 / (n_new - 1) + v2**2 / (n_old - 1))
    t = stats.t.ppf(0.975, df)
    p = 2 * stats.t.sf(abs(diff / se), df) if se > 0 else math.nan
    return Change(diff, diff - t * se, diff + t * se, float(p), "units", "Welch")


def _mean_se(lo: float, hi: float, n: float) -> float:
    """The standard error behind a 95% t interval on ``n`` respondents (the kernel's mean CI)."""
    if n is None or math.isnan(n) or n < 2 or math.isnan(lo) or math.isnan(hi):
        return math.nan
    return (hi - lo) / (2 * stats.t.ppf(0.975, n - 1))


def _log_se(lo, hi) -> float:
    return (math.log(hi) - math.log(lo)) / (2 * Z)


def ratio_change(or_new, lo_new, hi_new, or_old, lo_old, hi_old) -> Change:
    """Ratio of two odds ratios (new / old) from their 95% intervals (log scale, z test)."""
    vals = (or_new, lo_new, hi_new, or_old, lo_old, hi_old)
    if any(v is None or not np.isfinite(v) or v <= 0 for v in vals):
        return _untested(or_new / or_old if or_old and np.isfinite(or_old) else math.nan, "ratio", "no 2023 interval")
    d = math.log(or_new) - math.log(or_old)
    se = math.hypot(_log_se(lo_new, hi_new), _log_se(lo_old, hi_old))
    p = 2 * stats.norm.sf(abs(d / se))
    return Change(math.exp(d), math.exp(d - Z * se), math.exp(d + Z * se), float(p), "ratio", "log ratio, z test")


def holm(p: pd.Series) -> pd.Series:
    """Holm-adjusted p-values (:func:`calaim.stats.claimtable.holm`); NaN (untested) stays NaN
    and does not count."""
    return pd.Series(claimtable.holm(p.to_numpy(dtype=float)), index=p.index)


def _num(v) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return math.nan
    return f


def row_change(row: dict, published_ci: tuple[float, float] = (math.nan, math.nan)) -> Change:
    """The change of one evaluated registry row (a dict of :func:`findings.evaluate` columns)."""
    stat = row["statistic"]
    new, old = _num(row.get("reproduced")), _num(row.get("published"))
    unit = UNITS.get(stat, "difference")
    if row.get("status") == "not in data" or row.get("suppressed") or math.isnan(new) or math.isnan(old):
        return _untested(math.nan, unit, "not in data" if row.get("status") == "not in data" else "no estimate")
    if str(row.get("comparison") or "eq") != "eq":  # "over 90%": the 2023 value is not known, only a bound
        return _untested(math.nan, unit, "published only as a bound")
    if stat == "share":
        n_new, n_old = _num(row.get("base")), _num(row.get("published_n"))
        if math.isnan(n_new) or math.isnan(n_old):
            return _untested(new - old, unit, "no published base")
        return share_change(round(new / 100 * n_new), int(n_new), round(old / 100 * n_old), int(n_old))
    if stat == "mean":
        return mean_change(new, None, _num(row.get("base")), old, None, _num(row.get("published_n")))
    if stat == "odds_ratio":
        return ratio_change(new, _num(row.get("ci_low")), _num(row.get("ci_high")), old, *published_ci)
    return _untested(new - old, unit, "not a tested statistic")


def _sample_size(row: dict) -> float:
    """The n behind an estimate: Kish's effective n when weighted, else the base."""
    n = _num(row.get("effective_n"))
    return n if not math.isnan(n) else _num(row.get("base"))


def micro_change(new: dict, old: dict) -> Change:
    """The change of one registry row between two samples: ``new`` and ``old`` are the row as
    :func:`calaim.stats.findings.evaluate` computed it on this wave's and on the previous wave's
    microdata. Shares: counts are the shares of the two (effective) bases, Newcombe's interval
    and a score test; means: Welch on the two standard errors; odds ratios: ratio of the two."""
    stat = new["statistic"]
    unit = UNITS.get(stat, "difference")
    absent = [r for r in (new, old) if r.get("status") == "not in data"]
    if absent:
        return _untested(math.nan, unit, "not in data")
    if new.get("suppressed") or old.get("suppressed"):
        return _untested(math.nan, unit, "no estimate")
    v_new, v_old = _num(new.get("reproduced")), _num(old.get("reproduced"))
    if math.isnan(v_new) or math.isnan(v_old):
        return _untested(math.nan, unit, "no estimate")
    n_new, n_old = _sample_size(new), _sample_size(old)
    if stat == "share":
        if math.isnan(n_new) or math.isnan(n_old):
            return _untested(v_new - v_old, unit, "no base")
        return share_change(
            round(v_new / 100 * n_new), int(round(n_new)), round(v_old / 100 * n_old), int(round(n_old))
        )
    if stat == "mean":
        se_new = _mean_se(_num(new.get("ci_low")), _num(new.get("ci_high")), n_new)
        se_old = _mean_se(_num(old.get("ci_low")), _num(old.get("ci_high")), n_old)
        if math.isnan(se_new) or math.isnan(se_old):
            return _untested(v_new - v_old, unit, "no interval")
        return mean_change(v_new, se_new * math.sqrt(n_new), n_new, v_old, se_old * math.sqrt(n_old), n_old)
    if stat == "odds_ratio":
        return ratio_change(
            v_new, _num(new.get("ci_low")), _num(new.get("ci_high")),
            v_old, _num(old.get("ci_low")), _num(old.get("ci_high")),
        )
    return _untested(v_new - v_old, unit, "not a tested statistic")


def change_table(
    ev: pd.DataFrame, registry: pd.DataFrame | None = None, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per evaluated registry row: 2023 published, this wave, change, CI, p, Holm p
    (within ``section``), verdict and direction ("up" / "down" / "").

    ``previous``: the same registry evaluated on the previous wave's microdata. The comparison
    is then with it (:func:`micro_change`), and ``published_2023`` holds the previous wave's
    estimates."""
    ci = {}
    if registry is not None and {"published_lo", "published_hi"} <= set(registry.columns):
        for rid, lo, hi in zip(registry["id"], registry["published_lo"], registry["published_hi"], strict=True):
            ci[rid] = (_num(lo), _num(hi))
    if previous is not None:
        old = {r["id"]: r for r in previous.to_dict("records")}
        missing = {"statistic": "", "status": "not in data"}
        changes = [micro_change(r, old.get(r["id"], missing)) for r in ev.to_dict("records")]
        reference = pd.to_numeric(ev["id"].map(previous.set_index("id")["reproduced"]), errors="coerce")
    else:
        changes = [row_change(r, ci.get(r["id"], (math.nan, math.nan))) for r in ev.to_dict("records")]
        reference = pd.to_numeric(ev["published"], errors="coerce")
    out = pd.DataFrame(
        {
            "id": ev["id"].to_numpy(),
            "section": ev["section"].to_numpy(),
            "published_2023": reference.to_numpy(),
            "this_wave": pd.to_numeric(ev["reproduced"], errors="coerce").to_numpy(),
            "change": [c.change for c in changes],
            "unit": [c.unit for c in changes],
            "ci_low": [c.ci_low for c in changes],
            "ci_high": [c.ci_high for c in changes],
            "p": [c.p_value for c in changes],
            "reason": [c.reason for c in changes],
        }
    )
    out["p_holm"] = out.groupby("section", group_keys=False)["p"].apply(holm)
    verdict = np.where(out["p_holm"].isna(), NOT_COMPARABLE, np.where(out["p_holm"] < ALPHA, CHANGED, NO_CHANGE))
    out["verdict"] = verdict
    neutral = np.where(out["unit"] == "ratio", 1.0, 0.0)
    out["direction"] = np.where(
        out["verdict"] != CHANGED, "", np.where(out["change"].to_numpy() > neutral, "up", "down")
    )
    return out
