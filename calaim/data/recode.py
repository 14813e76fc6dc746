"""Derived variables and named populations.

:func:`derive` takes a validated respondent-level frame and returns a copy with

* the six overlapping report sectors of Appendix A (``sector_*``; a respondent can be in
  several), the organisation groupings the report and Table B1 use (``bh_org``, ``hc_org``,
  ``rt_*``), role groupings, Medi-Cal and FTE bands, regions, single-county operation and
  the 2023 managed care model from the counties served;
* top-box indicators (``tb_<column>``: 1 = "much" or "somewhat better", 0 = any other
  answer, missing = not asked or "Not applicable", which leaves the base);
* the regression paper's variables (``contracted``, ``pilot``, ``prior_mc_contract`` ...);
* one boolean ``pop_<name>`` column per population of the codebook (who was asked what).

Every derived column is listed in :data:`DERIVED` with a label, so the findings registry and
the book can name them. A derivation whose inputs are absent from the data (a new wave may
drop an item) is skipped and its name recorded in ``out.attrs["not_derived"]``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from calaim.data import compact
from calaim.data.codebook import Codebook, load

# Organisation-type codes (see org_type in codebook.yml).
ORG_SSO, ORG_FQHC, ORG_HOSPITAL, ORG_KAISER, ORG_MEDGROUP, ORG_IPA, ORG_MCP = 1, 2, 3, 4, 5, 6, 7
ORG_COUNTY_BH, ORG_OUTPATIENT_BH, ORG_SNF, ORG_ASSISTED, ORG_RESIDENTIAL_BH, ORG_CORRECTIONS = 8, 9, 10, 11, 12, 13
BH_ORGS = [ORG_COUNTY_BH, ORG_OUTPATIENT_BH, ORG_RESIDENTIAL_BH]
HC_ORGS = [ORG_FQHC, ORG_HOSPITAL, ORG_KAISER, ORG_MEDGROUP, ORG_IPA, ORG_SNF, ORG_ASSISTED, ORG_CORRECTIONS]
PRESCRIBER = [1, 2, 3]  # MD/DO, NP, PA
BH_CREDENTIALS = [5, 6, 7, 8, 9, 10]  # PhD/PsyD/EdD, LMFT, LPCC, LCSW, trainee, peer support

# Partner sectors (options of the `partner` item) grouped as the report's Figures 16-19 do.
PARTNER_GROUPS = {
    "hc": ["hospital", "pcp", "snf", "assisted_living", "home_health", "corrections"],
    "bh": ["county_bh", "mhsud"],
    "sso": ["housing", "respite", "food", "asthma", "older_adults", "sobering", "home_mod"],
    "mcp": ["mcp"],
}

BETTER = [1, 2]  # much / somewhat better
WORSE = [4, 5]
ALWAYS_USUALLY = [1, 2]

SECTORS = {
    "sector_mcp": "Managed care plans",
    "sector_fqhc": "FQHCs",
    "sector_bh": "Behavioural health",
    "sector_sso": "Social service organisations",
    "sector_hdp": "Hospital discharge planners",
    "sector_pcp": "Primary care providers",
}

# Respondent types of Table B1 (rows of the heat map); see the registry for the row mapping.
RESPONDENT_TYPES = {
    "rt_mcp": "Managed care plans",
    "rt_sobering": "Sobering centres / services",
    "rt_respite": "Medical respite / recuperative care",
    "rt_asthma": "Asthma remediation",
    "rt_older_adults": "Services for older adults / people with disabilities",
    "rt_county_bh": "County behavioural health plan / agency",
    "rt_hospital": "Hospital, medical group or IPA",
    "rt_home_mod": "Home modification",
    "rt_food": "Food / nutrition services",
    "rt_fqhc_pcp": "FQHC or primary care provider",
    "rt_housing": "Housing / homelessness services",
    "rt_bh_clinician": "Behavioural health clinicians outside BH organisations",
    "rt_other_sso": "Other social service",
    "rt_mhsud_org": "Outpatient or residential mental health / SUD provider",
}

PAPER_OUTCOMES = {
    "out_access": ("served_access", "People served: access to services improved"),
    "out_coordination": ("served_coordination", "People served: coordination of services improved"),
    "out_wellbeing": ("served_wellbeing", "People served: health and well-being improved"),
    "out_manage_needs": ("org_impact_manage_needs", "Organisation: managing people's full needs improved"),
    "out_coordinate": ("org_impact_coordinate", "Organisation: coordinating with other organisations improved"),
    "out_grow": ("org_impact_grow", "Organisation: serving more new people improved"),
}

DERIVED: dict[str, str] = {
    **SECTORS,
    "bh_org": "Works at a county, outpatient or residential BH organisation",
    "hc_org": "Works at a health care organisation (clinic, hospital, medical group, SNF, assisted living, "
    "corrections)",
    "leader": "Senior leader or manager",
    "role4": "Role: senior leader / manager / frontline / other",
    "fam_very": "Very familiar with CalAIM",
    "fam_somewhat": "Somewhat familiar with CalAIM",
    "fam_little": "A little familiar with CalAIM",
    "medi_band": "Medi-Cal share band: 1 = 0-50%, 2 = 51-75%, 3 = 75%+",
    "medi_0_50": "Medi-Cal share 0-50%",
    "medi_51_75": "Medi-Cal share 51-75%",
    "medi_75plus": "Medi-Cal share above 75%",
    "fte_lt50": "Fewer than 50 FTEs (missing if unsure)",
    "fte_50plus": "50 or more FTEs",
    "nonprofit": "Nonprofit organisation (missing if unsure)",
    "n_counties": "Number of counties the organisation operates in",
    "single_county": "Operates in exactly one county and not statewide",
    "is_statewide": "Operates statewide",
    "plan_model": "2023 managed care model of the counties served (or 'multiple' / 'statewide')",
    "wpc_yes": "Took part in Whole Person Care / Health Homes",
    "wpc_no": "Did not take part in Whole Person Care / Health Homes",
    "contracted": "Contracted CalAIM provider (ECM or Community Supports)",
    "pilot": "Pilot participation (WPC / Health Homes), 1/0",
    "prior_mc_contract": "Any experience contracting with MCPs before CalAIM, 1/0",
    "housing_provider": "Provides housing or homelessness services, 1/0",
    "sso_model_complete": "Complete on every variable of the paper's participation model",
    "n_partner_sectors": "Number of partner sectors with at least one partnership",
    "partner_band": "Partner sectors: 0, 1, 2, 3+",
    **{f"partners_{g}": f"Has a partner in the {g.upper()} group" for g in PARTNER_GROUPS},
    **RESPONDENT_TYPES,
    **{name: label for name, (_, label) in PAPER_OUTCOMES.items()},
}


def _has(df: pd.DataFrame, *cols: str) -> bool:
    return all(c in df.columns for c in cols)


def _isin(s: pd.Series, codes) -> pd.Series:
    """Boolean membership; missing values are False."""
    return s.isin(list(codes)).fillna(False).astype(bool)


def _num(s: pd.Series) -> pd.Series:
    """Numbers as float64 with NaN (compact codes of :mod:`calaim.data.compact` too), text
    that is not a number as NaN; booleans unchanged."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index, name=s.name, copy=False)
    return pd.to_numeric(s, errors="coerce")


