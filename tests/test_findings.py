"""calaim.stats.findings: the shipped registry is well-formed, and evaluate() gives numbers worked
out by hand on a ten-respondent frame."""

from __future__ import annotations

import math
import sys
import types

import numpy as np
import pandas as pd
import pytest

import calaim.stats
from calaim.stats import findings
from calaim.stats import models as real_models
from calaim.stats.findings import REGISTRY_COLUMNS

PUBLISHED = calaim.DATA_DIR / "published"
PART1 = PUBLISHED / "findings.csv"
Z = 1.959963984540054  # normal 97.5% quantile
T7 = 2.3646242515927844  # t quantile 0.975, 7 degrees of freedom


# --------------------------------------------------------------------------- the shipped registry
def test_shipped_registry_is_well_formed(cb):
    path = PART1
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert tuple(raw.columns) == REGISTRY_COLUMNS
    assert raw["id"].is_unique
    assert findings.check_registry(findings.load_registry(path), cb) == []
    assert findings.check_registry(raw, cb) == []  # raw strings are accepted too


def test_default_registry_is_typed():
    reg = findings.load_registry()
    assert reg["id"].is_unique
    assert len(reg) == len(pd.read_csv(PART1, dtype=str)) > 700
    assert reg["published"].dtype == "float64"
    assert str(reg["published_n"].dtype) == "Int64"
    assert reg["codes"].map(type).eq(str).all()  # codes stay text until evaluated


def test_registry_covers_every_section_and_flags_known_conflicts():
    reg = findings.load_registry(PART1)
    counts = reg["section"].value_counts()
    assert set(counts.index) == set(findings.SECTIONS)
    # every cell of Figure 13 (10 supports x 7 columns) and Table A4 (14 rows x 7 columns)
    assert len(reg[reg["figure"] == "Fig 13"]) >= 70
    assert len(reg[reg["figure"] == "Table A4"]) == 14 * 7
    b1 = reg[reg["figure"] == "Table B1"]
    assert len(b1[b1["statistic"] != "context"]) == 14 * 17
    flagged = set(findings.inconsistencies(reg)["id"])
    expected = {"f14_band_3plus", "f14_none", "b1_mhsud_org_mean", "b1_bh_clinician_housing", "f13_mcp_mcp_standard"}
    assert {r for r in flagged if "in_person" in r or "care_team" in r}  # 37% in the text vs 38% in Fig 24
    assert expected <= flagged


def test_check_registry_reports_each_kind_of_problem(cb):
    def row(**kw):
        r = {c: "" for c in REGISTRY_COLUMNS}
        r.update(
            id="x",
            source="report",
            section="s1",
            figure="Fig 3",
            statistic="share",
            item="served_access",
            codes="1;2",
            population="complete",
            exclude_codes="97",
            published="50",
            description="d",
        )
        r.update(kw)
        return r

    bad = pd.DataFrame(
        [
            row(id="dup"),
            row(id="dup"),
            row(id="sec", section="s9"),
            row(id="stat", statistic="median"),
            row(id="cmp", comparison="about"),
            row(id="agg", aggregate="avg", item="goal_value|goal_seamless"),
            row(id="item", item="no_such_column"),
            row(id="pop", population="nobody"),
            row(id="sub", subgroup="partner_band"),
            row(id="code", codes="1;6"),
            row(id="or", statistic="odds_ratio", item="", codes="", population="sso_analytic", model="", term=""),
            row(id="pub", published="about half"),
        ]
    )
    problems = findings.check_registry(bad, cb)
    text = "\n".join(problems)
    for needle in [
        "dup: duplicate id",
        "sec: unknown section",
        "stat: unknown statistic",
        "cmp: unknown comparison",
        "agg: unknown aggregate",
        "item: item 'no_such_column'",
        "pop: population 'nobody'",
        "sub: subgroup 'partner_band'",
        "code: codes 6",
        "or: odds_ratio row without model or term",
        "pub: published is not numeric",
    ]:
        assert needle in text, needle


