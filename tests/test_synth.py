"""The synthetic default data set: valid, exact where the report gives counts, deterministic,
faithful to the findings registry, and carrying the paper's planted odds ratios."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calaim import synth
from calaim.data import codebook, recode, validate

CB = codebook.load()


@pytest.fixture(scope="module")
def default():
    return synth.generate()


@pytest.fixture(scope="module")
def derived(default):
    return recode.derive(default, CB)


def test_default_passes_validation(default):
    problems = validate.check(default, CB)
    assert not [p for p in problems if p.severity == "error"]


def test_columns_and_dtypes_follow_the_codebook(default):
    assert list(default.columns) == list(CB.columns)
    assert str(default["resp_id"].dtype) == "Int64"
    assert default["resp_id"].is_unique
    coded = default.drop(columns="resp_id")
    assert (coded.dtypes == "float64").all()
    vals = coded.to_numpy()
    assert np.all(np.isnan(vals) | (vals == np.round(vals)))


def test_exact_bases(default, derived):
    d = derived
    comp = d["pop_complete"]
    assert len(default) == 2597
    assert default["disposition"].value_counts().to_dict() == {1: 1196, 2: 981, 3: 420}
    assert default.loc[comp, "sample_source"].value_counts().to_dict() == {1: 801, 2: 395}
    sectors = {s: int((comp & d[s]).sum()) for s in recode.SECTORS}
    assert sectors == {
        "sector_mcp": 53,
        "sector_fqhc": 140,
        "sector_bh": 292,
        "sector_sso": 412,
        "sector_hdp": 67,
        "sector_pcp": 162,
    }
    assert int((comp & d["sector_pcp"] & d["sector_fqhc"]).sum()) == 44  # 27% of 162
    pops = {
        p: int(d[f"pop_{p}"].sum())
        for p in ("ecm", "cs", "bh_leaders", "mcp_leaders", "nonprovider_leaders", "hdp", "sso", "sso_analytic")
    }
    assert pops == {
        "ecm": 286,
        "cs": 315,
        "bh_leaders": 119,
        "mcp_leaders": 51,
        "nonprovider_leaders": 162,
        "hdp": 67,
        "sso": 412,
        "sso_analytic": 355,
    }
    assert round(100 * d.loc[d["pop_sso_analytic"], "contracted"].mean()) == 66
    bands = [int((comp & d[b]).sum()) for b in ("medi_0_50", "medi_51_75", "medi_75plus")]
    assert bands == [271, 304, 595]
    users = {k: int((comp & d[f"users_{k}"]).sum()) for k in ("ehr", "hie", "mcp_portal", "care_team", "patient")}
    assert users == {"ehr": 460, "hie": 267, "mcp_portal": 321, "care_team": 452, "patient": 686}
    county_cols = [c for c in default.columns if c.startswith("county__")]
    assert int((default.loc[d["pop_sso_analytic"], county_cols] == 1).any().sum()) == 51
    fam = default.loc[comp, "familiarity"].value_counts().to_dict()
    assert fam == {1: 501, 2: 436, 3: 259}


def test_screen_outs_carry_only_screener_and_sector_columns(default):
    sector_cols = {
        "resp_id",
        "disposition",
        "sample_source",
        "medical_share",
        "org_type",
        "role",
        "familiarity",
        "credential",
        "specialty",
        "work_setting",
        "discharge_planner",
    }
    u30 = default[default["disposition"] == 2]
    assert (u30["medical_share"] == 1).all()
    assert set(u30.columns[u30.notna().any()]) == {
        "resp_id",
        "disposition",
        "sample_source",
        "medical_share",
        "org_type",
        "role",
    }
    nf = default[default["disposition"] == 3]
    assert set(nf.columns[nf.notna().any()]) <= sector_cols
    assert nf["familiarity"].isin([4, 9]).all()


def test_proportional_structure_for_other_sizes():
    df = synth.generate(n=598, seed=7)
    counts = df["disposition"].value_counts().to_dict()
    assert counts == {1: 598, 2: round(981 * 598 / 1196), 3: 210}
    assert not [p for p in validate.check(df, CB) if p.severity == "error"]


def test_deterministic(default):
    synth._CACHE.clear()
    again = synth.generate()
    pd.testing.assert_frame_equal(default, again)
    other = synth.generate(seed=1)
    assert not other.equals(again)


def test_write_reproduces_committed_csv(tmp_path):
    out = synth.write(tmp_path / "synthetic.csv")
    committed = synth.DEFAULT_PATH.read_bytes()
    hint = "regenerate with `python -m calaim.synth` after changing the generator or the registry"
    assert out.read_bytes() == committed, hint
    text = committed.decode("utf-8")
    assert "\r" not in text and ".0," not in text and text.endswith("\n")


def test_notes_are_current_and_say_synthetic():
    notes = synth.notes_md()
    assert synth.NOTES_PATH.read_text(encoding="utf-8") == notes
    assert "synthetic" in notes.lower() and "not survey evidence" in notes
    assert str(synth.DEFAULT_SEED) in notes


def test_generator_derivation_is_recodes(default, derived):
    """The generator's derivation (recode.derive_arrays on its float columns) gives the columns
    recode.derive adds, value for value."""
    cols = {c: default[c].to_numpy(dtype=float) for c in default.columns}
    fast = recode.derive_arrays(cols, CB)
    for name, value in fast.items():
        ref = derived[name]
        a = np.asarray(value)
        if a.dtype == bool:
            assert np.array_equal(a, ref.fillna(False).to_numpy(dtype=bool)), name
        elif a.dtype == object:  # plan_model: a key, 'multiple', 'statewide' or missing
            assert list(pd.Series(a).fillna("<NA>")) == list(ref.astype(object).fillna("<NA>")), name
        else:
            assert np.allclose(a.astype(float), pd.to_numeric(ref).to_numpy(dtype=float), equal_nan=True), name


def test_fidelity_to_the_registry(default):
    """At least 95% of the evaluable registry rows (context rows excluded) match on the default
    data; every row can be evaluated (no column or model is missing)."""
    findings = pytest.importorskip("calaim.stats.findings")
    res = findings.evaluate(default)
    fid = findings.fidelity(res)
    assert fid["not_in_data"] == 0, res.loc[res["status"] == "not in data", ["id", "note"]].to_string()
    misses = res.loc[res["status"] == "miss", "id"].tolist()
    assert fid["share_matched"] >= 0.95, f"fidelity {fid['share_matched']:.1%}; misses: {misses}"


def test_planted_odds_ratios_recovered_on_a_large_sample():
    """Fit the paper's participation model on 60,000 synthetic completes: the planted odds
    ratios come back within 10%."""
    models = pytest.importorskip("calaim.stats.models")
    big = synth.generate(n=60_000, seed=synth.DEFAULT_SEED)
    d = recode.derive_arrays({c: big[c].to_numpy(dtype=float) for c in big.columns}, CB)
    frame = pd.DataFrame(
        {
            k: d[k]
            for k in (
                "contracted",
                "single_county",
                "pilot",
                "prior_mc_contract",
                "fte_lt50",
                "nonprofit",
                "housing_provider",
                "pop_sso_analytic",
            )
        }
    )
    frame["role4"] = big["role"].map({1: "senior", 2: "manager", 3: "frontline", 4: "other"}).astype(object)
    res = models.fit_formula(frame, models.MODELS["participation"].formula, frame["pop_sso_analytic"])
    got = res.set_index("term")["odds_ratio"]
    for term, planted in synth.PARTICIPATION_OR.items():
        assert got[term] == pytest.approx(planted, rel=0.10), term
    pilot = models.fit_formula(frame, models.MODELS["pilot"].formula, frame["pop_sso_analytic"])
    pilot = pilot.set_index("term")["odds_ratio"]
    for term, planted in synth.PILOT_OR.items():
        assert pilot[term] == pytest.approx(planted, rel=0.10), term


def test_engine_meets_overlapping_group_targets():
    """The fitted allocation meets shares on overlapping groups to within a respondent or two."""
    rng = np.random.default_rng(0)
    n = 2000
    a = rng.random(n) < 0.3
    b = rng.random(n) < 0.5
    G = np.stack([np.ones(n, bool), a, b, a & b], axis=1)
    targets = [
        synth.Target(G[:, 0], (1,), 40.0),
        synth.Target(a, (1,), 70.0),
        synth.Target(b, (1,), 20.0),
        synth.Target(a & b, (1,), 50.0),
    ]
    for i, t in enumerate(targets):
        t._g = i
    vals, fit = synth.allocate([1, 0], [0.5, 0.5], G, targets, rng)
    for t in targets:
        got = 100 * (vals[t.mask] == 1).mean()
        assert abs(got - t.value) <= 100 * 2 / t.mask.sum() + 0.5


def test_stated_comparisons_hold_on_the_default(default, derived):
    """The report's stated comparisons come out the reported way (calaim.synth.stated): Figure 3,
    no sector differs in the share saying wait times got worse (every pair within the +-10 point
    equivalence margin); Figure 26, organisations with 50+ FTEs serve more people through ECM and
    Community Supports (rank-sum test significant, higher side the larger organisations)."""
    claims = pytest.importorskip("calaim.stats.claims")
    d = derived
    eq = claims.equivalent_groups(
        d, "served_wait_times", recode.SECTORS, recode.WORSE, d["pop_complete"], exclude=[97], min_base=30
    )
    assert eq["direction_ok"] and (eq["pairs"]["difference"].abs() <= eq["margin"]).all()
    for col, pop in (("ecm_served", "ecm"), ("cs_served", "cs")):
        m = d[f"pop_{pop}"] & d[col].between(1, 5) & d["fte"].between(1, 6)
        large = d.loc[m & d["fte_50plus"], col]
        small = d.loc[m & (d["fte_lt50"] == 1), col]
        r = claims.rank_sum(large, small)
        assert r["a"] > r["b"] and r["p"] < 0.01, (col, r)
        # the trend does not move the published margin (Fig 26: 54% served fewer than 250)
        assert abs(100 * d.loc[d[f"pop_{pop}"], col].isin([1, 2]).mean() - 54) <= 3, col


def test_size_trend_table_is_monotone_and_centred():
    """Hand check of the adjacent-category offsets: zero at the centre band, rising with the served
    band above it, and 'unsure' (scored mid-way) flat across sizes."""
    from calaim.synth import stated

    codes = [1, 2, 3, 4, 5, 9]
    t = stated.size_trend_table(codes, 0.5, centre=3.0)
    assert np.allclose(t[0], 0) and np.allclose(t[3], 0)  # row 0: no band; row 3: the centre band
    assert np.allclose(t[6, :5], 0.5 * 3 * np.array([-2, -1, 0, 1, 2]))
    assert np.allclose(t[:, 5], 0)
    assert stated.size_band_ids(np.array([1, 6, 9, np.nan])).tolist() == [1, 6, 0, 0]


def test_grid_rows_keep_the_reported_ranking(derived):
    """Figure 7: payment rates are the top challenge (very or somewhat, Not applicable excluded)
    and no two rows are copies; Figure 11: webinars and peer learning are the most used resources,
    the IPP and CITED grants the least used and the most often rated very helpful by users."""
    d = derived
    comp = d["pop_complete"]
    chal = {}
    for c in CB.columns_of("challenge"):
        s = d.loc[comp, c]
        s = s[s.notna() & (s != 97)]
        chal[c] = (round(100 * s.isin([1, 2]).mean(), 1), round(100 * (s == 1).mean(), 1))
    assert max(chal, key=lambda c: chal[c][0]) == "challenge_payment_rates", chal
    assert len(set(chal.values())) == len(chal), chal
    used, very = {}, {}
    for c in CB.columns_of("resource"):
        s = d.loc[comp, c]
        u = s.isin([1, 2, 3, 4])
        used[c], very[c] = 100 * u.mean(), 100 * (s[u] == 1).mean()
    by_use = sorted(used, key=used.get, reverse=True)
    assert set(by_use[:2]) == {"resource_dhcs_webinar", "resource_peer_learning"}, used
    assert set(by_use[-2:]) == {"resource_ipp_grant", "resource_cited_grant"}, used
    assert sorted(very, key=very.get, reverse=True)[:2] == ["resource_ipp_grant", "resource_cited_grant"], very


def test_spread_does_not_replace_published_rows():
    """A documented spread only fills rows the registry leaves open: no SPREAD entry duplicates a
    registry row on the same column, codes and base."""
    from calaim.synth import stated

    reg = synth.load_targets()
    for col, rows in stated.SPREAD.items():
        pub = reg[(reg["item"] == col) & reg["statistic"].isin(["share", "mean"])]
        published = {(synth._codes(r.codes), synth._codes(r.exclude_codes)) for r in pub.itertuples()}
        for codes, excl, _ in rows:
            assert (tuple(codes), tuple(excl)) not in published, col


def test_paired_programme_items_meet_published_shares_among_dual_providers(derived):
    """Figure 27 and Figures 28-29 are compared among providers of both programmes: there the
    shares sit at the published per-programme values (MCP referrals always / usually: ECM 56%,
    CS 48%; a quarter or more declining: ECM 27%, CS 20%), within a respondent or two, and one
    organisation's two answers agree more often than independent answers would."""
    d = derived
    dual = d["pop_ecm"] & d["pop_cs"]
    n = int(dual.sum())
    for col, codes, published in (
        ("ecm_referral_mcp", [1, 2], 56),
        ("cs_referral_mcp", [1, 2], 48),
        ("ecm_decline_rate", [3, 4, 5], 27),
        ("cs_decline_rate", [3, 4, 5], 20),
    ):
        got = 100 * d.loc[dual, col].isin(codes).mean()
        assert abs(got - published) <= 100 * 2 / n + 0.5, (col, got)
    a = d.loc[dual, "ecm_referral_mcp"].isin([1, 2])
    b = d.loc[dual, "cs_referral_mcp"].isin([1, 2])
    agree = (a == b).mean()
    independent = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    assert agree > independent + 0.2


def test_named_extreme_sectors_stay_extreme(derived):
    """Figure 8: MCP staff rate processes very effective more often than every other sector;
    Figure 9: MCP staff have the highest and behavioural health the lowest mean satisfaction of all
    sectors (each unnamed sector carries the value implied by the published overall and named
    values, e.g. (11 x 1,196 - 30 x 53) / 1,143 = 10.1% very effective)."""
    d = derived
    comp = d["pop_complete"]
    very = {s: (d.loc[comp & d[s], "effectiveness"] == 1).mean() for s in recode.SECTORS}
    sat = {s: d.loc[comp & d[s], "satisfaction"].mean() for s in recode.SECTORS}
    assert max(very, key=very.get) == "sector_mcp"
    assert all(very["sector_mcp"] - v > 0.15 for s, v in very.items() if s != "sector_mcp"), very
    assert max(sat, key=sat.get) == "sector_mcp" and min(sat, key=sat.get) == "sector_bh", sat
    rest = comp & ~d["sector_mcp"]
    assert 100 * (d.loc[rest, "effectiveness"] == 1).mean() == pytest.approx((11 * 1196 - 30 * 53) / 1143, abs=1.0)
