"""What the chapters show: copyable tables, interval text, "not in this data set" notes, and
figures with a link to the data they plot.

Tables are returned as DataFrames of text (numbers rounded, "–" for suppressed or missing values)
so that the book renders them as HTML tables a reader can select and copy. :func:`figure` shows a
matplotlib figure and, under it, a link to a CSV file holding exactly what the figure plots, bases
included. The CSV is written next to the executing notebook, in ``figure_data/``, and the link is
a Markdown link to that relative path, which MyST treats as a download: the book build copies the
file into the site's ``_downloads/`` (and Jupyter opens it directly).
No path, time or machine detail reaches the output.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from calaim.book import plots
from calaim.stats import estimate

#: The one note for an item the data lack (absent, or present but empty in every row).
MISSING_NOTE = "not asked in this wave / not in this data set"

DATA_FOLDER = "figure_data"  # next to the notebook; gitignored in chapters/
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


# ---------------------------------------------------------------------------- text
def wrap(text, width: int = 40) -> str:
    """Break a long label over lines of at most ``width`` characters."""
    return textwrap.fill(str(text), width)


def ci_text(lo, hi, decimals: int = 0, sep: str = "–") -> str:
    """'52–61' (or '52.1 to 61.3' with ``sep=" to "``); '–' when either end is missing."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "–"
    return f"{lo:.{decimals}f}{sep}{hi:.{decimals}f}"


def fmt_pct(value, decimals: int = 1) -> str:
    """A percentage without the % sign, for table cells; '–' when suppressed or missing."""
    return "–" if value is None or pd.isna(value) else f"{value:.{decimals}f}"


def fmt_n(value) -> str:
    """A count or base with thousands separators; '–' when suppressed or missing."""
    return "–" if value is None or pd.isna(value) else f"{int(value):,}"


def _is_count(column) -> bool:
    c = str(column)
    return c == "n" or c.startswith("n ") or c.endswith(" n") or c.endswith("(n)")


# ---------------------------------------------------------------------------- tables
def show(table: pd.DataFrame, index=None, decimals: int = 0, places: Mapping | None = None) -> pd.DataFrame:
    """A display copy: numbers as text with thousands separators, rounded to ``decimals`` (counts,
    i.e. integer columns and columns named "n", "n ...", "... n", to whole numbers; ``places``
    maps column labels to their own number of decimals), "–" for missing or suppressed values,
    and ``index`` (a column name) as the row labels."""
    out = table.set_index(index) if index is not None else table.copy()
    places = places or {}
    for c in out.columns:
        col = out[c]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            continue
        d = places.get(c, 0 if (pd.api.types.is_integer_dtype(col) or _is_count(c)) else decimals)
        out[c] = nan_to_dash(col, d)
    out.index.name = None
    return out


def copyable(t: pd.DataFrame, labels, value: str = "value") -> pd.DataFrame:
    """A tidy share table from :mod:`calaim.stats.tables` ready to copy: the ``labels`` columns as the
    index, then %, 95% CI and base."""
    labels = list(labels)
    out = t[labels].copy()
    out["%"] = t[value].map(fmt_pct)
    out["95% CI"] = [ci_text(lo, hi, 1, sep=" to ") for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)]
    out["base"] = t["base"].map(fmt_n)
    return out.set_index(labels)


def to_wide(t: pd.DataFrame, index, columns: str, value: str = "value") -> pd.DataFrame:
    """Long to wide, keeping rows and columns in the order they first appear."""
    index = list(index)
    w = t.set_index(index + [columns])[value].unstack(columns)
    rows = t[index].drop_duplicates()
    rows = pd.MultiIndex.from_frame(rows) if len(index) > 1 else pd.Index(rows[index[0]])
    w = w.reindex(index=rows, columns=list(dict.fromkeys(t[columns])))
    w.columns.name = None
    return w


def distribution_long(
    frame: pd.DataFrame, columns: dict, codes: dict, population: str, subgroup=None, exclude=(), min_base: int = 30
):
    """Share of every response code for several columns (the rows of a grid item), in long
    form with a ``response`` column, as :func:`calaim.book.plots.likert` expects."""
    from calaim.stats import tables

    groups = {label: [code] for code, label in codes.items() if code not in exclude}
    t = tables.grid(
        frame, columns, groups, population=population, subgroup=subgroup, exclude=exclude, min_base=min_base
    )
    return t.rename(columns={"group": "response"})


