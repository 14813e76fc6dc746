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
import numpy as np
import pandas as pd

from calaim.book import plots
from calaim.stats import estimate

#: The one note for an item the data lack (absent, or present but empty in every row).
MISSING_NOTE = "not asked in this wave / not in this data set"

DATA_FOLDER = "figure_data"  # next to the notebook; gitignored in chapters/
_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_NEG_ZERO = re.compile(r"^-(0(?:\.0+)?)(%?)$")
#: what the figures and their CSV files say about the data: "synthetic" or the data file's name
#: (:func:`set_data_label`, called by :func:`calaim.book.chapter.setup`; None outside a chapter)
_DATA = {"label": None}


def set_data_label(label: str | None) -> None:
    """Mark every figure and figure CSV of this kernel with ``label`` ("synthetic" or a file name)."""
    _DATA["label"] = label


def data_label() -> str | None:
    return _DATA["label"]


# ---------------------------------------------------------------------------- text
def wrap(text, width: int = 40) -> str:
    """Break a long label over lines of at most ``width`` characters."""
    return textwrap.fill(str(text), width)


def no_negative_zero(text: str) -> str:
    """'-0', '-0.0' or '-0%' (a small negative number rounded away) without its minus sign."""
    return _NEG_ZERO.sub(r"\1\2", text)


def ci_text(lo, hi, decimals: int = 0, sep: str = "–") -> str:
    """'52–61' (or '52.1 to 61.3' with ``sep=" to "``); '–' when either end is missing."""
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi):
        return "–"
    return f"{no_negative_zero(f'{lo:.{decimals}f}')}{sep}{no_negative_zero(f'{hi:.{decimals}f}')}"


def fmt_pct(value, decimals: int = 1) -> str:
    """A percentage without the % sign, for table cells; '–' when suppressed or missing."""
    return "–" if value is None or pd.isna(value) else no_negative_zero(f"{value:.{decimals}f}")


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
    index, then % and 95% CI (whole percentages, as the report gives them) and base."""
    labels = list(labels)
    out = t[labels].copy()
    out["%"] = t[value].map(lambda v: fmt_pct(v, 0))
    out["95% CI"] = [ci_text(lo, hi, 0, sep=" to ") for lo, hi in zip(t["ci_low"], t["ci_high"], strict=True)]
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
    frame: pd.DataFrame,
    columns: dict,
    codes: dict,
    population: str,
    subgroup=None,
    exclude=(),
    min_base: int | None = None,
    rules=None,
):
    """Share of every response code for several columns (the rows of a grid item), in long
    form with a ``response`` column, as :func:`calaim.book.plots.likert` expects. ``rules``: the
    chapter's :class:`calaim.stats.tables.Rules` (``ctx.tables``: its min_base, disclosure policy
    and weight; default: the neutral rules, min_base 30, unweighted); ``min_base`` overrides its
    min_base."""
    from calaim.stats import tables

    rules = tables.Rules() if rules is None else rules
    groups = {label: [code] for code, label in codes.items() if code not in exclude}
    t = rules.grid(frame, columns, groups, population=population, subgroup=subgroup, exclude=exclude, min_base=min_base)
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
#: what pandas' ``read_csv`` reads as missing by default (its documented ``na_values``): a label
#: spelled so in a figure's CSV (the answer "None" of Figures 20-21) is written as ``"None (answer)"``
READ_AS_MISSING = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
     "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
#: columns that only a ``reset_index()`` of an unnamed row index leaves behind
_LEAKED_INDEX = ("index", "level_0")


def _csv_label(v):
    """A text cell as the CSV holds it: wrapped lines joined (a break after a hyphen closes up:
    "whole-\\nperson" is "whole-person"); a label pandas would read as missing keeps its meaning."""
    if not isinstance(v, str):
        return v
    v = re.sub(r"(?<=\w-)\n(?=\w)", "", v).replace("\n", " ")
    return f"{v} (answer)" if v.strip() and v.strip() in READ_AS_MISSING else v


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
    label: str | None = None,
) -> pd.DataFrame:
    """The table behind a figure as it is written to CSV: a row index kept when it carries labels
    (a name, or text), dropped when it is only row numbers, and an ``index`` column left by an
    earlier ``reset_index()`` dropped; line breaks of wrapped labels undone; a text label that
    pandas would read as missing written with " (answer)" (:data:`READ_AS_MISSING`); missing
    values written as empty fields, never "None"; numbers rounded to 4 decimals; and released by
    :func:`calaim.stats.tables.release`. The estimate kernel's columns are recognised
    (``count``, ``base``, ``effective_n`` are counts; ``value`` and its CI rest on ``base`` and
    ``count``); a chapter's own columns are declared: ``counts`` (columns of respondent counts)
    and ``estimates`` ({estimate column: (base column or None, count column or None)}).
    Estimates on a base below ``min_base`` are blanked; ``public`` also hides counts of 1 to 10
    and the estimates resting on them, and drops the ``count`` column. ``label`` (default
    :func:`data_label`) fills a last column ``data``: "synthetic" or the name of the data file,
    so that a downloaded file says what it was computed from."""
    from calaim.stats import tables

    label = data_label() if label is None else label
    t = data.copy()
    numbers_only = t.index.name is None and t.index.nlevels == 1 and pd.api.types.is_integer_dtype(t.index)
    if numbers_only:
        t = t.reset_index(drop=True)
    else:
        t = t.reset_index()
    t.columns = [" ".join(str(c) for c in col).strip() if isinstance(col, tuple) else str(col) for col in t.columns]
    t.columns = [c.replace("\n", " ") for c in t.columns]
    leaked = [c for c in _LEAKED_INDEX if c in t and pd.api.types.is_integer_dtype(t[c])]
    t = t.drop(columns=leaked).rename(columns={"index": "label"})
    for c in t.columns:
        if isinstance(t[c].dtype, pd.CategoricalDtype):  # answer labels of a Likert figure
            t[c] = t[c].astype(object)
        if t[c].dtype == object or pd.api.types.is_string_dtype(t[c]):
            t[c] = t[c].map(_csv_label).astype(object).where(t[c].notna(), None)
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
    if label:
        t["data"] = label
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
    itself). The figure carries the data mark ("synthetic data", or the file's name) and is shown
    as a 200 dpi PNG sized to the text column, its fonts enlarged where needed so that no text is
    under 10 px (:func:`calaim.book.plots.legible_png`). ``name`` must be unique in the book
    (prefix it with the chapter). Returns nothing, so that a call ending a cell adds no output."""
    from IPython.display import Image, Markdown
    from IPython.display import display as ipy_display

    path = write_figure_data(data, name, folder, public, **release)
    label = data_label()
    if label:
        plots.data_mark(fig, "synthetic data" if label == "synthetic" else f"data: {label}")
    png, width = plots.legible_png(fig)
    ipy_display(Image(data=png, format="png", width=width))
    plt.close(fig)
    ipy_display(Markdown(download_link(path, len(data))))


