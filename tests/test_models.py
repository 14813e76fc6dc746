"""calaim.stats.models: specifications, odds-ratio tables, listwise deletion, separation handling."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats

from calaim.stats import models
from calaim.stats.models import MODELS, Z95, fit, fit_formula, with_population

ROLE_LEVELS = ["senior", "manager", "frontline", "other"]
TRUE_PARTICIPATION = {
    "intercept": -0.4,
    "single_county": np.log(0.5),
    "pilot": np.log(3.0),
    "prior_mc_contract": np.log(2.0),
    "fte_lt50": np.log(0.7),
    "nonprofit": np.log(1.4),
    "manager": np.log(1.5),
    "frontline": np.log(0.6),
    "other_role": np.log(1.25),
    "housing_provider": np.log(1.8),
}


@pytest.fixture(scope="module")
def simulated():
    """20,000 simulated SSO respondents whose contracting follows known log odds."""
    rng = np.random.default_rng(20231)
    n = 20_000
    df = pd.DataFrame(
        {
            "single_county": rng.binomial(1, 0.45, n).astype(float),
            "pilot": rng.binomial(1, 0.35, n).astype(float),
            "prior_mc_contract": rng.binomial(1, 0.5, n).astype(float),
            "fte_lt50": rng.binomial(1, 0.5, n).astype(float),
            "nonprofit": rng.binomial(1, 0.7, n).astype(float),
            "housing_provider": rng.binomial(1, 0.6, n).astype(float),
            "role4": pd.Series(rng.choice(ROLE_LEVELS, n, p=[0.3, 0.3, 0.25, 0.15]), dtype="string"),
        }
    )
    b = TRUE_PARTICIPATION
    eta = b["intercept"] + sum(
        b[v] * df[v]
        for v in ["single_county", "pilot", "prior_mc_contract", "fte_lt50", "nonprofit", "housing_provider"]
    )
    eta = eta + df["role4"].map(
        {"senior": 0.0, "manager": b["manager"], "frontline": b["frontline"], "other": b["other_role"]}
    ).astype(float)
    df["contracted"] = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    df["pop_sso_analytic"] = True
    return df


def test_model_specs_follow_the_paper():
    assert set(MODELS) == {
        "participation",
        "pilot",
        "out_access",
        "out_coordination",
        "out_wellbeing",
        "out_manage_needs",
        "out_coordinate",
        "out_grow",
    }
    assert MODELS["participation"].outcome == "contracted"
    assert MODELS["pilot"].outcome == "pilot" and MODELS["pilot"].predictors == ("fte_lt50", "nonprofit")
    for model_id in models.OUTCOME_MODELS:
        spec = MODELS[model_id]
        assert spec.outcome == model_id
        assert spec.terms == [
            "contracted",
            "manager",
            "frontline",
            "other_role",
            "housing_provider",
            "single_county",
            "fte_lt50",
            "nonprofit",
        ]
    assert all(spec.population == "sso_analytic" for spec in MODELS.values())
    assert "C(role4, Treatment('senior'))" in MODELS["participation"].formula


def test_recovers_known_odds_ratios(simulated):
    table = fit(simulated, "participation")
    assert list(table["term"]) == MODELS["participation"].terms
    assert table["problem"].isna().all() and table["converged"].all()
    assert (table["n"] == len(simulated)).all() and (table["n_dropped"] == 0).all()
    for _, row in table.iterrows():
        true_or = np.exp(TRUE_PARTICIPATION[row["term"]])
        assert row["odds_ratio"] == pytest.approx(true_or, rel=0.10), row["term"]
        assert row["ci_low"] < row["odds_ratio"] < row["ci_high"]


def test_ci_arithmetic_and_agreement_with_statsmodels(simulated):
    assert Z95 == pytest.approx(1.959964, abs=1e-6)
    table = fit(simulated, "participation").set_index("term")
    for _term, row in table.iterrows():
        assert row["odds_ratio"] == pytest.approx(np.exp(row["coef"]), rel=1e-12)
        assert row["ci_low"] == pytest.approx(np.exp(row["coef"] - 1.959964 * row["std_err"]), rel=1e-5)
        assert row["ci_high"] == pytest.approx(np.exp(row["coef"] + 1.959964 * row["std_err"]), rel=1e-5)
    # the same coefficients as a direct statsmodels fit
    direct = smf.logit(
        MODELS["participation"].formula, data=simulated.assign(role4=simulated["role4"].astype(object))
    ).fit(disp=False)
    assert table.loc["pilot", "coef"] == pytest.approx(direct.params["pilot"], rel=1e-8)
    assert table.loc["manager", "std_err"] == pytest.approx(
        direct.bse["C(role4, Treatment('senior'))[T.manager]"], rel=1e-8
    )


def test_reference_categories_are_named(simulated):
    table = fit(simulated, "participation").set_index("term")
    for term in ["manager", "frontline", "other_role"]:
        assert table.loc[term, "reference"] == "senior leader"
    assert table.loc["fte_lt50", "reference"] == "50 or more FTEs"
    assert (table["reference"].str.len() > 0).all()
    assert not any("C(" in t for t in table.index)
    with_icpt = fit(simulated, "participation", intercept=True)
    assert with_icpt["term"].iloc[0] == "intercept"


def test_perfect_separation_returns_a_problem_not_an_odds_ratio():
    rng = np.random.default_rng(7)
    x = rng.normal(size=300)
    df = pd.DataFrame({"y": (x > 0).astype(float), "x": x, "z": rng.normal(size=300)})
    table = fit_formula(df, "y ~ x + z")
    assert list(table["term"]) == ["x", "z"]
    assert table["odds_ratio"].isna().all() and table["ci_low"].isna().all()
    assert table["problem"].str.contains("separation").all()


def test_quasi_separation_returns_a_problem():
    rng = np.random.default_rng(8)
    g = rng.integers(0, 2, 400).astype(float)
    y = np.where(g == 1, 1.0, rng.integers(0, 2, 400)).astype(float)  # everyone with g = 1 says yes
    df = pd.DataFrame({"y": y, "g": g, "z": rng.normal(size=400)})
    table = fit_formula(df, "y ~ g + z")
    assert table["odds_ratio"].isna().all()
    assert table["problem"].str.contains("separation").all()


def test_listwise_deletion_counts_dropped_rows():
    df = pd.DataFrame(
        {
            "y": [0, 1, 0, 1, 1, 0, 1, 0, 1, np.nan, 0, 1, 1, 0],
            "x": [0, 0, 1, 1, 0, 1, 1, 0, 0, 1, np.nan, 1, np.nan, 0],
            "in_base": [True] * 13 + [False],
        }
    )
    # base: the first 13 rows; the outcome is missing in one, the predictor in two
    table = fit_formula(df, "y ~ x", population=df["in_base"])
    assert table.loc[0, "n"] == 10
    assert table.loc[0, "n_dropped"] == 3
    assert table["problem"].isna().all()
    # the same through a population flag column
    table2 = fit_formula(df.assign(pop_test=df["in_base"]), "y ~ x", population="test")
    assert (table2.loc[0, "n"], table2.loc[0, "n_dropped"]) == (10, 3)


def test_degenerate_bases_are_reported(simulated):
    small = simulated.head(50).copy()
    no_cases = fit(small.assign(prior_mc_contract=np.nan), "participation")
    assert no_cases["problem"].eq("no complete cases").all() and no_cases["n_dropped"].eq(50).all()
    assert list(no_cases["term"]) == MODELS["participation"].terms
    flat = fit(small.assign(contracted=1.0), "participation")
    assert flat["problem"].str.contains("does not vary").all()
    constant = fit_formula(small.assign(k=1.0), "contracted ~ pilot + k")
    assert constant["problem"].str.contains("singular design").all()
    missing = fit(small.drop(columns=["housing_provider"]), "participation")
    assert missing["problem"].str.contains("housing_provider").all()


def test_population_flag_is_derived_when_absent():
    df = pd.DataFrame(
        {
            "resp_id": [1, 2, 3, 4],
            "disposition": [1, 1, 1, 2],
            "role4": pd.Series(["senior", "manager", "senior", "other"], dtype="string"),
            "sector_sso": [True, True, False, True],
            "sso_model_complete": [True, False, True, True],
        }
    )
    out = with_population(df, "sso_analytic")
    assert out["pop_sso_analytic"].tolist() == [True, False, False, False]
    assert "pop_sso_analytic" not in df.columns  # the input is not modified


def test_fits_every_model_on_a_raw_frame_via_derive():
    """The specs name real derived columns: a small raw frame is derived and all models fit."""
    from calaim.data.codebook import load

    cb = load()
    rng = np.random.default_rng(11)
    n = 600
    raw = pd.DataFrame(
        {
            "resp_id": np.arange(n),
            "disposition": 1,
            "org_type": rng.choice([1, 1, 1, 2, 7], n),
            "role": rng.integers(1, 5, n),
            "fte": rng.choice([1, 2, 3, 4, 5, 6, 9], n),
            "legal_type": rng.choice([1, 2, 3, 9], n),
            "statewide": rng.choice([1, 2], n, p=[0.05, 0.95]),
            "wpc_hh": rng.choice([1, 2, 9], n),
            "ecm_provider": rng.choice([1, 2], n),
            "cs_provider": rng.choice([1, 2], n),
            "sso_exp_contract_mcp": rng.choice([1, 2, 3, 4, 9], n),
            "sso_type__housing": rng.integers(0, 2, n),
            "familiarity": 1,
            "credential": 12,
        }
    )
    counties = pd.DataFrame({f"county__{k}": rng.binomial(1, 0.03, n) for k in cb.counties})
    items = pd.DataFrame(
        {
            c: rng.choice([1, 2, 3, 4, 5, 8, 97], n)
            for c in [
                "served_access",
                "served_coordination",
                "served_wellbeing",
                "org_impact_manage_needs",
                "org_impact_coordinate",
                "org_impact_grow",
            ]
        }
    )
    raw = pd.concat([raw, counties, items], axis=1)
    first = fit(raw, "pilot")  # raw frame: derived on the fly
    assert first["problem"].isna().all() and first["n"].iloc[0] > 50
    table = models.fit_all(models.with_population(raw, "sso_analytic"))
    assert set(table["model"]) == set(MODELS)
    assert table["problem"].isna().all()
    outcome_rows = table[table["model"] == "out_access"]
    assert (outcome_rows["n_dropped"] > 0).all()  # "not applicable" answers leave the base


# ---------------------------------------------------------------------------- Firth, robust SEs
def test_firth_intercept_only_adds_a_half_to_each_outcome():
    y = np.array([1.0] * 3 + [0.0] * 17)
    fr = models.firth_logit(y, np.ones((20, 1)))
    assert fr.converged
    assert fr.params[0] == pytest.approx(np.log(3.5 / 17.5), abs=1e-7)


@pytest.mark.parametrize("a, b, c, d", [(12, 30, 25, 18), (9, 0, 14, 20)])  # the second is separated
def test_firth_two_by_two_is_the_odds_ratio_of_counts_plus_a_half(a, b, c, d):
    """Saturated 2x2: x=1 has a yes / b no, x=0 has c yes / d no."""
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    df = pd.DataFrame({"y": y, "x": x})
    table = fit_formula(df, "y ~ x", estimator="firth")
    expected = (a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))
    assert table.loc[0, "odds_ratio"] == pytest.approx(expected, rel=1e-6)
    assert table.loc[0, "problem"] is None and table.loc[0, "estimator"] == "firth"
    if b == 0:  # maximum likelihood has no finite answer here
        assert fit_formula(df, "y ~ x")["problem"].str.contains("separation").all()


def test_firth_is_close_to_ml_in_a_large_sample(simulated):
    ml = fit(simulated, "participation").set_index("term")
    firth = fit(simulated, "participation", estimator="firth").set_index("term")
    assert np.allclose(firth["coef"], ml["coef"], atol=0.01)
    assert np.allclose(firth["std_err"], ml["std_err"], rtol=0.01)
    # Firth shrinks towards zero, never away from it, in a well-filled design
    assert (firth["coef"].abs() <= ml["coef"].abs() + 1e-9).all()


def _spector():
    """Greene's Spector and Mazzeo (1980) data as shipped with statsmodels (32 students)."""
    import statsmodels.api as sm

    data = sm.datasets.spector.load_pandas().data
    return data.rename(columns={"GRADE": "grade"})


