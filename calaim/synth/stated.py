"""The report's stated comparisons, as calibration of the synthetic default data.

Where it sits: part of :mod:`calaim.synth`, the generator of the default (synthetic) data, which
feeds io -> validate -> recode -> ... like a real file would. The registry
(``data/published/findings*.csv``) pins margins; this module adds what the report says about
*comparisons* (no difference between sectors, a trend with organisation size, a ranking), so the book's
tests of those sentences come out the reported way on the default data. Where the report gives a
direction but no size, the size is chosen here and documented (``data/synthetic/NOTES.md``).

The calibrations, all used by ``calaim.synth._stage_items`` (and ``_latents``):

- :data:`SAME_IN_EVERY_SECTOR`: registry rows whose published overall share the report says does
  not differ by sector. Each sector's share becomes a fitted target at the published value
  (:func:`same_share_targets`).
- :data:`SIZE_TREND`: items the report says rise with organisation size. An adjacent-category
  log-odds offset ``beta * (band - centre) * score(code)`` on the six FTE bands
  (:func:`size_trend_table`, :func:`size_band_ids`); the fitted intercepts still meet the
  published margins.
- :data:`REST_OF_SECTORS`: a sector the report names as the highest or lowest of all, with the
  overall value and the named sectors' values published. The value implied for everyone else
  (overall minus the named sectors) becomes a target in each of the other sectors
  (:func:`rest_targets`), so no unnamed sector drifts past a named one by chance.
- :data:`SPREAD`: rows of a grid for which the report prints no number. Without a target they all
  take the prior shape and come out as copies of one another; a documented spread, ordered as the
  report ranks them, keeps them apart (:func:`spread_targets`).
- :data:`PAIRED`: items asked about ECM and about Community Supports that the report compares
  (Fig 27: MCP referrals, Figs 28-29: decline rates). The book tests them among providers of both,
  so the published per-programme shares are also targets among those dual providers
  (:func:`dual_targets`), and the two answers of one organisation share a latent trait
  (weight :data:`PAIRED_RHO` on the underlying scale; model fill).
- :data:`MCP_ATTITUDE`: the shift of MCP staff's attitude trait, for MCP-more-positive statements
  where the report prints only the MCP value or none.

Everything here is pure: functions take arrays and return arrays or targets, no I/O.
"""

from __future__ import annotations

import numpy as np

SECTOR_FLAGS = ("sector_mcp", "sector_fqhc", "sector_bh", "sector_sso", "sector_hdp", "sector_pcp")

# Fig 3 text: no significant difference between subgroups in the share saying wait times got worse.
SAME_IN_EVERY_SECTOR = {"served_wait_times": ("f03_wait_times_worse",)}

# Fig 26 subgroup finding: organisations with 50+ FTEs serve more people through ECM and
# Community Supports. The report gives no size: beta (log-odds per FTE band per served band) is
# chosen here (model fill), so that 50+ FTE organisations sit clearly higher.
SIZE_TREND = {"ecm_served": 0.12, "cs_served": 0.12}
SIZE_BANDS = (1, 2, 3, 4, 5, 6)  # fte codes 1-6; 9 (unsure) and missing get no offset
SERVED_BANDS = (1, 2, 3, 4, 5)  # served codes in increasing order; 9 (unsure) is scored mid-way


# Fig 8: MCP staff are much more likely than any other sector to rate processes very effective
# (30% against 11% overall). Fig 9: MCP staff the most satisfied (7.3), behavioural health the
# least (5.2), 5.9 overall. Column: (overall registry row, named sectors' registry rows).
REST_OF_SECTORS = {
    "effectiveness": ("f08_very", ("f08_mcp_very",)),
    "satisfaction": ("f09_satisfaction_mean", ("f09_satisfaction_sector_mcp", "f09_satisfaction_sector_bh")),
}


