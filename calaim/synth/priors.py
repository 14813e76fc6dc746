"""Published inputs and priors of the synthetic generator: the structure allocated exactly
(counts from the report's tables), the paper's planted odds ratios, and the prior shapes and
latent attitudes that fill what nothing published pins (model fill, said so in NOTES.md).

Place in the flow: **priors** -> structure / stages (calaim.synth) -> the synthetic data file.
"""

from __future__ import annotations

from calaim import DATA_DIR

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