# --------------------------------------------------------------------------- a frame built by hand
def hand_frame() -> pd.DataFrame:
    """Ten people: 1-8 completed, 9 screened out as not familiar, 10 screened out on Medi-Cal share.

    Sectors (from org_type): 1-2 managed care plan (7), 3-5 social service (1), 6 county BH (8),
    7 outpatient BH (9), 8 FQHC (2).
    """
    nan = np.nan
    return pd.DataFrame(
        {
            "resp_id": range(1, 11),
            "disposition": [1, 1, 1, 1, 1, 1, 1, 1, 3, 2],
            "familiarity": [1, 1, 2, 3, 1, 2, 3, 1, 4, nan],
            "org_type": [7, 7, 1, 1, 1, 8, 9, 2, 1, 1],
            "role": [1, 2, 3, 1, 2, 3, 1, 2, 1, 1],
            "served_access": [1, 2, 3, 97, 5, 8, 2, nan, nan, nan],
            "satisfaction": [8, 7, 5, 4, 6, 3, 2, 9, nan, nan],
            "goal_seamless": [1, 1, 1, 2, 2, 1, 1, 1, nan, nan],
            "goal_whole_person": [1, 2, 3, 1, 1, 2, 1, 1, nan, nan],
            "goal_value": [1, 3, 4, 1, 2, 9, 1, 1, nan, nan],
            "support__rates": [1, 1, 1, 0, 1, 0, 1, 0, nan, nan],
            "support__funding": [0, 1, 0, 1, 0, 1, 0, 0, nan, nan],
            "support__dhcs_guidance": [0, 0, 0, 0, 0, 0, 0, 1, nan, nan],
            "county__alameda": [1, 0, 1, 0, 0, 0, 0, 0, nan, nan],
            "county__fresno": [0, 1, 0, 1, 1, 1, 1, 1, nan, nan],
            "county__kern": [0, 0, 0, 0, 0, 0, 0, 0, nan, nan],
        }
    )


def reg_row(id, statistic="share", item="served_access", codes="1;2", population="complete", **kw) -> dict:
    r = {c: "" for c in REGISTRY_COLUMNS}
    r.update(
        id=id,
        source="report",
        section="s1",
        page="s1_implementer_views",
        figure="Fig 3",
        statistic=statistic,
        item=item,
        codes=codes,
        population=population,
        description=id,
        published="0",
    )
    r.update({k: str(v) for k, v in kw.items()})
    return r


def run(rows, frame=None, min_base=1, **kw) -> pd.DataFrame:
    frame = hand_frame() if frame is None else frame
    return findings.evaluate(frame, registry=pd.DataFrame(rows), min_base=min_base, **kw).set_index("id")


def wilson_by_hand(k, n):
    p = k / n
    denom = 1 + Z**2 / n
    centre = (p + Z**2 / (2 * n)) / denom
    half = Z / denom * math.sqrt(p * (1 - p) / n + Z**2 / (4 * n**2))
    return 100 * (centre - half), 100 * (centre + half)


def test_share_base_and_wilson_interval_by_hand():
    ev = run([reg_row("access", exclude_codes="97", published=50)])
    r = ev.loc["access"]
    # completes answering: 1, 2, 3, 97 (N/A), 5, 8 (unsure), 2, missing -> base 6, better 3
    assert r["base"] == 6
    assert r["reproduced"] == pytest.approx(50.0)
    lo, hi = wilson_by_hand(3, 6)
    assert r["ci_low"] == pytest.approx(lo, abs=1e-9)
    assert r["ci_high"] == pytest.approx(hi, abs=1e-9)
    assert r["status"] == "match"


