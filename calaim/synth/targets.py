"""The findings registry as calibration targets: each published number about an item, translated
into the engine's group and code terms (:func:`load_targets`, :func:`_translate`), and each
item's scale, prior and latent link (:class:`Spec`).

Place in the flow: data/published/findings.csv -> **targets** -> engine (calaim.synth.engine).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from calaim import DATA_DIR
from calaim.data.codebook import Codebook
from calaim.synth.priors import (
    COLUMN_PRIOR,
    INFO_SOURCE_LATENT,
    ITEM_PRIOR,
    LATENT,
    MCP_CONTRACTS_PRIOR,
    MULTI_PRIOR,
    POSITIVE,
    SATISFACTION_PRIOR,
    SCALE_PRIOR,
    SPECIAL,
)


# =============================================================================================
# the findings registry as calibration targets
# =============================================================================================
def load_targets() -> pd.DataFrame:
    """The findings registry (all ``data/published/findings*.csv`` files) as text columns, via
    :func:`calaim.stats.findings.load_registry`; an empty frame when there is no registry yet."""
    try:
        from calaim.stats import findings  # noqa: PLC0415

        reg = findings.load_registry()
        return reg.astype(object).where(reg.notna(), "").astype(str)
    except Exception:  # registry module absent or incomplete: read the files as they are
        paths = sorted((DATA_DIR / "published").glob("findings*.csv"))
        frames = [pd.read_csv(p, dtype=str, keep_default_na=False) for p in paths]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def _codes(text) -> tuple:
    text = str(text).strip()
    if not text:
        return ()
    return tuple(int(float(x)) for x in text.split(";") if x.strip())


@dataclass
class _Row:
    id: str
    column: str
    codes: tuple
    exclude: tuple
    kind: str
    value: float
    cmp: str
    tol: float | None
    population: str
    subgroup: str
    inconsistent: bool
    count: bool


def _translate(row, cb: Codebook, derived_source: dict) -> _Row | None:
    """A registry row as a target on one data column (derived top-box, channel-user and
    paper-outcome items map back to their source column), or None when it is not about a
    single answer column (bases, structure, models)."""
    stat = row["statistic"]
    item = row["item"].strip()
    if stat not in ("share", "mean", "count") or not item or "|" in item or row.get("aggregate", ""):
        return None
    codes, exclude = _codes(row["codes"]), _codes(row["exclude_codes"])
    if item not in cb.columns:
        if item not in derived_source:
            return None
        item, codes2, exclude2 = derived_source[item]
        if codes == (1,) or not codes:
            codes = codes2
        exclude = tuple(sorted(set(exclude) | set(exclude2)))
    try:
        value = float(row["published"])
    except ValueError:
        return None
    tol = float(row["tolerance"]) if str(row.get("tolerance", "")).strip() else None
    return _Row(
        row["id"],
        item,
        codes,
        exclude,
        "mean" if stat == "mean" else "share",
        value,
        row.get("comparison", "") or "eq",
        tol,
        row["population"] or "complete",
        row.get("subgroup", ""),
        bool(str(row.get("inconsistency", "")).strip()),
        stat == "count",
    )


def _aggregate_rows(row, cb: Codebook, src: dict) -> list[_Row]:
    """A 'min' / 'max' share row over several items as targets on each: every item at or
    above the minimum (at or below the maximum), and for an equality the last listed item
    (first listed, for a maximum) exactly at it. 'gt' / 'lt' bounds apply to every item."""
    if row["statistic"] != "share" or row["aggregate"] not in ("min", "max"):
        return []
    items = [i.strip() for i in row["item"].split("|") if i.strip()]
    cmp = row.get("comparison", "") or "eq"
    out = []
    for j, item in enumerate(items):
        r = dict(row)
        r["item"], r["aggregate"] = item, ""
        if cmp == "eq":
            pinned = j == (len(items) - 1 if row["aggregate"] == "min" else 0)
            r["comparison"] = "eq" if pinned else ("ge" if row["aggregate"] == "min" else "le")
        t = _translate(r, cb, src)
        if t is not None:
            t.id = f"{row['id']}[{item}]"
            out.append(t)
    return out


def _derived_sources(cb: Codebook) -> dict:
    from calaim.data import recode  # noqa: PLC0415

    out = {}
    for col in cb.columns.values():
        if col.kind == "single" and col.codes.get(1) == "Much better":
            out[f"tb_{col.name}"] = (col.name, (1, 2), tuple(col.not_applicable))
    for name, (source, _) in recode.PAPER_OUTCOMES.items():
        out[name] = (source, (1, 2), (97,))
    if "info_source" in cb.items:
        for key in cb.item("info_source").parts:
            out[f"users_{key}"] = (f"info_source_{key}", (1, 2), ())
    return out


# =============================================================================================
# item specifications
# =============================================================================================
def _item_scales(cb: Codebook) -> dict[str, str]:
    return {spec["name"]: spec.get("scale", "") for spec in cb.raw.get("items", [])}


@dataclass
class Spec:
    codes: list
    q: np.ndarray
    ordinal: list | None
    special: tuple
    latent: str | None
    rho: float


def _spec(cb: Codebook, column: str, scales: dict) -> Spec:
    col = cb.column(column)
    item = cb.item(col.item)
    latent, rho = LATENT.get(item.name, (None, 0.0))
    if item.name == "info_source":
        latent, rho = INFO_SOURCE_LATENT[col.part]
    if col.kind == "binary":
        family = "partnership_traits" if item.name.startswith("pp_") else item.name
        opts = MULTI_PRIOR.get(family, {})
        p = opts.get(col.part, 25) / 100
        return Spec([1, 0], np.array([p, 1 - p]), [1, 0], (), latent, rho)
    if col.kind == "scale":
        codes = list(range(int(col.min), int(col.max) + 1))
        m, s = SATISFACTION_PRIOR
        q = np.exp(-0.5 * ((np.array(codes) - m) / s) ** 2)
        return Spec(codes, q / q.sum(), codes[::-1], (), latent, rho)
    if col.kind == "count":
        codes = list(range(int(col.min), int(col.max) + 1))
        q = np.array([MCP_CONTRACTS_PRIOR.get(c, 0.02) for c in codes], float)
        return Spec(codes, q / q.sum(), None, (), None, 0.0)
    codes = list(col.codes)
    scale = scales.get(item.name, "")
    prior = COLUMN_PRIOR.get(column) or ITEM_PRIOR.get(item.name) or SCALE_PRIOR.get(scale)
    q = np.array([prior.get(c, 1.0) if prior else 1.0 for c in codes], float)
    order = POSITIVE.get(scale)
    special = SPECIAL.get(scale, tuple(c for c in codes if c in (8, 9, 97)))
    if order is None or latent is None:
        return Spec(codes, q / q.sum(), None, tuple(c for c in codes if c in (8, 9, 97)), None, 0.0)
    return Spec(codes, q / q.sum(), order, special, latent, rho)