def rest_targets(column: str, registry_rows: list, flags: dict, answer: np.ndarray, target_cls) -> list:
    """For :data:`REST_OF_SECTORS`: the value implied for the respondents outside the named sectors
    (published overall value times the base, minus each named sector's published value times its
    base, over the rest), as a target in each unnamed sector (its members outside the named ones)."""
    if column not in REST_OF_SECTORS:
        return []
    overall_id, named_ids = REST_OF_SECTORS[column]
    rows = {r.id: r for r in registry_rows}
    if overall_id not in rows or not all(i in rows for i in named_ids):
        return []
    overall = rows[overall_id]
    named = [rows[i] for i in named_ids]
    masks = [flags.get(r.subgroup) for r in named]
    if any(m is None for m in masks):
        return []
    inside = np.zeros(len(answer), dtype=bool)
    total = overall.value * int(answer.sum())
    for r, m in zip(named, masks, strict=True):
        total -= r.value * int((m & answer & ~inside).sum())
        inside |= m
    rest = answer & ~inside
    if not rest.any():
        return []
    value = total / int(rest.sum())
    kind = "mean" if overall.kind == "mean" else "share"
    out = []
    for flag in SECTOR_FLAGS:
        mask = flags.get(flag)
        if mask is None or flag in {r.subgroup for r in named} or not (mask & rest).any():
            continue
        out.append(
            target_cls(
                mask & rest,
                None if kind == "mean" else overall.codes,
                value,
                overall.exclude,
                "eq",
                overall.tol or (0.3 if kind == "mean" else 3.0),
                f"stated:{overall_id}[rest, {flag}]",
                kind,
            )
        )
    return out


# Rows of a grid the report ranks but does not print (model fill: values chosen here, each a share
# in percent, as (codes, codes excluded from the base, value)). The published rows stay registry
# targets (Fig 7: payment rates 56% very or somewhat, 32% very; MCP variability 26% very. Fig 11:
# used by 67 / 61 / 36 / 35%, very helpful among users 51 / 45% for the two grants).
CHALLENGING, NOT_APPLICABLE = (1, 2), (97,)
USED, NOT_USED = (1, 2, 3, 4), (5, 9)
SPREAD = {
    # Fig 7 ranks payment rates first (title and text); Key findings name administrative burden,
    # documentation time and staffing as the next major challenges, the Fig 12 text adds the
    # overstretched workforce and changing requirements. Spread: 4 to 12 points below the top.
    "challenge_admin_burden": [(CHALLENGING, NOT_APPLICABLE, 52.0)],
    "challenge_documentation": [(CHALLENGING, NOT_APPLICABLE, 50.0)],
    "challenge_staffing": [(CHALLENGING, NOT_APPLICABLE, 49.0)],
    "challenge_mcp_variability": [(CHALLENGING, NOT_APPLICABLE, 47.0)],
    "challenge_workforce": [(CHALLENGING, NOT_APPLICABLE, 46.0)],
    "challenge_program_changes": [(CHALLENGING, NOT_APPLICABLE, 44.0)],
    # Fig 11: webinars and peer learning are the most used, the grants the least used (so the
    # other three lie between 61% and 36%); the grants have the highest shares rating them very
    # helpful among users (so the others lie below 45%).
    "resource_dhcs_webinar": [((1,), NOT_USED, 40.0)],
    "resource_peer_learning": [((1,), NOT_USED, 42.0)],
    "resource_mcp_training": [(USED, (), 54.0), ((1,), NOT_USED, 35.0)],
    "resource_dhcs_guides": [(USED, (), 49.0), ((1,), NOT_USED, 38.0)],
    "resource_ta_marketplace": [(USED, (), 41.0), ((1,), NOT_USED, 32.0)],
}


# Key findings and Figs 8, 9, 19: MCP staff are more positive than other sectors (more say things
# got better, rate processes very effective, tick more traits of their best partnership). Where
# the report prints only the MCP value or none, the gap comes from the attitude trait: MCP staff's
# mean is shifted by this many standard deviations (model fill; 0.9 before the comparisons were
# calibrated, when four Fig 19 and Key findings comparisons were only directional).
MCP_ATTITUDE = 1.2

