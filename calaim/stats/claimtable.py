"""The claims table: a chapter's tests of the report's comparative claims (the results of
:mod:`calaim.stats.claims`), collected in a :class:`Claims`, adjusted together for multiplicity
(Holm) and labelled supported or not. :mod:`calaim.stats.claims` re-exports :class:`Claims`,
:func:`holm` and :func:`format_p`.

Place in the flow: claims/models (after estimate), before registry and display.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

ALPHA = 0.05


def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest of m p-values times (m - i + 1), made
    non-decreasing in that order and capped at 1. NaN entries stay NaN and do not count as tests.
    Written out rather than called from statsmodels' ``multipletests`` (which gives the same
    values, ``tests/test_claims.py``): its Holm branch runs a full ``gc.collect()`` on every
    call, about 0.15 s in a chapter's kernel, for each table of tests in the book."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ran = ~np.isnan(p)
    q = p[ran]
    if q.size:
        order = np.argsort(q, kind="stable")
        stepped = np.maximum.accumulate(q[order] * np.arange(q.size, 0, -1))
        adjusted = np.empty(q.size)
        adjusted[order] = np.minimum(stepped, 1.0)
        out[ran] = adjusted
    return out


def format_p(p: float) -> str:
    """'< 0.001', '0.023' or '–' (not tested)."""
    if p is None or pd.isna(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _estimate(r: dict) -> str:
    if r.get("estimate"):
        return r["estimate"]
    if pd.isna(r.get("a")) or pd.isna(r.get("b")):
        return "–"
    d = 1 if r.get("kind") == "mean" else 0
    return f"{r['a']:.{d}f} vs {r['b']:.{d}f}"


def _bases(r: dict) -> str:
    return f"{r['n_a']:,}" if r.get("n_b") is None else f"{r['n_a']:,} / {r['n_b']:,}"


class Claims:
    """The claims of one chapter, each with its test; :meth:`table` adjusts them together."""

    # what add() records, and the columns table() shows (index: the claim)
    RECORD = [
        "claim",
        "where",
        "estimate (a vs b)",
        "bases",
        "test",
        "statistic",
        "p",
        "equivalence margin",
        "direction_ok",
        "expect",
    ]
    COLUMNS = [*RECORD[1:8], "p (Holm)", "direction as reported", "supported"]

    def __init__(self, alpha: float = ALPHA):
        self.alpha = alpha
        self.rows: list[dict] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(
        self,
        claim: str,
        where: str,
        res: dict,
        higher: str = "a",
        direction_ok: bool | None = None,
        expect: str = "difference",
        bases: str | None = None,
    ) -> dict:
        """Record ``claim`` (a sentence of the report), tested by ``res``. The report says side
        ``higher`` ("a" or "b") is the larger; pass ``direction_ok`` instead when the claim's
        direction needs more than a > b. A result that carries its own ``direction_ok`` (those
        of :func:`ranked`) is judged by it unless one is passed. ``expect`` is
        "difference", or "no difference" for a claim that groups do not differ: that needs an
        equivalence test (:func:`equivalent_shares`, :func:`equivalent_means`,
        :func:`equivalent_groups`), whose p-value is small when the difference lies within its
        margin, and whose direction is the estimate lying within the margin."""
        if higher not in ("a", "b"):
            raise ValueError("higher must be 'a' or 'b'")
        if expect not in ("difference", "no difference"):
            raise ValueError("expect must be 'difference' or 'no difference'")
        if expect == "no difference" and "margin" not in res:
            raise ValueError(
                f"claim {claim!r}: a claim of no difference needs an equivalence test (a result with a margin, "
                f"e.g. equivalent_groups), not {res.get('test')!r}: a large p-value is no evidence of no difference"
            )
        if direction_ok is None and "direction_ok" in res:  # tests that judge it themselves (ranked)
            direction_ok = res["direction_ok"]
        if direction_ok is None:
            d = res.get("a", np.nan) - res.get("b", np.nan)
            direction_ok = bool(d > 0 if higher == "a" else d < 0) if pd.notna(d) else False
        row = {
            "claim": claim,
            "where": where,
            "estimate (a vs b)": _estimate(res),
            "bases": bases or _bases(res),
            "test": res["test"],
            "statistic": res.get("statistic", ""),
            "p": res.get("p", np.nan),
            "equivalence margin": res.get("margin_text", "–"),
            "direction_ok": bool(direction_ok),
            "expect": expect,
        }
        self.rows.append(row)
        return row

    def frame(self) -> pd.DataFrame:
        """The raw records: unformatted p-values, Holm-adjusted p-values and verdicts."""
        t = pd.DataFrame(self.rows, columns=self.RECORD)
        t["p"] = t["p"].astype(float)
        t["p (Holm)"] = holm(t["p"].to_numpy()) if len(t) else np.nan
        t["supported"] = [
            self._verdict(p, p_adj, ok) for p, p_adj, ok in zip(t["p"], t["p (Holm)"], t["direction_ok"], strict=True)
        ]
        return t

    def _verdict(self, p: float, p_adjusted: float, direction_ok: bool) -> str:
        if pd.isna(p):
            return "not tested"
        if not direction_ok:
            return "no"
        return "yes" if p_adjusted < self.alpha else "direction only"

    def table(self, last: int | None = None, adjust: bool = True) -> pd.DataFrame:
        """The claims ready to display, one row each (index: the claim). With ``adjust`` the p
        (Holm, over all the tested claims) and verdict columns are added: a claim is *supported*
        ("yes") when the data lean the reported way and its Holm-adjusted p-value is below 0.05,
        "direction only" when they lean that way without significance, "no" when they do not lean
        that way. For a claim of no difference, leaning the reported way means the estimated
        difference lies within the equivalence margin, and its p-value is the equivalence test's
        (small when the difference is shown to lie within the margin), so a large p-value of a
        test of difference never supports it; the equivalence margin column is shown when the
        chapter has such a claim. ``last`` keeps the last n rows."""
        t = self.frame()
        t["direction as reported"] = np.where(t["p"].isna(), "–", np.where(t["direction_ok"], "yes", "no"))
        t["p (Holm)"] = t["p (Holm)"].map(format_p)
        t["p"] = t["p"].map(format_p)
        cols = self.COLUMNS if adjust else [c for c in self.COLUMNS if c not in ("p (Holm)", "supported")]
        if (t["expect"] == "difference").all():  # no equivalence claim: no margin column
            cols = [c for c in cols if c != "equivalence margin"]
        out = t.set_index("claim")[cols]
        out.index.name = None
        return out.iloc[-last:] if last else out