SPECTOR_FORMULA = "grade ~ GPA + TUCE + PSI"
SPECTOR_TERMS = ["intercept", "GPA", "TUCE", "PSI"]


def test_spector_ml_matches_greene():
    """Greene, Econometric Analysis (5th ed., Table 21.1): logit of GRADE on GPA, TUCE, PSI."""
    table = fit_formula(_spector(), SPECTOR_FORMULA, intercept=True).set_index("term").loc[SPECTOR_TERMS]
    assert table["coef"].to_numpy() == pytest.approx([-13.021, 2.826, 0.0952, 2.379], abs=5e-4)
    assert table["std_err"].to_numpy() == pytest.approx([4.931, 1.263, 0.1416, 1.065], abs=5e-4)


def test_spector_robust_is_true_hc3_not_hc0():
    """True HC3 (leverage-corrected, MacKinnon and White 1985; Long and Ervin 2000) and HC0 standard
    errors on the Spector data: the reference values of this project's issue 13, the definition R's
    sandwich::vcovHC applies to a binomial GLM (score residuals, GLM hat values). statsmodels'
    cov_type="HC3" returns the HC0 values here (statsmodels issue 7798)."""
    data = _spector()
    robust = fit_formula(data, SPECTOR_FORMULA, intercept=True, estimator="robust").set_index("term")
    assert robust.loc[SPECTOR_TERMS, "std_err"].to_numpy() == pytest.approx([6.083, 1.552, 0.154, 1.116], abs=5e-4)
    res = smf.logit(SPECTOR_FORMULA, data=data).fit(disp=False)
    hc0 = np.sqrt(np.diag(models.hc_covariance(res.model.exog, res.model.endog, res.predict(), "HC0")))
    assert hc0 == pytest.approx([5.198, 1.268, 0.118, 0.964], abs=5e-4)
    # the point estimates are ML's; the interval and p-value use the HC3 standard error
    ml = fit_formula(data, SPECTOR_FORMULA, intercept=True).set_index("term")
    assert np.allclose(robust["coef"], ml["coef"])
    b, se = robust.loc["PSI", "coef"], robust.loc["PSI", "std_err"]
    assert robust.loc["PSI", "ci_low"] == pytest.approx(np.exp(b - Z95 * se), rel=1e-9)
    assert robust.loc["PSI", "p_value"] == pytest.approx(2 * stats.norm.sf(abs(b / se)), rel=1e-9)
    assert "(HC3)" in models.ESTIMATORS["robust"]


