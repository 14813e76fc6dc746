"""Figures in one house style.

Each function takes a tidy table (from :mod:`calaim.stats.tables` or :mod:`calaim.stats.models`), draws into
``ax`` (a new figure if none), and returns the Axes. Nothing is written to disk and no global
state changes except through :func:`set_theme`, which chapters call once.

The palette is colour-blind safe (a diverging blue-orange ramp for Likert scales from
ColorBrewer's PuOr / the Okabe-Ito set for categories); bases are printed under each figure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

import matplotlib
import matplotlib.category
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

OKABE_ITO = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
NEUTRAL = "#BDBDBD"
UNSURE = "#E0E0E0"

# One colour per report sector, the same in every chapter.
SECTOR_COLOURS = {
    "Overall": "#4D4D4D",
    "Managed care plans": OKABE_ITO[0],
    "FQHCs": OKABE_ITO[1],
    "Behavioural health": OKABE_ITO[2],
    "Social service organisations": OKABE_ITO[3],
    "Hospital discharge planners": OKABE_ITO[4],
    "Primary care providers": OKABE_ITO[5],
}


#: figures are saved at this resolution and shown at half their pixel width (2x, sharp on any screen)
DPI = 200
#: the least resolution a figure is saved at (``check-html`` asks for 150 dpi)
MIN_DPI = 150
#: the white margin (inches) around a figure's tight box, savefig's usual ``pad_inches``
PAD_IN = 0.1
#: the text column of the book at desktop width (CSS px): no figure is shown wider
COLUMN_PX = 760
#: no text of a figure may be smaller than this at desktop width (CSS px)
MIN_TEXT_PX = 10.0
#: CSS pixels per inch of a figure shown at its natural size (a 2x image at half its pixels)
CSS_PX_PER_INCH = 100
#: WCAG AA contrast for normal text
MIN_CONTRAST = 4.5
DARK_TEXT = "#000000"  # black reaches 4.5:1 on any fill where white does not


def set_theme() -> None:
    """The book's seaborn theme; deterministic SVG-free PNG output."""
    sns.set_theme(context="notebook", style="whitegrid", palette=OKABE_ITO, font_scale=0.95)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.dpi": DPI,
            "figure.figsize": (8, 4),
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "axes.spines.top": False,
            "axes.spines.right": False,
            "legend.frameon": False,
            "svg.hashsalt": "calaim-book",
        }
    )


def _ax(ax, height: float = 4.0, width: float = 8.0):
    if ax is None:
        _, ax = plt.subplots(figsize=(width, height))
    return ax


def diverging_palette(n_neg: int, n_pos: int, neutral: bool = True) -> list[str]:
    """Positive answers blue, negative orange, the middle grey (PuOr-like, colour-blind safe)."""
    pos = sns.color_palette("Blues", n_pos + 2).as_hex()[2:][::-1]
    neg = sns.color_palette("Oranges", n_neg + 2).as_hex()[2:]
    return pos + ([NEUTRAL] if neutral else []) + neg