def base_note(ax, text: str) -> None:
    """The base note, under everything drawn on the figure (tick labels, legends), left-aligned
    with it. It is placed (:func:`calaim.book.plots.place_notes`) when the figure is shown, after
    :func:`calaim.book.plots.legible` has changed the layout, so it can be added at any point."""
    fig = ax.figure
    fig.text(
        0,
        0,
        text,
        ha="left",
        va="top",
        fontsize=8,
        color="#424242",
        gid=plots.NOTE_GID,
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
    """Numbers as text, '–' for missing, no '-0'."""
    return ["–" if pd.isna(v) else no_negative_zero(f"{v:,.{decimals}f}") for v in values]


# ---------------------------------------------------------------------------- HTML tables
# Every DataFrame a chapter shows goes through html_table (chapter.setup registers it as the
# notebook's HTML formatter for DataFrames): whole labels that wrap (no "..."), no row numbers,
# internal ids as a tooltip, numbers formatted by what the column holds, "–" for missing, and
# tables longer than FOLD_ROWS rows folded into a dropdown. reader.css / reader.js (the book's
# _static) make them scroll sideways on a phone and sort and filter where asked.
FOLD_ROWS = 25
ID_COLUMNS = ("id",)
_PLAIN_INT = ("code", "codes", "year", "wave", "rank")


def p_text(p) -> str:
    """A p-value for readers: '< 0.001', '0.023', or '–' (never scientific notation)."""
    if p is None or pd.isna(p):
        return "–"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _is_p(column: str) -> bool:
    c = column.lower()
    return c in ("p", "p-value", "p value") or c.startswith(("p (", "p ", "p-value")) or c.endswith((" p", "(p)"))


def column_decimals(column: str, values: pd.Series) -> int:
    """Decimals for a numeric column the chapter did not format itself: whole numbers for counts,
    bases and shares (%), one decimal for means, two otherwise (odds ratios, coefficients)."""
    c = column.lower()
    finite = pd.to_numeric(values, errors="coerce").dropna()
    if len(finite) and (finite == finite.round()).all():
        return 0
    if "%" in c or "share" in c or "pp" in c.split() or "percent" in c or _is_count(column):
        return 0
    if "mean" in c or "average" in c:
        return 1
    return 2


def cell_text(value, column: str = "", decimals: int | None = None) -> str:
    """One table cell as text (see :func:`html_table`)."""
    if value is None or (not isinstance(value, str | bool) and pd.isna(value)):
        return "–"
    if isinstance(value, bool | np.bool_):
        return "yes" if value else "no"
    if isinstance(value, str):
        text = value.strip()
        return "–" if text.lower() in ("nan", "<na>", "nat") else text
    if isinstance(value, int | np.integer):
        return str(int(value)) if column.lower() in _PLAIN_INT else f"{int(value):,}"
    if isinstance(value, float | np.floating):
        if _is_p(column):
            return p_text(float(value))
        d = 2 if decimals is None else decimals
        return _NEG_ZERO.sub(r"\1\2", f"{float(value):,.{d}f}")
    return str(value)


def _labels(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str] | None]:
    """(body, names of its row-label columns, ids or None): a row index of 0..n-1 is dropped, an
    index or column named 'id' becomes the rows' tooltip, any other index becomes label columns."""
    t = table.copy()
    t.columns = [" ".join(str(x) for x in c if str(x)).strip() if isinstance(c, tuple) else str(c) for c in t.columns]
    ids = None
    names = [n for n in t.index.names]
    plain = isinstance(t.index, pd.RangeIndex) or (
        t.index.nlevels == 1
        and names[0] is None
        and pd.api.types.is_integer_dtype(t.index)
        and list(t.index) == list(range(len(t)))
    )
    if names == ["id"] or (t.index.nlevels == 1 and names[0] in ID_COLUMNS):
        ids = [str(i) for i in t.index]
        plain = True
    label_cols: list[str] = []
    if not plain:
        level_names = [str(n) if n is not None else "" for n in names]
        t = t.reset_index()
        t.columns = [*level_names, *t.columns[len(level_names) :]]
        label_cols = level_names
    for c in ID_COLUMNS:
        if c in t.columns:
            ids = [str(i) for i in t[c]]
            t = t.drop(columns=c)
    t = t.reset_index(drop=True)
    return t, label_cols, ids