def test_hc3_by_hand_on_a_saturated_two_group_model():
    """Intercept + one binary x fits each group's share exactly, every leverage is 1/n_g, so
    HC0 equals the model-based variance 1/(n_g p (1-p)) of each group's log odds and HC3 inflates
    it by (n_g / (n_g - 1))^2. The slope is the difference of two independent group log odds."""
    n1, k1, n0, k0 = 10, 7, 12, 3
    x = np.r_[np.ones(n1), np.zeros(n0)]
    y = np.r_[np.ones(k1), np.zeros(n1 - k1), np.ones(k0), np.zeros(n0 - k0)]
    X = np.column_stack([np.ones_like(x), x])
    p = np.where(x == 1, k1 / n1, k0 / n0)
    v1 = 1 / (n1 * (k1 / n1) * (1 - k1 / n1))
    v0 = 1 / (n0 * (k0 / n0) * (1 - k0 / n0))
    hc0 = models.hc_covariance(X, y, p, "HC0")
    hc3 = models.hc_covariance(X, y, p, "HC3")
    assert np.diag(hc0) == pytest.approx([v0, v0 + v1], rel=1e-12)
    c1, c0 = (n1 / (n1 - 1)) ** 2, (n0 / (n0 - 1)) ** 2
    assert np.diag(hc3) == pytest.approx([v0 * c0, v0 * c0 + v1 * c1], rel=1e-12)
    table = fit_formula(pd.DataFrame({"y": y, "x": x}), "y ~ x", estimator="robust")
    assert table.loc[0, "std_err"] == pytest.approx(np.sqrt(v0 * c0 + v1 * c1), rel=1e-7)


