"""Logistic models of the SSO regression paper, as tidy odds-ratio tables (the HC3 covariance,
AUC and null log-likelihood are in :mod:`calaim.stats.fitstats`).

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

Beyond the maximum-likelihood (ML) fit the paper reports, :func:`fit_details` gives the same
model with heteroskedasticity-consistent ("robust", true HC3: :func:`hc_covariance`) standard
errors or with Firth's penalized likelihood (bias-reduced, finite under separation; profile
penalized-likelihood limits and tests from :mod:`calaim.stats.firth`), fit statistics (n, events,
McFadden's pseudo-R2, AUC) and average marginal effects in percentage points;
:func:`compare_estimators` lays the estimators side by side; :func:`calaim.stats.mediation.mediation` formalises the
paper's suggested path size / nonprofit status -> pilot participation -> CalAIM participation
(in :mod:`calaim.stats.mediation`, with batched bootstrap refits).

With a survey ``weight`` (a column name; ``calaim build --weight``), the ML estimator becomes
survey-weighted pseudo-maximum likelihood (the weighted score equations, solved by statsmodels'
``GLM`` with the weights as ``var_weights``, a point-estimate device only) and its covariance is
the design-based linearisation sandwich of :func:`calaim.stats.weights.glm_covariance`, the one R's ``svyglm``
computes for ``svydesign(id = ~1, weights = ~w)``; tests use t on the design's residual degrees of
freedom, as ``summary.svyglm`` does. The frequency-weight (model-based) standard errors are never
used: they would treat a weight of 3 as three independent respondents. The other estimators are
not defined for weights here and return a ``problem``. Equal weights (every respondent the same
weight, such as a column of 1s) are the unweighted design, as for the claims tests: the plain ML
fit with its model-based intervals, so that such a weight reproduces the unweighted book exactly.

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
import statsmodels.api as sm
import statsmodels.formula.api as smf
from patsy import PatsyError
from scipy import stats
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    HessianInversionWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from calaim.data import compact, recode
from calaim.stats import weights as survey_weights
from calaim.stats.firth import FirthResult, firth_logit, profile_interval, profile_test
from calaim.stats.fitstats import _null_loglik
from calaim.stats.fitstats import auc as auc
from calaim.stats.fitstats import hc_covariance as hc_covariance

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
    "model",
    "outcome",
    "term",
    "coef",
    "std_err",
    "odds_ratio",
    "ci_low",
    "ci_high",
    "p_value",
    "n",
    "n_dropped",
    "reference",
    "converged",
    "problem",
    "estimator",
]

#: Estimators :func:`fit_formula` knows: maximum likelihood (the paper's), ML with
#: heteroskedasticity-consistent standard errors, and Firth's penalized likelihood with
#: logistf's default inference (profile limits, penalized likelihood-ratio tests) or with Wald's.
ESTIMATORS = {
    "ml": "maximum likelihood",
    "robust": "maximum likelihood, robust (HC3) standard errors",
    "firth": "Firth penalized likelihood, profile-likelihood CI and penalized LR test",
    "firth_wald": "Firth penalized likelihood, Wald CI and test",
}
ROBUST_COV = "HC3"  # what estimator="robust" computes, by :func:`hc_covariance` (not statsmodels)
#: What the ``estimator`` column says for a survey-weighted ML fit.
WEIGHTED = "ml_weighted"
WEIGHTED_LABEL = "survey-weighted pseudo-ML, design-based (linearisation) standard errors"


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
        predictors=(
            "single_county",
            "pilot",
            "prior_mc_contract",
            "fte_lt50",
            "nonprofit",
            ROLE_VAR,
            "housing_provider",
        ),
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
    from calaim.data.codebook import load

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
        return frame, compact.truthy(frame[f"pop_{population}"])
    mask = pd.Series(population, index=frame.index) if not isinstance(population, pd.Series) else population
    return frame, compact.truthy(mask.reindex(frame.index))


# --------------------------------------------------------------------------- helpers
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_STRING = re.compile(r"'[^']*'|\"[^\"]*\"")
_FACTOR = re.compile(
    r"^C\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:,\s*Treatment\(\s*(?:reference\s*=\s*)?['\"]?([^'\")]*)['\"]?\s*\))?.*\)\[T\.(.+)\]$"
)


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


def _empty(terms, *, model, outcome, n, n_dropped, problem, converged=False, estimator="ml") -> pd.DataFrame:
    terms = list(terms) or [None]
    rows = [
        {
            "model": model,
            "outcome": outcome,
            "term": t,
            "coef": np.nan,
            "std_err": np.nan,
            "odds_ratio": np.nan,
            "ci_low": np.nan,
            "ci_high": np.nan,
            "p_value": np.nan,
            "n": int(n),
            "n_dropped": int(n_dropped),
            "reference": REFERENCES.get(t, "") if t else "",
            "converged": bool(converged),
            "problem": problem,
            "estimator": estimator,
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


@dataclass
class FitResult:
    """One fitted model: the tidy table plus what sits under a regression table."""

    table: pd.DataFrame
    stats: dict
    result: object = None  # the statsmodels results (ML) or a FirthResult; None when no fit
    data: pd.DataFrame | None = None  # the rows used (after listwise deletion)
    weight: str | None = None  # the survey-weight column of a weighted fit (in ``data``)
    cov: np.ndarray | None = None  # a weighted fit's linearisation covariance
    df_resid: int | None = None  # a weighted fit's residual degrees of freedom

    @property
    def ok(self) -> bool:
        return self.result is not None and self.table["problem"].isna().all()


STAT_LABELS = {
    "n": "n used",
    "events": "outcome = 1",
    "n_dropped": "dropped (missing)",
    "pseudo_r2": "McFadden pseudo-R²",
    "auc": "AUC",
    "converged": "converged",
}


def _stats(y, p_hat, loglik, *, n_dropped, converged, w=None) -> dict:
    """Fit statistics; with weights ``w`` the pseudo-R2 compares weighted log-likelihoods, the AUC
    is weighted and the effective n is added (n and events stay unweighted counts)."""
    y = np.asarray(y, dtype=float)
    ll0 = _null_loglik(y, w)
    out = {
        "n": int(len(y)),
        "events": int(np.sum(y)),
        "n_dropped": int(n_dropped),
        "pseudo_r2": float(1 - loglik / ll0) if ll0 < 0 else float("nan"),
        "auc": auc(y, p_hat, w),
        "converged": bool(converged),
    }
    if w is not None:
        out["effective_n"] = survey_weights.effective_n(w)
    return out


def _weighted_loglik(y, p, w) -> float:
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(w * (y * np.log(p) + (1 - y) * np.log1p(-p))))


# --------------------------------------------------------------------------- fitting
def _fit(
    frame: pd.DataFrame,
    formula: str,
    population=None,
    *,
    model: str | None = None,
    intercept: bool = False,
    terms: list[str] | None = None,
    estimator: str = "ml",
    weight: str | None = None,
) -> FitResult:
    if estimator not in ESTIMATORS:
        raise ValueError(f"unknown estimator {estimator!r}; known: {', '.join(ESTIMATORS)}")
    outcome = formula.split("~", 1)[0].strip()
    frame, mask = _base_mask(frame, population)
    variables = formula_variables(formula, frame.columns)
    if outcome not in frame.columns:
        raise KeyError(f"outcome column {outcome!r} is not in the data")
    weight = weight or None
    if weight is not None and weight not in frame.columns:
        raise KeyError(f"weight column {weight!r} is not in the data")
    data = frame.loc[mask, variables]
    complete = data.notna().all(axis=1)
    used = _model_frame(data.loc[complete])
    n_base, n = int(mask.sum()), int(complete.sum())
    w = None
    if weight is not None:
        rows = frame.index[mask][complete.to_numpy()]
        w = survey_weights.check_weights(frame.loc[rows, weight], weight, rows=[f"row {r}" for r in rows])
        used = used.assign(**{weight: w}) if weight not in used.columns else used
    # equal weights are the unweighted design (as for the claims tests): the plain fit, with its
    # model-based intervals, so that a weight of 1 for everyone reproduces the unweighted book
    design_w = w if w is not None and survey_weights.unequal(w) else None
    label = WEIGHTED if (design_w is not None and estimator == "ml") else estimator
    info = dict(
        model=model if model is not None else formula, outcome=outcome, n=n, n_dropped=n_base - n, estimator=label
    )
    expected = list(terms or [])
    no_stats = {
        "n": n,
        "events": np.nan,
        "n_dropped": n_base - n,
        "pseudo_r2": np.nan,
        "auc": np.nan,
        "converged": False,
    }

    def failed(problem, converged=False) -> FitResult:
        return FitResult(_empty(expected, problem=problem, converged=converged, **info), no_stats)

    if n == 0:
        return failed("no complete cases")
    y = used[outcome]
    if not set(y.unique()) <= {0.0, 1.0}:
        raise ValueError(f"outcome {outcome!r} must be coded 0/1, found {sorted(y.unique())[:5]}")
    if y.nunique() < 2:
        return failed(f"outcome does not vary (all {int(y.iloc[0])})")
    if design_w is not None and estimator != "ml":
        return failed(f"{ESTIMATORS[estimator]} is not available with a survey weight")

    try:
        mod = smf.logit(formula, data=used)
    except PatsyError as exc:
        if "NameError" in str(exc):
            raise KeyError(f"formula {formula!r} names a column that is not in the data: {exc}") from None
        return failed(f"design could not be built: {str(exc).splitlines()[0]}")
    names = list(mod.exog_names)
    named = [_friendly(nm)[0] for nm in names if nm != "Intercept" or intercept]
    expected = expected or named
    if np.linalg.matrix_rank(mod.exog) < mod.exog.shape[1]:
        return failed("singular design: a predictor is constant or collinear in this base")

    if estimator in ("firth", "firth_wald"):
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            try:
                fr = firth_logit(mod.endog, mod.exog)
            except np.linalg.LinAlgError:
                return failed("singular information matrix")
        if not fr.converged or not np.all(np.isfinite(fr.params)):
            return failed("non-convergence")
        params = pd.Series(fr.params, index=names)
        bse = pd.Series(fr.bse, index=names)
        if estimator == "firth_wald":
            pvalues = pd.Series(2 * stats.norm.sf(np.abs(params / bse)), index=names)
            ci = pd.DataFrame({0: params - Z95 * bse, 1: params + Z95 * bse})
        else:
            wanted = [j for j, nm in enumerate(names) if nm != "Intercept" or intercept]
            p_list, ci_rows = [np.nan] * len(names), [(np.nan, np.nan)] * len(names)
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
                try:
                    for j in wanted:
                        p_list[j] = profile_test(mod.endog, mod.exog, fr, j).p_value
                        ci_rows[j] = profile_interval(mod.endog, mod.exog, fr, j)
                except (ArithmeticError, np.linalg.LinAlgError, ValueError):
                    return failed("profile likelihood could not be computed")
            pvalues = pd.Series(p_list, index=names)
            ci = pd.DataFrame(ci_rows, index=names, columns=[0, 1])
        p_hat = 1 / (1 + np.exp(-(mod.exog @ fr.params)))
        fit_stats = _stats(mod.endog, p_hat, fr.loglik, n_dropped=n_base - n, converged=True)
        result, converged, n_used = fr, True, len(mod.endog)
    else:
        problems: list[str] = []
        res = None
        # Fit and read every lazily computed result inside one warning trap, so that overflow and
        # convergence warnings become problems here instead of noise in a notebook.
        with (
            warnings.catch_warnings(record=True) as caught,
            np.errstate(over="ignore", divide="ignore", invalid="ignore"),
        ):
            warnings.simplefilter("always")
            try:
                if design_w is None:
                    res = mod.fit(method="newton", maxiter=MAXITER, disp=False)
                else:
                    # the weights (scaled to mean 1, as svyglm does) only define the estimating
                    # equations; the covariance below is the design-based one
                    exog = pd.DataFrame(mod.exog, columns=names)
                    glm = sm.GLM(mod.endog, exog, family=sm.families.Binomial(), var_weights=w / w.mean())
                    res = glm.fit(method="IRLS", maxiter=MAXITER, tol=1e-12)
            except PerfectSeparationError:
                problems.append("perfect separation")
            except np.linalg.LinAlgError:
                problems.append("singular Hessian (separation or collinearity)")
            design = None
            if res is not None and design_w is not None:
                params = pd.Series(np.asarray(res.params), index=names)
                p_hat = np.asarray(res.predict())
                try:
                    design = survey_weights.glm_covariance(mod.exog, mod.endog, p_hat, w)
                except np.linalg.LinAlgError:
                    design = survey_weights.GLMCovariance(np.full((len(names), len(names)), np.nan), 0)
                bse = pd.Series(np.sqrt(np.diag(design.cov)), index=names)
                df_t = max(design.df, 1)
                pvalues = pd.Series(2 * stats.t.sf(np.abs(params / bse), df_t), index=names)
                q = float(stats.t.ppf(0.975, df_t))
                ci = pd.DataFrame({0: params - q * bse, 1: params + q * bse})
                glm_fit = isinstance(res.model, sm.GLM)
                converged = bool(res.converged if glm_fit else res.mle_retvals.get("converged", True))
                loglik = _weighted_loglik(np.asarray(mod.endog), p_hat, w)
            elif res is not None:
                params, bse, pvalues = res.params, res.bse, res.pvalues
                ci = res.conf_int(alpha=0.05)
                p_hat = np.asarray(res.predict())
                if estimator == "robust":
                    try:
                        cov = hc_covariance(mod.exog, mod.endog, p_hat, ROBUST_COV)
                    except np.linalg.LinAlgError:
                        cov = np.full((len(names), len(names)), np.nan)
                    bse = pd.Series(np.sqrt(np.diag(cov)), index=names)
                    pvalues = pd.Series(2 * stats.norm.sf(np.abs(params / bse)), index=names)
                    ci = pd.DataFrame({0: params - Z95 * bse, 1: params + Z95 * bse})
                converged = bool(res.mle_retvals.get("converged", True))
                loglik = float(res.llf)
        if res is None:
            return failed("; ".join(problems))

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
            return failed("; ".join(dict.fromkeys(problems)), converged=converged)
        fit_stats = _stats(mod.endog, p_hat, loglik, n_dropped=n_base - n, converged=converged, w=design_w)
        if w is not None and design_w is None:
            fit_stats["effective_n"] = survey_weights.effective_n(w)
        result, n_used = res, int(res.nobs)

    rows = []
    for name in names:
        if name == "Intercept" and not intercept:
            continue
        term, reference = _friendly(name)
        b, se = float(params[name]), float(bse[name])
        rows.append(
            {
                "model": info["model"],
                "outcome": outcome,
                "term": term,
                "coef": b,
                "std_err": se,
                "odds_ratio": float(np.exp(b)),
                "ci_low": float(np.exp(ci.loc[name, 0])),
                "ci_high": float(np.exp(ci.loc[name, 1])),
                "p_value": float(pvalues[name]),
                "n": n_used,
                "n_dropped": info["n_dropped"],
                "reference": reference,
                "converged": converged,
                "problem": None,
                "estimator": info["estimator"],
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    table = _order(table, (["intercept"] if intercept else []) + expected)
    if design_w is None:
        return FitResult(table, fit_stats, result, used)
    return FitResult(table, fit_stats, result, used, weight, design.cov, design.df)


def fit_formula(
    frame: pd.DataFrame,
    formula: str,
    population=None,
    *,
    model: str | None = None,
    intercept: bool = False,
    terms: list[str] | None = None,
    estimator: str = "ml",
    weight: str | None = None,
) -> pd.DataFrame:
    """Fit ``formula`` by logistic regression on the rows of ``population``.

    ``population`` is a codebook population name (its ``pop_<name>`` flag is used, derived if
    absent), a boolean Series aligned with ``frame``, or None for every row. Rows with a missing
    value in any variable of the formula are dropped (listwise) and counted in ``n_dropped``.
    ``estimator`` is one of :data:`ESTIMATORS`: ``"ml"`` (default), ``"robust"`` (ML with HC3
    standard errors), ``"firth"`` (Firth's penalized likelihood with profile penalized-likelihood
    limits and penalized likelihood-ratio p-values, logistf's defaults) or ``"firth_wald"`` (the
    same estimates with Wald limits and p-values from the inverse Fisher information).

    Returns one row per coefficient (the intercept only with ``intercept=True``): ``term``
    (friendly name), ``coef`` and ``std_err`` (log-odds scale), ``odds_ratio`` with its 95% CI
    ``ci_low``/``ci_high`` (Wald except for ``"firth"``), ``p_value``, ``n`` (rows used),
    ``n_dropped``, ``reference`` (the comparison group in words), ``converged``, ``problem``
    (missing when the fit is sound) and ``estimator``. ``terms``, if given, is the expected term
    order (and the rows returned when the model cannot even be set up).

    ``weight`` names a survey-weight column (None or '': unweighted): the ML fit is then
    survey-weighted with design-based standard errors and t tests (see the module docstring and
    :func:`calaim.stats.weights.glm_covariance`); its ``estimator`` column reads :data:`WEIGHTED` and ``n`` stays
    the unweighted count of respondents used. A weight must be a finite number above 0 for every
    row used (else :class:`calaim.stats.weights.WeightError`).
    """
    return _fit(
        frame, formula, population, model=model, intercept=intercept, terms=terms, estimator=estimator, weight=weight
    ).table


def _spec(model_id: str) -> ModelSpec:
    try:
        return MODELS[model_id]
    except KeyError:
        raise KeyError(f"unknown model {model_id!r}; known: {', '.join(MODELS)}") from None


def fit_details(
    frame: pd.DataFrame, model_id: str, *, estimator: str = "ml", intercept: bool = False, weight: str | None = None
) -> FitResult:
    """One of :data:`MODELS` with its fit statistics (see :class:`FitResult`); ``weight`` as in
    :func:`fit_formula`."""
    spec = _spec(model_id)
    frame = with_population(frame, spec.population)
    missing = [c for c in (spec.outcome, *spec.predictors) if c not in frame.columns]
    if missing:
        n_base = int(frame[f"pop_{spec.population}"].sum())
        table = _empty(
            spec.terms,
            model=model_id,
            outcome=spec.outcome,
            n=0,
            n_dropped=n_base,
            problem=f"not in this data set: {', '.join(missing)}",
            estimator=WEIGHTED if (weight and estimator == "ml") else estimator,
        )
        return FitResult(
            table,
            {"n": 0, "events": np.nan, "n_dropped": n_base, "pseudo_r2": np.nan, "auc": np.nan, "converged": False},
        )
    return _fit(
        frame,
        spec.formula,
        spec.population,
        model=model_id,
        intercept=intercept,
        terms=spec.terms,
        estimator=estimator,
        weight=weight,
    )


def fit(
    frame: pd.DataFrame, model_id: str, *, intercept: bool = False, estimator: str = "ml", weight: str | None = None
) -> pd.DataFrame:
    """Fit one of :data:`MODELS` on a frame from :func:`calaim.data.recode.derive` (a raw frame is
    derived first) and return its tidy odds-ratio table (see :func:`fit_formula`)."""
    return fit_details(frame, model_id, estimator=estimator, intercept=intercept, weight=weight).table


def fit_all(frame: pd.DataFrame, model_ids=None, *, estimator: str = "ml", weight: str | None = None) -> pd.DataFrame:
    """:func:`fit` for several models (default: all of :data:`MODELS`), stacked."""
    ids = list(model_ids) if model_ids is not None else list(MODELS)
    if ids:
        first = MODELS[ids[0]].population
        frame = with_population(frame, first)
    return pd.concat([fit(frame, m, estimator=estimator, weight=weight) for m in ids], ignore_index=True)


def fit_statistics(
    frame: pd.DataFrame, model_ids=None, *, estimator: str = "ml", weight: str | None = None
) -> pd.DataFrame:
    """One row of fit statistics (n, events, dropped, pseudo-R2, AUC) per model."""
    ids = list(model_ids) if model_ids is not None else list(MODELS)
    rows = [{"model": m, **fit_details(frame, m, estimator=estimator, weight=weight).stats} for m in ids]
    return pd.DataFrame(rows).set_index("model")


def compare_estimators(
    frame: pd.DataFrame, model_id: str, estimators=tuple(ESTIMATORS), weight: str | None = None
) -> pd.DataFrame:
    """Odds ratios and 95% CIs of one model under several estimators, one row per term and a
    column group per estimator (``OR``, ``low``, ``high``, ``p``); with a ``weight`` only ``ml``
    (survey-weighted) has estimates."""
    parts = {}
    for est in estimators:
        t = fit(frame, model_id, estimator=est, weight=weight).set_index("term")
        parts[est] = t[["odds_ratio", "ci_low", "ci_high", "p_value"]].rename(
            columns={"odds_ratio": "OR", "ci_low": "low", "ci_high": "high", "p_value": "p"}
        )
    return pd.concat(parts, axis=1)


# --------------------------------------------------------------------------- marginal effects
def marginal_effects(fitted: FitResult) -> pd.DataFrame:
    """Average marginal effects of an ML fit, in percentage points: for a 0/1 predictor, the
    average over respondents of the change in predicted probability when it switches from 0 to
    1 with everything else as observed (statsmodels ``get_margeff(at="overall", dummy=True)``).

    Unlike an odds ratio, this is on the scale of the outcome's share, so it can be read as
    "x points more likely" at this sample's mix of covariates."""
    res = fitted.result
    if res is None or isinstance(res, FirthResult):
        raise ValueError("marginal effects need a successful maximum-likelihood fit")
    if fitted.weight is not None:
        return _weighted_effects(fitted)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        frame = res.get_margeff(at="overall", method="dydx", dummy=True).summary_frame(alpha=0.05)
    lo_col = next(c for c in frame.columns if "Low" in c)
    hi_col = next(c for c in frame.columns if "Hi" in c)
    order = {t: i for i, t in enumerate(fitted.table["term"])}
    frame = frame.loc[sorted(frame.index, key=lambda n: order.get(_friendly(n)[0], len(order)))]
    out = pd.DataFrame(
        {
            "term": [_friendly(n)[0] for n in frame.index],
            "ame_pp": 100 * frame["dy/dx"].to_numpy(),
            "ci_low_pp": 100 * frame[lo_col].to_numpy(),
            "ci_high_pp": 100 * frame[hi_col].to_numpy(),
            "p_value": frame["Pr(>|z|)"].to_numpy(),
        }
    )
    return out.reset_index(drop=True)