def likert(
    table: pd.DataFrame,
    positive: Sequence[str],
    negative: Sequence[str],
    neutral: Sequence[str] = (),
    other: Sequence[str] = (),
    row: str = "row",
    response: str = "response",
    value: str = "value",
    base: str | None = "base",
    ax=None,
    title: str | None = None,
    label_min: float | None = 6.0,
):
    """Diverging stacked bars: positive answers to the right of zero, negative to the left,
    neutral centred and 'unsure'-type answers in a separate grey block on the far right.

    ``table`` is long: one row per (row, response) with a percentage ``value``. Give
    ``positive`` and ``negative`` in codebook order (strongest positive first, mildest negative
    first): both sides then grow outward from zero towards their strongest answer. Segments at
    least ``label_min`` points wide carry their value (None: no labels); the 'unsure' block is
    always labelled, and the legend lists the answers in the order the bars show them.
    """
    wide = table.pivot_table(index=row, columns=response, values=value, aggfunc="first", sort=False)
    order = list(dict.fromkeys(table[row]))
    # every answer keeps its column, even one suppressed (missing) in every row
    answers = dict.fromkeys([*table[response], *positive, *negative, *neutral, *other])
    wide = wide.reindex(index=order, columns=list(answers))
    ax = _ax(ax, height=0.55 * len(order) + 1.4, width=9)
    colours = diverging_palette(len(negative), len(positive), neutral=False)
    pos_col = dict(zip(positive, colours[: len(positive)], strict=False))
    neg_col = dict(zip(negative, colours[len(positive) :], strict=False))
    y = np.arange(len(order))
    half_neutral = wide[list(neutral)].sum(axis=1).fillna(0) / 2 if neutral else pd.Series(0, index=wide.index)
    # positive: stack outward from the neutral half, the strongest answer at the far end
    left = half_neutral.copy()
    for resp in reversed(positive):
        w = wide.get(resp, pd.Series(0, index=wide.index)).fillna(0)
        ax.barh(y, w, left=left, color=pos_col[resp], label=resp, edgecolor="white", linewidth=0.5)
        left += w
    right = -half_neutral
    for resp in negative:  # codebook order: the mildest negative answer sits next to zero
        w = wide.get(resp, pd.Series(0, index=wide.index)).fillna(0)
        ax.barh(y, -w, left=right, color=neg_col[resp], label=resp, edgecolor="white", linewidth=0.5)
        right -= w
    for resp in neutral:
        w = wide.get(resp, pd.Series(0, index=wide.index)).fillna(0)
        ax.barh(y, w, left=-half_neutral, color=NEUTRAL, label=resp, edgecolor="white", linewidth=0.5)
    if other:
        start = max(100.0, float(left.max())) + 5
        for i, resp in enumerate(other):
            w = wide.get(resp, pd.Series(0, index=wide.index)).fillna(0)
            ax.barh(y, w, left=start, color=[UNSURE, "#F5F5F5"][i % 2], label=resp, edgecolor="#9E9E9E", linewidth=0.5)
            start += float(w.max()) + 2
    ax.axvline(0, color="#424242", linewidth=0.8, zorder=0.9)  # under the bars: it would cross the centred labels
    if label_min is not None:
        _label_segments(ax, set(other), label_min)
    labels = list(order)
    if base and base in table:
        bases = table.drop_duplicates(row).set_index(row)[base].reindex(order)
        labels = [f"{lab}\n(n = {int(b):,})" if pd.notna(b) else lab for lab, b in zip(order, bases, strict=True)]
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{abs(v):.0f}%" if v <= 100 else ""))
    ax.set_xlabel("Share of respondents (%)")
    # legend in the order the bars read, left to right: strongest negative ... strongest positive, then 'unsure'
    handles = dict(zip(*ax.get_legend_handles_labels()[::-1], strict=False))
    reading = [*reversed(list(negative)), *neutral, *reversed(list(positive)), *other]
    shown = [r for r in reading if r in handles]
    one_row = sum(len(r) + 6 for r in shown) <= 110  # a single row when the labels fit the width
    ax.legend(
        [handles[r] for r in shown],
        shown,
        loc="upper center",
        bbox_to_anchor=(0.5, -0.18),
        ncol=len(shown) if one_row else min(4, len(shown)),
    )
    if title:
        ax.set_title(title, loc="left")
    ax.grid(axis="y", visible=False)
    return ax


