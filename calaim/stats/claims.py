"""Tests of the report's comparative claims, and the table that adjusts them for multiplicity.

A chapter tests each statement of the report of the kind "group A says X more often than group
B" with one of the functions below and records it in a :class:`Claims` collection; at the end
``claims.table()`` adjusts the p-values of all the chapter's tests together (Holm) and says which
claims the data support.

Every test returns a *result*: a dict with

* ``a``, ``b``: the two estimates compared (percentages for shares, means for means);
* ``n_a``, ``n_b``: their bases (``n_b`` is None for one-sample and paired tests);
* ``test``: the name of the test, or why it was not run; ``statistic``: its statistic as text;
* ``p``: the two-sided p-value (NaN when the test was not run);
* ``kind`` ("share", "mean" or "other") and optionally ``estimate`` (text shown instead of
  "a vs b").

The tests come from scipy and statsmodels; this module only counts, chooses and labels. A test
on a base below ``min_base`` is not run, like the estimates the book suppresses. All p-values
treat the respondents as a simple random sample; the survey is a convenience sample, so they
describe sampling noise only.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.contingency_tables import Table, mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportions_ztest

from calaim.stats.tables import DEFAULT_MIN_BASE, count_answers

ALPHA = 0.05
NOT_RUN = "not run (base below min_base)"
FISHER_BELOW = 5  # smallest expected cell count for the z test (Cochran's rule); Fisher's exact test below
MCNEMAR_EXACT_BELOW = 25  # fewer discordant pairs than this: exact (binomial) McNemar test


# ---------------------------------------------------------------------------- results
def result(
    test: str,
    p: float = np.nan,
    statistic: str = "",
    a: float = np.nan,
    b: float = np.nan,
    n_a: int = 0,
    n_b: int | None = None,
    kind: str = "share",
    estimate: str | None = None,
) -> dict:
    """A test result in the form :meth:`Claims.add` records (for tests run in a notebook)."""
    out = {
        "a": a,
        "b": b,
        "n_a": int(n_a),
        "n_b": None if n_b is None else int(n_b),
        "test": test,
        "statistic": statistic,
        "p": float(p) if p is not None else np.nan,
        "kind": kind,
    }
    if estimate is not None:
        out["estimate"] = estimate
    return out


def _pct(k, n) -> float:
    return 100 * k / n if n else np.nan


def _bool(mask: pd.Series) -> pd.Series:
    return mask.fillna(False).astype(bool)


def _values(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame:
        return pd.Series(np.nan, index=frame.index)
    return pd.to_numeric(frame[column], errors="coerce")


def _codes(codes: Iterable) -> list:
    return list(codes)


# ---------------------------------------------------------------------------- counting
def count(
    frame: pd.DataFrame, column: str, mask: pd.Series, codes: Iterable, exclude: Iterable = ()
) -> tuple[int, int]:
    """(k, n): respondents in ``mask`` answering ``codes`` and all who answered ``column``
    (missing answers and ``exclude`` codes, such as "Not applicable", leave the base); (0, 0)
    when the column is not in the data."""
    if column not in frame:
        return 0, 0
    return count_answers(frame, column, _bool(mask), codes, exclude)


def subgroup_vs_rest(
    frame: pd.DataFrame, subgroup: str, population: str | None = "complete", against: str | None = None
):
    """Masks of a (boolean) subgroup and of the rest of the population, or of the ``against``
    subgroup. Sectors overlap, so "a sector against everyone else" is the comparison of two
    groups with nobody in common."""
    pop = _bool(frame[f"pop_{population}"]) if population else pd.Series(True, index=frame.index)
    sub = _bool(frame[subgroup])
    other = _bool(frame[against]) if against else ~sub
    return pop & sub, pop & other


def _disjoint(mask_a: pd.Series, mask_b: pd.Series, what: str) -> None:
    if (_bool(mask_a) & _bool(mask_b)).any():
        raise ValueError(f"{what} needs two groups with no respondent in common")


# ---------------------------------------------------------------------------- shares
def two_proportions(
    k_a: int,
    n_a: int,
    k_b: int,
    n_b: int,
    min_base: int = DEFAULT_MIN_BASE,
    method: str = "auto",
    fisher_below: float = FISHER_BELOW,
) -> dict:
    """Compare k_a / n_a with k_b / n_b from two independent groups.

    ``method``: "z" (two-proportion z test, pooled variance), "chi2" (Pearson's chi-square on the
    2 x 2 table without continuity correction: the same p-value, since chi2 = z squared),
    "fisher" (Fisher's exact test), or "auto": Fisher when an expected cell count is below
    ``fisher_below``, otherwise z.
    """
    out = {"a": _pct(k_a, n_a), "b": _pct(k_b, n_b), "n_a": int(n_a), "n_b": int(n_b), "kind": "share"}
    if min(n_a, n_b) < max(min_base, 1):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    table = np.array([[k_a, n_a - k_a], [k_b, n_b - k_b]])
    if method == "auto":
        expected = table.sum(axis=1, keepdims=True) * table.sum(axis=0, keepdims=True) / table.sum()
        method = "fisher" if expected.min() < fisher_below else "z"
    if method == "fisher":
        res = stats.fisher_exact(table)
        return {**out, "test": "Fisher's exact test", "statistic": f"OR = {res.statistic:.2f}", "p": float(res.pvalue)}
    if method == "chi2":
        res = stats.chi2_contingency(table, correction=False)
        return {**out, "test": "chi-square test", "statistic": f"chi2(1) = {res.statistic:.2f}", "p": float(res.pvalue)}
    if method == "z":
        z, p = proportions_ztest([k_a, k_b], [n_a, n_b])
        return {**out, "test": "two-proportion z test", "statistic": f"z = {z:.2f}", "p": float(p)}
    raise ValueError(f"unknown method {method!r}")


def compare_shares(
    frame: pd.DataFrame,
    column: str,
    codes: Iterable,
    mask_a: pd.Series,
    mask_b: pd.Series,
    column_b: str | None = None,
    exclude: Iterable = (),
    min_base: int = DEFAULT_MIN_BASE,
    method: str = "auto",
    fisher_below: float = FISHER_BELOW,
) -> dict:
    """Share answering ``codes`` to ``column`` in ``mask_a`` against the share answering them to
    ``column_b`` (default: the same column) in ``mask_b``; the groups must not overlap."""
    _disjoint(mask_a, mask_b, "compare_shares")
    k_a, n_a = count(frame, column, mask_a, codes, exclude)
    k_b, n_b = count(frame, column_b or column, mask_b, codes, exclude)
    return two_proportions(k_a, n_a, k_b, n_b, min_base=min_base, method=method, fisher_below=fisher_below)


def paired_shares(
    frame: pd.DataFrame,
    column_a: str,
    column_b: str,
    mask: pd.Series,
    codes_a: Iterable = (1,),
    codes_b: Iterable | None = None,
    min_base: int = DEFAULT_MIN_BASE,
    exact: bool | str = "auto",
) -> dict:
    """The same respondents answering two questions: the share answering ``codes_a`` to
    ``column_a`` against the share answering ``codes_b`` to ``column_b``, among those in ``mask``
    who answered both, with McNemar's test (exact binomial version when ``exact`` is True, or
    under "auto" when there are fewer than 25 discordant pairs). The result's ``table`` holds the
    2 x 2 counts [[yes, yes], [yes, no]; [no, yes], [no, no]] (rows: ``column_a``)."""
    codes_b = codes_a if codes_b is None else codes_b
    if column_a not in frame or column_b not in frame:
        return {**result("not run (item missing)"), "table": None}
    a, b = _values(frame, column_a), _values(frame, column_b)
    both = _bool(mask) & a.notna() & b.notna()
    ya, yb = a[both].isin(_codes(codes_a)), b[both].isin(_codes(codes_b))
    n = int(both.sum())
    table = pd.crosstab(ya, yb).reindex(index=[True, False], columns=[True, False], fill_value=0).to_numpy()
    out = {
        "a": 100 * ya.mean() if n else np.nan,
        "b": 100 * yb.mean() if n else np.nan,
        "n_a": n,
        "n_b": None,
        "kind": "share",
        "table": table,
    }
    if n < max(min_base, 1):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    discordant = int(table[0, 1] + table[1, 0])
    use_exact = discordant < MCNEMAR_EXACT_BELOW if exact == "auto" else bool(exact)
    res = mcnemar(table, exact=use_exact)
    name = "McNemar's test (exact)" if use_exact else "McNemar's test"
    return {**out, "test": name, "statistic": f"discordant {table[0, 1]} vs {table[1, 0]}", "p": float(res.pvalue)}


def trend(
    frame: pd.DataFrame,
    column: str,
    codes: Iterable,
    band: str,
    mask: pd.Series,
    min_base: int = DEFAULT_MIN_BASE,
    exclude: Iterable = (),
) -> dict:
    """Cochran-Armitage test for a trend in the share answering ``codes`` across the ordered
    groups of ``band`` (scored by their codes), as statsmodels' linear-by-linear association test
    on the band x yes/no table. Its variance is the permutation (hypergeometric) one, N / (N - 1)
    times the textbook binomial variance. ``a`` is the share in the highest band, ``b`` in the lowest.
    Answers coded ``exclude`` (such as "Not applicable") leave the base instead of counting as "no"."""
    m = _bool(mask) & frame[band].notna() & frame[column].notna() & ~_values(frame, column).isin(_codes(exclude))
    v = _values(frame, column)[m]
    tab = pd.crosstab(frame.loc[m, band], v.isin(_codes(codes))).reindex(columns=[False, True], fill_value=0)
    shares = 100 * tab[True] / tab.sum(axis=1)
    out = {
        "a": shares.iloc[-1] if len(shares) else np.nan,
        "b": shares.iloc[0] if len(shares) else np.nan,
        "n_a": int(tab.iloc[-1].sum()) if len(tab) else 0,
        "n_b": int(tab.iloc[0].sum()) if len(tab) else 0,
        "kind": "share",
    }
    if len(tab) < 2 or tab.sum(axis=1).min() < max(min_base, 1):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    res = Table(tab.to_numpy()).test_ordinal_association(
        row_scores=tab.index.to_numpy(float), col_scores=np.array([0.0, 1.0])
    )
    return {**out, "test": "Cochran-Armitage trend test", "statistic": f"z = {res.zscore:.2f}", "p": float(res.pvalue)}


def binomial(k: int, n: int, min_base: int = DEFAULT_MIN_BASE, p0: float = 0.5) -> dict:
    """Exact binomial test of k successes in n trials against ``p0`` (two-sided). ``a`` is the
    share of successes and ``b`` the share of the others, so "a > b" reads "more said yes than no"."""
    out = {"a": _pct(k, n), "b": _pct(n - k, n), "n_a": int(n), "n_b": None, "kind": "share"}
    if n < max(min_base, 1):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    res = stats.binomtest(int(k), int(n), p0)
    return {
        **out,
        "test": f"exact binomial test (two-sided, p = {p0:g})",
        "statistic": f"{k} of {n}",
        "p": float(res.pvalue),
    }


def binomial_split(
    frame: pd.DataFrame, column: str, mask: pd.Series, yes: Iterable, no: Iterable, min_base: int = DEFAULT_MIN_BASE
) -> dict:
    """:func:`binomial` on the respondents in ``mask`` answering ``yes`` codes against those
    answering ``no`` codes (other answers are left out)."""
    v = _values(frame, column)[_bool(mask)]
    k = int(v.isin(_codes(yes)).sum())
    n = int(v.isin(_codes(yes) + _codes(no)).sum())
    return binomial(k, n, min_base=min_base)


# ---------------------------------------------------------------------------- means and ranks
def compare_means(
    frame: pd.DataFrame, column: str, mask_a: pd.Series, mask_b: pd.Series, min_base: int = DEFAULT_MIN_BASE
) -> dict:
    """Welch's t test (unequal variances) of the mean of ``column`` in two groups with no
    respondent in common."""
    _disjoint(mask_a, mask_b, "compare_means")
    v = _values(frame, column)
    a, b = v[_bool(mask_a) & v.notna()].astype(float), v[_bool(mask_b) & v.notna()].astype(float)
    out = {
        "a": a.mean() if len(a) else np.nan,
        "b": b.mean() if len(b) else np.nan,
        "n_a": len(a),
        "n_b": len(b),
        "kind": "mean",
    }
    if min(len(a), len(b)) < max(min_base, 2):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    res = stats.ttest_ind(a, b, equal_var=False)
    return {**out, "test": "Welch t test", "statistic": f"t = {res.statistic:.2f}", "p": float(res.pvalue)}


def rank_sum(values_a: Sequence, values_b: Sequence, min_base: int = DEFAULT_MIN_BASE) -> dict:
    """Mann-Whitney U test (two-sided) of ordered answers in two independent groups. The estimate
    is U / (n_a n_b): the chance that an answer from group a sits higher than one from group b
    (ties count half); 0.5 means no tendency either way."""
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if min(len(a), len(b)) < max(min_base, 1):
        return result(NOT_RUN, n_a=len(a), n_b=len(b), kind="other")
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    prob = res.statistic / (len(a) * len(b))
    return result(
        "Mann-Whitney U test (two-sided)",
        res.pvalue,
        f"U = {res.statistic:.0f}",
        a=prob,
        b=0.5,
        n_a=len(a),
        n_b=len(b),
        kind="other",
        estimate=f"P(a higher) = {prob:.2f}",
    )


def rank_correlation(x: Sequence, y: Sequence, method: str = "kendall", min_base: int = DEFAULT_MIN_BASE) -> dict:
    """Kendall's tau-b (``method="kendall"``, suited to banded answers with many ties) or
    Spearman's rho between two ordered variables; ``a`` is the coefficient, ``b`` zero."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    name = {"kendall": ("Kendall tau-b", "tau"), "spearman": ("Spearman rank correlation", "rho")}[method]
    if len(x) < max(min_base, 3):
        return result(NOT_RUN, n_a=len(x), kind="other")
    res = stats.kendalltau(x, y) if method == "kendall" else stats.spearmanr(x, y)
    return result(
        name[0],
        res.pvalue,
        f"{name[1]} = {res.statistic:.2f}",
        a=float(res.statistic),
        b=0.0,
        n_a=len(x),
        kind="other",
        estimate=f"{name[1]} = {res.statistic:.2f}",
    )