def html_table(
    table: pd.DataFrame,
    fold_rows: int | None = FOLD_ROWS,
    sortable: bool = False,
    filterable: bool = False,
    summary: str | None = None,
) -> str:
    """``table`` as the book shows it: an HTML table with every label whole (it wraps), no row
    numbers, ids as row tooltips ("id: ..."), numbers formatted by :func:`cell_text`, inside a
    sideways-scrolling wrapper; folded into a dropdown when longer than ``fold_rows`` rows."""
    import html

    body, label_cols, ids = _labels(table)
    decimals = {
        c: column_decimals(c, body[c])
        for c in body.columns
        if pd.api.types.is_float_dtype(body[c]) or pd.api.types.is_object_dtype(body[c])
    }
    attrs = ' data-sortable="true"' if sortable else ""
    attrs += ' data-filterable="true"' if filterable else ""
    head = "".join(f'<th scope="col">{html.escape(c)}</th>' for c in body.columns)
    rows = []
    for i, rec in enumerate(body.itertuples(index=False, name=None)):
        cells = []
        for c, v in zip(body.columns, rec, strict=True):
            text = html.escape(cell_text(v, c, decimals.get(c)))
            cells.append(f'<th scope="row">{text}</th>' if c in label_cols else f"<td>{text}</td>")
        tip = f' title="id: {html.escape(ids[i])}"' if ids else ""
        rows.append(f"<tr{tip}>{''.join(cells)}</tr>")
    out = (
        f'<div class="calaim-table-wrap"><table class="calaim-table"{attrs}>'
        f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )
    if fold_rows is not None and len(body) > fold_rows:
        label = html.escape(summary or f"Show the table ({len(body):,} rows)")
        out = f'<details class="calaim-table-fold"><summary>{label}</summary>{out}</details>'
    return out


class Table:
    """A DataFrame shown with options (sortable, filterable, folding), for ``display(Table(df, ...))``."""

    def __init__(self, table: pd.DataFrame, **options):
        self.table = table
        self.options = options

    def _repr_html_(self) -> str:
        return html_table(self.table, **self.options)

    def __repr__(self) -> str:
        return repr(self.table)


def use_html_tables() -> bool:
    """Make :func:`html_table` the notebook's HTML view of every DataFrame (no-op outside IPython)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    ip = get_ipython()
    if ip is None:
        return False
    ip.display_formatter.formatters["text/html"].for_type(pd.DataFrame, html_table)
    return True
