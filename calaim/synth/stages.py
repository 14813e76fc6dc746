"""The generator's stages, in the order ``calaim.synth._build`` runs them: organisation profile,
race, geography, SSO profile, providers, latent attitudes, every survey item, success
stories, partners and follow-ups. Each stage adds columns to the generator through the engine.

Place in the flow: structure -> **stages** (targets -> engine per item) -> the synthetic data file.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from calaim.synth import stated
from calaim.synth.engine import (
    LARGE,
    Offsets,
    Target,
    _assign_large,
    _dense_ids,
    _offsets_from_covariates,
    _pick,
    _rank_in_cell,
    _round_alloc,
    _scale,
    _shuffled,
    assign,
)
from calaim.synth.priors import (
    COUNTY_WEIGHT,
    MULTI_PRIOR,
    OUTCOME_OR,
    OUTCOME_OTHER_ROLE_OR,
    PARTICIPATION_OR,
    PILOT_OR,
    PRIOR_MC_OR,
    REGION_SHARE,
    SECOND_RACE_SHARE,
    SECOND_REGION,
    SINGLE_COUNTY_SHARE,
    SSO_ABSENT_COUNTIES,
    STATEWIDE_SHARE,
)
from calaim.synth.targets import Spec, _codes, _spec

if TYPE_CHECKING:
    from calaim.synth import _Generator


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
