"""Reference pages of the book, generated as MyST Markdown.

Pure functions: each takes parsed inputs (a :class:`~calaim.data.codebook.Codebook`, a registry
DataFrame) and returns the text of one page. :mod:`calaim.book.build` writes the text into the staged
book before ``jupyter-book build`` runs, so these pages always describe the codebook and the
registry that the build actually used.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable

import pandas as pd

from calaim.data.codebook import Codebook, Item

# Parts of the questionnaire, in the order the report presents them. The codebook may name an
# item's part explicitly (``section:`` in its YAML spec); otherwise :func:`item_section` infers it
# from the figures the item feeds.
SECTIONS: dict[str, str] = {
    "profile": "Screener and respondent profile",
    "s1": "Section 1: how implementation is going",
    "s2": "Section 2: partnerships between organisations",
    "s3": "Section 3: exchanging information about people served",
    "s4": "Section 4: Enhanced Care Management and Community Supports",
    "s5": "Section 5: behavioural health and hospital discharge planning",
    "other": "Other items",
}

# Figure numbers of the report by section (Figures 1-13 are Section 1, and so on).
_FIGURE_SECTIONS = ((1, 13, "s1"), (14, 20, "s2"), (21, 25, "s3"), (26, 32, "s4"), (33, 39, "s5"))
_PROFILE_POPULATIONS = {"everyone", "screened_in_medical"}

TYPE_NAMES = {
    "id": "identifier",
    "single": "single choice",
    "scale": "numeric rating",
    "count": "count",
    "grid": "grid (one column per row, shared codes)",
    "multi": "select all that apply (one 0/1 column per option)",
}

# Where the county layout comes from; a codebook may override with a ``county_sources`` list.
COUNTY_SOURCES = (
    "Regions: Table A6 of the 2023 report (CHCF / Goodwin Simon Strategic Research), which groups "
    "the 58 counties into eight regions.",
    "2023 plan models: DHCS, *Medi-Cal Managed Care Plan Model by County*, and the DHCS "
    "capitation-rate releases by plan model for calendar year 2023; CHCF, *Medi-Cal Explained: "
    "Managed Care Plan Models* (2023). Seventeen counties changed model on 1 January 2024; the "
    "table gives the model in force while the survey was in the field.",
)


# ---------------------------------------------------------------------------- small helpers
def _esc(text: object) -> str:
    """Make a value safe inside a Markdown table cell or a heading."""
    s = "" if text is None else str(text)
    s = s.replace("\\", "\\\\")
    for ch in "|$*`<>[]":
        s = s.replace(ch, "\\" + ch)
    return " ".join(s.split())


def _table(header: Iterable[str], rows: Iterable[Iterable[object]]) -> str:
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    for row in rows:
        lines.append("| " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(lines)


def _label(key: str) -> str:
    return "dd-" + re.sub(r"[^a-z0-9]+", "-", str(key).lower()).strip("-")


def _code(text: object) -> str:
    """Inline code; only a pipe needs escaping (inside a table cell)."""
    return "`" + str(text).replace("|", "\\|") + "`"


def _fmt_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        return f"{value:g}"
    return _esc(value)


def item_section(cb: Codebook, item: Item) -> str:
    """Key of the questionnaire part an item belongs to (see :data:`SECTIONS`)."""
    for spec in cb.raw.get("items", []):
        if spec.get("name") == item.name and spec.get("section"):
            return str(spec["section"])
    figures = list(item.figures)
    if item.asked in _PROFILE_POPULATIONS or any(f.startswith(("Table A", "Appendix A")) for f in figures):
        return "profile"
    for fig in figures:
        m = re.match(r"(?:Fig(?:ure)?\.?|Section)\s*(\d+)", fig)
        if not m:
            continue
        n = int(m.group(1))
        if fig.startswith("Section"):
            return f"s{n}" if f"s{n}" in SECTIONS else "other"
        for lo, hi, key in _FIGURE_SECTIONS:
            if lo <= n <= hi:
                return key
    if any(f.startswith("Table B") for f in figures):
        return "s2"
    return "other"


# ---------------------------------------------------------------------------- data dictionary
def _item_block(cb: Codebook, item: Item) -> list[str]:
    pop = cb.populations[item.asked]
    cols = [c.name for c in item.columns]
    if item.type == "grid":
        col_text = f"{len(cols)} columns, `{item.name}_<row>`"
    elif item.type == "multi":
        col_text = f"{len(cols)} columns, `{item.name}__<option>`"
    else:
        col_text = f"`{item.name}`"
    facts = [
        f"**Type:** {TYPE_NAMES[item.type]}",
        f"**Columns:** {col_text}",
        f"**Asked of:** {_esc(pop.label)} (`{pop.name}`)",
        f"**Used in:** {_esc(', '.join(item.figures)) if item.figures else 'not cited by the report'}",
    ]
    if item.required:
        facts.append("**Required** in every data file")
    out = [f"### `{item.name}`: {_esc(item.label)}", "", (" ·\n").join(facts), ""]

    if item.type in {"single", "grid"} and item.codes:
        if item.not_applicable:
            rows = [
                (code, _esc(label), "left out of the base" if code in item.not_applicable else "")
                for code, label in item.codes.items()
            ]
            out += [_table(["Code", "Label", "Note"], rows), ""]
        else:
            out += [_table(["Code", "Label"], ((code, _esc(label)) for code, label in item.codes.items())), ""]
    elif item.type in {"scale", "count"}:
        rng = f"Whole numbers from {item.min:g} to {item.max:g}."
        if item.anchors:
            rng += " " + "; ".join(f"{k} = {_esc(v)}" for k, v in item.anchors.items()) + "."
        out += [rng, ""]
    elif item.type == "id":
        out += ["One distinct value per respondent; never shown in the book.", ""]

    if item.type == "grid":
        out += [_table(["Column", "Row"], ((f"`{item.column_name(k)}`", _esc(v)) for k, v in item.parts.items())), ""]
    elif item.type == "multi":
        spec = next((s for s in cb.raw.get("items", []) if s.get("name") == item.name), {})
        if spec.get("options_from") == "counties":
            out += [
                f"One 0/1 column per county, `{item.name}__alameda` to `{item.name}__yuba` "
                f"({len(cols)} in all); see {{ref}}`the county table <dd-counties>`.",
                "",
            ]
        else:
            rows = ((f"`{item.column_name(k)}`", _esc(v)) for k, v in item.parts.items())
            out += [_table(["Column (1 = selected)", "Option"], rows), ""]
    return out


def data_dictionary_md(cb: Codebook) -> str:
    """The codebook as a browsable page: parts, items, codes, populations and counties."""
    by_section: dict[str, list[Item]] = {key: [] for key in SECTIONS}
    for item in cb.items.values():
        key = item_section(cb, item)
        by_section.setdefault(key, []).append(item)

    n_items = len(cb.items)
    n_cols = len(cb.columns)
    lines = [
        "(data-dictionary)=",
        "# Data dictionary",
        "",
        "This page is generated from `data/codebook.yml` each time the book is built, so it always "
        "describes the questionnaire the chapters were computed against. The codebook lists every "
        "survey item that the 2023 report or the SSO regression paper draws on, with short labels in "
        "our own words (the full question wording is not public).",
        "",
        "A respondent-level data file has one row per respondent and one column per answer. Most items "
        "fill a single column named after the item. A *grid* item, where one question is asked about "
        "several things on the same response scale, fills one column per row of the grid, named "
        "`<item>_<row>`. A *select all that apply* item fills one column per option, named "
        "`<item>__<option>` (two underscores), holding 1 if the option was ticked and 0 if not. "
        "Answers are stored as the numeric codes below; codes marked *left out of the base* (such as "
        "*Not applicable*) are dropped before shares are computed, following the report. Items are "
        "asked only of a *population*: a respondent outside it has an empty cell, and every share in "
        "the book is computed over the people who were asked.",
        "",
        f"In all: {n_items} items occupying {n_cols} columns. Items marked *required* must be present "
        "in any data file given to `calaim build`; a file may lack the others, and chapters then say "
        "which items are missing.",
        "",
        "## At a glance",
        "",
    ]
    glance = []
    for key, items in by_section.items():
        if not items:
            continue
        title = SECTIONS.get(key, key)
        glance.append(
            (
                f"{{ref}}`{title} <{_label(key)}>`",
                len(items),
                sum(len(i.columns) for i in items),
            )
        )
    lines += [_table(["Part", "Items", "Columns"], glance), ""]

    lines += [
        "## Who was asked what",
        "",
        "Each population is a rule over the answers (a pandas query, shown here as written in the "
        "codebook) that picks out the respondents who saw a question. Where the report prints the size "
        "of a group, it is given for comparison; the book always counts the base from the data.",
        "",
    ]
    pop_rows = []
    for pop in cb.populations.values():
        pop_rows.append(
            (
                f"`{pop.name}`",
                _esc(pop.label),
                _code(pop.query),
                "" if pop.published_n is None else f"{pop.published_n:,}",
            )
        )
    lines += [_table(["Population", "Who", "Rule", "Published n"], pop_rows), ""]

    for key, items in by_section.items():
        if not items:
            continue
        lines += [f"({_label(key)})=", f"## {_esc(SECTIONS.get(key, key))}", ""]
        for item in items:
            lines += _item_block(cb, item)

    lines += _counties_section(cb)
    return "\n".join(lines).rstrip() + "\n"


def _counties_section(cb: Codebook) -> list[str]:
    sources = cb.raw.get("county_sources") or COUNTY_SOURCES
    lines = [
        "(dd-counties)=",
        "## Counties, regions and plan models",
        "",
        f"Respondents name every county their organisation works in. The book maps each of the "
        f"{len(cb.counties)} counties to a region (for the regional breakdowns) and to the Medi-Cal "
        "managed care plan model in force in 2023 (for comparisons by plan model). Sources:",
        "",
    ]
    lines += [f"- {s}" for s in sources]
    lines.append("")

    region_n = Counter(c["region"] for c in cb.counties.values())
    model_n = Counter(c["model"] for c in cb.counties.values())
    lines += [
        _table(
            ["Region", "Counties"],
            ((_esc(label), region_n.get(key, 0)) for key, label in cb.regions.items()),
        ),
        "",
        _table(
            ["2023 plan model", "Counties"],
            ((_esc(label), model_n.get(key, 0)) for key, label in cb.plan_models.items()),
        ),
        "",
    ]
    rows = [
        (
            _esc(c["label"]),
            f"`county__{key}`",
            _esc(cb.regions[c["region"]]),
            _esc(cb.plan_models[c["model"]]),
        )
        for key, c in sorted(cb.counties.items(), key=lambda kv: kv[1]["label"])
    ]
    lines += [_table(["County", "Column", "Region", "2023 plan model"], rows), ""]
    return lines


# ---------------------------------------------------------------------------- inconsistencies
REGISTRY_COLUMNS = ("id", "figure", "description", "published", "inconsistency")


def flagged_rows(registry: pd.DataFrame) -> pd.DataFrame:
    """Registry rows whose ``inconsistency`` is non-empty, in registry order."""
    if "inconsistency" not in registry.columns:
        return registry.iloc[0:0]
    note = registry["inconsistency"].astype("string").fillna("").str.strip()
    return registry[note != ""]


def findings_inconsistencies_md(registry_df: pd.DataFrame | None) -> str:
    """A page listing the published numbers that the registry flags as inconsistent."""
    lines = [
        "(inconsistencies)=",
        "# Where the published numbers disagree",
        "",
        "The book checks every published number against a value recomputed from respondent-level "
        "data. A few published numbers cannot all be right at once: a percentage that does not match "
        "its printed base, two figures that report the same group differently, or a subgroup share "
        "that no whole number of respondents can produce. The registry of published findings "
        "(`data/published/findings.csv`) records each such case in its `inconsistency` column, and "
        "this page lists them so that a reader comparing the book with the report knows where a "
        "mismatch is expected and why.",
        "",
    ]
    if registry_df is None:
        lines += [
            ":::{note}",
            "No registry of published findings was found for this build, so there is nothing to list.",
            ":::",
            "",
        ]
        return "\n".join(lines)
    missing = [c for c in REGISTRY_COLUMNS if c not in registry_df.columns]
    if missing:
        lines += [
            ":::{note}",
            "The registry of published findings has no column "
            + ", ".join(f"`{c}`" for c in missing)
            + ", so inconsistencies cannot be listed.",
            ":::",
            "",
        ]
        return "\n".join(lines)
    flagged = flagged_rows(registry_df)
    if flagged.empty:
        lines += [f"None of the {len(registry_df)} published numbers in the registry is flagged.", ""]
        return "\n".join(lines)
    lines += [
        f"{len(flagged)} of the {len(registry_df)} published numbers in the registry are flagged.",
        "",
        _table(
            ["ID", "Figure", "What is published", "Published", "Why it does not add up"],
            (
                (
                    _code(r.id),
                    _fmt_value(r.figure),
                    _fmt_value(r.description),
                    _fmt_value(r.published),
                    _fmt_value(r.inconsistency),
                )
                for r in flagged[list(REGISTRY_COLUMNS)].itertuples(index=False)
            ),
        ),
        "",
    ]
    return "\n".join(lines)