def test_not_applicable_leaves_the_base_unsure_stays():
    ev = run([reg_row("with_na", published=0), reg_row("without_na", exclude_codes="97", published=0)])
    assert ev.loc["with_na", "base"] == 7  # N/A counted when not excluded: 3 of 7
    assert ev.loc["with_na", "reproduced"] == pytest.approx(100 * 3 / 7)
    assert ev.loc["without_na", "base"] == 6  # unsure (8) is still in
    assert ev.loc["without_na", "reproduced"] == pytest.approx(50.0)


def test_population_and_subgroup():
    ev = run(
        [
            reg_row("fam_all", item="familiarity", codes="1;2", population="screened_in_medical"),
            reg_row("fam_complete", item="familiarity", codes="1", population="complete"),
            reg_row(
                "fam_sso", item="familiarity", codes="1;2", population="screened_in_medical", subgroup="sector_sso"
            ),
        ]
    )
    # screened in: 1-9 (10 failed the Medi-Cal screen); very/somewhat: 1, 2, 3, 5, 6, 8
    assert ev.loc["fam_all", "base"] == 9
    assert ev.loc["fam_all", "reproduced"] == pytest.approx(100 * 6 / 9)
    assert ev.loc["fam_complete", "reproduced"] == pytest.approx(100 * 4 / 8)
    # social service staff who passed the Medi-Cal screen: 3, 4, 5, 9 -> 3 and 5 familiar
    assert ev.loc["fam_sso", "base"] == 4
    assert ev.loc["fam_sso", "reproduced"] == pytest.approx(50.0)


def test_mean_and_t_interval_by_hand():
    ev = run(
        [
            reg_row("sat", statistic="mean", item="satisfaction", codes="", published=5.5),
            reg_row("sat_mcp", statistic="mean", item="satisfaction", codes="", subgroup="sector_mcp", published=7.5),
        ]
    )
    values = [8, 7, 5, 4, 6, 3, 2, 9]
    m = sum(values) / 8
    sd = math.sqrt(sum((v - m) ** 2 for v in values) / 7)
    r = ev.loc["sat"]
    assert r["reproduced"] == pytest.approx(5.5) and r["base"] == 8
    assert r["ci_low"] == pytest.approx(m - T7 * sd / math.sqrt(8))
    assert r["ci_high"] == pytest.approx(m + T7 * sd / math.sqrt(8))
    assert r["status"] == "match" and r["tolerance"] == pytest.approx(0.3)
    assert ev.loc["sat_mcp", "reproduced"] == pytest.approx(7.5)
    assert ev.loc["sat_mcp", "base"] == 2


def test_counts_rank_and_n_selected():
    ev = run(
        [
            reg_row("n_complete", statistic="count", item="", codes="", published=8),
            reg_row("n_very", statistic="count", item="familiarity", codes="1", published=4),
            reg_row("rank_funding", statistic="rank", item="support__funding", codes="1", published=2),
            reg_row("rank_rates", statistic="rank", item="support__rates", codes="1", published=1),
            reg_row("counties", statistic="n_selected", item="county", codes="", published=2),
        ]
    )
    assert ev.loc["n_complete", "reproduced"] == 8
    assert ev.loc["n_very", "reproduced"] == 4
    assert ev.loc["rank_funding", "reproduced"] == 2  # rates 5/8, funding 3/8, DHCS guidance 1/8
    assert ev.loc["rank_rates", "reproduced"] == 1
    assert ev.loc["counties", "reproduced"] == 2  # Alameda and Fresno; Kern nobody
    assert (ev["status"] == "match").all()


