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


class _FloatColumns:
    """A frame's columns as float64 arrays (NaN = missing), converted when read and not kept, so
    :func:`derive_arrays` sees a data frame the way it sees the generator's dict of arrays."""

    def __init__(self, df: pd.DataFrame):
        self.df = df

    def __contains__(self, name: str) -> bool:
        return name in self.df.columns

    def __getitem__(self, name: str) -> np.ndarray:
        return _col(self.df, name).to_numpy()

    def get(self, name: str, default=None):
        return self[name] if name in self else default


def _indicator(s: np.ndarray, yes, no=None) -> np.ndarray:
    """:func:`indicator` on a float array: 1 in ``yes``, 0 in ``no`` (default: any other
    answer), NaN where missing."""
    out = np.full(len(s), np.nan)
    ans = ~np.isnan(s)
    out[ans & (np.isin(s, no) if no is not None else ans)] = 0.0
    out[ans & np.isin(s, yes)] = 1.0
    return out


def derive_arrays(cols, cb: Codebook, memo: dict | None = None, n: int | None = None, raw=None) -> dict:
    """The derivation rules, on arrays: every derived variable and population flag except the
    top-box and paper-outcome columns and ``role4``, from ``cols`` (a dict of float arrays,
    NaN = missing, or any mapping with ``in``, ``[]`` and ``get``). :func:`derive` calls it
    on a data frame and the synthetic generator (:mod:`calaim.synth`) on the columns it has
    built so far: one set of rules for both. ``plan_model`` is an object array (model key,
    'multiple', 'statewide' or None). ``memo`` keeps the geography (the costliest part) while
    the county arrays stay the same objects. ``n`` is the number of rows (default: the length of
    the id column); ``raw(name)`` gives a population query an input column as the data hold it
    (default: the float array), so a text id still equals itself.

    Place in the flow: recode, between validate and estimate (and inside the generator)."""
    if n is None:
        n = len(cols[cb.id_column]) if cb.id_column in cols else len(next(iter(cols.values())))
    nan = np.full(n, np.nan)
    col = lambda k: cols.get(k, nan)  # noqa: E731
    org, role, cred, spec = col("org_type"), col("role"), col("credential"), col("specialty")
    d: dict = {}
    # -- sectors (Appendix A); overlapping by design
    d["sector_mcp"] = org == ORG_MCP
    d["sector_fqhc"] = org == ORG_FQHC
    d["bh_org"] = np.isin(org, BH_ORGS)
    d["sector_bh"] = d["bh_org"] | (spec == 2) | np.isin(cred, BH_CREDENTIALS)
    d["sector_sso"] = org == ORG_SSO
    d["sector_hdp"] = col("discharge_planner") == 1
    d["sector_pcp"] = (np.isin(cred, PRESCRIBER) & (spec == 1)) | ((role == 3) & (col("work_setting") == 1))
    d["hc_org"] = np.isin(org, HC_ORGS)
    # -- role and familiarity
    d["leader"] = np.isin(role, [1, 2])
    fam = col("familiarity")
    d["fam_very"], d["fam_somewhat"], d["fam_little"] = fam == 1, fam == 2, fam == 3
    # -- Medi-Cal share bands of Figure 25 (0-50 takes the under-30% answers too)
    med = col("medical_share")
    band = np.select([np.isin(med, [1, 2]), med == 3, med == 4], [1.0, 2.0, 3.0], default=np.nan)
    d["medi_band"] = band
    d["medi_0_50"], d["medi_51_75"], d["medi_75plus"] = band == 1, band == 2, band == 3
    # -- organisation size and form
    d["fte_lt50"] = _indicator(col("fte"), [1, 2, 3], [4, 5, 6])
    d["fte_50plus"] = d["fte_lt50"] == 0
    d["nonprofit"] = _indicator(col("legal_type"), [2], [1, 3])
    # -- geography: regions, single county, plan model
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
        d["plan_model"] = np.where(statewide, "statewide", pm)
        for m in cb.plan_models:
            d[f"model_{m}"] = d["plan_model"] == m
        if memo is not None:
            memo["key"], memo["geo"] = geo_key, {k: d[k] for k in set(d) - before}
    # -- pilots, ECM / CS, the paper's variables
    wpc = col("wpc_hh")
    d["wpc_yes"], d["wpc_no"] = wpc == 1, wpc == 2
    d["pilot"] = _indicator(wpc, [1], [2])
    ecm, cs = col("ecm_provider"), col("cs_provider")
    d["contracted"] = np.where((ecm == 1) | (cs == 1), 1.0, np.where((ecm == 2) & (cs == 2), 0.0, np.nan))
    d["prior_mc_contract"] = _indicator(col("sso_exp_contract_mcp"), [1, 2, 3], [4])
    d["housing_provider"] = _indicator(col("sso_type__housing"), [1], [0])
    ok = np.isin(role, [1, 2, 3, 4])
    for v in ("contracted", "single_county", "pilot", "prior_mc_contract", "fte_lt50", "nonprofit", "housing_provider"):
        ok &= ~np.isnan(d[v]) if v in d else False
    d["sso_model_complete"] = ok
    # -- partnerships
    present = [k for k in cb.option_sets.get("partner_sectors", {}) if f"partner__{k}" in cols]
    if present:
        psel = {k: cols[f"partner__{k}"] == 1 for k in present}
        npart = np.sum([psel[k] for k in present], axis=0)
        d["n_partner_sectors"] = npart.astype(float)
        d["partner_band"] = np.minimum(npart, 3).astype(float)
        for g, keys in PARTNER_GROUPS.items():
            ks = [psel[k] for k in keys if k in psel]
            d[f"partners_{g}"] = np.any(ks, axis=0) if ks else np.zeros(n, bool)
    else:
        for g in PARTNER_GROUPS:
            d[f"partners_{g}"] = np.zeros(n, bool)
    # -- Table B1 respondent types
    sso = d["sector_sso"]
    st = lambda key: col(f"sso_type__{key}") == 1  # noqa: E731
    d["rt_mcp"] = d["sector_mcp"]
    for key in ("sobering", "respite", "asthma", "older_adults", "home_mod", "food", "housing"):
        d[f"rt_{key}"] = sso & st(key)
    d["rt_other_sso"] = sso & st("other")
    d["rt_county_bh"] = org == ORG_COUNTY_BH
    d["rt_hospital"] = np.isin(org, [ORG_HOSPITAL, ORG_KAISER, ORG_MEDGROUP, ORG_IPA])
    d["rt_fqhc_pcp"] = d["sector_fqhc"] | d["sector_pcp"]
    d["rt_mhsud_org"] = np.isin(org, [ORG_OUTPATIENT_BH, ORG_RESIDENTIAL_BH])
    d["rt_bh_clinician"] = d["sector_bh"] & ~d["bh_org"]
    # -- data-exchange channel users (Figure 23): "always" or "usually"
    if "info_source" in cb.items:
        for key in cb.item("info_source").parts:
            d[f"users_{key}"] = np.isin(col(f"info_source_{key}"), ALWAYS_USUALLY)
    # -- populations, in codebook order (later ones may use earlier ones); each query sees only
    # the names it uses; a codebook column the data lack is all-missing, so a query on it is False
    env: dict = {}
    for pop in cb.populations.values():
        frame = {}
        for nm in dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", pop.query)):
            if nm in env:
                frame[nm] = env[nm]
            elif nm in d:
                frame[nm] = d[nm]
            elif nm not in ("and", "or", "not", "in", "is", "True", "False", "None"):
                frame[nm] = raw(nm) if raw is not None else col(nm)
        env[f"pop_{pop.name}"] = _population(frame, pop.query, pop.name, n)
    d.update(env)
    return d