def _col(df: pd.DataFrame, name: str) -> pd.Series:
    """The column as float64, or an all-missing float column when the data set lacks it."""
    if name in df.columns:
        return _num(df[name])
    return pd.Series(np.nan, index=df.index, dtype="float64")


def _ones(df: pd.DataFrame, cols: list[str]) -> np.ndarray:
    """Rows x ``cols`` booleans: the cell holds 1 (missing is not 1). Column by column, so no
    float64 copy of the whole block is made."""
    out = np.zeros((len(df), len(cols)), dtype=bool)
    for j, c in enumerate(cols):
        out[:, j] = df[c].to_numpy(dtype="float64", na_value=np.nan) == 1
    return out


def indicator(s: pd.Series, yes, no=None, exclude=()) -> pd.Series:
    """1 where ``s`` is in ``yes``, 0 where it is in ``no`` (default: any other answer), NaN
    where it is missing or in ``exclude`` (e.g. Not applicable), as float."""
    s = _num(s)
    out = pd.Series(np.nan, index=s.index, dtype="float64")
    answered = s.notna() & ~s.isin(list(exclude))
    if no is None:
        out[answered] = 0.0
    else:
        out[answered & s.isin(list(no))] = 0.0
    out[answered & s.isin(list(yes))] = 1.0
    return out


