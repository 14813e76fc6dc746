"""Logistic models of the SSO regression paper, as tidy odds-ratio tables.

The paper models, among social service organisation (SSO) respondents familiar with CalAIM,

* ``participation``: being a contracted CalAIM provider (ECM or Community Supports) on
  single-county operation, pilot (WPC / Health Homes) participation, prior managed care
  contracting, size (< 50 FTEs), nonprofit status, role and housing services;
* ``pilot``: pilot participation on size and nonprofit status (the suspected mediation path);
* six outcome models (``out_access`` ... ``out_grow``): "much" or "somewhat better" on three
  patient-level and three organisation-level items, on contracting, role, housing services,
  single-county operation, size and nonprofit status.

:data:`MODELS` holds those specifications; :func:`fit` fits one of them with the statsmodels
formula API and returns one row per term. :func:`fit_formula` is the general helper behind it.

Every fit drops incomplete rows listwise and says how many it dropped. A fit that cannot give
meaningful odds ratios (perfect or quasi-complete separation, non-convergence, a singular
design or Hessian, no complete cases, an outcome that does not vary) returns its rows with
missing estimates and a ``problem`` naming the issue, never the nonsense numbers the optimiser
stopped at. Nothing is printed and ``summary()`` is never called (it carries a timestamp).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import PatsyError
from scipy import stats
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from calaim import recode

Z95 = float(stats.norm.ppf(0.975))  # 1.959964...: the normal quantile behind the 95% Wald CI
MAX_ABS_COEF = 15.0  # |log odds| beyond this signals separation, not an estimate
MAXITER = 100

ROLE_VAR = "role4"
ROLE_REFERENCE = "senior"
ROLE_TERMS = {"manager": "manager", "frontline": "frontline", "other": "other_role"}

#: What each term is compared with (the reference group), in words.
REFERENCES = {
    "single_county": "operates in several counties or statewide",
    "pilot": "did not take part in the WPC / Health Homes pilots",
    "prior_mc_contract": "no managed care contracting before CalAIM",
    "fte_lt50": "50 or more FTEs",
    "nonprofit": "private entity or government agency",
    "contracted": "not a contracted ECM / Community Supports provider",
    "housing_provider": "does not provide housing or homelessness services",
    **{term: "senior leader" for term in ROLE_TERMS.values()},
}

COLUMNS = [
    "model", "outcome", "term", "coef", "std_err", "odds_ratio", "ci_low", "ci_high", "p_value",
    "n", "n_dropped", "reference", "converged", "problem",
]


@dataclass(frozen=True)
class ModelSpec:
    """One logistic model: outcome and predictors as (derived) column names."""

    outcome: str
    predictors: tuple[str, ...]
    population: str
    description: str

    @property
    def formula(self) -> str:
        return f"{self.outcome} ~ " + " + ".join(term_expression(p) for p in self.predictors)

    @property
    def terms(self) -> list[str]:
        """The friendly term names the fit returns, in order."""
        out: list[str] = []
        for p in self.predictors:
            out += list(ROLE_TERMS.values()) if p == ROLE_VAR else [p]
        return out


def term_expression(predictor: str) -> str:
    """The formula expression of a predictor (role enters as a treatment-coded factor)."""
    if predictor == ROLE_VAR:
        return f"C({ROLE_VAR}, Treatment('{ROLE_REFERENCE}'))"
    return predictor


_OUTCOME_PREDICTORS = ("contracted", ROLE_VAR, "housing_provider", "single_county", "fte_lt50", "nonprofit")

MODELS: dict[str, ModelSpec] = {
    "participation": ModelSpec(
        outcome="contracted",
        predictors=("single_county", "pilot", "prior_mc_contract", "fte_lt50", "nonprofit", ROLE_VAR, "housing_provider"),
        population="sso_analytic",
        description="Contracted CalAIM provider (ECM or Community Supports) among SSO respondents",
    ),
    "pilot": ModelSpec(
        outcome="pilot",
        predictors=("fte_lt50", "nonprofit"),
        population="sso_analytic",
        description="Took part in the Whole Person Care / Health Homes pilots, by size and nonprofit status",
    ),
    **{
        model_id: ModelSpec(
            outcome=model_id,
            predictors=_OUTCOME_PREDICTORS,
            population="sso_analytic",
            description=f"{label} (much or somewhat better; not applicable left out)",
        )
        for model_id, (_source, label) in recode.PAPER_OUTCOMES.items()
    },
}

OUTCOME_MODELS = tuple(recode.PAPER_OUTCOMES)


# --------------------------------------------------------------------------- populations
def _is_derived(frame: pd.DataFrame) -> bool:
    return any(name in frame.columns for name in ("role4", "sector_sso", "sso_model_complete"))


def with_population(frame: pd.DataFrame, population: str) -> pd.DataFrame:
    """``frame`` with a ``pop_<population>`` column: as is when present, else the codebook
    populations are evaluated (on a derived frame) or the whole frame is derived first."""
    column = f"pop_{population}"
    if column in frame.columns:
        return frame
    if not _is_derived(frame):
        frame = recode.derive(frame)
        if column not in frame.columns:
            raise KeyError(f"unknown population {population!r}")
        return frame
    from calaim.codebook import load

    cb = load()
    if population not in cb.populations:
        raise KeyError(f"unknown population {population!r}; known: {', '.join(cb.populations)}")
    out = frame.copy()
    _add_population(out, population, cb, set())
    return out


def _add_population(out: pd.DataFrame, name: str, cb, visiting: set) -> None:
    """Evaluate one population and, first, the populations its query refers to."""
    if name in visiting:
        raise ValueError(f"population {name!r} refers to itself")
    visiting.add(name)
    query = cb.populations[name].query
    for dep in re.findall(r"\bpop_(\w+)", query):
        if f"pop_{dep}" not in out.columns:
            _add_population(out, dep, cb, visiting)
    out[f"pop_{name}"] = recode.population_mask(out, query, name)


def _base_mask(frame: pd.DataFrame, population) -> tuple[pd.DataFrame, pd.Series]:
    if population is None:
        return frame, pd.Series(True, index=frame.index)
    if isinstance(population, str):
        frame = with_population(frame, population)
        return frame, frame[f"pop_{population}"].fillna(False).astype(bool)
    mask = pd.Series(population, index=frame.index) if not isinstance(population, pd.Series) else population
    return frame, mask.reindex(frame.index).fillna(False).astype(bool)


# --------------------------------------------------------------------------- helpers
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_FACTOR = re.compile(r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*Treatment\(\s*(?:reference\s*=\s*)?['\"]?([^'\")]*)['\"]?\s*\))?.*\)\[T\.(.+)\]$")


def formula_variables(formula: str, columns) -> list[str]:
    """Data columns a formula uses (identifiers outside quotes that name a column), in order."""
    cols = set(columns)
    seen: list[str] = []
    for name in _IDENT.findall(_STRING.sub(" ", formula)):
        if name in cols and name not in seen:
            seen.append(name)
    return seen


def _friendly(name: str) -> tuple[str, str]:
    """(friendly term name, reference in words) of a statsmodels parameter name."""
    if name == "Intercept":
        return "intercept", ""
    m = _FACTOR.match(name)
    if m:
        var, ref, level = m.group(1), m.group(2), m.group(3)
        if var == ROLE_VAR:
            term = ROLE_TERMS.get(level, f"role_{level}")
            return term, REFERENCES.get(term, "senior leader")
        return f"{var}_{level}", f"{var} = {ref}" if ref else f"{var}: first level"
    return name, REFERENCES.get(name, "")


def _model_frame(data: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy dtypes for patsy: booleans and nullable numbers to float, strings to object."""
    out = {}
    for col in data.columns:
        s = data[col]
        if pd.api.types.is_bool_dtype(s) or pd.api.types.is_numeric_dtype(s):
            out[col] = s.astype("float64")
        else:
            out[col] = s.astype(object)
    return pd.DataFrame(out, index=data.index)


