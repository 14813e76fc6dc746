"""Hand-computed fixtures for every recode in calaim.data.recode.

Each test builds a few respondents by hand, with only the columns the recode needs, and
states the expected result explicitly (worked out on paper from the Appendix A definitions),
rather than recomputing it with the code under test.
"""

import numpy as np
import pandas as pd
import pytest

from calaim.data import codebook, recode

CB = codebook.load()
NAN = np.nan


def frame(**cols):
    n = len(next(iter(cols.values())))
    base = {"resp_id": list(range(1, n + 1)), "disposition": [1] * n}
    base.update(cols)
    return pd.DataFrame(base)


def flags(out, col):
    return out[col].tolist()


def test_sectors_follow_appendix_a_and_overlap():
    df = frame(
        #          SSO  FQHC  FQHC  hosp  MCP  outpt-BH  med-grp  county-BH
        org_type=[1, 2, 2, 3, 7, 9, 5, 8],
        role=[1, 3, 3, 3, 2, 3, 3, 1],
        credential=[12, 2, 6, 4, 12, 12, 1, 12],  # NP, LMFT, RN, MD
        specialty=[NAN, 1, NAN, NAN, NAN, NAN, 2, NAN],  # NP primary care; MD psychiatry
        work_setting=[NAN, 3, 1, 2, NAN, 1, 2, NAN],
        discharge_planner=[NAN, NAN, NAN, 1, NAN, NAN, NAN, NAN],
    )
    out = recode.derive(df, CB)
    assert flags(out, "sector_sso") == [True, False, False, False, False, False, False, False]
    assert flags(out, "sector_fqhc") == [False, True, True, False, False, False, False, False]
    assert flags(out, "sector_mcp") == [False, False, False, False, True, False, False, False]
    # BH: BH organisations (rows 6, 8), BH credential (row 3, LMFT), psychiatry (row 7)
    assert flags(out, "sector_bh") == [False, False, True, False, False, True, True, True]
    assert flags(out, "bh_org") == [False, False, False, False, False, True, False, True]
    # PCP: NP in primary care (row 2) and frontline in outpatient primary care (rows 3, 6)
    assert flags(out, "sector_pcp") == [False, True, True, False, False, True, False, False]
    assert flags(out, "sector_hdp") == [False, False, False, True, False, False, False, False]
    # overlap: row 3 is FQHC, BH and PCP at once
    assert out.loc[2, ["sector_fqhc", "sector_bh", "sector_pcp"]].all()
    assert flags(out, "leader") == [True, False, False, False, True, False, False, True]
    assert flags(out, "role4") == [
        "senior",
        "frontline",
        "frontline",
        "frontline",
        "manager",
        "frontline",
        "frontline",
        "senior",
    ]
    assert flags(out, "hc_org") == [False, True, True, True, False, False, True, False]


def test_medi_cal_and_fte_bands_and_nonprofit():
    df = frame(
        medical_share=[1, 2, 3, 4, 9, NAN],
        fte=[1, 3, 4, 6, 9, NAN],
        legal_type=[1, 2, 3, 9, 2, NAN],
    )
    out = recode.derive(df, CB)
    assert out["medi_band"].tolist()[:4] == [1, 1, 2, 3]
    assert out["medi_band"].iloc[4:].isna().all()
    assert flags(out, "medi_0_50") == [True, True, False, False, False, False]
    assert flags(out, "medi_75plus") == [False, False, False, True, False, False]
    assert out["fte_lt50"].tolist()[:4] == [1.0, 1.0, 0.0, 0.0]
    assert out["fte_lt50"].iloc[4:].isna().all()  # unsure and missing leave the model
    assert out["nonprofit"].tolist()[:3] == [0.0, 1.0, 0.0]
    assert np.isnan(out["nonprofit"].iloc[3])


def county_frame(selections, statewide):
    cols = {f"county__{k}": [0] * len(selections) for k in CB.counties}
    for i, chosen in enumerate(selections):
        for k in chosen:
            cols[f"county__{k}"][i] = 1
    return frame(statewide=statewide, **cols)


def test_regions_single_county_and_plan_model():
    df = county_frame(
        [
            ["alameda"],  # Bay Area, Two-Plan
            ["orange", "san_diego"],  # SD/Orange, COHS + GMC -> multiple
            ["marin", "napa", "sonoma"],  # Bay Area, all COHS
            [],  # statewide, no county ticked
            ["imperial"],  # Inland Empire, Imperial model
            ["los_angeles", "riverside"],  # LA + Inland, both Two-Plan
        ],
        statewide=[2, 2, 2, 1, 2, 2],
    )
    out = recode.derive(df, CB)
    assert out["n_counties"].tolist() == [1, 2, 3, 0, 1, 2]
    assert out["single_county"].tolist() == [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    assert out["plan_model"].tolist() == ["two_plan", "multiple", "cohs", "statewide", "imperial", "two_plan"]
    assert flags(out, "model_cohs") == [False, False, True, False, False, False]
    assert flags(out, "region_bay_area") == [True, False, True, False, False, False]
    assert flags(out, "region_inland_empire") == [False, False, False, False, True, True]
    assert flags(out, "region_los_angeles") == [False, False, False, False, False, True]
    # statewide organisations sit outside the regional table (Table A6 note)
    assert not out.loc[3, [c for c in out if c.startswith("region_")]].any()


def test_top_box_keeps_unsure_and_drops_not_applicable():
    df = frame(served_access=[1, 2, 3, 4, 5, 8, 97, NAN])
    out = recode.derive(df, CB)
    tb = out["tb_served_access"]
    assert tb.iloc[:6].tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]
    assert tb.iloc[6:].isna().all()
    # hand computation: 2 better out of a base of 6 (N/A and blank leave the base)
    assert tb.mean() == pytest.approx(2 / 6)
    assert out["out_access"].equals(tb)