def top_box(s: pd.Series, not_applicable=(97,)) -> pd.Series:
    """'Total better' (much + somewhat better) with Not applicable leaving the base."""
    return indicator(s, BETTER, exclude=not_applicable)


def plan_model_of(df: pd.DataFrame, cb: Codebook) -> pd.Series:
    """The 2023 plan model of the counties a respondent serves: the model's key when all
    its counties share one model, 'multiple' when they span several, 'statewide' for
    statewide organisations, missing when no county is given."""
    models = sorted(set(c["model"] for c in cb.counties.values()))
    cols = {
        m: [f"county__{k}" for k, c in cb.counties.items() if c["model"] == m and f"county__{k}" in df] for m in models
    }
    anym = pd.DataFrame({m: _ones(df, c).any(axis=1) if c else False for m, c in cols.items()}, index=df.index)
    nmodels = anym.sum(axis=1)
    out = pd.Series(pd.NA, index=df.index, dtype="string")
    single = nmodels == 1
    out[single] = anym[single].idxmax(axis=1)
    out[nmodels > 1] = "multiple"
    if "statewide" in df:
        out[_col(df, "statewide") == 1] = "statewide"
    return out


class _Derived(dict):
    """The derived columns of :func:`derive`. For compact input (:mod:`calaim.data.compact`)
    a float column of whole numbers (the 0/1/NaN indicators) is stored compact as soon as it is
    made, and read back as float64, so the rules below see the same values either way."""

    def __init__(self, small: bool):
        super().__init__()
        self.small = small

    def __setitem__(self, name: str, s) -> None:
        if self.small and isinstance(s, pd.Series) and s.dtype == "float64":
            packed = compact.shrink_values(s.to_numpy())
            if packed is not None:
                s = pd.Series(packed, index=s.index, copy=False)
        super().__setitem__(name, s)

    def __getitem__(self, name: str):
        s = super().__getitem__(name)
        return _num(s) if isinstance(s, pd.Series) and compact.is_compact(s) else s

    def get(self, name: str, default=None):
        return self[name] if name in self else default