def _flatten(names) -> list[str]:
    out = []
    for n in names:
        if isinstance(n, str):
            out.append(n)
        else:
            out.extend(_flatten(n))
    return out


def missing(ctx, what: str, *names):
    """The "not in this data set" note for ``what``. ``names`` are codebook items (expanded to
    their columns) or column names, alone or in lists; the note names the absent columns."""
    from IPython.display import Markdown

    cols = []
    for name in _flatten(names):
        cols += [c.name for c in ctx.cb.items[name].columns] if name in ctx.cb.items else [name]
    absent = [c for c in cols if c not in ctx.df.columns]
    return Markdown(ctx.missing_note(what, absent or cols))


# ---------------------------------------------------------------------------- figures
#: The columns of the estimate kernel's results (:mod:`calaim.stats.tables`) that a figure's data
#: may carry: counts of respondents, and the estimates resting on ``base`` and ``count``.
KERNEL_COUNTS = ("count", "base", "effective_n")
KERNEL_ESTIMATES = ("value", "ci_low", "ci_high")


def figure_data(
    data: pd.DataFrame,
    public: bool = False,
    counts=(),
    estimates: Mapping | None = None,
    min_base: int | None = None,
) -> pd.DataFrame:
    """The table behind a figure as it is written to CSV: index kept when it carries labels,
    line breaks of wrapped labels undone, numbers rounded to 4 decimals, and released by
    :func:`calaim.stats.tables.release`. The estimate kernel's columns are recognised
    (``count``, ``base``, ``effective_n`` are counts; ``value`` and its CI rest on ``base`` and
    ``count``); a chapter's own columns are declared: ``counts`` (columns of respondent counts)
    and ``estimates`` ({estimate column: (base column or None, count column or None)}).
    Estimates on a base below ``min_base`` are blanked; ``public`` also hides counts of 1 to 10
    and the estimates resting on them, and drops the ``count`` column."""
    from calaim.stats import tables

    t = data.copy()
    if not isinstance(t.index, pd.RangeIndex) or t.index.name is not None:
        t = t.reset_index()
    t.columns = [" ".join(str(c) for c in col).strip() if isinstance(col, tuple) else str(col) for col in t.columns]
    t.columns = [c.replace("\n", " ") for c in t.columns]
    for c in t.columns:
        if t[c].dtype == object or pd.api.types.is_string_dtype(t[c]):
            t[c] = t[c].map(lambda v: v.replace("\n", " ") if isinstance(v, str) else v)
        elif pd.api.types.is_float_dtype(t[c]):
            t[c] = t[c].round(4)
    declared = dict(estimates or {})
    kernel = tuple(c for c in KERNEL_ESTIMATES if c in t and c not in declared)
    if kernel and ("base" in t or "count" in t):
        declared[kernel] = ("base" if "base" in t else None, "count" if "count" in t else None)
    count_cols = [c for c in KERNEL_COUNTS if c in t] + [c for c in counts if c not in KERNEL_COUNTS]
    t = tables.release(t, count_cols, declared, min_base, estimate.DisclosurePolicy.for_release(public))
    if public and "count" in t:
        t = t.drop(columns="count")
    return t


def write_figure_data(
    data: pd.DataFrame, name: str, folder: str | Path = DATA_FOLDER, public: bool = False, **release
) -> Path:
    """Write ``<folder>/<name>.csv`` (relative to the working directory, which is the notebook's
    folder when papermill, nbval or Jupyter run it) and return its relative path. ``release``:
    ``counts``, ``estimates`` and ``min_base`` of :func:`figure_data`."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"figure name {name!r}: use lower-case letters, digits, '-' and '_'")
    path = Path(folder) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    figure_data(data, public, **release).to_csv(path, index=False, lineterminator="\n")
    return path


def download_link(path: str | Path, rows: int) -> str:
    """The Markdown link to a figure's data file (a relative path, POSIX separators)."""
    return f"[Download the data of this figure (CSV, {rows:,} rows)]({Path(path).as_posix()})"


