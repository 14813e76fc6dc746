"""A synthetic respondent-level data set calibrated to the published figures.

The 2023 survey microdata are not public, so the book's default data set is synthetic. This
module builds it from the codebook and the published numbers, in two layers.

**Structure (exact allocation).** Where the report or the paper gives a count, the count is
allocated exactly: a list holding each value the stated number of times is shuffled onto the
respondents. This covers the 1,196 completed interviews and the 981 + 420 screen-outs
(Appendix A), the sample sources (801 outreach / 395 panel), the overlapping sectors of
Appendix A (MCP 53, FQHC 140, BH 292, social service 412, discharge planners 67, primary care
162 of whom 27% work at FQHCs), organisation types (Table A2) and roles by sector (Table A4),
the Medi-Cal bands of Figure 25 (271 / 304 / 595), familiarity (Figure 1), the regions of
Table A6, ECM and Community Supports providers (286 / 315), the 162 leaders not providing
either, the 119 BH and 51 MCP leaders, and the paper's SSO analytic sample (355, 51 of 58
counties).

**Answers (fitted models).** Every other column comes from one model family. A respondent's
answer to an item is drawn from a categorical distribution

    p(code k | respondent i)  proportional to  q_k * exp( sum_r x_ir * theta_r * phi_r(k) + o_ik )

where ``q`` is a plausible prior shape for the item's scale, each ``r`` is a published number
about the item (the share answering codes S in group g, or the group's mean), ``x_ir`` says
whether respondent i is in that group, ``phi_r`` tilts the codes the number counts (for means:
the code values), and ``o_ik`` are fixed offsets (the paper's planted odds ratios). The
``theta_r`` are fitted with :func:`scipy.optimize.least_squares` so that every published
number about the item is met at once (this is the maximum-entropy solution, the same thing
iterative proportional fitting converges to, but it degrades gracefully when two published
numbers contradict each other). Codes the report leaves unpinned keep the prior's relative
shape. Respondents sharing group memberships form a cell; counts per cell are rounded by
error diffusion along an ordering that keeps the smallest groups contiguous, so published
subgroup shares are met to within about one respondent rather than up to sampling noise.
Within a cell, answers are handed out by a respondent-level latent attitude (normal, shifted
by sector, familiarity and pilot participation) plus item noise, so answers correlate across
items the way attitudes do (the more familiar are more positive everywhere, channel users get
more complete data, ...), without moving any calibrated margin.

The published numbers are read from the findings registry (``data/published/findings*.csv``,
via :func:`calaim.stats.findings.load_registry`); structural counts are written down below with the
table they come from. :func:`notes_md` writes the data set's notes: what is pinned by a
published number and what is model fill. The data are synthetic: they reproduce the published
structure and margins, they are not evidence about CalAIM.

Public API: :func:`generate` (a DataFrame), :func:`write` / :func:`to_csv_bytes` (deterministic
CSV), :func:`notes_md` / :func:`write_notes`, :func:`fit_report` (fitted vs published per
target), :func:`load_targets`, :func:`fast_derive` (the recodes the generator needs, on numpy
arrays), and the engine (:func:`allocate` = :func:`prepare` + :func:`assign`, :class:`Target`).
``python -m calaim.synth`` rewrites ``data/synthetic/`` (the CSV and NOTES.md). Everything is
vectorised: a million completes take well under a minute (``benchmarks/bench_synth.py``);
above 250,000 respondents per item, codes are handed out by within-cell quantiles instead of a
sort, which is exact to a fraction of a percent.
"""

from __future__ import annotations

import io
import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import optimize

from calaim import DATA_DIR
from calaim.data.codebook import Codebook, load
from calaim.synth import stated

DEFAULT_N = 1196
DEFAULT_SEED = 20231124
DEFAULT_PATH = DATA_DIR / "synthetic" / "calaim_synthetic_2023.csv"
NOTES_PATH = DATA_DIR / "synthetic" / "NOTES.md"


# =============================================================================================
# published inputs: the structure, allocated exactly
# =============================================================================================
N_SCREEN_MEDICAL = 981  # Appendix A: terminated for < 30% Medi-Cal
N_SCREEN_FAMILIAR = 420  # Appendix A: terminated as not familiar with CalAIM
N_SCREEN_FAMILIAR_UNSURE = 16  # of the 420: "unsure" (Fig 1 note), so that 404/1,616 = 25% "not at all"
# Respondent archetypes of the 1,196 completes. Each is a disjoint cell: organisation types
# (Table A2 codes: count), roles (leaders = senior + manager, frontline, other; Table A4) and
# the clinical kind that decides credentials, specialty and work setting, and with them the
# overlapping sectors of Appendix A. Column sums: org types = Table A2 x 1,196; MCP 53, FQHC
# 140, BH 292 (180 in BH organisations + 112 BH clinicians elsewhere), social service 412,
# discharge planners 67, primary care 162 (44 = 27% at FQHCs); leaders 646 / frontline 490 /
# other 60 (54 / 41 / 5%), by sector as in Table A4 except MCP (51 leaders: the base of Figures
# 34-35 wins over Table A4's 85%).
ARCHETYPES = [
    # name,           org type: count,                                     (lead, front, other), kind
    ("mcp", {7: 53}, (51, 2, 0), "mcp"),
    ("bh_county", {8: 48}, (36, 10, 2), "bhorg"),
    ("bh_outpatient", {9: 96}, (60, 30, 6), "bhorg"),
    ("bh_residential", {12: 36}, (23, 10, 3), "bhorg"),
    ("fqhc_pcp", {2: 44}, (5, 38, 1), "pcp"),
    ("fqhc_bh", {2: 20}, (11, 8, 1), "bhclin"),
    ("fqhc_other", {2: 76}, (50, 24, 2), "other"),
    ("sso_bh", {1: 45}, (25, 17, 3), "bhclin"),
    ("sso_other", {1: 367}, (263, 90, 14), "other"),
    ("hosp_hdp", {3: 60, 4: 7}, (0, 63, 4), "hdp"),
    ("hosp_pcp", {3: 38, 4: 12}, (5, 43, 2), "pcp"),
    ("hosp_bh", {3: 11, 4: 1}, (2, 9, 1), "bhclin"),
    ("hosp_other", {3: 82, 4: 4}, (46, 33, 7), "other"),
    ("med_pcp", {5: 32, 6: 23}, (8, 46, 1), "pcp"),
    ("med_bh", {5: 6, 6: 4}, (2, 7, 1), "bhclin"),
    ("med_other", {5: 10, 6: 9}, (10, 7, 2), "other"),
    ("misc_pcp", {10: 4, 13: 2, 15: 6, 97: 1}, (3, 9, 1), "pcp"),
    ("misc_bh", {10: 2, 13: 4, 14: 2, 15: 12, 97: 5}, (5, 17, 3), "bhclin"),
    ("misc_other", {10: 18, 11: 12, 13: 6, 14: 22, 15: 6, 97: 10}, (41, 28, 5), "other"),
]
# The 420 screened out as not familiar (Appendix A), by archetype: none from MCPs (98% of MCP
# respondents are at least somewhat familiar, Figure 1), 78 primary care and 20 discharge
# planners (so that 47% of screened-in PCPs and 55% of discharge planners are very or somewhat
# familiar, with 70% and 72% of the completes in those sectors; model fill).
NOT_FAMILIAR_ARCHETYPES = {
    "bh_county": 8,
    "bh_outpatient": 20,
    "bh_residential": 8,
    "fqhc_pcp": 8,
    "fqhc_bh": 4,
    "fqhc_other": 12,
    "sso_bh": 10,
    "sso_other": 90,
    "hosp_hdp": 20,
    "hosp_pcp": 22,
    "hosp_bh": 4,
    "hosp_other": 62,
    "med_pcp": 38,
    "med_bh": 4,
    "med_other": 16,
    "misc_pcp": 10,
    "misc_bh": 12,
    "misc_other": 72,
}
# The 981 screened out for < 30% Medi-Cal: organisation types (model fill: mostly hospital and
# medical-group clinicians from the panel).
UNDER30_ORGS = {
    1: 100,
    2: 25,
    3: 330,
    4: 110,
    5: 150,
    6: 70,
    7: 6,
    8: 10,
    9: 40,
    10: 30,
    11: 15,
    12: 10,
    13: 15,
    14: 20,
    15: 40,
    97: 10,
}
SENIOR_SHARE = {"mcp": 0.4, "bhorg": 0.45, "other": 0.5, "bhclin": 0.4, "pcp": 0.45, "hdp": 0.5}
# Table A6 regions (percent of completes) and 5% statewide. Each non-statewide respondent has a
# home region; 37 of them also work in a second region, so the region shares add to 98%.
REGION_SHARE = {
    "bay_area": 23,
    "rural_north": 8,
    "greater_sacramento": 6,
    "central_coast": 8,
    "central_valley": 9,
    "los_angeles": 19,
    "san_diego_orange": 18,
    "inland_empire": 7,
}
SECOND_REGION = {
    "bay_area": 8,
    "rural_north": 6,
    "greater_sacramento": 6,
    "central_coast": 4,
    "central_valley": 5,
    "los_angeles": 2,
    "san_diego_orange": 2,
    "inland_empire": 4,
}
STATEWIDE_SHARE = 5
# Approximate 2023 Medi-Cal enrolment (thousands), used only to weight counties within a region
# (model fill).
COUNTY_WEIGHT = {
    "alameda": 420,
    "alpine": 0.5,
    "amador": 12,
    "butte": 100,
    "calaveras": 15,
    "colusa": 10,
    "contra_costa": 280,
    "del_norte": 15,
    "el_dorado": 45,
    "fresno": 550,
    "glenn": 15,
    "humboldt": 60,
    "imperial": 110,
    "inyo": 7,
    "kern": 480,
    "kings": 70,
    "lake": 35,
    "lassen": 10,
    "los_angeles": 3900,
    "madera": 80,
    "marin": 45,
    "mariposa": 7,
    "mendocino": 45,
    "merced": 170,
    "modoc": 4,
    "mono": 5,
    "monterey": 200,
    "napa": 40,
    "nevada": 30,
    "orange": 1000,
    "placer": 70,
    "plumas": 8,
    "riverside": 1000,
    "sacramento": 550,
    "san_benito": 25,
    "san_bernardino": 1100,
    "san_diego": 1100,
    "san_francisco": 250,
    "san_joaquin": 330,
    "san_luis_obispo": 60,
    "san_mateo": 150,
    "santa_barbara": 170,
    "santa_clara": 450,
    "santa_cruz": 80,
    "shasta": 80,
    "sierra": 1.5,
    "siskiyou": 20,
    "solano": 140,
    "sonoma": 140,
    "stanislaus": 250,
    "sutter": 45,
    "tehama": 35,
    "trinity": 7,
    "tulare": 290,
    "tuolumne": 20,
    "ventura": 250,
    "yolo": 60,
    "yuba": 35,
}
# Seven small counties no social service respondent works in (the paper: 51 of 58 counties).
SSO_ABSENT_COUNTIES = ("alpine", "sierra", "modoc", "mono", "trinity", "mariposa", "colusa")
# Medi-Cal share bands of completes (Figure 25 bases) and the unsure remainder.
MEDI_BANDS = {4: 595, 3: 304, 2: 271, 9: 26}
# Published familiarity (Figure 1 / Key findings) used for the structure.
FAM_COUNTS = {1: 501, 2: 436, 3: 259}  # 31% / 27% / 16% of the 1,616 screened in
FAM_75PLUS_NOT_AT_ALL, FAM_75PLUS_LITTLE = 16, 14  # Key findings, percent of the 75%+ band
FAM_PCP_FAMILIAR, FAM_HDP_FAMILIAR, FAM_MCP_FAMILIAR = 47, 55, 98  # Figure 1 text
# Social service organisations: respondents missing one variable of the paper's models (412 -
# 355 = 57), by the variable they answered "unsure" to (model fill for the split).
SSO_INCOMPLETE = {"wpc_hh": 25, "fte": 10, "legal_type": 6, "sso_exp_contract_mcp": 8, "ecm_provider": 8}
STRUCTURE_COLUMNS = [
    "resp_id",
    "disposition",
    "sample_source",
    "medical_share",
    "familiarity",
    "org_type",
    "role",
    "credential",
    "specialty",
    "work_setting",
    "discharge_planner",
]


# =============================================================================================
# the paper's models: planted odds ratios
# =============================================================================================
# The paper's participation model (published ORs; the rest documented as unpublished fill).
PARTICIPATION_OR = {
    "single_county": 0.47,
    "pilot": 6.4,
    "prior_mc_contract": 2.5,
    "fte_lt50": 0.8,
    "nonprofit": 1.2,
    "manager": 1.0,
    "frontline": 1.0,
    "other_role": 1.0,
    "housing_provider": 1.5,
}
PILOT_OR = {"fte_lt50": 0.45, "nonprofit": 0.45}  # unpublished: "negatively associated"
PRIOR_MC_OR = {"pilot": 3.0, "fte_lt50": 0.6}  # unpublished fill: any managed care contracting before CalAIM
SINGLE_COUNTY_SHARE = {"small": 0.62, "large": 0.40}  # unpublished fill, by fewer / 50+ FTEs
# Outcome models: contracted, manager, frontline (vs senior leader), housing provider. The six
# models' values span exactly the published ranges (min and max are the published ends).
OUTCOME_OR = {
    "served_access": {"contracted": 4.97, "manager": 2.10, "frontline": 2.40, "housing_provider": 2.15},
    "served_coordination": {"contracted": 3.60, "manager": 2.85, "frontline": 3.35, "housing_provider": 1.95},
    "served_wellbeing": {"contracted": 2.28, "manager": 1.76, "frontline": 1.92, "housing_provider": 1.80},
    "org_impact_manage_needs": {"contracted": 3.10, "manager": 2.30, "frontline": 2.60, "housing_provider": 2.00},
    "org_impact_coordinate": {"contracted": 2.90, "manager": 2.50, "frontline": 2.90, "housing_provider": 1.90},
    "org_impact_grow": {"contracted": 4.20, "manager": 2.00, "frontline": 2.20, "housing_provider": 2.05},
}
OUTCOME_OTHER_ROLE_OR = 1.5  # unpublished fill


