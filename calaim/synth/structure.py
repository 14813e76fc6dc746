"""Who the synthetic respondents are: archetypes scaled to the completes, sectors, roles, regions,
screen-outs and the paper's SSO sample, allocated exactly from the report's counts.

Place in the flow: priors (calaim.synth.priors) -> **structure** -> the generator's stages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from calaim.synth.engine import _pick, _rng, _round_alloc, _scale, _shuffled
from calaim.synth.priors import (
    ARCHETYPES,
    DEFAULT_N,
    FAM_75PLUS_LITTLE,
    FAM_75PLUS_NOT_AT_ALL,
    FAM_COUNTS,
    FAM_HDP_FAMILIAR,
    FAM_MCP_FAMILIAR,
    FAM_PCP_FAMILIAR,
    MEDI_BANDS,
    N_SCREEN_FAMILIAR,
    N_SCREEN_FAMILIAR_UNSURE,
    N_SCREEN_MEDICAL,
    NOT_FAMILIAR_ARCHETYPES,
    SENIOR_SHARE,
    SSO_INCOMPLETE,
    UNDER30_ORGS,
)

if TYPE_CHECKING:
    from calaim.synth import _Generator


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