def test_min_max_aggregates_and_directional_comparisons():
    items = "goal_seamless|goal_whole_person|goal_value"
    ev = run(
        [
            reg_row("agree_min", item=items, codes="1;2", aggregate="min", published=62.5),
            reg_row("agree_max", item=items, codes="1;2", aggregate="max", published=100),
            reg_row("strong_min_gt", item=items, codes="1", aggregate="min", comparison="gt", published=45),
            reg_row("strong_min_gt_fails", item=items, codes="1", aggregate="min", comparison="gt", published=55),
            reg_row("strong_max_lt", item=items, codes="1", aggregate="max", comparison="lt", published=80),
            reg_row("strong_max_le", item=items, codes="1", aggregate="max", comparison="le", published=75),
            reg_row("strong_max_ge_fails", item=items, codes="1", aggregate="max", comparison="ge", published=76),
        ]
    )
    # agree: seamless 8/8, whole person 7/8, value 5/8 (unsure is a 'no'); strong: 6/8, 5/8, 4/8
    assert ev.loc["agree_min", "reproduced"] == pytest.approx(62.5)
    assert "goal_value" in ev.loc["agree_min", "note"]
    assert ev.loc["agree_max", "reproduced"] == pytest.approx(100.0)
    assert ev.loc["strong_min_gt", "reproduced"] == pytest.approx(50.0)
    assert ev.loc["strong_min_gt", "status"] == "match"
    assert ev.loc["strong_min_gt_fails", "status"] == "miss"
    assert ev.loc["strong_max_lt", "status"] == "match"
    assert ev.loc["strong_max_le", "status"] == "match"
    assert ev.loc["strong_max_ge_fails", "status"] == "miss"
    assert pd.isna(ev.loc["strong_min_gt", "tolerance"])  # no tolerance on a directional claim


def test_a_bound_is_judged_strictly_and_shown_with_its_sign():
    """A report's "over 50%" is a bound: 50.0 itself is not over 50 (miss), "at least 50%" is
    (match); the scorecard shows the bound as "> 50" / "≥ 50", never as a point, and lists the
    misses first."""
    from calaim.book import chapter

    items = "goal_seamless|goal_whole_person|goal_value"
    ev = run(
        [
            reg_row("gt_45", item=items, codes="1", aggregate="min", comparison="gt", published=45),
            reg_row("gt_edge", item=items, codes="1", aggregate="min", comparison="gt", published=50),
            reg_row("ge_edge", item=items, codes="1", aggregate="min", comparison="ge", published=50),
            reg_row("point_50", item=items, codes="1", aggregate="min", published=50),
        ]
    )
    # strong agreement 6/8, 5/8, 4/8: the lowest is 50%
    assert ev["reproduced"].tolist() == pytest.approx([50.0] * 4)
    assert ev["status"].to_dict() == {"gt_45": "match", "gt_edge": "miss", "ge_edge": "match", "point_50": "match"}
    card = chapter.scorecard_table(ev.reset_index()).set_index("id")
    assert card.index[0] == "gt_edge"  # the miss comes first
    assert card["published"].to_dict() == {"gt_edge": "> 50", "gt_45": "> 45", "ge_edge": "≥ 50", "point_50": "50"}
    assert (card["reproduced"] == "50").all()
    assert chapter.published_text(90, "share", "gt") == "> 90"
    assert chapter.published_text(float("nan"), "share", "gt") == ""


def test_tolerance_rule_depends_on_base():
    assert findings.default_tolerance("share", 99) == 6
    assert findings.default_tolerance("share", 100) == 3
    rows = [
        reg_row("near", exclude_codes="97", published=54),
        reg_row("far", exclude_codes="97", published=56.5),
        reg_row("own_tol", exclude_codes="97", published=54, tolerance=3),
    ]
    small = run(rows)  # base 6: 6 points
    assert small.loc["near", "tolerance"] == 6 and small.loc["near", "status"] == "match"
    assert small.loc["far", "status"] == "miss"
    assert small.loc["own_tol", "tolerance"] == 3 and small.loc["own_tol", "status"] == "miss"
    copies = [hand_frame().assign(resp_id=lambda d, i=i: d["resp_id"] + 100 * i) for i in range(20)]
    big = pd.concat(copies, ignore_index=True)
    large = run(rows, frame=big)  # base 120, same 50%: 3 points
    assert large.loc["near", "base"] == 120
    assert large.loc["near", "tolerance"] == 3 and large.loc["near", "status"] == "miss"