# ---------------------------------------------------------------------------- the claims table
def holm(p: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjustment (statsmodels ``multipletests``); NaN entries stay NaN and do
    not count as tests."""
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ran = ~np.isnan(p)
    if ran.any():
        out[ran] = multipletests(p[ran], method="holm")[1]
    return out


def format_p(p: float) -> str:
    """'<0.001', '0.023' or '–' (not tested)."""
    if p is None or pd.isna(p):
        return "–"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


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
    RECORD = ["claim", "where", "estimate (a vs b)", "bases", "test", "statistic", "p", "direction_ok", "expect"]
    COLUMNS = [*RECORD[1:7], "p (Holm)", "direction as reported", "supported"]

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
        direction needs more than a > b (e.g. "the highest of all sectors"). ``expect`` is
        "difference", or "no difference" for a claim that groups do not differ."""
        if higher not in ("a", "b"):
            raise ValueError("higher must be 'a' or 'b'")
        if expect not in ("difference", "no difference"):
            raise ValueError("expect must be 'difference' or 'no difference'")
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
            "direction_ok": bool(direction_ok),
            "expect": expect,
        }
        self.rows.append(row)
        return row

    def frame(self) -> pd.DataFrame:
        """The raw records: unformatted p-values, Holm-adjusted p-values and verdicts."""
        t = pd.DataFrame(self.rows, columns=self.RECORD)
        t["p"] = t["p"].astype(float)
        diff = (t["expect"] == "difference").to_numpy()
        t["p (Holm)"] = np.nan
        if diff.any():
            t.loc[diff, "p (Holm)"] = holm(t.loc[diff, "p"].to_numpy())
        t["supported"] = [
            self._verdict(p, p_adj, ok, expect)
            for p, p_adj, ok, expect in zip(t["p"], t["p (Holm)"], t["direction_ok"], t["expect"], strict=True)
        ]
        return t

    def _verdict(self, p: float, p_adjusted: float, direction_ok: bool, expect: str) -> str:
        if pd.isna(p):
            return "not tested"
        if expect == "no difference":
            return "yes" if p >= self.alpha else "no"
        if not direction_ok:
            return "no"
        return "yes" if p_adjusted < self.alpha else "direction only"

    def table(self, last: int | None = None, adjust: bool = True) -> pd.DataFrame:
        """The claims ready to display, one row each (index: the claim). With ``adjust`` the p
        (Holm) and verdict columns are added: a claim of a difference is *supported* ("yes") when
        the data lean the reported way and its Holm-adjusted p-value is below 0.05, "direction
        only" when they lean that way without significance; a claim of no difference is
        supported when its unadjusted p-value is 0.05 or more. ``last`` keeps the last n rows."""
        t = self.frame()
        t["direction as reported"] = np.where(t["p"].isna(), "–", np.where(t["direction_ok"], "yes", "no"))
        t["p (Holm)"] = t["p (Holm)"].map(format_p)
        t["p"] = t["p"].map(format_p)
        cols = self.COLUMNS if adjust else [c for c in self.COLUMNS if c not in ("p (Holm)", "supported")]
        out = t.set_index("claim")[cols]
        out.index.name = None
        return out.iloc[-last:] if last else out