def _label_segments(ax, other: set, label_min: float) -> None:
    """Print each stacked segment's share on it (white on dark fills), and each 'unsure'-type
    block's share just right of it."""
    for container in ax.containers:
        is_other = container.get_label() in other
        for patch in container.patches:
            w = abs(patch.get_width())
            if w <= 0 or np.isnan(w) or (not is_other and w < label_min):
                continue
            yc = patch.get_y() + patch.get_height() / 2
            if is_other:
                ax.annotate(
                    f"{w:.0f}%",
                    (patch.get_x() + patch.get_width(), yc),
                    xytext=(3, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center",
                    fontsize=8,
                    color="#424242",
                )
                continue
            ax.text(
                patch.get_x() + patch.get_width() / 2,
                yc,
                f"{w:.0f}",
                ha="center",
                va="center",
                fontsize=8,
                color=label_colour(patch.get_facecolor()),
            )


def bars(
    table: pd.DataFrame,
    x: str = "value",
    y: str = "subgroup",
    hue: str | None = None,
    ci: tuple[str, str] | None = ("ci_low", "ci_high"),
    ax=None,
    title: str | None = None,
    xlabel: str = "Share (%)",
    annotate: bool = True,
    palette: Mapping[str, str] | None = None,
    decimals: int = 0,
):
    """Horizontal (grouped) bars with CI whiskers and the value printed at the bar end."""
    n_rows = table[y].nunique() * (table[hue].nunique() if hue else 1)
    ax = _ax(ax, height=0.32 * n_rows + 1.5)
    pal = palette
    if hue and pal is None:
        pal = dict(zip(table[hue].unique(), OKABE_ITO, strict=False))
    order = list(dict.fromkeys(table[y]))
    # a suppressed (missing) estimate draws no bar: leave its row out, so that bars and whiskers pair up
    table = table[table[x].notna()]
    sns.barplot(
        data=table,
        x=x,
        y=y,
        order=order,
        hue=hue,
        ax=ax,
        palette=pal if hue else None,
        color=None if hue else OKABE_ITO[0],
        errorbar=None,
        orient="h",
    )
    if ci and all(c in table for c in ci):
        groups = table.groupby(hue, sort=False) if hue else [(None, table)]
        for bar_container, (_, sub) in zip(ax.containers, groups, strict=False):
            for patch, (_, r) in zip(bar_container.patches, sub.iterrows(), strict=True):
                yc = patch.get_y() + patch.get_height() / 2
                if pd.notna(r[ci[0]]):
                    ax.plot([r[ci[0]], r[ci[1]]], [yc, yc], color="#212121", linewidth=1)
                if annotate and pd.notna(r[x]):
                    ax.annotate(
                        f"{r[x]:.{decimals}f}",
                        (max(r[x], r[ci[1]] if pd.notna(r[ci[1]]) else r[x]), yc),
                        xytext=(4, 0),
                        textcoords="offset points",
                        va="center",
                        fontsize=8,
                    )
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    if hue:
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), title=None)
    if title:
        ax.set_title(title, loc="left")
    return ax


def heatmap(wide: pd.DataFrame, ax=None, title: str | None = None, fmt: str = ".0f", cbar_label: str = "%"):
    """Annotated heat map (Table B1): rows = respondent types, columns = partner sectors."""
    ax = _ax(ax, height=0.45 * len(wide) + 2.5, width=min(16, 0.75 * wide.shape[1] + 4))
    sns.heatmap(
        wide,
        annot=True,
        fmt=fmt,
        cmap="Blues",
        cbar_kws={"label": cbar_label},
        linewidths=0.5,
        linecolor="white",
        ax=ax,
        annot_kws={"fontsize": 8},
    )
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=60)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    if title:
        ax.set_title(title, loc="left")
    return ax