def test_missing_column_gives_not_in_data():
    ev = run(
        [
            reg_row("absent_item", item="served_quality", exclude_codes="97", published=45),
            reg_row("absent_in_aggregate", item="goal_value|served_quality", aggregate="max", published=45),
            reg_row("absent_option", statistic="rank", item="support__troubleshoot", codes="1", published=1),
            reg_row("ok", exclude_codes="97", published=50),
            reg_row("ctx", statistic="context", item="", codes="", population="", published=58),
        ]
    )
    assert ev.loc["absent_item", "status"] == "not in data"
    assert "served_quality" in ev.loc["absent_item", "note"]
    assert ev.loc["absent_in_aggregate", "status"] == "not in data"
    assert ev.loc["absent_option", "status"] == "not in data"
    assert ev.loc["ok", "status"] == "match"
    assert ev.loc["ctx", "status"] == "context"


def test_small_bases_are_flagged_suppressed():
    rows = [reg_row("mcp_access", subgroup="sector_mcp", exclude_codes="97", published=100)]
    assert bool(run(rows, min_base=30).loc["mcp_access", "suppressed"])
    assert not bool(run(rows, min_base=2).loc["mcp_access", "suppressed"])


def test_derived_frame_is_not_derived_again():
    from calaim.data import recode

    rows = [reg_row("access", exclude_codes="97", published=50)]
    derived = recode.derive(hand_frame())
    a = findings.evaluate(hand_frame(), registry=pd.DataFrame(rows), min_base=1)
    b = findings.evaluate(derived, registry=pd.DataFrame(rows), min_base=1)
    pd.testing.assert_frame_equal(a, b)


# --------------------------------------------------------------------------- odds ratios
def or_rows():
    return [
        reg_row(
            "or_one",
            statistic="odds_ratio",
            item="",
            codes="",
            population="sso_analytic",
            model="participation",
            term="pilot",
            published=6.4,
        ),
        reg_row(
            "or_min",
            statistic="odds_ratio",
            item="",
            codes="",
            population="sso_analytic",
            aggregate="min",
            model="out_access|out_grow",
            term="contracted",
            published=2.0,
        ),
        reg_row(
            "or_max",
            statistic="odds_ratio",
            item="",
            codes="",
            population="sso_analytic",
            aggregate="max",
            model="out_access|out_grow",
            term="contracted",
            published=9.0,
        ),
        reg_row(
            "or_lt",
            statistic="odds_ratio",
            item="",
            codes="",
            population="sso_analytic",
            comparison="lt",
            model="participation",
            term="single_county",
            published=1,
        ),
    ]


def test_odds_ratios_from_models_fit_once_per_model(monkeypatch):
    calls = []
    tables = {
        "participation": [("pilot", 5.0, 2.0, 12.0), ("single_county", 0.5, 0.3, 0.9)],
        "out_access": [("contracted", 2.5, 1.5, 4.0)],
        "out_grow": [("contracted", 4.0, 2.0, 8.0)],
    }

    def fit(frame, model_id):
        calls.append(model_id)
        return pd.DataFrame(
            [
                {"term": t, "odds_ratio": o, "ci_low": lo, "ci_high": hi, "p_value": 0.01, "n": 300}
                for t, o, lo, hi in tables[model_id]
            ]
        )

    fake = types.ModuleType("calaim.stats.models")
    fake.fit = fit
    fake.MODELS = dict.fromkeys(real_models.MODELS)
    monkeypatch.setitem(sys.modules, "calaim.stats.models", fake)
    monkeypatch.setattr(calaim.stats, "models", fake, raising=False)
    ev = run(or_rows())
    assert sorted(calls) == ["out_access", "out_grow", "participation"]  # each model fitted once
    assert ev.loc["or_one", "reproduced"] == 5.0 and ev.loc["or_one", "status"] == "match"  # 6.4 inside 2-12
    assert ev.loc["or_min", "reproduced"] == 2.5 and ev.loc["or_min", "status"] == "match"  # 2.0 inside 1.5-4
    assert ev.loc["or_max", "reproduced"] == 4.0 and ev.loc["or_max", "status"] == "miss"  # 9.0 outside 2-8
    assert ev.loc["or_max", "ci_high"] == 8.0 and ev.loc["or_max", "base"] == 300
    assert ev.loc["or_lt", "status"] == "match"  # 0.5 < 1