def derive(df: pd.DataFrame, codebook: Codebook | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with every derived variable and population flag added.

    Codes compact on input (:mod:`calaim.data.compact`) give derived 0/1/NaN indicators compact
    too: :func:`calaim.data.compact.widen` of the result equals ``derive`` of the float64 frame."""
    cb = codebook or load()
    new = _Derived(any(compact.is_compact(df[c]) for c in df.columns))
    skipped: list[str] = []

    org = _col(df, "org_type")
    role = _col(df, "role")
    cred = _col(df, "credential")
    spec = _col(df, "specialty")

    # -- sectors (Appendix A); overlapping by design
    new["sector_mcp"] = org == ORG_MCP
    new["sector_fqhc"] = org == ORG_FQHC
    new["bh_org"] = _isin(org, BH_ORGS)
    new["sector_bh"] = new["bh_org"] | (spec == 2) | _isin(cred, BH_CREDENTIALS)
    new["sector_sso"] = org == ORG_SSO
    new["sector_hdp"] = _col(df, "discharge_planner") == 1
    new["sector_pcp"] = (_isin(cred, PRESCRIBER) & (spec == 1)) | ((role == 3) & (_col(df, "work_setting") == 1))
    new["hc_org"] = _isin(org, HC_ORGS)
    for name in ("sector_hdp", "sector_pcp"):
        if not _has(df, "discharge_planner" if name == "sector_hdp" else "credential"):
            skipped.append(name)

    # -- role
    new["leader"] = _isin(role, [1, 2])
    new["role4"] = role.map({1: "senior", 2: "manager", 3: "frontline", 4: "other"}).astype("string")

    # -- familiarity
    fam = _col(df, "familiarity")
    new["fam_very"], new["fam_somewhat"], new["fam_little"] = fam == 1, fam == 2, fam == 3

    # -- Medi-Cal share bands of Figure 25 (0-50 takes the under-30% answers too)
    med = _col(df, "medical_share")
    new["medi_band"] = med.map({1: 1, 2: 1, 3: 2, 4: 3}).astype("float64")
    new["medi_0_50"], new["medi_51_75"], new["medi_75plus"] = (
        new["medi_band"] == 1,
        new["medi_band"] == 2,
        new["medi_band"] == 3,
    )

    # -- organisation size and form
    fte = _col(df, "fte")
    new["fte_lt50"] = indicator(fte, [1, 2, 3], no=[4, 5, 6])
    new["fte_50plus"] = new["fte_lt50"].map({0.0: True, 1.0: False}).fillna(False).astype(bool)
    new["nonprofit"] = indicator(_col(df, "legal_type"), [2], no=[1, 3])

    # -- geography: regions, single county, plan model
    county_cols = [f"county__{k}" for k in cb.counties if f"county__{k}" in df]
    if county_cols:
        sel = pd.DataFrame(_ones(df, county_cols), index=df.index, columns=county_cols)
        new["n_counties"] = sel.sum(axis=1).astype("int64")
        statewide = _col(df, "statewide") == 1
        new["is_statewide"] = statewide
        new["single_county"] = indicator(
            pd.Series(
                np.where(statewide, 0, np.where(new["n_counties"] == 1, 1, np.where(new["n_counties"] > 1, 0, np.nan))),
                index=df.index,
            ),
            [1],
            no=[0],
        )
        for region in cb.regions:
            cols = [f"county__{k}" for k, c in cb.counties.items() if c["region"] == region and f"county__{k}" in df]
            new[f"region_{region}"] = sel[cols].any(axis=1) & ~statewide if cols else pd.Series(False, index=df.index)
        pm = plan_model_of(df, cb)
        new["plan_model"] = pm
        for m in cb.plan_models:
            new[f"model_{m}"] = (pm == m).fillna(False).astype(bool)
        del sel, statewide, pm
    else:
        skipped += ["n_counties", "single_county", "plan_model", "regions"]

    # -- pilots, ECM / CS, the paper's variables
    wpc = _col(df, "wpc_hh")
    new["wpc_yes"], new["wpc_no"] = wpc == 1, wpc == 2
    new["pilot"] = indicator(wpc, [1], no=[2])
    ecm, cs = _col(df, "ecm_provider"), _col(df, "cs_provider")
    contracted = pd.Series(np.nan, index=df.index)
    contracted[(ecm == 2) & (cs == 2)] = 0.0
    contracted[(ecm == 1) | (cs == 1)] = 1.0
    new["contracted"] = contracted
    new["prior_mc_contract"] = indicator(_col(df, "sso_exp_contract_mcp"), [1, 2, 3], no=[4])
    new["housing_provider"] = indicator(_col(df, "sso_type__housing"), [1], no=[0])
    model_vars = [
        "contracted",
        "single_county",
        "pilot",
        "prior_mc_contract",
        "fte_lt50",
        "nonprofit",
        "housing_provider",
    ]
    complete = pd.Series(True, index=df.index)
    for v in model_vars:
        complete &= new[v].notna() if v in new else False
    complete &= new["role4"].notna()
    new["sso_model_complete"] = complete

    # -- partnerships
    pcols = {k: f"partner__{k}" for k in cb.option_sets.get("partner_sectors", {})}
    present = {k: c for k, c in pcols.items() if c in df}
    if present:
        psel = pd.DataFrame(_ones(df, list(present.values())), index=df.index, columns=list(present.values()))
        new["n_partner_sectors"] = psel.sum(axis=1).astype("int64")
        new["partner_band"] = np.minimum(new["n_partner_sectors"], 3)
        for g, keys in PARTNER_GROUPS.items():
            cols = [present[k] for k in keys if k in present]
            new[f"partners_{g}"] = psel[cols].any(axis=1) if cols else pd.Series(False, index=df.index)
        del psel
    else:
        skipped += ["n_partner_sectors", "partner_band", "partners_*"]
        for g in PARTNER_GROUPS:
            new[f"partners_{g}"] = pd.Series(False, index=df.index)

    # -- Table B1 respondent types
    sso = new["sector_sso"]
    st = lambda key: _col(df, f"sso_type__{key}") == 1  # noqa: E731
    new["rt_mcp"] = new["sector_mcp"]
    for key in ("sobering", "respite", "asthma", "older_adults", "home_mod", "food", "housing"):
        new[f"rt_{key}"] = sso & st(key)
    new["rt_other_sso"] = sso & st("other")
    new["rt_county_bh"] = org == ORG_COUNTY_BH
    new["rt_hospital"] = _isin(org, [ORG_HOSPITAL, ORG_KAISER, ORG_MEDGROUP, ORG_IPA])
    new["rt_fqhc_pcp"] = new["sector_fqhc"] | new["sector_pcp"]
    new["rt_mhsud_org"] = _isin(org, [ORG_OUTPATIENT_BH, ORG_RESIDENTIAL_BH])
    new["rt_bh_clinician"] = new["sector_bh"] & ~new["bh_org"]

    # -- data-exchange channel users (Figure 23): "always" or "usually"
    for key in cb.item("info_source").parts if "info_source" in cb.items else []:
        new[f"users_{key}"] = _isin(_col(df, f"info_source_{key}"), ALWAYS_USUALLY)

    # -- top-box indicators for every better/worse grid column
    for col in cb.columns.values():
        if col.kind == "single" and 1 in col.codes and col.codes.get(1) == "Much better" and col.name in df:
            new[f"tb_{col.name}"] = top_box(df[col.name], col.not_applicable)
    for name, (source, _) in PAPER_OUTCOMES.items():
        new[name] = new.get(f"tb_{source}", pd.Series(np.nan, index=df.index))

    # the float inputs above are no longer needed: free them before the frames below are built
    del org, role, cred, spec, fam, med, fte, wpc, ecm, cs, contracted, complete, sso
    for name, s in new.items():
        if s.dtype == bool or s.dtype == object and set(s.dropna().unique()) <= {True, False}:
            dict.__setitem__(new, name, s.fillna(False).astype(bool))
    out = pd.concat([df, pd.DataFrame(dict(new.items()), index=df.index, copy=False)], axis=1)

    # -- populations, in codebook order (later ones may use earlier ones). Codebook columns
    # the data lack are seen as all-missing, so a query on them is simply False. Each query
    # is evaluated on its own columns only, codes as float64.
    known = {*cb.columns, *derived_names(cb)}
    pops = {}
    for pop in cb.populations.values():
        inputs = {}
        for n in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pop.query)):
            if n in pops:
                inputs[n] = pops[n]
            elif n in out.columns:
                inputs[n] = _num(out[n]) if compact.is_compact(out[n]) else out[n]
            elif n in known and not n.startswith("pop_"):
                inputs[n] = pd.Series(np.nan, index=df.index)
        pops[f"pop_{pop.name}"] = population_mask(pd.DataFrame(inputs, index=df.index), pop.query, pop.name)
    for name in [c for c in pops if c in out.columns]:  # a file's own pop_ column is replaced in place
        out[name] = pops.pop(name)
    out = pd.concat([out, pd.DataFrame(pops, index=df.index)], axis=1)
    out.attrs["not_derived"] = skipped
    return out


def population_mask(frame: pd.DataFrame, query: str, name: str = "?") -> pd.Series:
    """Evaluate a codebook population query; missing inputs count as False."""
    names = [n for n in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)) if n in frame.columns]
    try:
        mask = frame[names].eval(query, engine="python")
    except Exception as exc:  # pandas raises many types here; name the population
        raise ValueError(f"population {name!r}: cannot evaluate {query!r}: {exc}") from None
    return pd.Series(mask, index=frame.index).fillna(False).astype(bool)


def region_columns(cb: Codebook | None = None) -> dict[str, str]:
    cb = cb or load()
    return {f"region_{k}": v for k, v in cb.regions.items()}


def model_columns(cb: Codebook | None = None) -> dict[str, str]:
    cb = cb or load()
    return {f"model_{k}": v for k, v in cb.plan_models.items()}


def derived_names(cb: Codebook | None = None) -> set[str]:
    """Every column name :func:`derive` can add (for checking the findings registry)."""
    cb = cb or load()
    names = set(DERIVED) | set(region_columns(cb)) | set(model_columns(cb))
    names |= {f"pop_{p}" for p in cb.populations}
    if "info_source" in cb.items:
        names |= {f"users_{k}" for k in cb.item("info_source").parts}
    names |= {f"tb_{c.name}" for c in cb.columns.values() if c.kind == "single" and c.codes.get(1) == "Much better"}
    return names


DERIVE_BLOCK_ROWS = 100_000


def derive_in_blocks(df: pd.DataFrame, codebook: Codebook | None = None, rows: int | None = None) -> pd.DataFrame:
    """:func:`derive` of a large frame, ``rows`` rows at a time: every derived variable depends
    on its own row only, so the result is the same, but the float64 temporaries of the rules
    are only ever one block long (on 2 million rows they would otherwise add several hundred
    MB to the peak). The derived columns are filled into arrays of the full length block by
    block; ``df``'s own columns are taken as they are. When two blocks give a derived column
    different types (e.g. text in one), the whole frame is derived at once instead."""
    cb = codebook or load()
    n, rows = len(df), rows or DERIVE_BLOCK_ROWS
    if n <= rows:
        return derive(df, cb)
    own = [c for c in df.columns if not str(c).startswith("pop_")]
    filled: dict[str, tuple] = {}  # name -> (dtype, values, mask or None) or (dtype, [pieces])
    order: list[str] = []
    attrs: dict = {}
    for start in range(0, n, rows):
        block = derive(df.iloc[start : start + rows], cb)
        stop = start + len(block)
        if not order:
            order, attrs = list(block.columns), dict(block.attrs)
        if list(block.columns) != order or block.columns.has_duplicates:
            filled.clear()
            return derive(df, cb)
        for c in order:
            if c in own:
                continue
            s = block[c]
            dtype = s.dtype
            if c not in filled:
                if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
                    filled[c] = (dtype, np.empty(n, dtype=dtype), None)
                elif compact.is_compact(s):
                    filled[c] = (dtype, np.empty(n, dtype=dtype.numpy_dtype), np.empty(n, dtype=bool))
                else:
                    filled[c] = (dtype, [])
            entry = filled[c]
            if entry[0] != dtype:
                filled.clear()
                return derive(df, cb)
            if len(entry) == 2:
                entry[1].append(s.reset_index(drop=True))
            elif entry[2] is None:
                entry[1][start:stop] = s.to_numpy()
            else:
                entry[2][start:stop] = s.isna().to_numpy()
                entry[1][start:stop] = s.to_numpy(dtype=entry[1].dtype, na_value=0)
        del block
    cols = {}
    for c in order:
        if c in own:
            cols[c] = df[c]
            continue
        entry = filled.pop(c)
        if len(entry) == 2:
            arr = pd.concat(entry[1], ignore_index=True).array
        elif entry[2] is None:
            arr = entry[1]
        else:
            arr = pd.arrays.IntegerArray(entry[1], entry[2])
        cols[c] = pd.Series(arr, index=df.index, copy=False)
    out = pd.DataFrame(cols, index=df.index, copy=False)
    out.attrs.update(attrs)
    return out