def _population(frame: dict, query: str, name: str, n: int) -> np.ndarray:
    """A population query on bare columns (``pd.eval`` with the python engine, missing =
    False): no index resolvers, which cost more than the query itself on millions of rows."""
    resolvers = {k: pd.Series(np.asarray(v), copy=False) for k, v in frame.items()}
    try:
        res = pd.eval(query, engine="python", resolvers=(resolvers,))
    except Exception as exc:  # pandas raises many types here; name the population
        raise ValueError(f"population {name!r}: cannot evaluate {query!r}: {exc}") from None
    if np.ndim(res) == 0:
        return np.full(n, bool(res))
    return pd.Series(res).fillna(False).astype(bool).to_numpy()


# derive_arrays' float columns that derive stores as whole numbers
_INT_COLUMNS = ("n_counties", "n_partner_sectors", "partner_band")


def derive(df: pd.DataFrame, codebook: Codebook | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with every derived variable and population flag added: the rules
    of :func:`derive_arrays`, plus ``role4``, the top-box indicators and the paper's outcomes.

    Codes compact on input (:mod:`calaim.data.compact`) give derived 0/1/NaN indicators compact
    too: :func:`calaim.data.compact.widen` of the result equals ``derive`` of the float64 frame."""
    cb = codebook or load()
    new = _Derived(any(compact.is_compact(df[c]) for c in df.columns))
    skipped: list[str] = []
    if not _has(df, "discharge_planner"):
        skipped.append("sector_hdp")
    if not _has(df, "credential"):
        skipped.append("sector_pcp")
    if not any(f"county__{k}" in df for k in cb.counties):
        skipped += ["n_counties", "single_county", "plan_model", "regions"]
    if not any(f"partner__{k}" in df for k in cb.option_sets.get("partner_sectors", {})):
        skipped += ["n_partner_sectors", "partner_band", "partners_*"]

    def raw(name: str):
        if name not in df.columns:
            return np.full(len(df), np.nan)
        s = df[name]
        return _num(s).to_numpy() if compact.is_compact(s) else s.to_numpy()

    arrays = derive_arrays(_FloatColumns(df), cb, n=len(df), raw=raw)
    pops = {k: arrays.pop(k) for k in [k for k in arrays if k.startswith("pop_")]}
    for name, a in arrays.items():
        if name == "plan_model":
            new[name] = pd.Series(a, index=df.index, dtype="string")
        elif name in _INT_COLUMNS:
            new[name] = pd.Series(a, index=df.index).astype("int64")
        else:
            new[name] = pd.Series(a, index=df.index, copy=False)
        if name == "leader":
            role = _col(df, "role")
            new["role4"] = role.map({1: "senior", 2: "manager", 3: "frontline", 4: "other"}).astype("string")
            del role
    del arrays

    # -- top-box indicators for every better/worse grid column
    for col in cb.columns.values():
        if col.kind == "single" and 1 in col.codes and col.codes.get(1) == "Much better" and col.name in df:
            new[f"tb_{col.name}"] = top_box(df[col.name], col.not_applicable)
    for name, (source, _) in PAPER_OUTCOMES.items():
        new[name] = new.get(f"tb_{source}", pd.Series(np.nan, index=df.index))

    out = pd.concat([df, pd.DataFrame(dict(new.items()), index=df.index, copy=False)], axis=1)
    pops = {k: pd.Series(v, index=df.index) for k, v in pops.items()}
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
