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

Claims about groups a respondent can belong to several of (the sectors), such as "the highest of
all sectors", are tested by :func:`ranked` on respondent x group rows with errors clustered by
respondent, against each other group.

The tests come from scipy and statsmodels; this module only counts, chooses and labels. A test
on a base below ``min_base`` is not run, like the estimates the book suppresses. All p-values
treat the respondents as a simple random sample; the survey is a convenience sample, so they
describe sampling noise only. Under a survey weight (``weight=``, the name of the weight column:
the chapter context's ``ctx.weight``; nothing is read from module state)
:func:`compare_shares` compares weighted shares with a z test on Kish's effective bases (with
``method="chi2"``: Rao and Scott's corrected chi-square), :func:`independence` (a test of
independence of an r x c table) uses the Rao-Scott second-order correction of
:func:`calaim.stats.weights.rao_scott`, and :func:`compare_means`, :func:`trend`,
:func:`paired_shares` and :func:`rank_sum` (given the weights) run the design-based tests of
:mod:`calaim.stats.design_tests` (R survey's ``svyttest``, a ``svyglm`` slope and
``svyranktest``); equal weights run the unweighted tests. :func:`binomial`,
:func:`rank_correlation` and :func:`ranked` are not weighted yet.

The claims table (:class:`Claims`, :func:`holm`, :func:`format_p`) lives in
:mod:`calaim.stats.claimtable` and is importable from here.

Place in the flow: claims/models (after estimate), before registry and display.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.contingency_tables import Table, mcnemar
from statsmodels.stats.proportion import proportions_ztest, tost_proportions_2indep
from statsmodels.stats.weightstats import ttost_ind

from calaim.data import compact
from calaim.stats import design_tests, estimate
from calaim.stats import weights as survey_weights
from calaim.stats.claimtable import ALPHA as ALPHA
from calaim.stats.claimtable import Claims as Claims
from calaim.stats.claimtable import format_p as format_p
from calaim.stats.claimtable import holm as holm
from calaim.stats.tables import DEFAULT_MIN_BASE, answers, count_answers

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
    return compact.truthy(mask)


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
    weight: str | None = None,
) -> dict:
    """Share answering ``codes`` to ``column`` in ``mask_a`` against the share answering them to
    ``column_b`` (default: the same column) in ``mask_b``; the groups must not overlap. With a
    ``weight`` column: weighted shares on effective bases (see the module docstring)."""
    _disjoint(mask_a, mask_b, "compare_shares")
    k_a, n_a = count(frame, column, mask_a, codes, exclude)
    k_b, n_b = count(frame, column_b or column, mask_b, codes, exclude)
    if weight and column in frame and (column_b or column) in frame:
        args = (codes, mask_a, mask_b, exclude, min_base, method, fisher_below, weight)
        return _weighted_shares(frame, column, column_b or column, *args)
    return two_proportions(k_a, n_a, k_b, n_b, min_base=min_base, method=method, fisher_below=fisher_below)


def _weighted_shares(
    frame, column, column_b, codes, mask_a, mask_b, exclude, min_base, method, fisher_below, weight
) -> dict:
    """compare_shares under the weight column ``weight``: weighted shares,
    compared by a two-proportion z test on Kish's effective bases (weighted share x effective n
    as counts). Equal weights in both groups are the unweighted design: its test is run."""
    codes = _codes(codes)
    va, wa = answers(frame, column, _bool(mask_a), exclude, weight)
    vb, wb = answers(frame, column_b, _bool(mask_b), exclude, weight)
    if not survey_weights.unequal(np.r_[wa, wb]):
        k_a, k_b = int(np.isin(va, codes).sum()), int(np.isin(vb, codes).sum())
        return two_proportions(k_a, va.size, k_b, vb.size, min_base, method, fisher_below)
    ea = estimate.share(va, codes, min_base, weights=wa)
    eb = estimate.share(vb, codes, min_base, weights=wb)
    out = {"a": ea.value, "b": eb.value, "n_a": ea.base, "n_b": eb.base, "kind": "share"}
    if min(ea.base, eb.base) < max(min_base, 1):
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    if method == "chi2":
        group, yes = np.r_[np.zeros(va.size), np.ones(vb.size)], np.isin(np.r_[va, vb], codes)
        if yes.all() or not yes.any():
            return {**out, "test": "not run (every answer the same)", "statistic": "", "p": np.nan}
        rs = survey_weights.rao_scott(group, yes, np.r_[wa, wb])
        return {
            **out,
            "test": "Rao-Scott chi-square test (weighted)",
            "statistic": f"F(1, {rs.ddf:.0f}) = {rs.f:.2f}",
            "p": rs.p_f,
        }
    counts = [ea.value / 100 * ea.effective_n, eb.value / 100 * eb.effective_n]
    z, p = proportions_ztest(counts, [ea.effective_n, eb.effective_n])
    test = "two-proportion z test on effective bases (weighted)"
    return {**out, "test": test, "statistic": f"z = {z:.2f}", "p": float(p)}


