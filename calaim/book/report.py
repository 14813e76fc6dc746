"""Chapter layout helpers: grid items in long and summary form, subgroup distributions, the
diverging (Likert) figure with rows in a chosen order, subgroup-versus-rest tests and panels of
means with their intervals.

Every helper takes the chapter context (:class:`calaim.book.chapter.Context`) first and estimates
through it (``ctx.tables``: the context's ``min_base``, disclosure policy and weight; claims tests
with ``weight=ctx.weight``), so that a chapter shows what its context allows and nothing else. A
chapter binds them to its context once, e.g. ``grid_long = partial(report.grid_long, ctx)``.

Place in the flow: estimate (:mod:`calaim.stats.tables`) and claims (:mod:`calaim.stats.claims`)
-> **report** (chapter layout) -> display (:mod:`calaim.book.display`: figures with their data,
display tables) -> chapters -> book. Nothing here prints; figures are shown through
:func:`calaim.book.display.figure`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from calaim.book import plots
from calaim.book.display import base_note, ci_text, figure, wrap
from calaim.stats.claims import FISHER_BELOW, compare_means, compare_shares, subgroup_vs_rest


def labels(ctx, item: str) -> dict:
    """{code: answer label} of a codebook item."""
    return ctx.cb.items[item].codes


def grid_long(ctx, item: str, population: str | None = "complete") -> pd.DataFrame:
    """Every response's share for each row of a grid item that is in the data, in long form (one
    row per grid row and response, with ``row`` the row's label); codes the codebook marks not
    applicable leave the base."""
    it = ctx.cb.items[item]
    parts = [
        ctx.tables.distribution(ctx.df, col, it.codes, population, exclude=it.not_applicable).assign(row=label)
        for col, label in ctx.parts(item).items()
    ]
    return pd.concat(parts, ignore_index=True)


def grid_summary(
    ctx, item: str, groups: Mapping[str, Sequence], population: str | None = "complete", rank: bool = True
) -> pd.DataFrame:
    """Named code groups per grid row: ``n`` (the row's base), ``<group> %`` for each group, and
    the first group's Wilson 95% CI as text; ranked by the first group (highest first, suppressed
    rows last) unless ``rank`` is False."""
    it = ctx.cb.items[item]
    long = ctx.tables.grid(ctx.df, ctx.parts(item), groups, population, exclude=it.not_applicable)
    first = next(iter(groups))
    head = long[long["group"] == first].set_index("row")
    out = pd.DataFrame({"row": head.index, "n": head["base"].astype(float).to_numpy()})
    for g in groups:
        out[f"{g} %"] = long[long["group"] == g].set_index("row")["value"].reindex(head.index).to_numpy()
        if g == first:
            out["95% CI"] = [ci_text(lo, hi) for lo, hi in zip(head["ci_low"], head["ci_high"], strict=True)]
    if rank:
        out = out.sort_values(f"{first} %", ascending=False, kind="stable", na_position="last")
    return out.reset_index(drop=True)


def subgroup_long(
    ctx,
    column: str,
    subgroups: Mapping[str, str],
    population: str | None = "complete",
    exclude: Iterable = (),
    overall: str = "All respondents",
) -> pd.DataFrame:
    """The distribution of one item overall (row ``overall``) and within each (overlapping)
    subgroup that is in the data (row: the subgroup's label), in long form."""
    codes = ctx.cb.columns[column].codes
    rows = {None: overall, **subgroups}
    parts = [
        ctx.tables.distribution(ctx.df, column, codes, population, sub, exclude).assign(row=label)
        for sub, label in rows.items()
        if sub is None or sub in ctx.df
    ]
    return pd.concat(parts, ignore_index=True)


def likert_figure(
    ctx,
    long: pd.DataFrame,
    order: Iterable[str],
    positive: Sequence[str],
    negative: Sequence[str],
    name: str,
    neutral: Sequence[str] = (),
    other: Sequence[str] = (),
    note_text: str = "",
    title: str | None = None,
    ax=None,
):
    """Diverging stacked bars (:func:`calaim.book.plots.likert`) of ``long`` (a long table with
    ``row``, ``response``, ``value``, ``base``, ``suppressed``) with the rows in ``order``, the base
    note under the figure and the link to the plotted data (``name``.csv, released under the
    context's rules). Returns the axes, or None (with a note shown instead) when every row is
    suppressed."""
    from IPython.display import Markdown, display

    order = list(order)
    t = long[long["row"].isin(order)].copy()
    t["row"] = pd.Categorical(t["row"], categories=order, ordered=True)
    t = t.sort_values(["row"], kind="stable")
    t["row"] = t["row"].astype(str).map(wrap)
    if t["value"].isna().all():  # e.g. a one-respondent file: nothing to draw
        what = title or "Figure"
        display(Markdown(f"*{what}: not enough data (every row rests on fewer than {ctx.min_base} respondents).*"))
        return None
    ax = plots.likert(
        t,
        positive=list(positive),
        negative=list(negative),
        neutral=list(neutral),
        other=list(other),
        title=title,
        ax=ax,
    )
    if t["suppressed"].any():
        note_text += f" Rows on fewer than {ctx.min_base} respondents are suppressed (no bars)."
    base_note(ax, note_text.strip())
    figure(ax.figure, t, name, public=ctx.public)
    return ax


def shares_test(
    ctx,
    column: str,
    codes,
    subgroup: str,
    population: str | None = "complete",
    exclude: Iterable = (),
    against: str | None = None,
    fisher_below: float = FISHER_BELOW,
) -> dict:
    """The share answering ``codes`` in ``subgroup`` against the rest of the population (or
    against the ``against`` subgroup): :func:`calaim.stats.claims.compare_shares` under the
    context's ``min_base`` and weight (Fisher's exact test when an expected cell count is below
    ``fisher_below``)."""
    a, b = subgroup_vs_rest(ctx.df, subgroup, population, against)
    return compare_shares(
        ctx.df,
        column,
        codes,
        a,
        b,
        exclude=exclude,
        min_base=ctx.min_base,
        fisher_below=fisher_below,
        weight=ctx.weight,
    )


def means_test(
    ctx, column: str, subgroup: str, population: str | None = "complete", against: str | None = None
) -> dict:
    """Welch's t test (the design-based one under a weight) of the mean of ``column`` in
    ``subgroup`` against the rest (or against ``against``): :func:`calaim.stats.claims.compare_means`."""
    a, b = subgroup_vs_rest(ctx.df, subgroup, population, against)
    return compare_means(ctx.df, column, a, b, min_base=ctx.min_base, weight=ctx.weight)


def dot_panels(table: pd.DataFrame, ref: float | None = None, xlabel: str = "Mean"):
    """Means with 95% CIs, one panel per ``dimension`` of ``table`` (rows of
    :func:`calaim.stats.tables.means_by_subgroups` with a ``dimension`` column), sharing the x axis;
    each row labelled with its base, a suppressed row named ("suppressed") but not drawn; sector
    rows in their sector colours; ``ref`` a dashed reference line (the overall mean). Returns the
    figure and the bottom axes (for the base note)."""
    dims = list(dict.fromkeys(table["dimension"]))
    sizes = [int((table["dimension"] == d).sum()) for d in dims]
    fig, axes = plt.subplots(
        len(dims),
        1,
        figsize=(8, 0.34 * sum(sizes) + 0.75 * len(dims)),
        sharex=True,
        gridspec_kw={"height_ratios": sizes},
        squeeze=False,
    )
    for ax, d in zip(axes[:, 0], dims, strict=True):
        sub = table[table["dimension"] == d].reset_index(drop=True)
        y = np.arange(len(sub))
        ok = sub["value"].notna().to_numpy()
        colours = [
            plots.SECTOR_COLOURS.get(s, plots.OKABE_ITO[0]) if d == "Sector" else plots.OKABE_ITO[0]
            for s in sub["subgroup"]
        ]
        for i in np.flatnonzero(ok):
            r = sub.iloc[i]
            ax.errorbar(
                r["value"],
                y[i],
                xerr=[[r["value"] - r["ci_low"]], [r["ci_high"] - r["value"]]],
                fmt="o",
                color=colours[i],
                capsize=3,
            )
        ax.set_yticks(
            y,
            [
                f"{lab} (n = {n:,}{'' if k else ', suppressed'})"
                for lab, n, k in zip(sub["subgroup"], sub["base"], ok, strict=True)
            ],
        )
        ax.set_ylim(len(sub) - 0.5, -0.5)
        ax.set_title(d, loc="left", fontsize=10)
        if ref is not None:
            ax.axvline(ref, color="#757575", linestyle="--", linewidth=0.8)
    axes[-1, 0].set_xlabel(xlabel)
    fig.tight_layout()
    return fig, axes[-1, 0]