def test_paper_variables():
    df = frame(
        org_type=[1, 1, 1, 1],
        role=[1, 2, 3, 4],
        ecm_provider=[1, 2, 2, 9],
        cs_provider=[2, 1, 2, 2],
        wpc_hh=[1, 2, 9, 1],
        sso_exp_contract_mcp=[1, 4, 3, 9],
        sso_type__housing=[1, 0, 1, 0],
    )
    out = recode.derive(df, CB)
    assert out["contracted"].tolist()[:3] == [1.0, 1.0, 0.0]
    assert np.isnan(out["contracted"].iloc[3])  # unsure on ECM, no on CS: unknown
    assert out["pilot"].tolist()[:2] == [1.0, 0.0] and np.isnan(out["pilot"].iloc[2])
    assert out["prior_mc_contract"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(out["prior_mc_contract"].iloc[3])
    assert out["housing_provider"].tolist() == [1.0, 0.0, 1.0, 0.0]


def test_partnership_counts_groups_and_b1_types():
    opts = list(CB.option_sets["partner_sectors"])
    cols = {f"partner__{k}": [0, 0, 0] for k in opts}
    cols["partner__none"] = [1, 0, 0]
    for k in ["housing", "mcp", "hospital"]:
        cols[f"partner__{k}"][1] = 1
    cols["partner__county_bh"][2] = 1
    df = frame(org_type=[1, 1, 8], sso_type__housing=[1, 0, NAN], sso_type__sobering=[1, 1, NAN], **cols)
    out = recode.derive(df, CB)
    assert out["n_partner_sectors"].tolist() == [0, 3, 1]
    assert out["partner_band"].tolist() == [0, 3, 1]
    assert flags(out, "partners_hc") == [False, True, False]
    assert flags(out, "partners_sso") == [False, True, False]
    assert flags(out, "partners_bh") == [False, False, True]
    assert flags(out, "partners_mcp") == [False, True, False]
    assert flags(out, "rt_housing") == [True, False, False]
    assert flags(out, "rt_sobering") == [True, True, False]
    assert flags(out, "rt_county_bh") == [False, False, True]


def test_populations_who_was_asked():
    df = frame(
        disposition=[1, 1, 1, 1, 2, 3],
        org_type=[1, 8, 7, 2, 1, 1],
        role=[1, 2, 1, 3, 1, 1],
        ecm_provider=[2, 2, 1, 2, NAN, NAN],
        cs_provider=[2, 1, 2, 2, NAN, NAN],
        effectiveness=[1, 2, 9, NAN, NAN, NAN],
    )
    out = recode.derive(df, CB)
    assert flags(out, "pop_complete") == [True, True, True, True, False, False]
    assert flags(out, "pop_screened_in_medical") == [True, True, True, True, False, True]
    assert flags(out, "pop_ecm") == [False, False, True, False, False, False]
    assert flags(out, "pop_ecm_or_cs") == [False, True, True, False, False, False]
    # row 1: SSO senior leader providing neither -> asked; row 2 provides CS; row 4 frontline
    assert flags(out, "pop_nonprovider_leaders") == [True, False, False, False, False, False]
    assert flags(out, "pop_bh_leaders") == [False, True, False, False, False, False]
    assert flags(out, "pop_mcp_leaders") == [False, False, True, False, False, False]
    # "very effective" (1) and unanswered are not asked the follow-ups
    assert flags(out, "pop_not_very_effective") == [False, True, True, False, False, False]


def test_missing_items_are_tolerated_and_recorded():
    df = frame(org_type=[1, 2])  # a wave without counties, partnerships or credentials
    out = recode.derive(df, CB)
    assert "n_counties" in out.attrs["not_derived"]
    assert "sector_pcp" in out.attrs["not_derived"]
    assert flags(out, "partners_hc") == [False, False]


def test_input_frame_is_not_modified():
    df = frame(org_type=[1, 2], served_access=[1, 97])
    before = df.copy()
    recode.derive(df, CB)
    pd.testing.assert_frame_equal(df, before)


def test_derived_names_cover_everything_derive_adds():
    df = county_frame([["alameda"]], statewide=[2])
    out = recode.derive(df, CB)
    added = set(out.columns) - set(df.columns)
    assert added <= recode.derived_names(CB)