def independence(
    frame: pd.DataFrame,
    row: str,
    col: str,
    mask: pd.Series,
    min_base: int = DEFAULT_MIN_BASE,
    exclude: Iterable = (),
    weight: str | None = None,
) -> dict:
    """Test of independence of the answers to ``row`` and ``col`` among the respondents in
    ``mask`` who answered both (answers coded ``exclude`` leave the base): Pearson's chi-square
    on the r x c table without continuity correction, or under a survey ``weight`` (unequal weights)
    the Rao-Scott second-order corrected F of :func:`calaim.stats.weights.rao_scott` (R's
    ``svychisq`` default). ``n_a`` is the base; the test is not run below ``min_base``."""
    r, c = _values(frame, row), _values(frame, col)
    keep = _bool(mask) & r.notna() & c.notna() & ~r.isin(_codes(exclude)) & ~c.isin(_codes(exclude))
    n = int(keep.sum())
    if n < max(min_base, 1):
        return result(NOT_RUN, n_a=n, kind="other")
    rv, cv = r[keep].to_numpy(float), c[keep].to_numpy(float)
    if np.unique(rv).size < 2 or np.unique(cv).size < 2:
        return result("not run (an answer does not vary)", n_a=n, kind="other")
    w = survey_weights.check_weights(frame.loc[keep, weight], weight) if weight else None
    if w is None or not survey_weights.unequal(w):
        res = stats.chi2_contingency(pd.crosstab(rv, cv).to_numpy(), correction=False)
        return result(
            "chi-square test", float(res.pvalue), f"chi2({res.dof}) = {res.statistic:.2f}", n_a=n, kind="other"
        )
    rs = survey_weights.rao_scott(rv, cv, w)
    stat = f"F({rs.ndf:.2f}, {rs.ddf:.1f}) = {rs.f:.2f}"
    return result("Rao-Scott chi-square test (weighted)", rs.p_f, stat, n_a=n, kind="other")


def paired_shares(
    frame: pd.DataFrame,
    column_a: str,
    column_b: str,
    mask: pd.Series,
    codes_a: Iterable = (1,),
    codes_b: Iterable | None = None,
    min_base: int = DEFAULT_MIN_BASE,
    exact: bool | str = "auto",
    weight: str | None = None,
) -> dict:
    """The same respondents answering two questions: the share answering ``codes_a`` to
    ``column_a`` against the share answering ``codes_b`` to ``column_b``, among those in ``mask``
    who answered both, with McNemar's test (exact binomial version when ``exact`` is True, or
    under "auto" when there are fewer than 25 discordant pairs). The result's ``table`` holds the
    2 x 2 counts [[yes, yes], [yes, no]; [no, yes], [no, no]] (rows: ``column_a``). With unequal
    values of a ``weight`` column: the design-based test of :mod:`calaim.stats.design_tests`."""
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
    if ws := design_tests.unequal_weights(frame, weight, both):
        return {**out, **design_tests.paired_shares(ya.to_numpy(), yb.to_numpy(), ws[0])}
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
    weight: str | None = None,
) -> dict:
    """Cochran-Armitage test for a trend in the share answering ``codes`` across the ordered
    groups of ``band`` (scored by their codes), as statsmodels' linear-by-linear association test
    on the band x yes/no table. Its variance is the permutation (hypergeometric) one, N / (N - 1)
    times the textbook binomial variance. ``a`` is the share in the highest band, ``b`` in the lowest.
    Answers coded ``exclude`` (such as "Not applicable") leave the base instead of counting as "no".
    With unequal values of a ``weight`` column: a design-based slope (:func:`calaim.stats.design_tests.trend`)."""
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
    if ws := design_tests.unequal_weights(frame, weight, m):
        return {**out, **design_tests.trend(frame.loc[m, band], v.isin(_codes(codes)), ws[0])}
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
    frame: pd.DataFrame,
    column: str,
    mask_a: pd.Series,
    mask_b: pd.Series,
    min_base: int = DEFAULT_MIN_BASE,
    weight: str | None = None,
) -> dict:
    """Welch's t test (unequal variances) of the mean of ``column`` in two groups with no
    respondent in common; with unequal values of a ``weight`` column, the design-based t test."""
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
    if ws := design_tests.unequal_weights(frame, weight, _bool(mask_a) & v.notna(), _bool(mask_b) & v.notna()):
        return {**out, **design_tests.compare_means(a, ws[0], b, ws[1])}
    res = stats.ttest_ind(a, b, equal_var=False)
    return {**out, "test": "Welch t test", "statistic": f"t = {res.statistic:.2f}", "p": float(res.pvalue)}