def test_hc3_by_hand_with_the_explicit_hat_matrix():
    """A tiny unsaturated data set: the sandwich built from the full n x n hat matrix
    W^1/2 X (X'WX)^-1 X' W^1/2, looping over respondents, equals hc_covariance."""
    x = np.array([0.0, 1, 2, 3, 4, 5, 6, 7])
    y = np.array([0.0, 0, 1, 0, 1, 0, 1, 1])
    X = np.column_stack([np.ones_like(x), x])
    res = smf.logit("y ~ x", data=pd.DataFrame({"y": y, "x": x})).fit(disp=False)
    p = np.asarray(res.predict())
    W_half = np.diag(np.sqrt(p * (1 - p)))
    bread = np.linalg.inv(X.T @ W_half @ W_half @ X)
    H = W_half @ X @ bread @ X.T @ W_half
    meat = np.zeros((2, 2))
    for i in range(len(y)):
        meat += np.outer(X[i], X[i]) * (y[i] - p[i]) ** 2 / (1 - H[i, i]) ** 2
    assert models.hc_covariance(X, y, p, "HC3") == pytest.approx(bread @ meat @ bread, rel=1e-10)
    assert np.trace(H) == pytest.approx(2.0)  # leverages sum to the number of coefficients
    with pytest.raises(ValueError, match="HC type"):
        models.hc_covariance(X, y, p, "HC1")