def _empty(terms, *, model, outcome, n, n_dropped, problem, converged=False) -> pd.DataFrame:
    terms = list(terms) or [None]
    rows = [
        {
            "model": model, "outcome": outcome, "term": t, "coef": np.nan, "std_err": np.nan,
            "odds_ratio": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
            "n": int(n), "n_dropped": int(n_dropped), "reference": REFERENCES.get(t, "") if t else "",
            "converged": bool(converged), "problem": problem,
        }
        for t in terms
    ]
    return pd.DataFrame(rows, columns=COLUMNS)


def _order(table: pd.DataFrame, terms) -> pd.DataFrame:
    if not terms:
        return table
    rank = {t: i for i, t in enumerate(terms)}
    key = table["term"].map(lambda t: rank.get(t, len(rank)))
    return table.assign(_k=key).sort_values("_k", kind="stable").drop(columns="_k").reset_index(drop=True)


# --------------------------------------------------------------------------- fitting
def fit_formula(
    frame: pd.DataFrame,
    formula: str,
    population=None,
    *,
    model: str | None = None,
    intercept: bool = False,
    terms: list[str] | None = None,
) -> pd.DataFrame:
    """Fit ``formula`` by maximum-likelihood logit on the rows of ``population``.

    ``population`` is a codebook population name (its ``pop_<name>`` flag is used, derived if
    absent), a boolean Series aligned with ``frame``, or None for every row. Rows with a missing
    value in any variable of the formula are dropped (listwise) and counted in ``n_dropped``.

    Returns one row per coefficient (the intercept only with ``intercept=True``): ``term``
    (friendly name), ``coef`` and ``std_err`` (log-odds scale), ``odds_ratio`` with its 95% Wald
    CI ``ci_low``/``ci_high``, ``p_value``, ``n`` (rows used), ``n_dropped``, ``reference`` (the
    comparison group in words), ``converged`` and ``problem`` (missing when the fit is sound).
    ``terms``, if given, is the expected term order (and the rows returned when the model cannot
    even be set up).
    """
    outcome = formula.split("~", 1)[0].strip()
    frame, mask = _base_mask(frame, population)
    variables = formula_variables(formula, frame.columns)
    if outcome not in frame.columns:
        raise KeyError(f"outcome column {outcome!r} is not in the data")
    data = frame.loc[mask, variables]
    complete = data.notna().all(axis=1)
    used = _model_frame(data.loc[complete])
    n_base, n = int(mask.sum()), int(complete.sum())
    info = dict(model=model if model is not None else formula, outcome=outcome, n=n, n_dropped=n_base - n)
    expected = list(terms or [])

    if n == 0:
        return _empty(expected, problem="no complete cases", **info)
    y = used[outcome]
    if not set(y.unique()) <= {0.0, 1.0}:
        raise ValueError(f"outcome {outcome!r} must be coded 0/1, found {sorted(y.unique())[:5]}")
    if y.nunique() < 2:
        return _empty(expected, problem=f"outcome does not vary (all {int(y.iloc[0])})", **info)

    try:
        mod = smf.logit(formula, data=used)
    except PatsyError as exc:
        if "NameError" in str(exc):
            raise KeyError(f"formula {formula!r} names a column that is not in the data: {exc}") from None
        return _empty(expected, problem=f"design could not be built: {str(exc).splitlines()[0]}", **info)
    names = list(mod.exog_names)
    named = [_friendly(nm)[0] for nm in names if nm != "Intercept" or intercept]
    expected = expected or named
    if np.linalg.matrix_rank(mod.exog) < mod.exog.shape[1]:
        return _empty(expected, problem="singular design: a predictor is constant or collinear in this base", **info)

    problems: list[str] = []
    res = None
    # Fit and read every lazily computed result inside one warning trap, so that overflow and
    # convergence warnings become problems here instead of noise in a notebook.
    with warnings.catch_warnings(record=True) as caught, np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        warnings.simplefilter("always")
        try:
            res = mod.fit(method="newton", maxiter=MAXITER, disp=False)
        except PerfectSeparationError:
            problems.append("perfect separation")
        except np.linalg.LinAlgError:
            problems.append("singular Hessian (separation or collinearity)")
        if res is not None:
            params, bse, pvalues = res.params, res.bse, res.pvalues
            ci = res.conf_int(alpha=0.05)
            p_hat = np.asarray(res.predict())
            converged = bool(res.mle_retvals.get("converged", True))
    if res is None:
        return _empty(expected, problem="; ".join(problems), **info)

    categories = {w.category for w in caught}
    perfect = bool(np.all(np.abs(np.asarray(mod.endog) - p_hat) < 1e-4))
    if PerfectSeparationWarning in categories or perfect:
        problems.append("perfect separation")
    big = [(_friendly(k)[0], v) for k, v in params.items() if not np.isfinite(v) or abs(v) > MAX_ABS_COEF]
    bad_se = [_friendly(k)[0] for k, v in bse.items() if not np.isfinite(v) or v <= 0]
    if big and not perfect:
        term, value = big[0]
        problems.append(f"quasi-separation: {term} has |b| = {abs(value):.1f} > {MAX_ABS_COEF:g}")
    if bad_se:
        problems.append(f"infinite or undefined standard error for {', '.join(bad_se)}")
    if HessianInversionWarning in categories:
        problems.append("Hessian could not be inverted")
    if not converged or ConvergenceWarning in categories:
        problems.append("non-convergence")
    if problems:
        return _empty(expected, problem="; ".join(dict.fromkeys(problems)), converged=converged, **info)

    rows = []
    for name in names:
        if name == "Intercept" and not intercept:
            continue
        term, reference = _friendly(name)
        b, se = float(params[name]), float(bse[name])
        rows.append({
            "model": info["model"], "outcome": outcome, "term": term, "coef": b, "std_err": se,
            "odds_ratio": float(np.exp(b)), "ci_low": float(np.exp(ci.loc[name, 0])), "ci_high": float(np.exp(ci.loc[name, 1])),
            "p_value": float(pvalues[name]), "n": int(res.nobs), "n_dropped": info["n_dropped"],
            "reference": reference, "converged": converged, "problem": None,
        })
    table = pd.DataFrame(rows, columns=COLUMNS)
    return _order(table, (["intercept"] if intercept else []) + expected)


