"""Fast derivations for the generator: the recodes of :func:`calaim.data.recode.derive` that the
generator needs while it builds columns, on numpy arrays (tests/test_synth.py checks them
against recode.derive column by column).

Place in the flow: inside the generator (calaim.synth), between stages.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calaim.data.codebook import Codebook


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