def figure(
    fig, data: pd.DataFrame, name: str, public: bool = False, folder: str | Path = DATA_FOLDER, **release
) -> None:
    """Show ``fig`` (then close it) and under it a link to ``data``, the table it plots with its
    bases, written as ``<folder>/<name>.csv`` and released as :func:`figure_data` says
    (``release``: its ``counts``, ``estimates`` and ``min_base``, for columns a chapter computed
    itself). ``name`` must be unique in the book (prefix it with the chapter). Returns nothing, so
    that a call ending a cell adds no output."""
    from IPython.display import Markdown
    from IPython.display import display as ipy_display

    path = write_figure_data(data, name, folder, public, **release)
    ipy_display(fig)
    plt.close(fig)
    ipy_display(Markdown(download_link(path, len(data))))


def base_note(ax, text: str) -> None:
    """The base note, placed under everything drawn on the figure (tick labels, legends),
    left-aligned with it. Call it last, after any layout change."""
    fig = ax.figure
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    fig.text(
        box.x0 / fig.get_figwidth(),
        box.y0 / fig.get_figheight() - 0.01,
        text,
        ha="left",
        va="top",
        fontsize=8,
        color="#424242",
    )


def bar_ax(n_bars: int, width: float = 8.0):
    """Axes tall enough for ``n_bars`` bars plus the base note."""
    return plt.subplots(figsize=(width, max(4.2, 0.32 * n_bars + 1.8)))[1]


def likert_ax(n_rows: int, width: float = 9.0):
    """Axes for :func:`calaim.book.plots.likert` with room under the axis label for the legend."""
    return plt.subplots(figsize=(width, max(3.4, 0.55 * n_rows + 2.0)))[1]


def legend_below(ax, gap_inches: float = 0.6) -> None:
    """Move a likert legend a fixed distance below the axes, whatever the figure height."""
    height = ax.get_position().height * ax.figure.get_figheight()
    if ax.get_legend() is not None:
        ax.get_legend().set_bbox_to_anchor((0.5, -gap_inches / height))


def drawable(table: pd.DataFrame, label: str, hue: str | None = None) -> tuple[pd.DataFrame, list]:
    """The rows of ``table`` that can be drawn, and the names left out: a colour group (``hue``)
    that is suppressed throughout goes, then every category (``label``) with a suppressed
    estimate (bars and CI whiskers are paired by position, so no gaps may remain)."""
    hidden: list = []
    if "suppressed" not in table:
        return table, hidden
    if hue:
        gone = table.groupby(hue, sort=False)["suppressed"].all()
        hidden += list(gone[gone].index)
        table = table[~table[hue].isin(hidden)]
    cats = list(table.loc[table["suppressed"], label].unique())
    return table[~table[label].isin(cats)], hidden + cats


def draw(
    ctx, kind: str, table: pd.DataFrame, what: str, name: str, base: str | None = None, width: float | None = None, **kw
):
    """:func:`calaim.book.plots.likert` (``kind="likert"``) or :func:`calaim.book.plots.bars` on the
    estimates that are not suppressed, with the base note under the figure and the data link
    (see :func:`figure`); a note instead of a figure when everything is suppressed."""
    from IPython.display import Markdown
    from IPython.display import display as ipy_display

    label = kw.get("row", "row") if kind == "likert" else kw.get("y", "subgroup")
    table, hidden = drawable(table, label, kw.get("hue"))
    if hidden:
        ipy_display(Markdown(f"*{what}: not drawn for {', '.join(map(str, hidden))} (base below {ctx.min_base}).*"))
    if table.empty:
        if not hidden:  # nothing to draw and nothing suppressed: no answers at all, never an empty chart
            ipy_display(Markdown(f"*{what}: {MISSING_NOTE}* (no answers in this data set)."))
        return None
    if kind == "likert":
        ax = plots.likert(table, ax=likert_ax(table[label].nunique(), width or 9.0), **kw)
        legend_below(ax)
    else:
        ax = plots.bars(table, ax=bar_ax(len(table), width or 8.0), **kw)
    if base:
        base_note(ax, base)
    figure(ax.figure, table, name, public=ctx.public, min_base=ctx.min_base)
    return ax


def sector_colour(label: str) -> str:
    """The book's colour of a report sector (grey for "Overall" and anything else)."""
    return plots.SECTOR_COLOURS.get(label, plots.SECTOR_COLOURS["Overall"])


def nan_to_dash(values: Iterable, decimals: int = 0) -> list[str]:
    """Numbers as text, '–' for missing."""
    return ["–" if pd.isna(v) else f"{v:,.{decimals}f}" for v in values]