PAIRED = {
    "ecm_referral_mcp": "referral_mcp",
    "cs_referral_mcp": "referral_mcp",
    "ecm_decline_rate": "decline_rate",
    "cs_decline_rate": "decline_rate",
}
PAIRED_RHO = 0.95
# Codes from the highest to the lowest value of the shared trait: referrals always ... never, then
# unsure / not applicable; decline rates unsure, then under 10% ... 75% or more. Unsure is placed
# by the trait too, so that one organisation is unsure about both programmes or about neither.
PAIRED_ORDER = {"referral_mcp": (1, 2, 3, 4, 5, 9), "decline_rate": (9, 1, 2, 3, 4, 5)}


def dual_targets(column: str, registry_rows: list, dual: np.ndarray, answer: np.ndarray, target_cls) -> list:
    """The registry's whole-programme shares of ``column`` (:data:`PAIRED`) as targets among the
    providers of both programmes (``dual``) too."""
    if column not in PAIRED:
        return []
    return [
        target_cls(dual & answer, row.codes, row.value, row.exclude, "eq", row.tol or 3.0, f"stated:{row.id}[dual]")
        for row in registry_rows
        if row.kind == "share" and not row.subgroup and row.population in ("ecm", "cs")
    ]


def spread_targets(column: str, answer: np.ndarray, target_cls) -> list:
    """The :data:`SPREAD` targets of ``column`` over the respondents in ``answer``."""
    return [
        target_cls(answer, codes, value, exclude, "eq", 3.0, f"stated:spread[{column}]")
        for codes, exclude, value in SPREAD.get(column, ())
    ]


def same_share_targets(column: str, registry_rows: list, flags: dict, answer: np.ndarray, target_cls) -> list:
    """Targets putting every sector's share at the published overall share, for each registry row
    (``calaim.synth._Row``) named in :data:`SAME_IN_EVERY_SECTOR` for ``column``. ``flags`` maps a
    sector flag to its boolean mask over the frame; ``target_cls`` is :class:`calaim.synth.Target`."""
    wanted = SAME_IN_EVERY_SECTOR.get(column, ())
    out = []
    for row in registry_rows:
        if row.id not in wanted or row.kind != "share":
            continue
        for flag in SECTOR_FLAGS:
            mask = flags.get(flag)
            if mask is None or not (mask & answer).any():
                continue
            out.append(
                target_cls(
                    mask & answer,
                    row.codes,
                    row.value,
                    row.exclude,
                    "eq",
                    row.tol or 3.0,
                    f"stated:{row.id}[{flag}]",
                )
            )
    return out


def size_trend_table(codes: list, beta: float, centre: float) -> np.ndarray:
    """Offset table, one row per FTE band (row 0: unsure or missing, no offset), codes along
    columns: ``beta * (band - centre) * score``, the score 0, 1, ... along :data:`SERVED_BANDS`
    and the middle score for the other codes (unsure), so unsure does not move with size.
    ``centre`` is the answerers' mean band, so that the trend leaves the margin about where it was."""
    scores = {c: float(i) for i, c in enumerate(SERVED_BANDS)}
    mid = (len(SERVED_BANDS) - 1) / 2
    s = np.array([scores.get(c, mid) for c in codes])
    table = np.zeros((len(SIZE_BANDS) + 1, len(codes)))
    for j, band in enumerate(SIZE_BANDS, start=1):
        table[j] = beta * (band - centre) * (s - mid)
    return table


def mean_band(fte: np.ndarray, answer: np.ndarray) -> float:
    """The mean FTE band (codes 1-6) of the respondents in ``answer``."""
    fte = np.asarray(fte, dtype=float)[answer]
    banded = fte[np.isin(fte, SIZE_BANDS)]
    return float(banded.mean()) if len(banded) else float(np.mean(SIZE_BANDS))


def size_band_ids(fte: np.ndarray) -> np.ndarray:
    """Row of :func:`size_trend_table` for each respondent: 1-6 for FTE codes 1-6, else 0."""
    fte = np.asarray(fte, dtype=float)
    ids = np.zeros(len(fte), dtype=np.int64)
    for j, band in enumerate(SIZE_BANDS, start=1):
        ids[fte == band] = j
    return ids