def test_odds_ratios_without_models_module(monkeypatch):
    monkeypatch.setitem(sys.modules, "calaim.stats.models", None)  # import fails
    monkeypatch.delattr(calaim, "models", raising=False)
    ev = run(or_rows() + [reg_row("access", exclude_codes="97", published=50)])
    assert (ev.loc[["or_one", "or_min", "or_max", "or_lt"], "status"] == "not in data").all()
    assert ev.loc["access", "status"] == "match"


# --------------------------------------------------------------------------- whole registry, summaries
def test_full_registry_on_a_valid_frame_never_raises(valid_frame):
    ev = findings.evaluate(valid_frame)
    reg = findings.load_registry()
    assert list(ev["id"]) == list(reg["id"])
    assert set(ev["status"]) <= set(findings.STATUSES)
    assert (ev.loc[reg["statistic"].eq("context").to_numpy(), "status"] == "context").all()
    fid = findings.fidelity(ev)
    assert fid["rows"] == len(reg)
    assert fid["evaluated"] == fid["matched"] + fid["missed"]
    assert fid["evaluated"] + fid["not_in_data"] + fid["context"] + (ev["status"] == "suppressed").sum() == fid["rows"]
    assert (ev["status"] == "suppressed").sum() == fid["suppressed"]
    assert sum(fid["misses_by_section"].values()) == fid["missed"]


def test_fidelity_and_inconsistencies_by_hand():
    ev = run(
        [
            reg_row("a", exclude_codes="97", published=50),
            reg_row("b", exclude_codes="97", published=90),
            reg_row("c", item="served_quality", published=1),
            reg_row("d", statistic="context", item="", codes="", population="", published=1),
        ]
    ).reset_index()
    fid = findings.fidelity(ev)
    assert (fid["rows"], fid["evaluated"], fid["matched"], fid["not_in_data"], fid["context"]) == (4, 2, 1, 1, 1)
    assert fid["share_matched"] == pytest.approx(0.5)
    assert fid["misses_by_section"] == {"s1": 1}
    reg = pd.DataFrame([reg_row("x", inconsistency="text says 37, figure 38"), reg_row("y")])
    inc = findings.inconsistencies(reg)
    assert list(inc["id"]) == ["x"] and inc.loc[0, "inconsistency"] == "text says 37, figure 38"


def test_every_page_is_a_chapter_and_every_row_names_one():
    from calaim import ROOT

    assert all((ROOT / "chapters" / f"{p}.ipynb").is_file() for p in findings.PAGES)
    reg = findings.load_registry()
    assert set(reg["page"]) <= set(findings.PAGES) and (reg["page"] != "").all()
    sections = reg[reg["section"] != "key_findings"]  # a section's rows are shown on its own chapter
    assert (sections["page"].str.split("_").str[0] == sections["section"].str.split("_").str[0]).all()


def test_descriptions_spell_acronyms_in_capitals():
    """Issue 15: 'Fqhc' (a title-cased acronym) showed 41 times in the book."""
    reg = findings.load_registry()
    for word in ("Fqhc", "Mcp", "Ecm", "Sso", "Dhcs"):
        bad = reg.loc[reg["description"].str.contains(rf"\b{word}\b", regex=True), "id"].tolist()
        assert not bad, f"{word} in {bad[:3]}"