def fit(frame: pd.DataFrame, model_id: str, *, intercept: bool = False) -> pd.DataFrame:
    """Fit one of :data:`MODELS` on a frame from :func:`calaim.recode.derive` (a raw frame is
    derived first) and return its tidy odds-ratio table (see :func:`fit_formula`)."""
    try:
        spec = MODELS[model_id]
    except KeyError:
        raise KeyError(f"unknown model {model_id!r}; known: {', '.join(MODELS)}") from None
    frame = with_population(frame, spec.population)
    missing = [c for c in (spec.outcome, *spec.predictors) if c not in frame.columns]
    if missing:
        n_base = int(frame[f"pop_{spec.population}"].sum())
        return _empty(spec.terms, model=model_id, outcome=spec.outcome, n=0, n_dropped=n_base,
                      problem=f"not in this data set: {', '.join(missing)}")
    return fit_formula(frame, spec.formula, spec.population, model=model_id, intercept=intercept, terms=spec.terms)


def fit_all(frame: pd.DataFrame, model_ids=None) -> pd.DataFrame:
    """:func:`fit` for several models (default: all of :data:`MODELS`), stacked."""
    ids = list(model_ids) if model_ids is not None else list(MODELS)
    if ids:
        first = MODELS[ids[0]].population
        frame = with_population(frame, first)
    return pd.concat([fit(frame, m) for m in ids], ignore_index=True)