def test_unknown_estimator_is_refused(simulated):
    with pytest.raises(ValueError, match="unknown estimator"):
        fit(simulated, "participation", estimator="bayes")


def test_compare_estimators_lays_the_fits_side_by_side(simulated):
    table = models.compare_estimators(simulated.head(2000), "pilot")
    assert list(table.columns.get_level_values(0).unique()) == ["ml", "robust", "firth", "firth_wald"]
    assert table[("firth", "OR")].equals(table[("firth_wald", "OR")])  # same estimates, other limits
    assert list(table.index) == ["fte_lt50", "nonprofit"]
    assert table[("ml", "OR")].equals(table[("robust", "OR")])


# ---------------------------------------------------------------------------- fit statistics
def test_auc_by_hand():
    assert models.auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)  # 3 of 4 pairs ordered
    assert models.auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)  # a tie counts half
    assert np.isnan(models.auc([1, 1], [0.2, 0.3]))


def test_fit_statistics_agree_with_statsmodels(simulated):
    details = models.fit_details(simulated, "participation")
    res = details.result
    assert details.stats["n"] == len(simulated) and details.stats["events"] == int(simulated["contracted"].sum())
    assert details.stats["pseudo_r2"] == pytest.approx(res.prsquared, rel=1e-7)
    assert 0.5 < details.stats["auc"] < 1
    stats_table = models.fit_statistics(simulated, ["participation", "pilot"])
    assert list(stats_table.index) == ["participation", "pilot"]
    assert stats_table.loc["pilot", "events"] == int(simulated["pilot"].sum())


def test_average_marginal_effect_of_a_lone_binary_predictor_is_the_difference_in_shares():
    x = np.r_[np.ones(40), np.zeros(60)]
    y = np.r_[np.ones(30), np.zeros(10), np.ones(24), np.zeros(36)]  # 75% vs 40%
    details = models._fit(pd.DataFrame({"y": y, "x": x}), "y ~ x")
    ame = models.marginal_effects(details)
    assert list(ame["term"]) == ["x"]
    assert ame.loc[0, "ame_pp"] == pytest.approx(35.0, abs=1e-6)
    assert ame.loc[0, "ci_low_pp"] < 35 < ame.loc[0, "ci_high_pp"]
    with pytest.raises(ValueError):
        models.marginal_effects(models._fit(pd.DataFrame({"y": y, "x": x}), "y ~ x", estimator="firth"))


# ---------------------------------------------------------------------------- coverage
@pytest.mark.slow
def test_wald_intervals_cover_the_true_odds_ratio_about_95_percent_of_the_time():
    """300 samples of the paper's size (n = 355) from a known participation model: the share of
    95% CIs that contain the true odds ratio should be close to 0.95 (binomial SE ~ 1.3 points)."""
    rng = np.random.default_rng(355)
    truth = {"single_county": np.log(0.47), "pilot": np.log(3.0), "prior_mc_contract": np.log(2.5)}
    hits = {t: 0 for t in truth}
    reps, n = 300, 355
    for _ in range(reps):
        df = pd.DataFrame({t: rng.binomial(1, 0.4, n).astype(float) for t in truth})
        eta = 0.3 + sum(b * df[t] for t, b in truth.items())
        df["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
        table = fit_formula(df, "y ~ " + " + ".join(truth)).set_index("term")
        for t, b in truth.items():
            hits[t] += table.loc[t, "ci_low"] <= np.exp(b) <= table.loc[t, "ci_high"]
    for t, k in hits.items():
        assert 0.91 <= k / reps <= 0.985, (t, k / reps)