# =============================================================================================
# model fill: prior shapes, positivity order and latent traits
# =============================================================================================
# Prior shapes (percent, by code): what an item looks like where the report publishes only
# part of its distribution. Published numbers override them through the fitted tilts.
SCALE_PRIOR = {
    "better_worse": {1: 14, 2: 30, 3: 33, 4: 4, 5: 2, 8: 12, 97: 5},
    "agree": {1: 76, 2: 17, 3: 2, 4: 1, 9: 4},
    "challenge": {1: 25, 2: 28, 3: 20, 4: 8, 8: 11, 97: 8},
    "effectiveness": {1: 11, 2: 39, 3: 26, 4: 8, 9: 16},
    "confidence": {1: 18, 2: 40, 3: 22, 4: 9, 9: 11},
    "wait": {1: 24, 2: 20, 3: 18, 4: 16, 9: 22},
    "resource_use": {1: 22, 2: 28, 3: 7, 4: 2, 5: 36, 9: 5},
    "experience": {1: 17, 2: 17, 3: 26, 4: 35, 9: 5},
    "amount": {1: 6, 2: 39, 3: 33, 4: 12, 5: 3, 9: 7},
    "accuracy": {1: 14, 2: 52, 3: 25, 4: 4, 5: 1, 9: 4},
    "timeliness": {1: 7, 2: 12, 3: 24, 4: 25, 5: 18, 9: 14},
    "frequency": {1: 12, 2: 20, 3: 28, 4: 17, 5: 13, 9: 10},
    "served_band": {1: 28, 2: 26, 3: 15, 4: 11, 5: 12, 9: 8},
    "decline_rate": {1: 38, 2: 25, 3: 14, 4: 8, 5: 5, 9: 10},
    "decline_reason": {1: 40, 2: 10, 3: 8, 4: 12, 5: 8, 6: 6, 7: 6, 9: 10},
    "reason_size": {1: 10, 2: 18, 3: 28, 4: 34, 9: 10},
    "likelihood": {1: 20, 2: 25, 3: 25, 4: 8, 5: 2, 9: 20},
    "more_less_often": {1: 12, 2: 48, 3: 5, 9: 35},
    "point_of_contact": {1: 30, 2: 35, 3: 18, 9: 17},
    "burden_change": {1: 20, 2: 27, 3: 14, 4: 20, 5: 14, 9: 5},
    "more_less": {1: 50, 2: 33, 3: 6, 9: 11},
    "yes_no_unsure": {1: 40, 2: 50, 9: 10},
}
ITEM_PRIOR = {
    "gender": {1: 63, 2: 27, 3: 2, 8: 8},
    "legal_type": {1: 23, 2: 63, 3: 13, 9: 1},
    "fte": {1: 9, 2: 10, 3: 10, 4: 13, 5: 20, 6: 30, 9: 8},
    "multistate": {1: 7, 2: 92, 9: 1},
    "statewide": {1: 5, 2: 95},
    "wpc_hh": {1: 40, 2: 48, 9: 12},
}
# Column-level overrides: later populations of focus and the race / ethnicity rows draw
# more "unsure" and fewer "better" answers (Figures 4 and 5 say respondents are less sure).
COLUMN_PRIOR = {
    **{
        f"pof_{k}": {1: 10, 2: 24, 3: 30, 4: 3, 5: 1, 8: 26, 97: 6}
        for k in ("reentry", "ltc_risk", "nursing_transition", "children", "birth_equity")
    },
    **{
        f"equity_{k}": {1: 8, 2: 20, 3: 34, 4: 3, 5: 1, 8: 29, 97: 5}
        for k in ("latino", "non_english", "black", "asian", "aian", "nhpi")
    },
}
SATISFACTION_PRIOR = (5.9, 2.1)  # mean, sd of a discretised normal on 0-10
SECOND_RACE_SHARE = 5.0  # percent of completes naming a second race / ethnicity (model fill)
MCP_CONTRACTS_PRIOR = {
    0: 2,
    1: 28,
    2: 24,
    3: 15,
    4: 10,
    5: 7,
    6: 5,
    7: 3,
    8: 2,
    9: 1,
    10: 1.5,
    12: 0.8,
    15: 0.5,
    20: 0.2,
}
MULTI_PRIOR = {  # percent selecting each option (model fill where nothing is published)
    "race": {"white": 49, "latino": 21, "asian": 12, "black": 9, "aian": 2, "nhpi": 1, "other": 4, "declined": 5},
    "support": {
        "rates": 36,
        "funding": 33,
        "dhcs_guidance": 30,
        "lower_admin": 30,
        "mcp_guidance": 26,
        "peer_learning": 25,
        "payment_structure": 23,
        "mcp_standard": 23,
        "troubleshoot": 22,
        "faster_payment": 18,
    },
    "levers": {
        "rates": 40,
        "funding": 38,
        "dhcs_guidance": 28,
        "lower_admin": 27,
        "mcp_guidance": 27,
        "peer_learning": 20,
        "payment_structure": 22,
        "mcp_standard": 18,
        "troubleshoot": 16,
        "faster_payment": 15,
    },
    "partner": {
        "housing": 55,
        "respite": 28,
        "food": 30,
        "asthma": 8,
        "older_adults": 35,
        "sobering": 21,
        "home_mod": 11,
        "home_health": 27,
        "assisted_living": 17,
        "snf": 22,
        "hospital": 24,
        "pcp": 33,
        "mcp": 35,
        "county_bh": 42,
        "mhsud": 43,
        "corrections": 16,
        "none": 8,
    },
    "partnership_traits": {"communicate": 75, "unmet_needs": 68, "same_language": 45, "give_take": 50, "trust": 55},
    "sso_type": {
        "housing": 65,
        "food": 48,
        "info_referral": 48,
        "general": 47,
        "benefits": 38,
        "older_adults": 34,
        "respite": 20,
        "reentry": 18,
        "child_welfare": 17,
        "home_mod": 13,
        "sobering": 11,
        "legal": 10,
        "asthma": 7,
        "other": 14,
    },
}
# Codes handed out by attitude, from most to least positive (others are nominal: random).
POSITIVE = {
    "better_worse": [1, 2, 3, 4, 5],
    "agree": [1, 2, 3, 4],
    "challenge": [4, 3, 2, 1],
    "effectiveness": [1, 2, 3, 4],
    "confidence": [1, 2, 3, 4],
    "wait": [4, 3, 2, 1],
    "resource_use": [1, 2, 3, 4],
    "experience": [1, 2, 3, 4],
    "amount": [1, 2, 3, 4, 5],
    "accuracy": [1, 2, 3, 4, 5],
    "timeliness": [1, 2, 3, 4, 5],
    "frequency": [1, 2, 3, 4, 5],
    "likelihood": [1, 2, 3, 4, 5],
    "more_less_often": [1, 2, 3],
    "point_of_contact": [1, 2, 3],
    "burden_change": [1, 2, 3, 4, 5],
    "more_less": [1, 2, 3],
}
SPECIAL = {"better_worse": (8, 97), "challenge": (8, 97), "resource_use": (5, 9)}
# Which latent trait orders an item within its cells, and how strongly (correlation).
LATENT = {
    "goal": ("attitude", 0.5),
    "served": ("attitude", 0.65),
    "pof": ("attitude", 0.6),
    "equity": ("attitude", 0.55),
    "org_impact": ("attitude", 0.6),
    "challenge": ("attitude", 0.35),
    "effectiveness": ("attitude", 0.7),
    "satisfaction": ("attitude", 0.75),
    "confidence": ("attitude", 0.6),
    "wait_improve": ("attitude", 0.3),
    "resource": ("attitude", 0.45),
    "nwd": ("attitude", 0.6),
    "future_provide": ("attitude", 0.4),
    "bh_process": ("attitude", 0.4),
    "doc_burden": ("attitude", 0.4),
    "poc_mh": ("attitude", 0.3),
    "hdp_poc": ("attitude", 0.3),
    "hdp_support": ("attitude", 0.5),
    "hdp_mcp_involvement": ("attitude", 0.5),
    "info_amount": ("info", 0.6),
    "info_accuracy": ("info", 0.6),
    "info_timeliness": ("info", 0.6),
    "sso_exp": ("experience", 0.7),
    "partner": ("partnering", 0.85),
    "sso_type": ("breadth", 0.45),
    "pp_hc": ("attitude", 0.5),
    "pp_bh": ("attitude", 0.5),
    "pp_sso": ("attitude", 0.5),
    "pp_mcp": ("attitude", 0.5),
    "pp_self": ("attitude", 0.5),
}
INFO_SOURCE_LATENT = {
    "patient": ("personal", 0.5),
    "care_team": ("personal", 0.5),
    "ehr": ("it", 0.6),
    "mcp_portal": ("it", 0.6),
    "hie": ("it", 0.6),
    "other": ("personal", 0.3),
}


# =============================================================================================
# public API
# =============================================================================================
_CACHE: dict = {}
CACHE_MAX_N = 100_000


def generate(
    n: int = DEFAULT_N, seed: int = DEFAULT_SEED, cb: Codebook | None = None, registry: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A synthetic respondent-level frame: ``n`` completed interviews plus the screen-outs in
    proportion (981 under 30% Medi-Cal and 420 not familiar for n = 1,196), every codebook
    column in codebook order, with the dtypes :func:`calaim.data.io.load` gives a file (id as
    nullable integers, codes as float64, NaN where a respondent was not asked).

    ``registry`` (the calibration targets) defaults to the findings registry (see
    :func:`load_targets`). The result is deterministic given (n, seed, codebook, registry);
    frames up to :data:`CACHE_MAX_N` completes are cached in memory (a copy is returned)."""
    return _generated(n, seed, cb, registry)[0].copy() if n <= CACHE_MAX_N else _generated(n, seed, cb, registry)[0]


def _generated(n, seed, cb=None, registry=None) -> tuple[pd.DataFrame, _Generator]:
    cb = cb or load()
    reg = load_targets() if registry is None else registry
    key = (int(n), int(seed), cb.source, id(cb), _registry_key(reg))
    if key in _CACHE:
        return _CACHE[key]
    g = _build(int(n), int(seed), cb, reg)
    out = (_frame_of(g), g)
    if n <= CACHE_MAX_N:  # a big frame is neither copied nor kept
        _CACHE.clear()
        _CACHE[key] = out
    return out


def _build(n: int, seed: int, cb: Codebook, reg: pd.DataFrame) -> _Generator:
    g = _Generator(n, seed, cb, reg)
    st = _structure(n, seed)
    for c in STRUCTURE_COLUMNS:
        g.cols[c] = st[c].to_numpy(dtype=float)
    g.latent = {"breadth": g.rng("latent:breadth").standard_normal(g.n_all)}
    g.derive()
    _designate_incomplete(g)
    _stage_profile(g)
    _stage_geography(g)
    _stage_sso_profile(g)
    g.derive()
    _stage_providers(g)
    g.derive()
    _latents(g)
    _stage_items(g)
    _stage_followups(g)
    return g


def write(
    path: str | Path = DEFAULT_PATH, n: int = DEFAULT_N, seed: int = DEFAULT_SEED, cb: Codebook | None = None
) -> Path:
    """Write :func:`generate` as CSV (see :func:`to_csv_bytes`) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv_bytes(generate(n, seed, cb)))
    return path


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV bytes: given column order, integers without '.0', empty for missing,
    '\\n' line endings, UTF-8."""
    buf = io.StringIO()
    ints = pd.DataFrame(
        {c: df[c].round().astype("Int64") if pd.api.types.is_numeric_dtype(df[c]) else df[c] for c in df.columns}
    )
    ints.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def fit_report(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """One row per fitted target: the registry ids it stands for, the column, the published
    value and the value the fitted model expects before rounding to respondents."""
    return pd.DataFrame(_generated(n, seed)[1].fits)


def _registry_key(reg: pd.DataFrame) -> int:
    if reg is None or not len(reg):
        return 0
    return zlib.crc32(reg.to_csv(index=False).encode())


def _frame_of(g: _Generator) -> pd.DataFrame:
    """The generated columns in codebook order, with the dtypes :func:`calaim.data.io.load` gives a
    file: the id as nullable integers, every coded / scale / count column as float64 (NaN =
    not asked)."""
    out = {}
    for name in g.cb.columns:
        v = g.cols.get(name)
        out[name] = np.full(g.n_all, np.nan) if v is None else np.asarray(v, dtype=float)
    df = pd.DataFrame(out, copy=False)
    df[g.cb.id_column] = df[g.cb.id_column].astype("Int64")
    return df


# =============================================================================================
# small utilities
# =============================================================================================
def _rng(seed: int, name: str) -> np.random.Generator:
    """An independent, named random stream: adding a step does not shift the others."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def _round_alloc(weights, total: int) -> np.ndarray:
    """Largest-remainder rounding of ``weights`` scaled to sum to ``total`` (ties by position)."""
    w = np.asarray(weights, dtype=float)
    if total <= 0 or w.sum() <= 0:
        return np.zeros(len(w), dtype=np.int64)
    exact = w / w.sum() * total
    base = np.floor(exact + 1e-9).astype(np.int64)
    short = int(total - base.sum())
    if short > 0:
        order = np.argsort(-(exact - base), kind="stable")
        base[order[:short]] += 1
    return base


def _scale(count: float, n: int) -> int:
    return int(round(count * n / DEFAULT_N))


def _shuffled(values_counts: dict, rng: np.random.Generator) -> np.ndarray:
    """A shuffled array holding each key ``count`` times (exact allocation)."""
    parts = [np.full(int(c), k) for k, c in values_counts.items() if c > 0]
    arr = np.concatenate(parts) if parts else np.array([])
    rng.shuffle(arr)
    return arr