def rank_sum(
    values_a: Sequence,
    values_b: Sequence,
    min_base: int = DEFAULT_MIN_BASE,
    weights_a=None,
    weights_b=None,
    weight: str | None = None,
) -> dict:
    """Mann-Whitney U test (two-sided) of ordered answers in two independent groups. The estimate
    is U / (n_a n_b): the chance that an answer from group a sits higher than one from group b
    (ties count half); 0.5 means no tendency either way. With unequal ``weights_a``/``weights_b``
    (:func:`calaim.stats.tables.weights_of`): the weighted chance and ``svyranktest``. ``weight``
    names the build's weight column: a weighted build that passes no weights labels the test
    unweighted."""
    a, b = np.asarray(values_a, dtype=float), np.asarray(values_b, dtype=float)
    if min(len(a), len(b)) < max(min_base, 1):
        return result(NOT_RUN, n_a=len(a), n_b=len(b), kind="other")
    w = None if weights_a is None else survey_weights.check_weights(np.r_[weights_a, weights_b], weight or "weight")
    if w is not None and survey_weights.unequal(w):
        weighted = design_tests.rank_sum(a, w[: a.size], b, w[a.size :])
        return {**result("", n_a=len(a), n_b=len(b), kind="other"), **weighted}
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    prob = res.statistic / (len(a) * len(b))
    return result(
        "Mann-Whitney U test (two-sided" + (", unweighted)" if weight and w is None else ")"),
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


# ---------------------------------------------------------------------------- overlapping groups
def stack_groups(
    frame: pd.DataFrame,
    column: str,
    groups: Sequence[str],
    mask: pd.Series | None = None,
    exclude: Iterable = (),
) -> pd.DataFrame:
    """Respondent x group rows for groups a respondent can belong to several of (the sectors):
    one row per respondent in ``mask`` who answered ``column`` (not with an ``exclude`` code) and
    per (boolean) ``groups`` column that respondent is in. Columns: ``respondent`` (the row's
    position in ``frame``, the cluster), ``group`` and ``value``."""
    missing = [g for g in groups if g not in frame]
    if missing:
        raise KeyError(f"stack_groups: group column(s) {missing} not in the data")
    v = _values(frame, column)
    ok = v.notna() & ~v.isin(_codes(exclude))
    if mask is not None:
        ok &= _bool(mask)
    pos, vals = np.arange(len(frame)), v.to_numpy()
    parts = []
    for g in groups:
        inside = (ok & _bool(frame[g])).to_numpy()
        parts.append(pd.DataFrame({"respondent": pos[inside], "group": g, "value": vals[inside]}))
    return pd.concat(parts, ignore_index=True)


def group_contrasts(stack: pd.DataFrame, y: pd.Series, link: str = "identity") -> tuple[pd.Series, pd.DataFrame]:
    """One coefficient per group (no intercept) from the stacked rows, with the cluster-robust
    covariance (clusters: respondents; statsmodels' small-sample factor G / (G - 1) x (N - 1) /
    (N - K)). ``link`` "identity": OLS, the coefficients are the group means of ``y``; "logit":
    binomial GLM, they are the groups' log-odds. Returns (coefficients, covariance)."""
    x = pd.get_dummies(stack["group"]).astype(float)
    x = x[list(dict.fromkeys(stack["group"]))]
    kw = {"cov_type": "cluster", "cov_kwds": {"groups": stack["respondent"].to_numpy()}}
    if link == "logit":
        fit = sm.GLM(y.to_numpy(float), x, family=sm.families.Binomial()).fit(**kw)
    elif link == "identity":
        fit = sm.OLS(y.to_numpy(float), x).fit(**kw)
    else:
        raise ValueError(f"unknown link {link!r}")
    return fit.params, fit.cov_params()


def _pair(params, cov, i, j) -> tuple[float, float]:
    """Difference coefficient i minus j and its standard error."""
    return float(params[i] - params[j]), float(np.sqrt(cov.loc[i, i] + cov.loc[j, j] - 2 * cov.loc[i, j]))


def _stacked(frame, column, groups, codes, mask, exclude, min_base):
    """Stacked rows on groups with a base of at least ``min_base``; y is 0/100 for shares."""
    labels = dict(groups) if isinstance(groups, dict) else {g: g for g in groups}
    stack = stack_groups(frame, column, list(labels), mask, exclude)
    if codes is not None:
        stack["value"] = 100.0 * stack["value"].isin(_codes(codes))
    bases = stack.groupby("group", sort=False).size().reindex(list(labels), fill_value=0)
    means = stack.groupby("group", sort=False)["value"].mean().reindex(list(labels))
    keep = [g for g in labels if bases[g] >= max(min_base, 2)]
    return stack[stack["group"].isin(keep)].reset_index(drop=True), labels, bases, means, keep


def ranked(
    frame: pd.DataFrame,
    column: str,
    groups: dict | Sequence[str],
    named: str,
    side: str = "highest",
    codes: Iterable | None = None,
    mask: pd.Series | None = None,
    exclude: Iterable = (),
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """A claim that group ``named`` is the ``side`` ("highest" or "lowest") of all ``groups``
    (columns, or a dict of columns to labels) on ``column``: the share answering ``codes``, or
    the mean when ``codes`` is None. Groups may overlap (sectors): the respondent x group rows of
    :func:`stack_groups` are fitted with one term per group, a logistic model for shares (a
    linear one when a group answers all or none the same, where the logit is infinite), OLS for
    means, with cluster-robust errors by respondent, and ``named`` is compared with each other
    group by a Wald test. The claim needs every comparison, so its p-value is the weakest one's
    (intersection-union: the largest p once all lean the claimed way), and ``b`` is the estimate
    of that group, named in ``estimate`` (the runner-up in evidence, which on a small base need
    not be the runner-up in estimate). Groups on fewer than ``min_base`` respondents are left
    out, like the estimates the book suppresses. ``pairs`` holds every comparison (``difference``
    on the model's scale: log-odds or the mean's units); ``direction_ok`` says whether ``named``
    beats every other group."""
    if side not in ("highest", "lowest"):
        raise ValueError("side must be 'highest' or 'lowest'")
    stack, labels, bases, means, keep = _stacked(frame, column, groups, codes, mask, exclude, min_base)
    kind = "mean" if codes is None else "share"
    out = {"a": means.get(named, np.nan), "b": np.nan, "n_a": int(bases.get(named, 0)), "n_b": None, "kind": kind}
    if named not in keep or len(keep) < 2:
        return {**out, "test": NOT_RUN, "statistic": "", "p": np.nan}
    at_edge = codes is not None and means[keep].isin([0.0, 100.0]).any()
    link = "identity" if codes is None or at_edge else "logit"
    y = stack["value"] / 100 if link == "logit" else stack["value"]
    params, cov = group_contrasts(stack, y, link)
    sign = 1 if side == "highest" else -1
    rows = []
    for g in keep:
        if g != named:
            d, se = _pair(params, cov, named, g)
            rows.append({"group": g, "estimate": means[g], "n": int(bases[g]), "difference": d, "se": se})
    pairs = pd.DataFrame(rows)
    pairs["z"] = sign * pairs["difference"] / pairs["se"]  # positive: leans the claimed way
    pairs["p"] = 2 * stats.norm.sf(pairs["z"].abs())
    pairs = pairs.sort_values("z", kind="stable").reset_index(drop=True)
    weakest = pairs.iloc[0]
    model = {"logit": "logistic", "identity": "linear" if kind == "share" else "OLS"}[link]
    d = 1 if kind == "mean" else 0
    rival = labels[weakest["group"]]
    return {
        **out,
        "b": float(weakest["estimate"]),
        "n_b": int(weakest["n"]),
        "test": f"weakest of {len(pairs)} pairwise Wald tests ({model}, respondent x group rows, cluster-robust)",
        "statistic": f"z = {weakest['z']:.2f} vs {rival}",
        "p": float(weakest["p"]),
        "estimate": f"{out['a']:.{d}f} vs {weakest['estimate']:.{d}f} (weakest comparison: {rival})",
        "direction_ok": bool((pairs["z"] > 0).all()),
        "pairs": pairs,
    }


# ---------------------------------------------------------------------------- no difference: equivalence
# A claim that groups do not differ is supported only when the data show the difference to be
# small: within +-margin, by two one-sided tests (TOST, Schuirmann 1987) at ALPHA, i.e. the
# 90% CI of the difference inside the margin. The margins (see the methods page): 10 percentage
# points for shares, half a point for means on the book's 0 to 10 scale.
EQUIVALENCE_MARGIN = {"share": 10.0, "mean": 0.5}


def _margin_text(margin: float, kind: str) -> str:
    return f"±{margin:g} pts" if kind == "share" else f"±{margin:g}"


def _ci90(d: float, se: float, dist=stats.norm) -> tuple[float, float]:
    q = dist.ppf(1 - ALPHA)
    return d - q * se, d + q * se


def _tost_p(d: float, se: float, margin: float) -> float:
    """TOST p-value (normal): the larger of the one-sided p for d > -margin and for d < margin."""
    return float(max(stats.norm.sf((d + margin) / se), stats.norm.cdf((d - margin) / se)))


def _equivalence(out, d, lo, hi, p, margin, test, statistic, d_fmt) -> dict:
    return {
        **out,
        "test": test,
        "statistic": statistic,
        "p": float(p),
        "margin": float(margin),
        "margin_text": _margin_text(margin, out["kind"]),
        "estimate": f"difference {d:+.{d_fmt}f}, 90% CI {lo:.{d_fmt}f} to {hi:.{d_fmt}f}",
        "direction_ok": bool(abs(d) <= margin),  # the point estimate lies within the margin
    }


def equivalent_shares(
    k_a: int,
    n_a: int,
    k_b: int,
    n_b: int,
    margin: float = EQUIVALENCE_MARGIN["share"],
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Equivalence of k_a / n_a and k_b / n_b (two independent groups) within +-``margin``
    percentage points: statsmodels' ``tost_proportions_2indep`` with Wald (unpooled) variances."""
    out = {"a": _pct(k_a, n_a), "b": _pct(k_b, n_b), "n_a": int(n_a), "n_b": int(n_b), "kind": "share"}
    if min(n_a, n_b) < max(min_base, 1):
        return {**result(NOT_RUN), **out, "margin": float(margin), "margin_text": _margin_text(margin, "share")}
    res = tost_proportions_2indep(k_a, n_a, k_b, n_b, -margin / 100, margin / 100, method="wald", compare="diff")
    d, se = out["a"] - out["b"], 100 * np.sqrt(res.results_larger.variance)
    lo, hi = _ci90(d, se)
    test = "equivalence test (TOST, two independent shares, Wald)"
    return _equivalence(out, d, lo, hi, res.pvalue, margin, test, f"z = {res.statistic:.2f}", 0)


def equivalent_means(
    frame: pd.DataFrame,
    column: str,
    mask_a: pd.Series,
    mask_b: pd.Series,
    margin: float = EQUIVALENCE_MARGIN["mean"],
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """Equivalence of the means of ``column`` in two groups with no respondent in common, within
    +-``margin``: Welch TOST (statsmodels ``ttost_ind``, unequal variances)."""
    _disjoint(mask_a, mask_b, "equivalent_means")
    v = _values(frame, column)
    a, b = v[_bool(mask_a) & v.notna()].astype(float), v[_bool(mask_b) & v.notna()].astype(float)
    out = {"a": a.mean(), "b": b.mean(), "n_a": len(a), "n_b": len(b), "kind": "mean"}
    if min(len(a), len(b)) < max(min_base, 2):
        return {
            **result(NOT_RUN, kind="mean"),
            **out,
            "margin": float(margin),
            "margin_text": _margin_text(margin, "mean"),
        }
    p, low, upp = ttost_ind(a.to_numpy(), b.to_numpy(), -margin, margin, usevar="unequal")
    d = out["a"] - out["b"]
    se = np.sqrt(a.var(ddof=1) / len(a) + b.var(ddof=1) / len(b))
    lo, hi = _ci90(d, se, stats.t(low[2]))
    stat = f"t = {low[0]:.2f}, {upp[0]:.2f}"
    return _equivalence(out, d, lo, hi, p, margin, "equivalence test (Welch TOST)", stat, 2)


def equivalent_groups(
    frame: pd.DataFrame,
    column: str,
    groups: dict | Sequence[str],
    codes: Iterable | None = None,
    mask: pd.Series | None = None,
    exclude: Iterable = (),
    margin: float | None = None,
    min_base: int = DEFAULT_MIN_BASE,
) -> dict:
    """A claim that none of ``groups`` (possibly overlapping, like sectors) differ on ``column``
    (the share answering ``codes``, or the mean when ``codes`` is None): every pair of groups
    must be equivalent within +-``margin`` (default :data:`EQUIVALENCE_MARGIN`). The respondent x
    group rows of :func:`stack_groups` are fitted by least squares with one term per group
    (shares as 0/100, so differences are in percentage points) and errors clustered by
    respondent; each pair gets a TOST. The claim's p-value is the largest (intersection-union),
    and ``a``, ``b`` and ``estimate`` describe that pair. Groups on fewer than ``min_base``
    respondents are left out. ``pairs`` holds every pair."""
    kind = "mean" if codes is None else "share"
    margin = EQUIVALENCE_MARGIN[kind] if margin is None else float(margin)
    stack, labels, bases, means, keep = _stacked(frame, column, groups, codes, mask, exclude, min_base)
    out = {"a": np.nan, "b": np.nan, "n_a": int(len(stack)), "n_b": None, "kind": kind}
    if len(keep) < 2:
        return {**result(NOT_RUN, kind=kind), **out, "margin": margin, "margin_text": _margin_text(margin, kind)}
    params, cov = group_contrasts(stack, stack["value"], "identity")
    rows = []
    for i, g in enumerate(keep):
        for h in keep[i + 1 :]:
            d, se = _pair(params, cov, g, h)
            rows.append({"group_a": g, "group_b": h, "difference": d, "se": se, "p": _tost_p(d, se, margin)})
    pairs = pd.DataFrame(rows)
    pairs["ci_low"], pairs["ci_high"] = _ci90(pairs["difference"], pairs["se"])
    pairs = pairs.sort_values("p", ascending=False, kind="stable").reset_index(drop=True)
    w = pairs.iloc[0]
    out = {**out, "a": means[w["group_a"]], "b": means[w["group_b"]], "n_a": int(bases[w["group_a"]])}
    out["n_b"] = int(bases[w["group_b"]])
    d_fmt = 0 if kind == "share" else 2
    test = f"equivalence (TOST), weakest of {len(pairs)} pairs (linear, respondent x group rows, cluster-robust)"
    res = _equivalence(
        out,
        w["difference"],
        w["ci_low"],
        w["ci_high"],
        w["p"],
        margin,
        test,
        f"{labels[w['group_a']]} vs {labels[w['group_b']]}",
        d_fmt,
    )
    res["direction_ok"] = bool((pairs["difference"].abs() <= margin).all())
    return {**res, "pairs": pairs}