def forest(
    table: pd.DataFrame,
    label: str = "term",
    ax=None,
    title: str | None = None,
    published: pd.DataFrame | None = None,
    published_label: str = "published",
):
    """Odds ratios with 95% CIs on a log scale; the line at 1 means 'no association'.
    ``published`` (optional, columns term/odds_ratio/ci_low/ci_high) is drawn beside each row."""
    t = table.dropna(subset=["odds_ratio"]).reset_index(drop=True)
    ax = _ax(ax, height=0.45 * len(t) + 1.5, width=7)
    y = np.arange(len(t))
    ax.errorbar(
        t["odds_ratio"],
        y,
        xerr=[t["odds_ratio"] - t["ci_low"], t["ci_high"] - t["odds_ratio"]],
        fmt="o",
        color=OKABE_ITO[0],
        ecolor=OKABE_ITO[0],
        capsize=3,
        label="reproduced",
    )
    if published is not None and len(published):
        p = published.set_index("term").reindex(t[label])
        ok = p["odds_ratio"].notna().to_numpy()
        ax.errorbar(
            p["odds_ratio"][ok],
            y[ok] + 0.25,
            xerr=[(p["odds_ratio"] - p["ci_low"])[ok], (p["ci_high"] - p["odds_ratio"])[ok]],
            fmt="s",
            color=OKABE_ITO[1],
            ecolor=OKABE_ITO[1],
            capsize=3,
            label=published_label,
        )
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    ax.axvline(1, color="#424242", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax.set_yticks(y, t[label])
    ax.invert_yaxis()
    ax.set_xlabel("Odds ratio (log scale), 95% CI")
    if title:
        ax.set_title(title, loc="left")
    return ax


def change_dots(table: pd.DataFrame, ax=None, wave: str = "this wave", label: str = "label", xlabel: str = "%"):
    """What changed since 2023: one dot per row at this wave's value with its 95% CI, and a
    vertical tick at the 2023 published value; rows whose verdict is "changed" are coloured.

    ``table`` columns: ``label``, ``value``, ``ci_low``, ``ci_high``, ``published``, ``verdict``."""
    t = table.reset_index(drop=True)
    ax = _ax(ax, height=max(2.5, 0.35 * len(t) + 1), width=8.0)
    y = np.arange(len(t))
    changed = (t["verdict"] == "changed").to_numpy()
    for mask, colour, name in ((changed, OKABE_ITO[5], "changed"), (~changed, OKABE_ITO[0], "no detectable change")):
        if mask.any():
            ax.errorbar(
                t["value"][mask],
                y[mask],
                xerr=[(t["value"] - t["ci_low"])[mask].fillna(0), (t["ci_high"] - t["value"])[mask].fillna(0)],
                fmt="o",
                color=colour,
                ecolor=colour,
                capsize=3,
                label=f"wave {wave}: {name}" if name == "changed" else f"wave {wave}",
            )
    ax.scatter(t["published"], y, marker="|", s=250, color="#000000", linewidths=2, label="2023 published", zorder=3)
    ax.set_yticks(y, t[label])
    ax.invert_yaxis()
    ax.set_xlabel(f"{xlabel} (95% CI)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def paired_dots(
    table: pd.DataFrame,
    first: tuple[str, str, str],
    second: tuple[str, str, str],
    names: tuple[str, str],
    label: str = "label",
    xlabel: str = "%",
    ax=None,
):
    """Two estimates of each row side by side, each a dot with its 95% CI: ``first`` and
    ``second`` name the (value, ci_low, ci_high) columns, ``names`` their legend entries (for
    example unweighted against raked). The second dot sits just below the first."""
    t = table.reset_index(drop=True)
    ax = _ax(ax, height=max(2.5, 0.6 * len(t) + 1), width=10.0)
    y = np.arange(len(t), dtype=float)
    for (value, lo, hi), name, colour, marker, shift in (
        (first, names[0], OKABE_ITO[0], "o", -0.14),
        (second, names[1], OKABE_ITO[5], "s", 0.14),
    ):
        ax.errorbar(
            t[value],
            y + shift,
            xerr=[(t[value] - t[lo]).fillna(0).clip(lower=0), (t[hi] - t[value]).fillna(0).clip(lower=0)],
            fmt=marker,
            color=colour,
            ecolor=colour,
            capsize=3,
            label=name,
        )
    ax.set_yticks(y, t[label])
    ax.invert_yaxis()
    ax.set_xlabel(f"{xlabel} (95% CI)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))
    return ax


def base_note(ax, text: str) -> None:
    """Print the base (and data source) under a figure."""
    ax.figure.text(0.01, -0.02, text, ha="left", va="top", fontsize=8, color="#424242")


# ---------------------------------------------------------------------------- access and legibility
def luminance(colour) -> float:
    """WCAG relative luminance of a matplotlib colour."""
    rgb = np.array(matplotlib.colors.to_rgb(colour))
    lin = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(lin @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours (1 to 21)."""
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def label_colour(fill) -> str:
    """White on a fill dark enough for white text to reach 4.5:1, dark text otherwise."""
    return "white" if contrast("white", fill) >= MIN_CONTRAST else DARK_TEXT


def _texts(fig) -> list:
    """The visible, non-empty texts of ``fig`` (titles, labels, tick labels, legends, notes)."""
    out = []
    for t in fig.findobj(matplotlib.text.Text):
        if t.get_visible() and t.get_text().strip() and (t.axes is None or t.axes.get_visible()):
            out.append(t)
    return out


def _tight_width(fig) -> float:
    return float(fig.get_tightbbox(fig.canvas.get_renderer()).width)


def shown_width(width_in: float) -> int:
    """CSS width a figure of ``width_in`` inches is shown at: its natural 2x size, at most the column."""
    return int(min(COLUMN_PX, round(width_in * CSS_PX_PER_INCH)))


def text_px(fig, width_in: float | None = None) -> float:
    """The smallest text of ``fig`` in CSS px when it is shown at :func:`shown_width`
    (``width_in``: its tight width in inches, when known; measured otherwise)."""
    texts = _texts(fig)
    if not texts:
        return float("inf")
    width_in = (_tight_width(fig) if width_in is None else width_in) + 2 * PAD_IN
    smallest = min(t.get_fontsize() for t in texts)
    return smallest / 72 * shown_width(width_in) / width_in


def enlarge_text(fig, factor: float) -> None:
    """Every text of ``fig`` ``factor`` times larger and the figure that much taller, so that
    vertical spacing keeps its proportion to the text."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            labels = [t for t in axis.get_ticklabels() if t.get_text()]
            if labels:
                axis.set_tick_params(labelsize=labels[0].get_fontsize() * factor)
    ticks = {id(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis) for t in axis.get_ticklabels()}
    for t in _texts(fig):
        if id(t) not in ticks:
            t.set_fontsize(t.get_fontsize() * factor)
    w, h = fig.get_size_inches()
    fig.set_size_inches(w, h * factor)


#: what :func:`legible` aims at: a margin above MIN_TEXT_PX, because enlarging the text widens the
#: figure (so it is shown scaled down a little more) and the browser's column can be narrower
LEGIBLE_TARGET_PX = 1.05 * MIN_TEXT_PX
#: at most this much taller in all: a figure whose labels widen it as fast as they grow cannot
#: gain legibility by growing, and must not grow without end
MAX_GROWTH = 3.0


def _legend_under(ax, renderer) -> int:
    """Move the legend of ``ax`` that sits right of the axes to under them (centred, below the
    tick labels and axis label), where it takes height instead of width; 1 if moved, else 0."""
    legend = ax.get_legend()
    if legend is None or not legend.get_visible():
        return 0
    box, axes_box = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    if box.x0 < axes_box.x1 - 1:
        return 0
    below = ax.get_tightbbox(renderer, bbox_extra_artists=[])
    gap = (axes_box.y0 - below.y0) / axes_box.height + 0.02
    legend.set_loc("upper center")
    legend.set_bbox_to_anchor((0.5, -gap), transform=ax.transAxes)
    return 1


def _flat(text: str) -> str:
    """``text`` on one line, ready to be wrapped again: a line ending in a hyphen joins the next
    without a space ("Medi-" + "Cal"), other line breaks become spaces, and the spaces of a
    base such as "(n = 119)" become non-breaking so that it is never split."""
    joined = re.sub(r"-\s*\n\s*", "-", text)
    flat = " ".join(joined.split())
    return re.sub(r"\bn = ([\d,]+)", "n\u00a0=\u00a0\\1", flat)


def _line_chars(text: str, width: float, room: float, least: int) -> int:
    """Characters per line for ``text``, ``width`` px wide now, to fit in ``room`` px (estimated
    from its longest line); never under ``least``."""
    longest = max(len(line) for line in text.splitlines())
    return max(least, int(longest * room / width * 0.97))


def _fill(text: str, chars: int) -> str:
    """``text`` wrapped again at word boundaries into lines of at most ``chars`` characters."""
    import textwrap

    return textwrap.fill(_flat(text), width=chars, break_on_hyphens=False)


#: locators of category axes, whose labels can be replaced by wrapped ones
_CATEGORY_LOCATORS = (matplotlib.ticker.FixedLocator, matplotlib.category.StrCategoryLocator)


def wrap_notes(fig, share: float = 0.98, label_share: float = 0.5) -> int:
    """Re-wrap, at word boundaries, every note written on the figure itself (``fig.text``: base
    notes, sources) that is wider than ``share`` of the figure, and every axes title wider than
    its axes, and the category labels left of an axes where the widest takes more than
    ``label_share`` of the figure; put the lines of upright (90 degree) category labels back
    on one line; move a legend right of its axes to under them. Long
    one-line notes would otherwise set the width the figure is scaled down from, titles of
    panels side by side would run into each other, and the lines of upright labels into their
    neighbours. Returns how many texts were changed; texts that fit are left as they are."""
    renderer = fig.canvas.get_renderer()
    limit = share * fig.get_figwidth() * fig.dpi
    wrapped = 0
    for t in fig.texts:
        text = t.get_text()
        if not t.get_visible() or not text.strip() or t.get_gid() == MARK_GID:
            continue
        width = t.get_window_extent(renderer).width
        if width > limit:
            t.set_text(_fill(text, _line_chars(text, width, limit, 20)))
            wrapped += 1
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        room = ax.get_window_extent(renderer).width
        for t in (ax.title, ax._left_title, ax._right_title):
            text = t.get_text()
            width = t.get_window_extent(renderer).width if text.strip() else 0.0
            if width > room * 1.02 and room > 0:
                t.set_text(_fill(text, _line_chars(text, width, room, 12)))
                wrapped += 1
        for axis, set_ticks in ((ax.xaxis, ax.set_xticks), (ax.yaxis, ax.set_yticks)):
            labels = axis.get_ticklabels()
            turned = [t for t in labels if "\n" in t.get_text() and abs(t.get_rotation() % 180 - 90) < 1]
            if turned and isinstance(axis.get_major_locator(), _CATEGORY_LOCATORS):
                # a label turned upright has all the length it needs: its lines would only collide
                # with the neighbouring labels' lines as the text grows
                rotation = turned[0].get_rotation()
                set_ticks(axis.get_majorticklocs(), [_flat(t.get_text()) for t in labels])
                axis.set_tick_params(labelrotation=rotation)
                wrapped += 1
        wrapped += _legend_under(ax, renderer)
        labels = [t for t in ax.yaxis.get_ticklabels() if t.get_text().strip()]
        if labels and isinstance(ax.yaxis.get_major_locator(), _CATEGORY_LOCATORS):
            widest = max(labels, key=lambda t: t.get_window_extent(renderer).width)
            width = widest.get_window_extent(renderer).width
            room = label_share * fig.get_figwidth() * fig.dpi
            if width > room and abs(widest.get_rotation() % 180) < 1:
                # category labels left of the axes take at most ``label_share`` of the width
                chars = _line_chars(widest.get_text(), width, room, 16)
                texts = [_fill(t.get_text(), chars) for t in ax.yaxis.get_ticklabels()]
                ax.set_yticks(ax.yaxis.get_majorticklocs(), texts)
                wrapped += 1
    return wrapped


def legible(fig, min_px: float = LEGIBLE_TARGET_PX, steps: int = 8) -> float:
    """Enlarge the text of ``fig`` until none is under ``min_px`` CSS px at desktop width;
    return the smallest text size reached (px). A figure wider than the text column is shown
    scaled down, and its long labels widen it as fast as they grow: when enlarging stops helping
    (less than 1% gained) or the figure is :data:`MAX_GROWTH` times its height, it is made
    narrower instead (its axes give up the room), down to 60% of its width. Notes written on the
    figure are re-wrapped to its width (:func:`wrap_notes`) and placed again (:func:`place_notes`)
    before each measurement."""
    return _legible(fig, min_px, steps)[0]


def _legible(fig, min_px: float = LEGIBLE_TARGET_PX, steps: int = 8):
    """:func:`legible`'s text size and the tight box (inches) of the figure it leaves, the one
    ``savefig(bbox_inches="tight")`` would crop to: one layout pass per measurement."""

    def measure():
        wrap_notes(fig)
        box = place_notes(fig)
        return text_px(fig, box.width), box

    px, box = measure()
    grown, narrowed = 1.0, 1.0
    # how the shown text size answers to enlarging (d log px / d log factor): 1 while the figure
    # is shown at its natural size, less once its growing labels widen it past the column and it
    # is scaled down. Each step aims at the target through the last measured response, so a
    # figure gets there in one or two measurements rather than creeping up on it.
    response = 1.0
    for _ in range(steps):
        if px >= min_px - 0.01:
            break
        before = px
        if grown < MAX_GROWTH:
            factor = min(1.6, (min_px / px * 1.02) ** (1 / response), MAX_GROWTH / grown)
            enlarge_text(fig, factor)
            grown *= factor
            px, box = measure()
            if px > before and factor > 1:
                response = min(1.0, max(0.25, math.log(px / before) / math.log(factor)))
        if px < before * 1.01 or grown >= MAX_GROWTH:
            if narrowed <= 0.6:
                break
            w, h = fig.get_size_inches()
            fig.set_size_inches(w * 0.85, h)
            narrowed *= 0.85
            px, box = measure()
    return px, box


#: the ``gid`` of the data mark, so that :func:`legible` can find it and place it again
MARK_GID = "calaim-data-mark"


#: the ``gid`` of a base note (:func:`calaim.book.display.base_note`), placed again the same way
NOTE_GID = "calaim-base-note"


def _box_without(fig, texts):
    """The tight bounding box (inches) of ``fig`` leaving ``texts`` out."""
    shown = [t.get_visible() for t in texts]
    for t in texts:
        t.set_visible(False)
    box = fig.get_tightbbox(fig.canvas.get_renderer())
    for t, v in zip(texts, shown, strict=True):
        t.set_visible(v)
    return box


def _inches(text, fig):
    """The box (inches) of one text of ``fig``."""
    return text.get_window_extent(fig.canvas.get_renderer()).transformed(fig.dpi_scale_trans.inverted())


def place_notes(fig):
    """Put the base note (``gid`` :data:`NOTE_GID`) just under, and the data mark
    (:data:`MARK_GID`) just above the top right corner of, everything else drawn on ``fig``:
    enlarging and re-wrapping texts moves what they were placed against. Returns the tight box
    (inches) of the whole figure, notes and mark included. One layout pass: the box of the rest,
    then the notes' and mark's own boxes."""
    notes = [t for t in fig.texts if t.get_gid() == NOTE_GID]
    marks = [t for t in fig.texts if t.get_gid() == MARK_GID]
    w, h = fig.get_size_inches()
    box = _box_without(fig, notes + marks)
    boxes = [box]
    for note in notes:
        note.set_position((box.x0 / w, box.y0 / h - 0.01))
        if note.get_visible() and note.get_text().strip():
            boxes.append(_inches(note, fig))
    box = matplotlib.transforms.Bbox.union(boxes)
    for mark in marks:
        mark.set_position((box.x1 / w, box.y1 / h + 0.02 / h))
        if mark.get_visible() and mark.get_text().strip():
            boxes.append(_inches(mark, fig))
    return matplotlib.transforms.Bbox.union(boxes)


def data_mark(fig, text: str = "synthetic data") -> None:
    """A small grey mark at the top right of ``fig``, above everything drawn. :func:`legible`
    (which every figure of the book passes through) places it; :func:`place_notes` does alone."""
    fig.text(0, 0, text, ha="right", va="bottom", fontsize=9, style="italic", color="#595959", gid=MARK_GID)


def min_font_pt(fig) -> float:
    """The size (points) of the smallest text of ``fig``."""
    return min((t.get_fontsize() for t in _texts(fig)), default=float("inf"))


def output_dpi(width_in: float) -> int:
    """The resolution a figure ``width_in`` inches wide (its padded crop) is saved at: twice the
    CSS pixels it is shown at (:func:`shown_width`), a sharp image on a 2x screen, from
    :data:`DPI` for a figure shown at its natural size down to :data:`MIN_DPI` for one scaled
    down into the column. Pixels beyond that are drawn and compressed for nobody."""
    need = 2 * shown_width(width_in) / width_in if width_in > 0 else DPI
    return int(min(DPI, max(MIN_DPI, math.ceil(need))))


def png_bytes(fig, bbox, dpi: int, text: dict[str, str]) -> bytes:
    """``fig`` cropped to ``bbox`` (inches) as PNG at ``dpi``, with ``text`` as tEXt chunks and
    no date. Drawn once by Agg into a raw buffer and encoded by Pillow: an opaque figure (every
    figure of the book has a white background) is stored as RGB, a quarter fewer bytes to
    compress than matplotlib's RGBA, pixel for pixel the same; a transparent one stays RGBA."""
    import io

    from PIL import Image, PngImagePlugin

    size: list[tuple[int, int]] = []
    cid = fig.canvas.mpl_connect("draw_event", lambda e: size.append((int(e.renderer.width), int(e.renderer.height))))
    raw = io.BytesIO()
    try:
        fig.savefig(raw, format="raw", dpi=dpi, bbox_inches=bbox)
    finally:
        fig.canvas.mpl_disconnect(cid)
    (w, h) = size[-1]
    buffer = raw.getvalue()
    if len(buffer) != w * h * 4:
        raise RuntimeError(f"figure buffer of {len(buffer)} bytes is not {w} x {h} RGBA")
    image = Image.frombuffer("RGBA", (w, h), buffer, "raw", "RGBA", 0, 1)
    if image.getextrema()[3] == (255, 255):
        image = image.convert("RGB")
    info = PngImagePlugin.PngInfo()
    for key, value in text.items():
        info.add_text(key, value)
    out = io.BytesIO()
    image.save(out, format="png", pnginfo=info, dpi=(dpi, dpi))
    return out.getvalue()


def legible_png(fig) -> tuple[bytes, int]:
    """(PNG bytes, CSS width to show it at) after :func:`legible`, at :func:`output_dpi`. The PNG
    records its resolution and the smallest font size (tEXt ``calaim:min-font-pt``), so that
    ``check-html`` can work out the smallest text in px wherever the figure is shown; it has no
    date, so equal figures give equal bytes."""
    fig.set_dpi(DPI)  # measure the text at the resolution it is drawn at: hinting differs by dpi
    _, box = _legible(fig)
    dpi = output_dpi(box.padded(PAD_IN).width)
    if dpi != DPI:
        fig.set_dpi(dpi)
        box = place_notes(fig)  # the box again at the resolution it is drawn at
    crop = box.padded(PAD_IN)  # legible's tight box with the margin: no second layout pass
    data = png_bytes(fig, crop, dpi, {"calaim:min-font-pt": f"{min_font_pt(fig):.2f}"})
    return data, shown_width(crop.width)