def _pick(k: int, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Boolean mask of exactly ``k`` units drawn without replacement with probability
    proportional to ``weights`` (Gumbel top-k)."""
    w = np.asarray(weights, dtype=float)
    n = len(w)
    k = int(max(0, min(k, int((w > 0).sum()))))
    out = np.zeros(n, dtype=bool)
    if k == 0:
        return out
    with np.errstate(divide="ignore"):
        key = np.where(w > 0, np.log(w), -np.inf) + rng.gumbel(size=n)
    out[np.argpartition(-key, k - 1)[:k]] = True
    return out


def _dense_ids(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Dense ids 0..m-1 of a non-negative int64 key (O(n) through bincount when the key is
    small) and the first row of each id."""
    if len(key) and int(key.max()) < (1 << 24):
        cnt = np.bincount(key)
        uniq = np.flatnonzero(cnt)
        lut = np.zeros(len(cnt), dtype=np.int64)
        lut[uniq] = np.arange(len(uniq))
        ids = lut[key]
    else:
        _, ids = np.unique(key, return_inverse=True)
        ids = ids.reshape(-1)
    first = np.full(int(ids.max()) + 1 if len(ids) else 0, -1, dtype=np.int64)
    first[ids[::-1]] = np.arange(len(ids))[::-1]
    return ids, first


def _rank_in_cell(cell: np.ndarray, rng) -> np.ndarray:
    """Random rank of each element among those with the same cell."""
    order = np.lexsort((rng.random(len(cell)), cell))
    sizes = np.bincount(cell)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    rank = np.empty(len(cell), dtype=np.int64)
    rank[order] = np.arange(len(cell)) - start[cell[order]]
    return rank


# =============================================================================================
# the engine: fit a tilted categorical model to published margins, then allocate
# =============================================================================================
@dataclass
class Target:
    """One published number about one item, in the engine's terms.

    ``mask`` is the group (over the whole frame); ``codes`` the codes counted (share) or None
    (mean); ``exclude`` codes that leave the base; ``value`` a percent (share) or a mean;
    ``cmp`` eq/gt/ge/lt/le; ``scale`` the residual scale (the tolerance); ``source`` the registry
    id, for reporting.
    """

    mask: np.ndarray
    codes: tuple | None
    value: float
    exclude: tuple = ()
    cmp: str = "eq"
    scale: float = 3.0
    source: str = ""
    kind: str = "share"
    count: int | None = None
    _g: int = 0


@dataclass
class Offsets:
    """Fixed log-odds offsets: respondent i gets row ``ids[i]`` of ``table`` (codes along
    columns). -inf forbids a code."""

    ids: np.ndarray
    table: np.ndarray


@dataclass
class Fit:
    theta: np.ndarray
    model: np.ndarray
    targets: list
    cells: int


def _softmax(L: np.ndarray) -> np.ndarray:
    m = np.max(L, axis=1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(L - m)
    s = e.sum(axis=1, keepdims=True)
    return e / np.where(s > 0, s, 1.0)


def _cells(G: np.ndarray, off_ids: np.ndarray | None):
    """Unique rows of the group-membership matrix (plus offset id): cell index per
    respondent, the cells' membership rows and sizes."""
    n, g = G.shape
    cols = [G[:, j].astype(np.int64) for j in range(g)]
    if off_ids is not None:
        cols.append(off_ids.astype(np.int64))
    if not cols:
        return np.zeros(n, dtype=np.int64), np.zeros((1, 0), dtype=bool), np.array([n]), np.zeros(1, dtype=np.int64)
    # pack into as few int64 keys as possible
    keys = []
    cur = np.zeros(n, dtype=np.int64)
    bits = 0
    for j, c in enumerate(cols):
        width = 1 if (off_ids is None or j < g) else max(1, int(c.max()).bit_length())
        if bits + width > 62:
            keys.append(cur)
            cur = np.zeros(n, dtype=np.int64)
            bits = 0
        cur = cur | (c << bits)
        bits += width
    keys.append(cur)
    if len(keys) == 1 and (n == 0 or int(keys[0].max()) < (1 << 23)):
        # few distinct small keys: O(n) unique via bincount
        cnt = np.bincount(keys[0])
        uniq = np.flatnonzero(cnt)
        lut = np.zeros(len(cnt), dtype=np.int64)
        lut[uniq] = np.arange(len(uniq))
        inv = lut[keys[0]]
        counts = cnt[uniq]
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(n)[::-1]
    elif len(keys) == 1:
        uniq, inv, counts = np.unique(keys[0], return_inverse=True, return_counts=True)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[inv[::-1]] = np.arange(n)[::-1]
    else:
        K = np.stack(keys, axis=1)
        uniq, first, inv, counts = np.unique(K, axis=0, return_index=True, return_inverse=True, return_counts=True)
        inv = inv.reshape(-1)
    Gc = G[first]
    oc = off_ids[first] if off_ids is not None else np.zeros(len(first), dtype=np.int64)
    return inv, Gc, counts, oc


def fit_tilt(q, G, targets, codes, offsets: Offsets | None = None, ridge: float = 0.02, cells=None):
    """Fit one theta per target so that the model margins meet the targets (least squares on
    residuals scaled by each target's tolerance; a small ridge keeps contradictory or
    unidentified targets finite). Works on cells, so its cost does not grow with n."""
    codes = list(codes)
    K = len(codes)
    logq = np.log(np.clip(np.asarray(q, float), 1e-12, None))
    inv, Gc, nc, oc = cells if cells is not None else _cells(G, offsets.ids if offsets is not None else None)
    C = len(nc)
    OFF = offsets.table[oc] if offsets is not None else np.zeros((C, K))
    R = len(targets)
    if R == 0:
        return inv, Gc, nc, oc, Fit(np.zeros(0), np.zeros(0), [], C), _softmax(logq[None, :] + OFF)
    vals = np.array(codes, dtype=float)
    phi = np.zeros((R, K))
    a = np.zeros((R, K))
    b = np.zeros((R, K))
    for r, t in enumerate(targets):
        keep = np.array([c not in t.exclude for c in codes], dtype=float)
        if t.kind == "mean":
            v = vals * keep
            sd = vals[keep > 0].std() or 1.0
            phi[r] = (vals - vals[keep > 0].mean()) / sd * keep
            a[r] = v
        else:
            inS = np.array([c in t.codes for c in codes], dtype=float) * keep
            phi[r] = inS
            a[r] = inS
        b[r] = keep
    W = np.stack([Gc[:, t_g] for t_g in range(Gc.shape[1])], axis=1).astype(float) if Gc.shape[1] else np.zeros((C, 0))
    X = W * nc[:, None]  # cell sizes times membership
    tgt = np.array([t.value / (100.0 if t.kind != "mean" else 1.0) for t in targets])
    scale = np.array([t.scale / (100.0 if t.kind != "mean" else 1.0) for t in targets])
    cmp = [t.cmp for t in targets]
    gidx = np.array([t._g for t in targets])
    Xg = X[:, gidx]
    Wg = W[:, gidx]

    def model(theta):
        L = logq[None, :] + OFF + Wg @ (theta[:, None] * phi)
        P = _softmax(L)
        num = (Xg * (P @ a.T)).sum(axis=0)
        den = (Xg * (P @ b.T)).sum(axis=0)
        return num / np.where(den > 0, den, 1.0)

    def resid(theta):
        m = model(theta)
        d = (m - tgt) / scale
        for r, c in enumerate(cmp):
            if c in ("gt", "ge"):
                d[r] = min(0.0, (m[r] - tgt[r] - (0.01 if c == "gt" else 0.0)) / scale[r])
            elif c in ("lt", "le"):
                d[r] = max(0.0, (m[r] - tgt[r] + (0.01 if c == "lt" else 0.0)) / scale[r])
        return np.concatenate([d, ridge * theta])

    sol = optimize.least_squares(
        resid, np.zeros(R), method="trf", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=200 * (R + 1)
    )
    theta = sol.x
    P = _softmax(logq[None, :] + OFF + Wg @ (theta[:, None] * phi))
    return inv, Gc, nc, oc, Fit(theta, model(theta), targets, C), P


def _diffuse(P: np.ndarray, nc: np.ndarray, order: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Integer counts per cell and code: expected counts rounded by error diffusion along
    ``order`` (largest remainder within a cell, the rounding error carried to the next cell),
    so any run of consecutive cells is within about one respondent of its expectation."""
    C, K = P.shape
    A = np.zeros((C, K), dtype=np.int64)
    carry = rng.uniform(-0.5, 0.5, size=K)
    carry -= carry.mean()
    for c in order:
        n = int(nc[c])
        t = n * P[c] + carry
        t = np.where(P[c] > 0, t, -np.inf)
        base = np.floor(np.clip(t, 0, None)).astype(np.int64)
        base = np.where(P[c] > 0, base, 0)
        diff = n - int(base.sum())
        frac = np.where(P[c] > 0, t - base, -np.inf)
        if diff > 0:
            idx = np.argsort(-frac, kind="stable")[:diff]
            np.add.at(base, idx, 1)
        elif diff < 0:
            cand = np.where(base > 0, frac, np.inf)
            for _ in range(-diff):
                j = int(np.argmin(cand))
                base[j] -= 1
                cand = np.where(base > 0, t - base, np.inf)
        A[c] = base
        carry = np.where(P[c] > 0, t - base, carry)
        carry = np.clip(carry, -2.0, 2.0)
    return A


def _cell_order(Gc: np.ndarray, oc: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Processing order of cells: lexicographic by group membership, smallest group most
    significant, so small groups are contiguous; ties broken at random."""
    C = Gc.shape[0]
    if Gc.shape[1] == 0:
        keys = [rng.permutation(C), oc]
        return np.lexsort(keys)
    sizes = Gc.sum(axis=0)
    by_size = np.argsort(sizes, kind="stable")
    keys = [rng.permutation(C), oc] + [~Gc[:, j] for j in by_size[::-1]]
    return np.lexsort(keys)


@dataclass
class Prepared:
    """A fitted item ready to hand out: cell of each respondent (processing rank), integer
    counts per cell and code (slot order: special codes first, then best-first)."""

    cell: np.ndarray
    counts: np.ndarray
    slot_codes: np.ndarray
    n_special: int
    ordinal: bool
    fit: Fit | None
    offset: np.ndarray  # per-cell random phase for spreading the special codes


def prepare(codes, q, G, targets, rng, ordinal=None, special=(), offsets=None, exact=(), cells=None) -> Prepared:
    """Fit the item's tilts and round the expected counts per cell (error diffusion).
    ``cells`` may pass a cached result of :func:`_cells` for the same memberships."""
    codes = list(codes)
    inv, Gc, nc, oc, fit, P = fit_tilt(q, G, targets, codes, offsets, cells=cells)
    C = len(nc)
    order = _cell_order(Gc, oc, rng)
    rank = np.empty(C, dtype=np.int64)
    rank[order] = np.arange(C)
    A = _diffuse(P, nc, order, rng)
    for r in exact:
        _fix_exact(A, P, Gc, nc, codes, targets[r])
    if ordinal is None:
        slot_codes = [c for c in codes if c in special] + [c for c in codes if c not in special]
    else:
        slot_codes = (
            [c for c in codes if c in special]
            + [c for c in ordinal if c not in special]
            + [c for c in codes if c not in special and c not in ordinal]
        )
    col = [codes.index(c) for c in slot_codes]
    n_special = sum(1 for c in slot_codes if c in special)
    return Prepared(
        rank[inv], A[:, col][order], np.asarray(slot_codes), n_special, ordinal is not None, fit, rng.random(C)
    )


def assign(prep: Prepared, z, rng) -> np.ndarray:
    """Hand the counts out within each cell: respondents sorted by ``z`` (best first) take
    the ordinal codes in order; the special codes (unsure, not applicable) go to positions
    spread evenly through the cell, so they are unrelated to ``z``. One sort in all."""
    cell = prep.cell
    n = len(cell)
    C, K = prep.counts.shape
    if n > LARGE:
        return _assign_large(prep, z, rng)
    zz = rng.standard_normal(n) if (z is None or not prep.ordinal) else np.asarray(z, float)
    key = cell + 0.5 - 0.49 * np.tanh(zz / 4.0)
    idx = np.argsort(key, kind="stable")
    sizes = np.bincount(cell, minlength=C)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.empty(n, dtype=np.int64)
    pos[idx] = np.arange(n) - start[cell[idx]]
    s = prep.counts[:, : prep.n_special].sum(axis=1) if prep.n_special else np.zeros(C, dtype=np.int64)
    nc = np.maximum(sizes, 1)
    u = prep.offset
    before = np.floor(pos * s[cell] / nc[cell] + u[cell]).astype(np.int64)
    after = np.floor((pos + 1) * s[cell] / nc[cell] + u[cell]).astype(np.int64)
    special = after > before
    out = np.empty(n, dtype=prep.slot_codes.dtype)
    # ordinal part: rank among the non-special of the cell
    ns_rank = pos - before
    ordc = prep.counts[:, prep.n_special :]
    k_ord = ordc.shape[1]
    if k_ord:
        nsize = ordc.sum(axis=1)
        nstart = np.concatenate([[0], np.cumsum(nsize)[:-1]])
        bounds = (nstart[:, None] + np.cumsum(ordc, axis=1)).reshape(-1)
        j = np.searchsorted(bounds, nstart[cell] + ns_rank, side="right") - cell * k_ord
        out[~special] = prep.slot_codes[prep.n_special :][np.clip(j, 0, k_ord - 1)][~special]
    if prep.n_special:
        spc = prep.counts[:, : prep.n_special]
        sstart = np.concatenate([[0], np.cumsum(s)[:-1]])
        bounds = (sstart[:, None] + np.cumsum(spc, axis=1)).reshape(-1)
        j = np.searchsorted(bounds, sstart[cell] + before, side="right") - cell * prep.n_special
        out[special] = prep.slot_codes[: prep.n_special][np.clip(j, 0, prep.n_special - 1)][special]
    return out


LARGE = 250_000  # above this many respondents, hand out codes by quantiles instead of sorting


def _assign_large(prep: Prepared, z, rng, sub: np.ndarray | None = None) -> np.ndarray:
    """O(n) variant of :func:`assign` for very large populations: special codes go to a random
    share of each cell, the ordinal codes by the respondent's approximate within-cell rank of
    ``z`` (a 128-bin histogram per cell, linear within bins). Counts then match the cell
    targets up to a fraction of a percent, far below sampling error at this size. ``sub``
    (indices) hands out codes to a subset only, with the cells' proportions."""
    cell = prep.cell if sub is None else prep.cell[sub]
    n = len(cell)
    C = prep.counts.shape[0]
    tot = np.maximum(prep.counts.sum(axis=1), 1)
    s = prep.counts[:, : prep.n_special].sum(axis=1) if prep.n_special else np.zeros(C, dtype=np.int64)
    r = rng.random(n)
    special = r < (s / tot)[cell]
    if z is None or not prep.ordinal:
        u = rng.random(n)
    else:
        zz = np.asarray(z, float) if sub is None else np.asarray(z, float)[sub]
        B = 128
        lo, hi = float(np.min(zz)), float(np.max(zz)) + 1e-9
        pos = (zz - lo) / (hi - lo) * B
        b = np.minimum(pos.astype(np.int64), B - 1)
        key = cell * B + b
        hist = np.bincount(key, minlength=C * B).astype(float)
        below = (np.cumsum(hist.reshape(C, B), axis=1) - hist.reshape(C, B)).reshape(-1)
        sizes = np.maximum(np.bincount(cell, minlength=C), 1)
        u = 1.0 - (below[key] + (pos - b) * hist[key]) / sizes[cell]  # best first
    out = np.empty(n, dtype=prep.slot_codes.dtype)

    def pick(counts: np.ndarray, x: np.ndarray, codes: np.ndarray) -> np.ndarray:
        k = counts.shape[1]
        cum = np.cumsum(counts, axis=1) / np.maximum(counts.sum(axis=1, keepdims=True), 1)
        bounds = (np.arange(C)[:, None] * 2.0 + cum).reshape(-1)  # cells 2 apart keep bounds sorted
        j = np.searchsorted(bounds, cell * 2.0 + np.minimum(x, 1 - 1e-12), side="right") - cell * k
        return codes[np.clip(j, 0, k - 1)]

    k_ord = prep.counts.shape[1] - prep.n_special
    if k_ord:
        out[:] = pick(prep.counts[:, prep.n_special :].astype(float), u, prep.slot_codes[prep.n_special :])
    if prep.n_special:
        x = r / np.maximum((s / tot)[cell], 1e-12)
        sp = pick(prep.counts[:, : prep.n_special].astype(float), x, prep.slot_codes[: prep.n_special])
        out[special] = sp[special]
    return out


def allocate(codes, q, G, targets, rng, z=None, ordinal=None, special=(), offsets=None, exact=(), cells=None):
    """:func:`prepare` then :func:`assign`: returns (codes per respondent, Fit)."""
    if G.shape[0] == 0:
        return np.zeros(0, dtype=np.int64), None
    prep = prepare(codes, q, G, targets, rng, ordinal, special, offsets, exact, cells)
    return assign(prep, z, rng), prep.fit


def _fix_exact(A, P, Gc, nc, codes, t: Target) -> None:
    """Move single respondents between codes so that a count target is met exactly."""
    g = t._g
    inS = np.array([c in t.codes for c in codes])
    keep = np.array([c not in t.exclude for c in codes])
    cells = np.flatnonzero(Gc[:, g])
    if len(cells) == 0:
        return
    want = int(t.count) if t.count is not None else int(round(t.value / 100.0 * A[cells][:, keep].sum()))
    for _ in range(1000):
        have = int(A[cells][:, inS & keep].sum())
        if have == want:
            return
        up = have < want
        # the cell whose realised count is furthest from its expectation in the needed direction
        exp_in = (nc[cells][:, None] * P[cells])[:, inS & keep].sum(axis=1)
        got_in = A[cells][:, inS & keep].sum(axis=1)
        gap = (exp_in - got_in) if up else (got_in - exp_in)
        src_ok = (A[cells][:, (~inS) & keep].sum(axis=1) > 0) if up else (got_in > 0)
        gap = np.where(src_ok, gap, -np.inf)
        if not np.isfinite(gap).any():
            return
        c = cells[int(np.argmax(gap))]
        frm = np.flatnonzero(((~inS) & keep) if up else (inS & keep))
        to = np.flatnonzero((inS & keep) if up else ((~inS) & keep))
        frm = frm[A[c, frm] > 0]
        if len(frm) == 0 or len(to) == 0:
            return
        j = frm[np.argmax(A[c, frm] - nc[c] * P[c, frm])]
        k = to[np.argmax(nc[c] * P[c, to] - A[c, to])]
        A[c, j] -= 1
        A[c, k] += 1


# ----------------------------------------------------------------------------- stages
def _offsets_from_covariates(
    codes: list,
    covs: dict[str, np.ndarray],
    effects: dict[str, float],
    target_codes,
    extra: list[tuple[np.ndarray, dict]] = (),
) -> Offsets:
    """Offsets sum(log OR * x) on ``target_codes`` (covariates 0/1, NaN -> 0), plus forced
    ({code: inf}) or forbidden ({code: -inf}) codes for the masks in ``extra``. One table row
    per covariate pattern."""
    names = list(covs)
    n = len(next(iter(covs.values()))) if covs else len(extra[0][0])
    key = np.zeros(n, dtype=np.int64)
    for j, k in enumerate(names):
        key |= (np.nan_to_num(covs[k]) != 0).astype(np.int64) << j
    for j, (mask, _) in enumerate(extra):
        key |= mask.astype(np.int64) << (len(names) + j)
    cnt = np.bincount(key)
    uniq = np.flatnonzero(cnt)
    lut = np.zeros(len(cnt), dtype=np.int64)
    lut[uniq] = np.arange(len(uniq))
    ids = lut[key]
    K = len(codes)
    table = np.zeros((len(uniq), K))
    tc = [codes.index(c) for c in target_codes]
    for u, bits in enumerate(uniq):
        lin = sum(math.log(effects.get(k, 1.0)) for j, k in enumerate(names) if bits >> j & 1)
        table[u, tc] += lin
        for j, (_, piece) in enumerate(extra):
            if bits >> (len(names) + j) & 1:
                for c, val in piece.items():
                    if val == np.inf:
                        keep = table[u, codes.index(c)]
                        table[u, :] = -np.inf
                        table[u, codes.index(c)] = keep if np.isfinite(keep) else 0.0
                    else:
                        table[u, codes.index(c)] += val
    return Offsets(ids, table)


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


# =============================================================================================
# structure: who the respondents are
# =============================================================================================
def _scaled_table(n: int) -> list[tuple]:
    """Archetype rows scaled to ``n`` completes (largest remainder on the leaf counts)."""
    leaves = [r for _, _, roles, _ in ARCHETYPES for r in roles]
    counts = _round_alloc(leaves, n) if n != DEFAULT_N else np.array(leaves)
    out = []
    k = 0
    for name, orgs, _roles, kind in ARCHETYPES:
        rc = tuple(int(c) for c in counts[k : k + 3])
        k += 3
        out.append((name, orgs, rc, kind))
    return out


def _people(table, rng) -> pd.DataFrame:
    """One row per respondent from archetype rows: archetype, kind, org_type, role."""
    rows = []
    for name, orgs, (lead, front, other), kind in table:
        size = lead + front + other
        if size == 0:
            continue
        org_counts = _round_alloc(list(orgs.values()), size)
        org = _shuffled(dict(zip(orgs.keys(), org_counts, strict=True)), rng)
        n_senior = int(round(lead * SENIOR_SHARE[kind]))
        role = _shuffled({1: n_senior, 2: lead - n_senior, 3: front, 4: other}, rng)
        rows.append(pd.DataFrame({"archetype": name, "kind": kind, "org_type": org, "role": role}))
    return pd.concat(rows, ignore_index=True)


def _credentials(p: pd.DataFrame, rng) -> pd.DataFrame:
    """Credential, specialty, work setting and discharge planning so that the Appendix A sector
    rules put each archetype where it belongs (and nowhere else)."""
    n = len(p)
    kind, role, org = p["kind"].to_numpy(), p["role"].to_numpy(), p["org_type"].to_numpy()
    cred = np.full(n, 12)
    spec = np.full(n, np.nan)
    ws = np.full(n, np.nan)
    dp = np.full(n, np.nan)
    u = rng.random(n)

    def choose(mask, options: dict):
        idx = np.flatnonzero(mask)
        if len(idx) == 0:
            return
        keys = np.array(list(options.keys()))
        w = np.array(list(options.values()), float)
        cred[idx] = rng.choice(keys, size=len(idx), p=w / w.sum())

    front = role == 3
    # primary care: prescribers in primary care, or frontline staff in outpatient primary care
    pcp = kind == "pcp"
    pcp_presc = pcp & (~front | (u < 0.72))
    choose(pcp_presc, {1: 60, 2: 25, 3: 15})
    choose(pcp & ~pcp_presc, {4: 50, 11: 30, 12: 20})
    spec[pcp_presc] = 1
    ws[pcp & front] = 1
    # BH clinicians outside BH organisations: BH credentials or psychiatry
    bh = kind == "bhclin"
    psych = bh & (u < 0.10)
    cred[psych] = 1
    spec[psych] = 2
    choose(bh & ~psych, {5: 15, 6: 25, 7: 8, 8: 35, 9: 10, 10: 7})
    # BH organisations: a mix; prescribers there are psychiatry or another specialty
    bo = kind == "bhorg"
    choose(bo, {5: 8, 6: 14, 7: 5, 8: 18, 9: 6, 10: 6, 1: 4, 2: 4, 4: 8, 11: 10, 12: 17})
    presc = bo & np.isin(cred, [1, 2, 3])
    spec[presc] = np.where(rng.random(presc.sum()) < 0.7, 2, 3)
    # discharge planners, MCP staff and everyone else: no BH credential, no primary care
    choose(kind == "hdp", {4: 55, 11: 25, 12: 20})
    choose(kind == "mcp", {12: 48, 4: 20, 11: 22, 1: 10})
    choose(kind == "other", {12: 55, 11: 25, 4: 12, 1: 4, 2: 4})
    presc = np.isin(kind, ["mcp", "other"]) & np.isin(cred, [1, 2, 3])
    spec[presc] = 3
    # work setting of frontline staff (asked of frontline): never outpatient primary care
    # outside the primary care archetypes
    hosp = np.isin(org, [3, 4])
    rest = front & ~pcp
    ws[rest & hosp] = 2
    ws[rest & ~hosp] = np.where(rng.random((rest & ~hosp).sum()) < 0.6, 3, 4)
    # discharge planning (asked of hospital staff)
    dp[hosp] = np.where(kind[hosp] == "hdp", 1, 2)
    return pd.DataFrame(
        {"credential": cred, "specialty": spec, "work_setting": ws, "discharge_planner": dp}, index=p.index
    )


def _sample_source(p: pd.DataFrame, n_panel: int, rng) -> np.ndarray:
    """Outreach (1) or the Medscape panel of health professionals (2): exactly ``n_panel``
    panel respondents, drawn with weights favouring clinicians (model fill)."""
    kind, role = p["kind"].to_numpy(), p["role"].to_numpy()
    w = np.select(
        [kind == "pcp", kind == "hdp", kind == "bhclin", kind == "bhorg", kind == "mcp"],
        [6.0, 4.0, 3.0, 0.8, 0.1],
        default=1.0,
    )
    w = w * np.where(role == 3, 2.0, 1.0) * np.where(p["org_type"].to_numpy() == 1, 0.25, 1.0)
    return np.where(_pick(n_panel, w, rng), 2, 1)


def _structure(n: int, seed: int) -> pd.DataFrame:
    """Completes and screen-outs with the screener, sector and familiarity columns."""
    rng = _rng(seed, "structure")
    comp = _people(_scaled_table(n), rng)
    comp = pd.concat([comp, _credentials(comp, rng)], axis=1)
    comp["disposition"] = 1
    comp["sample_source"] = _sample_source(comp, _scale(395, n), rng)

    # screen-outs: not familiar (with sector columns) and under 30% Medi-Cal (screener only)
    n_nf = _scale(N_SCREEN_FAMILIAR, n)
    nf_counts = _round_alloc(list(NOT_FAMILIAR_ARCHETYPES.values()), n_nf)
    table = []
    for name, cnt in zip(NOT_FAMILIAR_ARCHETYPES, nf_counts, strict=True):
        orgs, kind = next((o, k) for a, o, _, k in ARCHETYPES if a == name)
        if kind == "hdp":
            roles = _round_alloc([0, 95, 5], int(cnt))
        elif kind == "pcp":
            roles = _round_alloc([12, 83, 5], int(cnt))
        else:
            roles = _round_alloc([35, 57, 8], int(cnt))
        table.append((name, orgs, tuple(int(r) for r in roles), kind))
    nf = _people(table, rng)
    nf = pd.concat([nf, _credentials(nf, rng)], axis=1)
    nf["disposition"] = 3
    nf["sample_source"] = np.where(_pick(int(round(0.55 * len(nf))), np.ones(len(nf)), rng), 2, 1)

    n_u30 = _scale(N_SCREEN_MEDICAL, n)
    u_orgs = _shuffled(dict(zip(UNDER30_ORGS, _round_alloc(list(UNDER30_ORGS.values()), n_u30), strict=True)), rng)
    u30 = pd.DataFrame({"archetype": "under30", "kind": "screen", "org_type": u_orgs})
    u30["role"] = _shuffled(dict(zip([1, 2, 3, 4], _round_alloc([14, 16, 63, 7], n_u30), strict=True)), rng)
    u30["disposition"] = 2
    u30["sample_source"] = np.where(_pick(int(round(0.7 * n_u30)), np.ones(n_u30), rng), 2, 1)
    u30["medical_share"] = 1

    # Medi-Cal share of completes: exact band sizes (Figure 25), higher bands likelier in
    # social service, FQHC, BH organisations and MCPs (model fill for who is where)
    kind = comp["kind"].to_numpy()
    org = comp["org_type"].to_numpy()
    w75 = np.select(
        [kind == "mcp", org == 1, org == 2, kind == "bhorg", kind == "bhclin"], [8.0, 3.0, 3.0, 2.5, 1.5], default=0.8
    )
    med = np.zeros(len(comp), dtype=np.int64)
    free = np.ones(len(comp), dtype=bool)
    bands = {c: _scale(v, n) for c, v in MEDI_BANDS.items()}
    bands[2] = len(comp) - bands[4] - bands[3] - bands[9]
    for code, weight in ((9, np.ones(len(comp))), (4, w75), (3, np.sqrt(w75))):
        chosen = _pick(bands[code], np.where(free, weight, 0.0), rng)
        med[chosen] = code
        free &= ~chosen
    med[free] = 2
    comp["medical_share"] = med

    # familiarity of completes (Figure 1, Key findings) and of the not-familiar screen-outs
    n75 = int((med == 4).sum())
    nf_75 = int(round(FAM_75PLUS_NOT_AT_ALL / (100 - FAM_75PLUS_NOT_AT_ALL) * n75))
    n_unsure = _scale(N_SCREEN_FAMILIAR_UNSURE, n)
    nf_med = np.zeros(len(nf), dtype=np.int64)
    pick75 = _pick(nf_75, np.ones(len(nf)), rng)
    nf_med[pick75] = 4
    rest = ~pick75
    nf_med[rest] = rng.choice([2, 3, 9], size=int(rest.sum()), p=[0.5, 0.4, 0.1])
    nf["medical_share"] = nf_med
    unsure = _pick(n_unsure, np.where(rest, 1.0, 0.0), rng)
    nf["familiarity"] = np.where(unsure, 9, 4)

    fam = np.zeros(len(comp), dtype=np.int64)
    is_pcp = (comp["kind"] == "pcp").to_numpy()
    is_hdp = (comp["archetype"] == "hosp_hdp").to_numpy()
    is_mcp = kind == "mcp"
    nf_pcp = int((nf["kind"] == "pcp").sum())
    nf_hdp = int((nf["archetype"] == "hosp_hdp").sum())
    little = np.zeros(len(comp), dtype=bool)
    for mask, pct, extra in (
        (is_mcp, FAM_MCP_FAMILIAR, 0),
        (is_pcp, FAM_PCP_FAMILIAR, nf_pcp),
        (is_hdp, FAM_HDP_FAMILIAR, nf_hdp),
    ):
        k = int(mask.sum()) - int(round(pct / 100 * (int(mask.sum()) + extra)))
        little |= _pick(max(k, 0), mask.astype(float), rng)
    special = is_mcp | is_pcp | is_hdp
    n_little = _scale(FAM_COUNTS[3], n)
    base75 = n75 + int((nf_med == 4).sum())
    need75 = int(round(FAM_75PLUS_LITTLE / 100 * base75)) - int((little & (med == 4)).sum())
    little |= _pick(max(need75, 0), ((med == 4) & ~special).astype(float), rng)
    need = n_little - int(little.sum())
    little |= _pick(max(need, 0), ((med != 4) & ~special & ~little).astype(float), rng)
    fam[little] = 3
    n_very = _scale(FAM_COUNTS[1], n)
    mcp_very = _pick(int(round(0.76 * (is_mcp & ~little).sum())), (is_mcp & ~little).astype(float), rng)
    role = comp["role"].to_numpy()
    wv = np.where(np.isin(role, [1, 2]), 1.6, 1.0) * np.select(
        [org == 1, org == 2, kind == "bhorg", is_pcp, is_hdp], [1.2, 1.2, 1.0, 0.5, 0.7], default=0.8
    )
    very = mcp_very | _pick(n_very - int(mcp_very.sum()), np.where(~little & ~is_mcp, wv, 0.0), rng)
    fam[very] = 1
    fam[(fam == 0)] = 2
    comp["familiarity"] = fam

    frame = pd.concat([comp, nf, u30], ignore_index=True)
    # respondent ids in a random order of entry (dispositions interleaved)
    perm = rng.permutation(len(frame))
    frame = frame.iloc[np.argsort(perm, kind="stable")].reset_index(drop=True)
    frame["resp_id"] = np.arange(1, len(frame) + 1)
    return frame


def _designate_incomplete(g: _Generator) -> None:
    """Exactly 57 (scaled) social service respondents answer 'unsure' to one variable of the
    paper's models, so the analytic sample is 355 of 412 (model fill: which variable)."""
    rng = g.rng("incomplete")
    sso = g.m("pop_sso")
    n_inc = _scale(412 - 355, g.n)
    counts = _round_alloc(list(SSO_INCOMPLETE.values()), n_inc)
    reasons = _shuffled(dict(zip(SSO_INCOMPLETE, counts, strict=True)), rng)
    chosen = np.flatnonzero(_pick(n_inc, sso.astype(float), rng))
    g.sso_reason = np.full(g.n_all, "", dtype=object)
    g.sso_reason[chosen] = reasons[: len(chosen)]
    g.sso_analytic = sso & (g.sso_reason == "")


# =============================================================================================
# the generator: columns so far, derived groups, one column at a time
# =============================================================================================
class _Generator:
    """Holds the columns generated so far, the derived frame and the registry targets."""

    def __init__(self, n: int, seed: int, cb: Codebook, registry: pd.DataFrame):
        self.n, self.seed, self.cb = int(n), int(seed), cb
        self.scales = _item_scales(cb)
        self.by_col: dict[str, list[_Row]] = {}
        self.registry = registry
        src = _derived_sources(cb)
        rank_rows = []
        for _, row in registry.iterrows() if len(registry) else []:
            if row["statistic"] == "rank":
                rank_rows.append(row)
                continue
            for t in _aggregate_rows(row, cb, src) if row.get("aggregate", "") else [_translate(row, cb, src)]:
                if t is not None:
                    self.by_col.setdefault(t.column, []).append(t)
        for row in rank_rows:
            t = self._rank_target(row)
            if t is not None:
                self.by_col.setdefault(t.column, []).append(t)
        self.fits: list[dict] = []
        self.skipped: list[tuple[str, str]] = []  # registry rows that could not be targets, and why
        self.cols: dict[str, np.ndarray] = {}
        self.D: dict = {}
        self.cell_cache: dict = {}
        self.group_cache: dict = {}
        self.geo_memo: dict = {}
        self.latent: dict = {}

    def _rank_target(self, row) -> _Row | None:
        """A published rank ("among the top k options") as a lower bound on the option's share in
        the row's base: above the share of the option ranked k+1 among the others, taking each
        option's overall published share (or its prior) as the yardstick."""
        col = row["item"].strip()
        if col not in self.cb.columns or self.cb.column(col).kind != "binary":
            return None
        if row.get("comparison", "") not in ("le", "lt"):
            return None
        k = int(float(row["published"])) - (1 if row["comparison"] == "lt" else 0)
        item = self.cb.item(self.cb.column(col).item)
        prior = MULTI_PRIOR.get(item.name, {})
        others = []
        for other in self.cb.columns_of(item.name):
            if other == col:
                continue
            pub = [
                r.value
                for r in self.by_col.get(other, [])
                if r.kind == "share" and r.population == "complete" and not r.subgroup and r.cmp == "eq"
            ]
            others.append(float(np.mean(pub)) if pub else float(prior.get(other.split("__", 1)[1], 0)))
        if not 1 <= k <= len(others):
            return None
        bar = sorted(others, reverse=True)[k - 1]  # to rank k or better, beat the k-th best of the others
        return _Row(
            row["id"],
            col,
            (1,),
            (),
            "share",
            bar + 1.0,
            "ge",
            None,
            row["population"] or "complete",
            row.get("subgroup", ""),
            bool(str(row.get("inconsistency", "")).strip()),
            False,
        )

    # ----------------------------------------------------------------- frame plumbing
    def rng(self, name: str) -> np.random.Generator:
        return _rng(self.seed, name)

    def derive(self) -> dict:
        """Derived variables and population flags of the columns so far (see fast_derive)."""
        self.D = fast_derive(self.cols, self.cb, self.geo_memo)
        return self.D

    def m(self, name: str) -> np.ndarray:
        """A derived boolean (or 0/1) column as a bool array (missing = False)."""
        a = self.D[name]
        return a if a.dtype == bool else (np.asarray(a, float) == 1)

    def v(self, name: str) -> np.ndarray:
        """A derived column as floats (NaN = missing)."""
        return np.asarray(self.D[name], dtype=float)

    def set(self, column: str, values, mask) -> None:
        out = np.full(len(mask), np.nan)
        out[mask] = values
        self.cols[column] = out

    # ----------------------------------------------------------------- targets
    def group(self, population: str, subgroup: str) -> np.ndarray | None:
        key = (id(self.D), population, subgroup)
        if key in self.group_cache:
            return self.group_cache[key]
        pc = f"pop_{population}"
        g = None
        if pc in self.D and (not subgroup or subgroup in self.D):
            g = self.m(pc)
            if subgroup:
                g = g & self.m(subgroup)
        if self.group_cache and next(iter(self.group_cache))[0] != id(self.D):
            self.group_cache.clear()
        self.group_cache[key] = g
        return g

    def targets(self, column: str, answer: np.ndarray, extra=()):
        """Targets about ``column`` restricted to its respondents, with duplicates merged
        (contradicting copies: the ones without an inconsistency note win, else the mean)."""
        rows = list(self.by_col.get(column, [])) + list(extra)
        merged: dict = {}
        for r in rows:
            g = self.group(r.population, r.subgroup)
            if g is None:
                self.skipped.append((r.id, f"group {r.population}/{r.subgroup} not available when {column} is drawn"))
                continue
            g = g & answer
            size = int(g.sum())
            if size == 0:
                self.skipped.append((r.id, "empty group"))
                continue
            value = r.value
            if r.count:
                pub = self.cb.populations.get(r.population)
                base = pub.published_n if (pub and pub.published_n and not r.subgroup) else None
                value = 100.0 * (value / base if base else value / size)
            key = (r.codes, r.exclude, r.kind, r.cmp, hash(g.tobytes()))
            merged.setdefault(key, []).append((r, g, value))
        out, exact = [], []
        for (codes, exclude, kind, cmp, _), items in merged.items():
            counts = [x for x in items if x[0].count]
            clean = counts or [x for x in items if not x[0].inconsistent] or items
            value = float(np.mean([x[2] for x in clean]))
            r, g = clean[0][0], clean[0][1]
            size = int(g.sum())
            if kind == "mean":
                scale = r.tol or 0.3
            elif r.count:
                scale = max(100.0 * 0.25 / size, 0.05)
            else:
                scale = r.tol or (3.0 if size >= 100 else 6.0)
            t = Target(
                g,
                codes if kind != "mean" else None,
                value,
                exclude,
                cmp if cmp else "eq",
                scale,
                ";".join(x[0].id for x in items),
                kind,
            )
            if r.count and cmp in ("", "eq"):
                t.count = int(round(value / 100 * size))
                exact.append(len(out))
            out.append(t)
        return out, exact

    def derived_rows(self, item: str, column: str) -> list[_Row]:
        """Registry share rows about a derived 0/1 variable, as targets on ``column``."""
        out = []
        for _, row in self.registry.iterrows() if len(self.registry) else []:
            if row["item"] == item and row["statistic"] == "share" and not row.get("aggregate", ""):
                tol = float(row["tolerance"]) if str(row.get("tolerance", "")).strip() else None
                out.append(
                    _Row(
                        row["id"],
                        column,
                        _codes(row["codes"]) or (1,),
                        (),
                        "share",
                        float(row["published"]),
                        row.get("comparison", "") or "eq",
                        tol,
                        row["population"] or "complete",
                        row.get("subgroup", ""),
                        bool(str(row.get("inconsistency", "")).strip()),
                        False,
                    )
                )
        return out

    # ----------------------------------------------------------------- one column
    def prepare(
        self,
        column: str,
        answer: np.ndarray,
        *,
        spec: Spec | None = None,
        offsets=None,
        extra=(),
        direct=(),
        record=True,
    ) -> tuple[Prepared | None, Spec]:
        """Fit ``column`` for the respondents in ``answer`` and round its counts per cell.
        ``extra``: more registry rows; ``direct``: ready-made :class:`Target` objects."""
        spec = spec or _spec(self.cb, column, self.scales)
        idx = np.flatnonzero(answer)
        if len(idx) == 0:
            return None, spec
        targets, exact = self.targets(column, answer, extra)
        targets += [t for t in direct if (t.mask & answer).any()]
        # codes a published zero count rules out entirely
        forbid = [i for i, t in enumerate(targets) if t.count == 0 and t.mask.sum() == answer.sum()]
        groups: list[np.ndarray] = []
        keys: dict = {}
        for t in targets:
            sub = t.mask[idx]
            k = hash(sub.tobytes())
            if k not in keys:
                keys[k] = len(groups)
                groups.append(sub)
            t._g = keys[k]
        G = np.stack(groups, axis=1) if groups else np.zeros((len(idx), 0), dtype=bool)
        K = len(spec.codes)
        if offsets is None:
            offsets = Offsets(np.zeros(self.n_all, dtype=np.int64), np.zeros((1, K)))
        off = Offsets(offsets.ids[idx], offsets.table.copy())
        for i in forbid:
            for c in targets[i].codes:
                off.table[:, spec.codes.index(c)] = -np.inf
        targets = [t for i, t in enumerate(targets) if i not in forbid]
        exact = [e - sum(1 for f in forbid if f < e) for e in exact if e not in forbid]
        ck = (hash(idx.tobytes()), hash(G.tobytes()), hash(off.ids.tobytes()))
        if ck not in self.cell_cache:
            self.cell_cache.clear()
            self.cell_cache[ck] = _cells(G, off.ids)
        prep = prepare(
            spec.codes,
            spec.q,
            G,
            targets,
            self.rng(f"draw:{column}"),
            spec.ordinal,
            spec.special,
            off,
            exact,
            self.cell_cache[ck],
        )
        if record and prep.fit is not None:
            for t, mv in zip(prep.fit.targets, prep.fit.model, strict=True):
                self.fits.append(
                    {
                        "targets": t.source,
                        "column": column,
                        "published": t.value,
                        "fitted": float(mv) * (100.0 if t.kind != "mean" else 1.0),
                        "kind": t.kind,
                    }
                )
        return prep, spec

    def latent_z(self, column: str, spec: Spec, idx: np.ndarray) -> np.ndarray | None:
        if not spec.latent:
            return None
        lat = self.latent[spec.latent][idx]
        return spec.rho * lat + math.sqrt(1 - spec.rho**2) * self.rng(f"noise:{column}").standard_normal(len(idx))

    def run(
        self,
        column: str,
        answer: np.ndarray,
        *,
        spec: Spec | None = None,
        offsets=None,
        extra=(),
        direct=(),
        z=None,
        record=True,
    ) -> np.ndarray:
        """Fit and draw ``column`` for the respondents in ``answer``; store and return it."""
        prep, spec = self.prepare(column, answer, spec=spec, offsets=offsets, extra=extra, direct=direct, record=record)
        idx = np.flatnonzero(answer)
        if prep is None:
            self.set(column, np.zeros(0), answer)
            return self.cols[column]
        zz = z[idx] if z is not None else self.latent_z(column, spec, idx)
        self.set(column, assign(prep, zz, self.rng(f"assign:{column}")), answer)
        return self.cols[column]

    @property
    def n_all(self) -> int:
        return len(next(iter(self.cols.values())))


# =============================================================================================
# stages, in the order _build runs them
# =============================================================================================
def _stage_profile(g: _Generator) -> None:
    """Organisation profile of completes: size, legal form, multistate, gender, race (Tables
    A4, A5), with the SSO incompletes of the paper's models forced to 'unsure'."""
    comp = g.m("pop_complete")
    sso = g.m("pop_sso")
    reason = g.sso_reason
    for col in ("fte", "legal_type"):
        spec = _spec(g.cb, col, g.scales)
        extra = [(sso & (reason != col), {9: -np.inf}), (sso & (reason == col), {9: np.inf})]
        off = _offsets_from_covariates(spec.codes, {}, {}, [], extra)
        g.run(col, comp, offsets=off)
    g.run("multistate", comp)
    g.run("gender", comp)
    _stage_race(g)


def _stage_race(g: _Generator) -> None:
    """Race and ethnicity (Table A5): one category each by exact allocation, and a second one
    for a few (the table's shares add to more than 100%), so each option's share is the
    published one (model fill: the split into first and second categories, 'another race' and
    'prefer not to say')."""
    rng = g.rng("race")
    comp = g.m("pop_complete")
    cols = g.cb.columns_of("race")
    opts = [c.split("__", 1)[1] for c in cols]
    pub = {
        r.column.split("__", 1)[1]: r.value
        for c in cols
        for r in g.by_col.get(c, [])
        if r.kind == "share" and not r.subgroup
    }
    share = np.array([pub.get(o, MULTI_PRIOR["race"].get(o, 1)) for o in opts], float)
    n = int(comp.sum())
    second = SECOND_RACE_SHARE / 100 * share / share.sum() * n
    first = np.maximum(share / 100 * n - second, 0)
    none = max(n - first.sum(), 0)
    counts = _round_alloc(np.append(first, none), n)
    primary = _shuffled(dict(zip(range(len(opts) + 1), counts, strict=True)), rng)
    X = np.zeros((n, len(opts)), dtype=bool)
    has = primary < len(opts)
    X[np.flatnonzero(has), primary[has]] = True
    n2 = _round_alloc(second, int(round(second.sum())))
    taken = ~has | np.isin(primary, [opts.index("declined")] if "declined" in opts else [])
    for j in np.argsort(-n2, kind="stable"):
        pick = _pick(int(n2[j]), np.where(taken | X[:, j], 0.0, 1.0), rng)
        X[pick, j] = True
        taken |= pick
    for j, col in enumerate(cols):
        g.set(col, X[:, j].astype(float), comp)


def _stage_geography(g: _Generator) -> None:
    """Statewide operation and counties (Table A6 regions, the paper's 51 counties)."""
    cb, rng = g.cb, g.rng("geography")
    comp = g.m("pop_complete")
    idx = np.flatnonzero(comp)
    n = len(idx)
    org = g.cols["org_type"][idx]
    sso = org == 1
    small = np.isin(g.cols["fte"][idx], [1, 2, 3])
    w_state = np.select([org == 14, org == 4, org == 13, org == 3], [6.0, 3.0, 3.0, 1.0], default=0.6)
    w_state = w_state * np.where(sso, 0.6, 1.0)
    statewide = _pick(int(round(STATEWIDE_SHARE / 100 * n)), w_state, rng)
    regions = list(REGION_SHARE)
    # home regions: exact counts, scaled to the non-statewide respondents
    second = {r: _scale(SECOND_REGION[r], g.n) for r in regions}
    home_n = _round_alloc([REGION_SHARE[r] * n / 100 - second[r] for r in regions], int((~statewide).sum()))
    home = np.full(n, -1)
    home[~statewide] = _shuffled(dict(zip(range(len(regions)), home_n, strict=True)), rng)
    counties = list(cb.counties)
    creg = np.array([regions.index(cb.counties[c]["region"]) for c in counties])
    cw = np.array([COUNTY_WEIGHT.get(c, 10.0) for c in counties])
    absent = np.isin(counties, SSO_ABSENT_COUNTIES)
    sel = np.zeros((n, len(counties)), dtype=bool)
    ncnt = np.zeros(n, dtype=np.int64)

    def draw(members: np.ndarray, region: np.ndarray) -> None:
        """One more county in ``region`` for each member (a repeat draw adds nothing)."""
        for r in np.unique(region):
            for is_sso in (False, True):
                mm = members[(region == r) & (sso[members] == is_sso)]
                if len(mm) == 0:
                    continue
                w = np.where(creg == r, cw, 0.0) * np.where(is_sso & absent, 0.0, 1.0)
                c = rng.choice(len(counties), size=len(mm), p=w / w.sum())
                ncnt[mm] += ~sel[mm, c]
                sel[mm, c] = True

    local = np.flatnonzero(~statewide)
    draw(local, home[local])
    p_single = np.where(small, SINGLE_COUNTY_SHARE["small"], SINGLE_COUNTY_SHARE["large"])
    multi = local[rng.random(len(local)) >= p_single[local]]
    extra_k = rng.choice([1, 1, 1, 2, 2, 3, 4], size=len(multi))
    for k in range(1, 5):
        for _attempt in range(3):  # a few tries to land on a new county
            want = multi[(extra_k >= k) & (ncnt[multi] < k + 1)]
            if len(want):
                draw(want, home[want])
    # second regions: exact counts, preferring larger organisations
    taken = statewide.copy()
    for r, k in second.items():
        ri = regions.index(r)
        w = np.where(~taken & (home != ri) & (home >= 0), np.where(small, 0.5, 1.5), 0.0)
        chosen = np.flatnonzero(_pick(k, w, rng))
        draw(chosen, np.full(len(chosen), ri))
        taken[chosen] = True
    # the paper's analytic sample covers every county but the seven absent ones
    ana = g.sso_analytic[idx]
    multi_ana = ana & (ncnt > 1)
    for c in np.flatnonzero(~absent):
        if sel[ana, c].any():
            continue
        cand = np.flatnonzero(multi_ana & sel[:, creg == creg[c]].any(axis=1))
        if len(cand) == 0:
            cand = np.flatnonzero(multi_ana)
        if len(cand):
            sel[cand[rng.integers(len(cand))], c] = True
    g.set("statewide", np.where(statewide, 1, 2), comp)
    for j, c in enumerate(counties):
        g.set(f"county__{c}", sel[:, j].astype(float), comp)


def _stage_sso_profile(g: _Generator) -> None:
    """Kinds of social service (Table A3), pilots (with the paper's unpublished pilot model),
    and SSO experience before CalAIM (Figure 20; prior managed care contracting)."""
    asked = g.m("pop_ssotype_asked")
    for col in g.cb.columns_of("sso_type"):
        g.run(col, asked)
    g.derive()
    comp, sso, reason = g.m("pop_complete"), g.m("pop_sso"), g.sso_reason
    spec = _spec(g.cb, "wpc_hh", g.scales)
    covs = {k: np.where(sso, g.v(k), 0.0) for k in ("fte_lt50", "nonprofit")}
    extra = [(sso & (reason != "wpc_hh"), {9: -np.inf}), (sso & (reason == "wpc_hh"), {9: np.inf})]
    g.run("wpc_hh", comp, offsets=_offsets_from_covariates(spec.codes, covs, PILOT_OR, [1], extra))
    g.derive()
    g.latent["experience"] = g.rng("latent:experience").standard_normal(g.n_all) + 0.5 * np.nan_to_num(g.v("pilot"))
    for col in g.cb.columns_of("sso_exp"):
        spec = _spec(g.cb, col, g.scales)
        if col == "sso_exp_contract_mcp":
            covs = {k: np.where(sso, np.nan_to_num(g.v(k)), 0.0) for k in ("pilot", "fte_lt50")}
            extra = [(sso & (reason != col), {9: -np.inf}), (sso & (reason == col), {9: np.inf})]
            g.run(col, sso, offsets=_offsets_from_covariates(spec.codes, covs, PRIOR_MC_OR, [1, 2, 3], extra))
        else:
            g.run(col, sso)


def _stage_providers(g: _Generator) -> None:
    """ECM and Community Supports providers: the paper's participation model among social
    service organisations (planted odds ratios, intercept fitted to 66% contracted), then exact
    allocation elsewhere so that 286 provide ECM, 315 Community Supports, and 162 FQHC, BH and
    SSO leaders provide neither."""
    rng = g.rng("providers")
    comp, sso, reason = g.m("pop_complete"), g.m("pop_sso"), g.sso_reason
    n_all = g.n_all
    ecm = np.full(n_all, np.nan)
    cs = np.full(n_all, np.nan)
    # --- social service organisations: contracted ~ logistic(planted ORs)
    role = g.cols["role"]
    covs = {
        "single_county": g.v("single_county"),
        "pilot": g.v("pilot"),
        "prior_mc_contract": g.v("prior_mc_contract"),
        "fte_lt50": g.v("fte_lt50"),
        "nonprofit": g.v("nonprofit"),
        "housing_provider": g.v("housing_provider"),
        "manager": (role == 2).astype(float),
        "frontline": (role == 3).astype(float),
        "other_role": (role == 4).astype(float),
    }
    covs = {k: np.where(sso, np.nan_to_num(v), 0.0) for k, v in covs.items()}
    spec = Spec([1, 0], np.array([0.5, 0.5]), None, (), None, 0.0)
    part = sso & (reason != "ecm_provider")
    off = _offsets_from_covariates([1, 0], covs, PARTICIPATION_OR, [1])
    # the analytic sample is known before 'contracted' exists (see _designate_incomplete)
    direct = [
        Target(g.sso_analytic & part, (1,), r.value, (), r.cmp, r.tol or 3.0, r.id)
        for r in g.derived_rows("contracted", "_contracted")
        if r.population == "sso_analytic" and not r.subgroup
    ]
    contracted = g.run("_contracted", part, spec=spec, offsets=off, direct=direct)
    con = part & (contracted == 1)
    # split contracted SSOs into ECM only / CS only / both (model fill: housing leans to CS)
    idx = np.flatnonzero(con)
    k = len(idx)
    n_both, n_ecm_only = int(round(0.35 * k)), int(round(0.20 * k))
    hw = np.where(np.nan_to_num(g.v("housing_provider"))[idx] == 1, 0.7, 1.4)
    both = _pick(n_both, np.ones(k), rng)
    ecm_only = _pick(n_ecm_only, np.where(both, 0.0, hw), rng)
    ecm[idx] = np.where(both | ecm_only, 1, 2)
    cs[idx] = np.where(ecm_only, 2, 1)
    nonc = part & ~con
    ecm[nonc], cs[nonc] = 2, 2
    er = sso & (reason == "ecm_provider")
    ecm[er], cs[er] = 9, 2
    # --- everyone else: exact totals
    leader = np.isin(role, [1, 2])
    org = g.cols["org_type"]
    fqhc_bh = comp & (np.isin(org, [2]) | g.m("bh_org"))
    other = comp & ~sso
    n_ecm, n_cs, n_npl = _scale(286, g.n), _scale(315, g.n), _scale(162, g.n)
    e_rest = n_ecm - int((ecm[sso] == 1).sum())
    c_rest = n_cs - int((cs[sso] == 1).sum())
    sso_npl = int((sso & leader & (ecm != 1) & (cs != 1)).sum())
    lead_fb = fqhc_bh & leader
    m = min(max(n_npl - sso_npl, 0), int(lead_fb.sum()))
    prov_lead = int(lead_fb.sum()) - m
    p_rest = max(int(round((e_rest + c_rest) / 1.3)), e_rest, c_rest, prov_lead)
    w = np.select([org == 2, g.m("bh_org"), org == 7, np.isin(org, [5, 6])], [3.0, 1.2, 1.5, 1.2], default=0.35)
    prov = _pick(prov_lead, np.where(lead_fb, np.where(org == 2, 3.0, 1.0), 0.0), rng)
    prov |= _pick(p_rest - prov_lead, np.where(other & ~lead_fb, w, 0.0), rng)
    both_n = max(e_rest + c_rest - p_rest, 0)
    pidx = np.flatnonzero(prov)
    both = _pick(both_n, np.ones(len(pidx)), rng)
    we = np.where(org[pidx] == 2, 3.0, np.where(np.isin(org[pidx], [5, 6]), 2.0, 1.0))
    ecm_only = _pick(e_rest - both_n, np.where(both, 0.0, we), rng)
    ecm[pidx] = np.where(both | ecm_only, 1, 2)
    cs[pidx] = np.where(ecm_only, 2, 1)
    np_idx = np.flatnonzero(other & ~prov)
    ecm[np_idx] = np.where(rng.random(len(np_idx)) < 0.05, 9, 2)
    cs[np_idx] = np.where(rng.random(len(np_idx)) < 0.05, 9, 2)
    g.cols["ecm_provider"], g.cols["cs_provider"] = ecm, cs
    del g.cols["_contracted"]


def _latents(g: _Generator) -> None:
    """Respondent-level traits that order answers within cells (model fill)."""
    r = lambda name: g.rng(f"latent:{name}").standard_normal(g.n_all)  # noqa: E731
    f = lambda name: np.nan_to_num(g.v(name))  # noqa: E731
    g.latent["attitude"] = (
        r("attitude")
        + stated.MCP_ATTITUDE * f("sector_mcp")
        - 0.35 * f("sector_bh")
        + 0.45 * f("fam_very")
        - 0.5 * f("fam_little")
        + 0.25 * f("pilot")
        + 0.15 * f("contracted")
    )
    g.latent["it"] = r("it") + 0.8 * f("sector_mcp") + 0.6 * f("sector_hdp") - 0.4 * f("sector_sso")
    g.latent["personal"] = r("personal")
    g.latent["info"] = 0.5 * g.latent["it"] / 1.3 + math.sqrt(0.75) * r("info")
    g.latent["partnering"] = r("partnering") + 0.6 * f("sector_mcp")


def _paper_offsets(g: _Generator, column: str, codes: list) -> Offsets:
    """The paper's planted outcome odds ratios, for the SSO analytic sample only."""
    ana = g.sso_analytic
    role = g.cols["role"]
    covs = {
        "contracted": np.where(ana, np.nan_to_num(g.v("contracted")), 0.0),
        "manager": np.where(ana, role == 2, 0).astype(float),
        "frontline": np.where(ana, role == 3, 0).astype(float),
        "other_role": np.where(ana, role == 4, 0).astype(float),
        "housing_provider": np.where(ana, np.nan_to_num(g.v("housing_provider")), 0.0),
    }
    effects = dict(OUTCOME_OR[column], other_role=OUTCOME_OTHER_ROLE_OR)
    return _offsets_from_covariates(codes, covs, effects, [1, 2])


def _stage_items(g: _Generator) -> None:
    """Attitude and experience items of Sections 1-5 that depend only on the structure."""
    comp = g.m("pop_complete")
    cb = g.cb
    for col in cb.columns_of("goal"):
        g.run(col, comp)
    flags = {f: g.m(f) for f in stated.SECTOR_FLAGS if f in g.D}
    for item in ("served", "pof", "equity", "org_impact", "challenge"):
        for col in cb.columns_of(item):
            spec = _spec(cb, col, g.scales)
            off = _paper_offsets(g, col, spec.codes) if col in OUTCOME_OR else None
            same = stated.same_share_targets(col, g.by_col.get(col, []), flags, comp, Target)
            g.run(col, comp, offsets=off, direct=same + stated.spread_targets(col, comp, Target))
    _stage_success(g)
    for col in ("effectiveness", "satisfaction"):
        g.run(col, comp, direct=stated.rest_targets(col, g.by_col.get(col, []), flags, comp, Target))
    for col in cb.columns_of("resource"):
        g.run(col, comp, direct=stated.spread_targets(col, comp, Target))
    for col in cb.columns_of("support"):
        g.run(col, comp)
    _cap_picks(g, cb.columns_of("support"), comp, 3)
    _stage_partner(g)
    for col in cb.columns_of("info_source"):
        g.run(col, comp)
    dual = g.m("pop_ecm") & g.m("pop_cs")
    for name in sorted(set(stated.PAIRED.values())):
        g.latent[f"paired:{name}"] = g.rng(f"latent:paired:{name}").standard_normal(g.n_all)
    for prog in ("ecm", "cs"):
        ans = g.m(f"pop_{prog}")
        for item in (f"{prog}_served", f"{prog}_referral", f"{prog}_decline_rate", f"{prog}_decline_reason"):
            for col in cb.columns_of(item):
                spec = _spec(cb, col, g.scales)
                if col in stated.PAIRED:
                    spec = Spec(
                        spec.codes,
                        spec.q,
                        list(stated.PAIRED_ORDER[stated.PAIRED[col]]),
                        (),
                        f"paired:{stated.PAIRED[col]}",
                        stated.PAIRED_RHO,
                    )
                direct = stated.dual_targets(col, g.by_col.get(col, []), dual, ans, Target)
                g.run(col, ans, spec=spec, offsets=_size_offsets(g, col, ans), direct=direct)
    g.run("mcp_contracts", g.m("pop_ecm_or_cs"))
    npl = g.m("pop_nonprovider_leaders")
    for item in ("nonprov_reason", "future_provide", "levers"):
        for col in cb.columns_of(item):
            g.run(col, npl)
    _cap_picks(g, cb.columns_of("levers"), npl, 3)
    bhl = g.m("pop_bh_leaders")
    for col in cb.columns_of("bh_process"):
        g.run(col, bhl)
    g.run("doc_burden", bhl)
    for col in cb.columns_of("nwd"):
        g.run(col, g.m("pop_nwd"))
    g.run("poc_mh", g.m("pop_nwd"))
    hdp = g.m("pop_hdp")
    for col in ("hdp_poc", "hdp_support", "hdp_mcp_involvement"):
        g.run(col, hdp)


def _size_offsets(g: _Generator, column: str, answer: np.ndarray) -> Offsets | None:
    """The stated trend of ``column`` with organisation size (:data:`stated.SIZE_TREND`), or None."""
    if column not in stated.SIZE_TREND:
        return None
    codes = _spec(g.cb, column, g.scales).codes
    fte = g.cols["fte"]
    table = stated.size_trend_table(codes, stated.SIZE_TREND[column], stated.mean_band(fte, answer))
    return Offsets(stated.size_band_ids(fte), table)


def _stage_success(g: _Generator) -> None:
    """Coded open-ended successes: 'none / don't know' first, then the named successes among
    the others, and 'another success' for those who named none of the listed ones."""
    comp = g.m("pop_complete")
    cols = g.cb.columns_of("success")
    none_col = "success__none_dk"
    spec = Spec([1, 0], np.array([0.41, 0.59]), [0, 1], (), "attitude", 0.4)
    g.run(none_col, comp, spec=spec)
    some = comp & (g.cols[none_col] == 1)
    said = comp & (g.cols[none_col] == 0)
    named = [c for c in cols if c not in (none_col, "success__other_success")]
    for col in named:
        # shares are published over all completes; those with no success name none
        off = _offsets_from_covariates([1, 0], {}, {}, [], [(some, {1: -np.inf})])
        g.run(col, comp, spec=Spec([1, 0], np.array([0.06, 0.94]), None, (), None, 0.0), offsets=off)
    anyn = np.zeros(g.n_all, dtype=bool)
    for col in named:
        anyn |= g.cols[col] == 1
    also = g.rng("success").random(g.n_all) < 0.3  # some naming a listed success name another one too
    other = np.where(said & ~anyn, 1.0, np.where(said & also, 1.0, 0.0))
    g.cols["success__other_success"] = np.where(comp, other, np.nan)


def _cap_picks(g: _Generator, cols: list, answer: np.ndarray, cap: int) -> None:
    """'Pick your top three': respondents holding more than ``cap`` options hand single options
    to respondents of the same cell (same memberships in every group the options were fitted
    on) who hold fewer, so every fitted margin stays exactly as it was."""
    rng = g.rng("cap:" + cols[0])
    idx = np.flatnonzero(answer)
    masks = []
    for col in cols:
        ts, _ = g.targets(col, answer)
        masks += [t.mask[idx] for t in ts]
    key = np.zeros(len(idx), dtype=np.int64)
    for m in masks:
        key, _ = _dense_ids(key * 2 + m.astype(np.int64))
    cell, _ = _dense_ids(key)
    X = np.stack([g.cols[c][idx] == 1 for c in cols], axis=1)
    for _round in range(50):
        picks = X.sum(axis=1)
        if not (picks > cap).any():
            break
        moved = 0
        for k in rng.permutation(len(cols)):
            over = np.flatnonzero((picks > cap) & X[:, k])
            under = np.flatnonzero((picks < cap) & ~X[:, k])
            if len(over) == 0 or len(under) == 0:
                continue
            ro = _rank_in_cell(cell[over], rng)
            ru = _rank_in_cell(cell[under], rng)
            nc = cell.max() + 1
            m = np.minimum(np.bincount(cell[over], minlength=nc), np.bincount(cell[under], minlength=nc))
            give, take = over[ro < m[cell[over]]], under[ru < m[cell[under]]]
            X[give, k], X[take, k] = False, True
            picks[give] -= 1
            picks[take] += 1
            moved += len(give)
        if moved == 0:
            break
    for j, col in enumerate(cols):
        g.set(col, X[:, j].astype(float), answer)


def _stage_partner(g: _Generator) -> None:
    """Partnership sectors (Figure 14, Table B1): one fitted model per option over the
    overlapping respondent types; a shared 'partnering' trait makes the same respondents
    partner widely, its weight chosen to meet the published 0 / 1 / 2 / 3+ distribution."""
    comp = g.m("pop_complete")
    idx = np.flatnonzero(comp)
    cols = [c for c in g.cb.columns_of("partner") if c != "partner__none"]
    band_rows = (
        [
            r
            for r in g.registry.itertuples()
            if r.item in ("partner_band",)
            and r.statistic == "share"
            and not r.subgroup
            and (r.population or "complete") == "complete"
        ]
        if len(g.registry)
        else []
    )
    preps = [g.prepare(col, comp)[0] for col in cols]
    trait = g.latent["partnering"][idx]
    trait = (trait - trait.mean()) / trait.std()
    own = [g.rng(f"pn:{col}").standard_normal(len(idx)) for col in cols]

    def draw(rho, sub=None):
        """rho: correlation between any two options' ordering variables. ``sub``: draw for a
        random subset only (choosing rho on a large population)."""
        if sub is not None:
            return [
                _assign_large(p, math.sqrt(rho) * trait + math.sqrt(1 - rho) * e, g.rng(f"assign:{col}"), sub)
                for p, e, col in zip(preps, own, cols, strict=True)
            ]
        return [
            assign(p, math.sqrt(rho) * trait + math.sqrt(1 - rho) * e, g.rng(f"assign:{col}"))
            for p, e, col in zip(preps, own, cols, strict=True)
        ]

    best = (np.inf, 0.5)
    sub = np.sort(g.rng("partner_sub").choice(len(idx), size=100_000, replace=False)) if len(idx) > LARGE else None
    if band_rows:
        for rho in (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9):
            npart = np.minimum(np.sum([v == 1 for v in draw(rho, sub)], axis=0), 3)
            err = sum((100 * np.isin(npart, _codes(r.codes)).mean() - float(r.published)) ** 2 for r in band_rows)
            if err < best[0] - 1e-9:
                best = (err, rho)
    rho = best[1]
    values = draw(rho)
    for col, v in zip(cols, values, strict=True):
        g.set(col, v, comp)
    npart = np.sum([v == 1 for v in values], axis=0)
    # 'no partnership in any of these sectors': a share of those with none listed say so,
    # as many as the published share of 'none' (Figure 14), else half
    zero = npart == 0
    pub = (
        [
            float(r.published)
            for r in g.registry.itertuples()
            if r.item == "partner__none" and r.statistic == "share" and not r.subgroup
        ]
        if len(g.registry)
        else []
    )
    frac = min(1.0, (pub[0] / 100) / max(zero.mean(), 1e-9)) if pub else 0.5
    none = zero & _pick(int(round(frac * zero.sum())), zero.astype(float), g.rng("partner_none"))
    g.set("partner__none", none.astype(float), comp)
    g.partner_rho = rho


def _stage_followups(g: _Generator) -> None:
    """Items whose askers depend on earlier answers: confidence and patience (not 'very
    effective'), partnership perceptions (who partners with whom), and the completeness,
    accuracy and timeliness of information (channel users, Figure 23)."""
    g.derive()
    nve = g.m("pop_not_very_effective")
    g.run("confidence", nve)
    g.run("wait_improve", nve)
    for item, pop in (
        ("pp_hc", "rates_hc"),
        ("pp_bh", "rates_bh"),
        ("pp_sso", "rates_sso"),
        ("pp_mcp", "rates_mcp"),
        ("pp_self", "has_partner"),
    ):
        for col in g.cb.columns_of(item):
            g.run(col, g.m(f"pop_{pop}"))
    comp = g.m("pop_complete")
    for col in ("info_amount", "info_accuracy", "info_timeliness"):
        g.run(col, comp)


# =============================================================================================
# fast derivations (the recodes of calaim.data.recode.derive the generator needs, on numpy arrays;
# tests/test_synth.py checks them against recode.derive column by column)
# =============================================================================================
def _indicator(s: np.ndarray, yes, no=None) -> np.ndarray:
    out = np.full(len(s), np.nan)
    ans = ~np.isnan(s)
    out[ans & (np.isin(s, no) if no is not None else ans)] = 0.0
    out[ans & np.isin(s, yes)] = 1.0
    return out


def _population(frame: dict, query: str, name: str, n: int) -> np.ndarray:
    """A codebook population query evaluated as :func:`calaim.data.recode.population_mask` does
    (``DataFrame.eval`` with the python engine, missing = False), but on bare columns: no
    index resolvers, which cost more than the query itself on millions of rows."""
    resolvers = {k: pd.Series(np.asarray(v), copy=False) for k, v in frame.items()}
    try:
        res = pd.eval(query, engine="python", resolvers=(resolvers,))
    except Exception as exc:  # pandas raises many types here; name the population
        raise ValueError(f"population {name!r}: cannot evaluate {query!r}: {exc}") from None
    if np.ndim(res) == 0:
        return np.full(n, bool(res))
    return pd.Series(res).fillna(False).astype(bool).to_numpy()


def fast_derive(cols: dict, cb: Codebook, memo: dict | None = None) -> dict:
    """Derived variables and population flags of :func:`calaim.data.recode.derive` (except the
    top-box and paper-outcome columns) from a dict of float arrays (NaN = missing). ``memo``
    keeps the geography (the costliest part) while the county arrays stay the same objects."""
    from calaim.data import recode as rc  # noqa: PLC0415

    n = len(cols[cb.id_column])
    nan = np.full(n, np.nan)
    col = lambda k: cols.get(k, nan)  # noqa: E731
    org, role, cred, spec = col("org_type"), col("role"), col("credential"), col("specialty")
    d: dict = {}
    d["sector_mcp"] = org == rc.ORG_MCP
    d["sector_fqhc"] = org == rc.ORG_FQHC
    d["bh_org"] = np.isin(org, rc.BH_ORGS)
    d["sector_bh"] = d["bh_org"] | (spec == 2) | np.isin(cred, rc.BH_CREDENTIALS)
    d["sector_sso"] = org == rc.ORG_SSO
    d["sector_hdp"] = col("discharge_planner") == 1
    d["sector_pcp"] = (np.isin(cred, rc.PRESCRIBER) & (spec == 1)) | ((role == 3) & (col("work_setting") == 1))
    d["hc_org"] = np.isin(org, rc.HC_ORGS)
    d["leader"] = np.isin(role, [1, 2])
    fam = col("familiarity")
    d["fam_very"], d["fam_somewhat"], d["fam_little"] = fam == 1, fam == 2, fam == 3
    med = col("medical_share")
    band = np.select([np.isin(med, [1, 2]), med == 3, med == 4], [1.0, 2.0, 3.0], default=np.nan)
    d["medi_band"] = band
    d["medi_0_50"], d["medi_51_75"], d["medi_75plus"] = band == 1, band == 2, band == 3
    d["fte_lt50"] = _indicator(col("fte"), [1, 2, 3], [4, 5, 6])
    d["fte_50plus"] = d["fte_lt50"] == 0
    d["nonprofit"] = _indicator(col("legal_type"), [2], [1, 3])
    counties = [k for k in cb.counties if f"county__{k}" in cols]
    statewide = col("statewide") == 1
    geo_key = tuple(id(cols[f"county__{k}"]) for k in counties) + (id(cols.get("statewide")),)
    if counties and memo is not None and memo.get("key") == geo_key:
        d.update(memo["geo"])
    elif counties:
        before = set(d)
        sel = np.stack([cols[f"county__{k}"] == 1 for k in counties], axis=1)
        ncty = sel.sum(axis=1)
        d["n_counties"] = ncty.astype(float)
        d["is_statewide"] = statewide
        d["single_county"] = np.where(statewide, 0.0, np.where(ncty == 1, 1.0, np.where(ncty > 1, 0.0, np.nan)))
        for region in cb.regions:
            j = [i for i, k in enumerate(counties) if cb.counties[k]["region"] == region]
            d[f"region_{region}"] = (sel[:, j].any(axis=1) if j else np.zeros(n, bool)) & ~statewide
        models = sorted(set(c["model"] for c in cb.counties.values()))
        anym = np.stack(
            [sel[:, [i for i, k in enumerate(counties) if cb.counties[k]["model"] == m]].any(axis=1) for m in models],
            axis=1,
        )
        nm = anym.sum(axis=1)
        pm = np.where(nm == 1, np.array(models, dtype=object)[anym.argmax(axis=1)], np.where(nm > 1, "multiple", None))
        pm = np.where(statewide, "statewide", pm)
        for m in cb.plan_models:
            d[f"model_{m}"] = pm == m
        if memo is not None:
            memo["key"], memo["geo"] = geo_key, {k: d[k] for k in set(d) - before}
    wpc = col("wpc_hh")
    d["wpc_yes"], d["wpc_no"] = wpc == 1, wpc == 2
    d["pilot"] = _indicator(wpc, [1], [2])
    ecm, cs = col("ecm_provider"), col("cs_provider")
    d["contracted"] = np.where((ecm == 1) | (cs == 1), 1.0, np.where((ecm == 2) & (cs == 2), 0.0, np.nan))
    d["prior_mc_contract"] = _indicator(col("sso_exp_contract_mcp"), [1, 2, 3], [4])
    d["housing_provider"] = _indicator(col("sso_type__housing"), [1], [0])
    ok = ~np.isnan(role)
    for v in ("contracted", "single_county", "pilot", "prior_mc_contract", "fte_lt50", "nonprofit", "housing_provider"):
        ok &= ~np.isnan(d[v]) if v in d else False
    d["sso_model_complete"] = ok
    present = [k for k in cb.option_sets.get("partner_sectors", {}) if f"partner__{k}" in cols]
    if present:
        psel = {k: cols[f"partner__{k}"] == 1 for k in present}
        npart = np.sum([psel[k] for k in present], axis=0)
        d["n_partner_sectors"] = npart.astype(float)
        d["partner_band"] = np.minimum(npart, 3).astype(float)
        for g, keys in rc.PARTNER_GROUPS.items():
            ks = [psel[k] for k in keys if k in psel]
            d[f"partners_{g}"] = np.any(ks, axis=0) if ks else np.zeros(n, bool)
    else:
        for g in rc.PARTNER_GROUPS:
            d[f"partners_{g}"] = np.zeros(n, bool)
    sso = d["sector_sso"]
    st = lambda key: col(f"sso_type__{key}") == 1  # noqa: E731
    d["rt_mcp"] = d["sector_mcp"]
    for key in ("sobering", "respite", "asthma", "older_adults", "home_mod", "food", "housing"):
        d[f"rt_{key}"] = sso & st(key)
    d["rt_other_sso"] = sso & st("other")
    d["rt_county_bh"] = org == rc.ORG_COUNTY_BH
    d["rt_hospital"] = np.isin(org, [rc.ORG_HOSPITAL, rc.ORG_KAISER, rc.ORG_MEDGROUP, rc.ORG_IPA])
    d["rt_fqhc_pcp"] = d["sector_fqhc"] | d["sector_pcp"]
    d["rt_mhsud_org"] = np.isin(org, [rc.ORG_OUTPATIENT_BH, rc.ORG_RESIDENTIAL_BH])
    d["rt_bh_clinician"] = d["sector_bh"] & ~d["bh_org"]
    if "info_source" in cb.items:
        for key in cb.item("info_source").parts:
            d[f"users_{key}"] = np.isin(col(f"info_source_{key}"), [1, 2])
    # populations: the codebook queries on a narrow frame of the names they use
    import re  # noqa: PLC0415

    env: dict = {}
    for pop in cb.populations.values():
        names = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pop.query))
        frame = {}
        for nm in names:
            if nm in env:
                frame[nm] = env[nm]
            elif nm in d:
                frame[nm] = d[nm]
            elif nm not in ("and", "or", "not", "in", "is", "True", "False", "None"):
                frame[nm] = col(nm)  # a codebook column, or a derivation whose inputs are absent
        env[f"pop_{pop.name}"] = _population(frame, pop.query, pop.name, n)
    d.update(env)
    return d


# =============================================================================================
# notes and command line
# =============================================================================================
def _fmt_or(d: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:g}" for k, v in d.items())


def notes_md(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> str:
    """The data set's notes (``data/synthetic/NOTES.md``): how the file was made, which values a
    published number pins down and which are model fill, and the caveat. Deterministic."""
    cb = load()
    df, g = _generated(n, seed)
    reg = load_targets()
    n_all = len(df)
    n_comp = int((df["disposition"] == 1).sum())
    fits = pd.DataFrame(g.fits, columns=["targets", "column", "published", "fitted", "kind"])
    used_ids = sorted({i for t in fits["targets"] for i in str(t).split(";") if i and not i.startswith("stated:")})
    published_fit = fits["targets"].map(lambda t: any(i and not i.startswith("stated:") for i in str(t).split(";")))
    targeted_cols = sorted(set(fits.loc[published_fit, "column"]) - {"_contracted"})
    answer_cols = [
        c for c in cb.columns if c not in STRUCTURE_COLUMNS and c != cb.id_column and not c.startswith("county__")
    ]
    per_item: dict = {}
    for c in answer_cols:
        it = cb.column(c).item
        tot, hit = per_item.get(it, (0, 0))
        per_item[it] = (tot + 1, hit + (c in targeted_cols))
    structural = {"statewide", "ecm_provider", "cs_provider", "fte", "legal_type", "sso_type", "wpc_hh", "race"}
    fill_items = sorted(it for it, (tot, hit) in per_item.items() if hit == 0 and it not in structural)
    part_items = sorted(f"{it} ({hit} of {tot} columns)" for it, (tot, hit) in per_item.items() if 0 < hit < tot)
    stat = reg["statistic"] if len(reg) else pd.Series(dtype=str)
    n_rows = int((stat != "context").sum())
    inconsistent = int((reg["inconsistency"].str.strip() != "").sum()) if len(reg) else 0
    published = ("single_county", "pilot", "prior_mc_contract")
    lines = [
        "# Synthetic CalAIM implementer survey data (2023 wave)",
        "",
        "**This file is synthetic. It is not survey evidence.** The 2023 survey microdata are not",
        "public; these respondents were generated by `calaim.synth` so that the book's pipeline has",
        "respondent-level data with the published structure. Numbers computed from it reproduce the",
        "published figures because the generator was fitted to them; they say nothing new about CalAIM",
        "or about the people who took the survey. With the real data, the same book is the reproduction.",
        "",
        "## The file",
        "",
        f"- `calaim_synthetic_2023.csv`: {n_all:,} rows = {n_comp:,} completed interviews, "
        f"{int((df['disposition'] == 2).sum()):,} screened out for under 30% Medi-Cal and "
        f"{int((df['disposition'] == 3).sum()):,} screened out as not familiar with CalAIM; "
        f"{len(df.columns)} columns in codebook order (`data/codebook.yml`).",
        "- Integer codes as in the codebook; an empty cell means the respondent was not asked (skip",
        "  logic follows the codebook's `asked` populations; screen-outs carry only the screener and",
        "  sector columns). The file passes `calaim.data.validate.check`.",
        f"- Made by `calaim.synth.write()` with n = {n:,} completes and seed {seed}; the same call",
        "  rewrites it byte for byte (`python -m calaim.synth`). The calibration targets are read from",
        "  `data/published/findings*.csv`, so editing the registry changes the file: regenerate it and",
        "  these notes together.",
        "",
        "## How it was made",
        "",
        "1. **Structure by exact allocation.** Where the report or the paper gives a count, a list",
        "   holding each value that many times is shuffled onto respondents: completes and screen-outs",
        "   (Appendix A), outreach 801 / panel 395, organisation types (Table A2), roles by sector",
        "   (Table A4), the overlapping sectors of Appendix A (MCP 53, FQHC 140, BH 292, social",
        "   service 412, discharge planners 67, primary care 162 of whom 44 = 27% at FQHCs), Medi-Cal",
        "   bands 271 / 304 / 595 (Figure 25), familiarity (Figure 1 and Key findings, including 47%",
        "   of primary care and 55% of discharge planners familiar among the screened in), Table A6",
        "   regions and 5% statewide, ECM 286 and Community Supports 315 providers, 162 leaders not",
        "   providing either, 119 BH and 51 MCP leaders, and the paper's SSO analytic sample (355 of",
        "   412, 51 of 58 counties). The 420 not-familiar screen-outs include 16 'unsure', so that",
        "   'not at all familiar' is 25% of the 1,616 screened in, as published.",
        "2. **Answers from one fitted model family.** For each item, respondent *i* answers code *k*",
        "   with probability proportional to `q_k * exp(sum_r x_ir * theta_r * phi_r(k) + o_ik)`: `q` a",
        "   prior shape for the scale, one `theta_r` per published number about the item (the share",
        "   giving codes S in group g, or the group mean), fitted jointly by least squares",
        "   (`scipy.optimize.least_squares`, residuals scaled by the registry tolerance, a small ridge",
        "   for contradictory numbers), and `o_ik` fixed offsets that plant the paper's odds ratios.",
        "   Codes the report leaves unpinned keep the prior's relative shape.",
        "3. **Rounding without sampling noise.** Respondents sharing all group memberships form a cell;",
        "   expected counts per cell are rounded by error diffusion along an order that keeps small",
        "   groups contiguous, so published subgroup shares are met to about one respondent.",
        "4. **Plausible correlation.** Within a cell, codes are handed out by latent traits (an",
        "   attitude shifted by sector, familiarity, pilot participation and contracting; IT adoption;",
        "   partnering breadth; SSO experience) plus item noise, so answers correlate across items",
        "   without moving any fitted margin. The partnering trait's weight is chosen so that the",
        "   0 / 1 / 2 / 3+ partner-sector distribution of Figure 14 holds (correlation "
        f"{getattr(g, 'partner_rho', float('nan')):g}).",
        "",
        "## The paper's models (planted)",
        "",
        f"- Participation (contracted ECM / CS provider) among the {_scale(355, n)} analytic SSO respondents:",
        f"  published odds ratios {_fmt_or({k: v for k, v in PARTICIPATION_OR.items() if k in published})};",
        f"  unpublished, chosen here: {_fmt_or({k: v for k, v in PARTICIPATION_OR.items() if k not in published})};",
        "  intercept fitted to 66% contracted.",
        f"- Pilot participation (unpublished values for a published direction): {_fmt_or(PILOT_OR)}.",
        f"- Prior managed care contracting (unpublished fill): {_fmt_or(PRIOR_MC_OR)}.",
        "- Six outcomes (much or somewhat better), odds ratios spanning exactly the published ranges:",
        "",
        "| outcome | contracted | manager | frontline | housing provider |",
        "| --- | --- | --- | --- | --- |",
    ]
    for col, ors in OUTCOME_OR.items():
        cells = " | ".join(f"{ors[k]:g}" for k in ("contracted", "manager", "frontline", "housing_provider"))
        lines.append(f"| {col} | {cells} |")
    lines += [
        "",
        f"Other role vs senior leader: {OUTCOME_OTHER_ROLE_OR:g}; single county, size and nonprofit: 1 (no effect).",
        "Each outcome's intercept is fitted with the item's overall and subgroup shares, so estimates on 355",
        "respondents scatter around the planted values as real estimates would.",
        "",
        *_stated_lines(),
        "## What a published number pins down, and what is model fill",
        "",
        f"- The registry holds {n_rows} rows that are not context; {len(used_ids)} of them enter the fit as",
        f"  targets on {len(targeted_cols)} answer columns (shares, means and counts, including min / max",
        "  ranges, and published ranks as lower bounds on an option's share); the structural counts",
        "  above and Table A5's race / ethnicity shares are allocated exactly; the odds ratios are",
        "  planted; the county count follows from the allocation.",
        f"- {inconsistent} registry rows carry an inconsistency note (published numbers that contradict",
        "  each other or cannot be met on the published base). Where two published numbers about the same",
        "  thing disagree, the fit keeps the one without a note (or averages); where they cannot both",
        "  hold (e.g. Table B1 averages above the sum of their row's shares, Table A1's 4% FQHC, Table",
        "  A4's 85% MCP leaders against the 51 MCP leaders of Figures 34-35) the data follow the base.",
        f"- Model fill (no published number; prior shape and latent traits only): {', '.join(fill_items) or 'none'}.",
        "- Partly pinned (some columns have a published number, the rest are fill): "
        f"{', '.join(part_items) or 'none'}.",
        "- Also fill: pilot participation beyond the paper's model; the codes of targeted items that the",
        "  report does not print (e.g. 'much' vs 'somewhat', 'unsure', 'not applicable'); credentials",
        "  and work settings beyond the sector rules; counties within regions (weighted by approximate",
        "  Medi-Cal enrolment) and the number of counties; the composition of the screen-outs.",
        "",
    ]
    lines += _fidelity_lines(df, reg)
    lines += [
        "Use the file to test the pipeline, to read the book, and to see the shape of the published",
        "findings. Do not cite anything computed from it as a finding about CalAIM.",
        "",
    ]
    return "\n".join(lines)


def _stated_lines() -> list[str]:
    """The notes' section on the report's stated comparisons (calaim.synth.stated)."""
    same = ", ".join(f"`{i}`" for ids in stated.SAME_IN_EVERY_SECTOR.values() for i in ids)
    trend = ", ".join(f"{c} {b:g}" for c, b in stated.SIZE_TREND.items())
    return [
        "## The report's stated comparisons (planted)",
        "",
        "Margins alone leave comparisons to chance, so the generator also follows what the report says",
        "about groups (`calaim.synth.stated`):",
        "",
        "- No sector difference (Figure 3, wait times got worse): every sector's share is a fitted target at",
        f"  the published overall share ({same}), so the sectors lie within the equivalence margin.",
        "- Larger organisations serve more people through ECM and Community Supports (Figure 26, subgroup",
        "  finding; no size published): an adjacent-category trend over the six FTE bands, log-odds",
        f"  per FTE band per served band (chosen here): {trend}, centred on the answerers' mean band.",
        "- ECM against Community Supports (Figure 27, MCP referrals; Figures 28-29, decline rates): the",
        "  book compares them among providers of both, so the published per-programme shares are also",
        "  targets among those dual providers, and one organisation's two answers share a latent trait",
        f"  (weight {stated.PAIRED_RHO:g}; model fill) so that they agree as one organisation's answers would.",
        "- Highest / lowest of all sectors (Figure 8, very effective; Figure 9, satisfaction): the value",
        "  implied for respondents outside the named sectors (the published overall value less the named",
        "  sectors' published values, over the rest) is a target in each unnamed sector, so no unnamed",
        "  sector passes a named one by chance.",
        f"- Managed care plan staff: attitude trait shifted by {stated.MCP_ATTITUDE:g} standard deviations (model",
        "  fill), for the report's statements that MCP staff are more positive than other sectors where it",
        "  prints only the MCP value or none (Key findings, Figures 8, 9 and 19).",
        "- Rows of a grid that the report ranks but does not print get a documented spread (chosen here,",
        "  ordered as the report ranks them) instead of all taking the prior shape:",
        "",
        "| row | codes | base excludes | share (%) |",
        "| --- | --- | --- | --- |",
        *(
            f"| {col} | {'; '.join(map(str, codes))} | {'; '.join(map(str, excl)) or '-'} | {value:g} |"
            for col, rows in stated.SPREAD.items()
            for codes, excl, value in rows
        ),
        "",
        "  Figure 7: payment rates (published 56% very or somewhat challenging) stay the top challenge,",
        "  the rows the Key findings name next follow. Figure 11: DHCS webinars and peer learning stay the",
        "  most used, the two grants the least used and the most often rated very helpful by their users.",
        "",
    ]


def _fidelity_lines(df: pd.DataFrame, reg: pd.DataFrame) -> list[str]:
    """The 'Fidelity' section of the notes: calaim.stats.findings.evaluate on the file."""
    try:
        from calaim.stats import findings  # noqa: PLC0415
    except ImportError:
        return []
    res = findings.evaluate(df)
    fid = findings.fidelity(res)
    out = [
        "## Fidelity to the published numbers",
        "",
        f"`calaim.stats.findings.evaluate` on this file: {fid['matched']} of {fid['evaluated']} evaluable "
        "registry rows",
        f"match ({100 * fid['share_matched']:.1f}%; {fid['context']} context rows are not evaluated,",
        f"{fid['not_in_data']} rows cannot be computed). The misses, with the registry's own note on each:",
        "",
        "| row | published | this file | why it cannot match |",
        "| --- | --- | --- | --- |",
    ]
    for r in res[res["status"] == "miss"].itertuples():
        note = str(r.inconsistency or "").strip()
        if len(note) > 160:
            note = note[:157].rsplit(" ", 1)[0] + " ..."
        note = note or "sampling / rounding on a small base"
        out.append(f"| `{r.id}` | {r.published:g} | {r.reproduced:.4g} | {note.replace('|', '/')} |")
    return out + [""]


def write_notes(path: str | Path = NOTES_PATH, n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(notes_md(n, seed), encoding="utf-8")
    return path


def main(argv=None) -> int:
    import argparse  # noqa: PLC0415

    ap = argparse.ArgumentParser(
        prog="python -m calaim.synth", description="Write the synthetic default data set and its notes."
    )
    ap.add_argument("--out", default=str(DEFAULT_PATH), help="CSV path (default: the committed default file)")
    ap.add_argument("--notes", default=None, help="NOTES.md path (default: next to the CSV)")
    ap.add_argument("-n", type=int, default=DEFAULT_N, help="completed interviews (default 1196)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = ap.parse_args(argv)
    out = write(args.out, args.n, args.seed)
    notes = write_notes(args.notes or Path(args.out).with_name("NOTES.md"), args.n, args.seed)
    print(f"wrote {out} and {notes}")
    return 0