def _weighted_effects(fitted: FitResult) -> pd.DataFrame:
    """:func:`marginal_effects` of a survey-weighted fit: the same average changes (or derivatives,
    for a predictor that is not 0/1), averaged with the weights, with delta-method standard errors
    from the fit's design-based covariance and t limits on its residual degrees of freedom."""
    res = fitted.result
    X, b, names = np.asarray(res.model.exog, dtype=float), np.asarray(res.params), list(res.model.exog_names)
    w = fitted.data[fitted.weight].to_numpy(float)
    w = w / w.sum()
    df_t = max(int(fitted.df_resid or 1), 1)
    q = float(stats.t.ppf(0.975, df_t))
    rows = []
    for j, name in enumerate(names):
        if name == "Intercept":
            continue
        if set(np.unique(X[:, j])) <= {0.0, 1.0}:
            x1, x0 = X.copy(), X.copy()
            x1[:, j], x0[:, j] = 1.0, 0.0
            p1, p0 = 1 / (1 + np.exp(-(x1 @ b))), 1 / (1 + np.exp(-(x0 @ b)))
            ame = float(w @ (p1 - p0))
            grad = (w * p1 * (1 - p1)) @ x1 - (w * p0 * (1 - p0)) @ x0
        else:
            p = 1 / (1 + np.exp(-(X @ b)))
            f = p * (1 - p)
            ame = float(b[j] * (w @ f))
            grad = b[j] * ((w * f * (1 - 2 * p)) @ X)
            grad[j] += w @ f
        se = float(np.sqrt(grad @ fitted.cov @ grad))
        p_value = float(2 * stats.t.sf(abs(ame / se), df_t))
        rows.append((_friendly(name)[0], 100 * ame, 100 * (ame - q * se), 100 * (ame + q * se), p_value))
    out = pd.DataFrame(rows, columns=["term", "ame_pp", "ci_low_pp", "ci_high_pp", "p_value"])
    return _order(out, list(fitted.table["term"]))
