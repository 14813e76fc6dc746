"""Survey-weighted logistic regression (calaim.stats.models with ``weight=``, the sandwich of
calaim.stats.weights.glm_covariance): R survey's svyglm on apistrat, equal weights against the
unweighted fit and HC0, a saturated model by hand, the weighted AUC by hand, and why frequency
weights would be wrong."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from calaim.stats import models, weights

FIXTURES = Path(__file__).parent / "fixtures"

# R survey, man/svyglm.Rd: ``dstrat <- svydesign(id=~1, strata=~stype, weights=~pw, data=apistrat,
# fpc=~fpc)``; ``summary(svyglm(sch.wide ~ ell + meals + mobility, design=dstrat,
# family=quasibinomial()))``. The values are that example's output under R 4.6.1 with survey 4.5,
# frozen at full precision in a public Perl port's test file (t/svyglm.R.t of Stats::LikeR, whose
# generator t/svyglm.R.R runs survey's own example). Rounded, they are also what the example prints.
SVYGLM_SCHWIDE = {
    "coef": [0.8358365250542884, -0.0024896357495189174, -0.003152365111503177, 0.060896778706658],
    "se": [0.4556260955945678, 0.013252498611026018, 0.009199483717659164, 0.031935421453053614],
    "p": [0.06811454053711453, 0.8511814844078092, 0.7322195210480569, 0.058014753523037504],
    "df": 194,
    "ci_intercept": (-0.06278003028404089, 1.7344530803926181),
}


@pytest.fixture(scope="module")
def apistrat():
    """apistrat (survey's stratified sample of 200 California schools), with the columns the model
    uses: the same rows and weights as tests/fixtures/apistrat.csv (samplics' copy, samplics-org/
    samplics tests/regression/api_strat.csv at commit 3e242c0a3c125f94ded9efce8f5560e2d227de4d),
    sch.wide coded 1 for Yes."""
    d = pd.read_csv(FIXTURES / "apistrat_schwide.csv").rename(columns={"sch.wide": "sch_wide"})
    same = pd.read_csv(FIXTURES / "apistrat.csv")
    assert (d["cds"] == same["cds"]).all() and np.allclose(d["pw"], same["pw"])
    return d


def _design(d):
    return np.column_stack([np.ones(len(d)), d["ell"], d["meals"], d["mobility"]]).astype(float)


def test_glm_covariance_reproduces_svyglm_on_apistrat(apistrat):
    d = apistrat
    X, y, w = _design(d), d["sch_wide"].to_numpy(float), d["pw"].to_numpy(float)
    table = models.fit_formula(d, "sch_wide ~ ell + meals + mobility", intercept=True, weight="pw")
    # coefficients do not depend on the design: the weighted fit alone gives them
    assert table["coef"].to_numpy() == pytest.approx(SVYGLM_SCHWIDE["coef"], rel=1e-8)
    assert set(table["estimator"]) == {models.WEIGHTED} and (table["n"] == 200).all()
    p = 1 / (1 + np.exp(-(X @ table["coef"].to_numpy())))
    design = weights.glm_covariance(X, y, p, w, strata=d["stype"], fpc=d["fpc"])
    se = np.sqrt(np.diag(design.cov))
    # R's glm stops at its default convergence (deviance change below 1e-8) and reads the working
    # weights of the last iteration but one, so its SEs carry an error near 1e-5 relative.
    assert se == pytest.approx(SVYGLM_SCHWIDE["se"], rel=1e-4)
    assert design.df == SVYGLM_SCHWIDE["df"]  # 200 schools - 3 strata - 4 coefficients + 1
    t = table["coef"].to_numpy() / se
    assert 2 * stats.t.sf(np.abs(t), design.df) == pytest.approx(SVYGLM_SCHWIDE["p"], rel=1e-3)
    q = stats.t.ppf(0.975, design.df)
    lo, hi = SVYGLM_SCHWIDE["ci_intercept"]
    assert table["coef"].iloc[0] - q * se[0] == pytest.approx(lo, abs=1e-4)
    assert table["coef"].iloc[0] + q * se[0] == pytest.approx(hi, abs=1e-4)


def test_the_book_design_has_no_strata_and_its_df_is_n_minus_p(apistrat):
    """The book fits svydesign(id = ~1, weights = ~w): one stratum, no fpc, df = n - p. Strata and
    the fpc (2% to 7% sampling fractions) only shrink the variance here, as for svymean."""
    d = apistrat
    table = models.fit_formula(d, "sch_wide ~ ell + meals + mobility", intercept=True, weight="pw")
    X, y, w = _design(d), d["sch_wide"].to_numpy(float), d["pw"].to_numpy(float)
    p = 1 / (1 + np.exp(-(X @ table["coef"].to_numpy())))
    plain = weights.glm_covariance(X, y, p, w)
    assert plain.df == 200 - 4
    assert table["std_err"].to_numpy() == pytest.approx(np.sqrt(np.diag(plain.cov)), rel=1e-9)
    q = stats.t.ppf(0.975, plain.df)
    half = np.log(table["ci_high"].to_numpy()) - table["coef"].to_numpy()
    assert half == pytest.approx(q * table["std_err"].to_numpy(), rel=1e-9)
    stratified = weights.glm_covariance(X, y, p, w, strata=d["stype"], fpc=d["fpc"])
    assert (np.diag(stratified.cov) < np.diag(plain.cov)).all()


@pytest.fixture(scope="module")
def small():
    rng = np.random.default_rng(16)
    n = 400
    d = pd.DataFrame({"x1": rng.binomial(1, 0.4, n).astype(float), "x2": rng.normal(size=n)})
    eta = -0.3 + 0.8 * d["x1"] - 0.5 * d["x2"]
    d["y"] = rng.binomial(1, 1 / (1 + np.exp(-eta))).astype(float)
    d["one"] = 1.0
    d["three"] = 3.0
    d["w"] = rng.uniform(0.3, 3.0, n)
    return d


def test_equal_weights_are_the_unweighted_design_and_the_sandwich_reduces_to_hc0(small):
    """A weight that is the same for everyone is the unweighted design: the fit, its intervals
    and its statistics are the plain ML ones exactly (so a column of 1s reproduces the book).
    The design-based covariance itself reduces to n / (n - 1) times HC0 with equal weights,
    whatever their scale, as svyglm's does."""
    plain = models._fit(small, "y ~ x1 + x2", intercept=True)
    for column in ("one", "three"):
        same = models._fit(small, "y ~ x1 + x2", intercept=True, weight=column)
        pd.testing.assert_frame_equal(same.table, plain.table, check_exact=True)
        assert same.stats["auc"] == plain.stats["auc"] and same.stats["pseudo_r2"] == plain.stats["pseudo_r2"]
        assert same.stats["effective_n"] == pytest.approx(len(small)) and "effective_n" not in plain.stats
    X, y, p = plain.result.model.exog, small["y"].to_numpy(), plain.result.predict()
    hc0 = models.hc_covariance(X, y, p, "HC0")
    n = len(small)
    for w in (np.ones(n), np.full(n, 3.0)):
        cov = weights.glm_covariance(X, y, p, w).cov
        assert np.diag(cov) == pytest.approx(n / (n - 1) * np.diag(hc0), rel=1e-8)


def test_frequency_weight_standard_errors_would_be_wrong(small):
    """Tripling every weight is no more information: the design-based SE stays the same (the
    weights only set each respondent's share), while a frequency-weight GLM counts each
    respondent three times and shrinks its SEs by sqrt(3). The book never uses those."""
    ours = models.fit_formula(small, "y ~ x1 + x2", intercept=True, weight="w")
    tripled = models.fit_formula(small.assign(w=3 * small["w"]), "y ~ x1 + x2", intercept=True, weight="w")
    assert tripled["std_err"].to_numpy() == pytest.approx(ours["std_err"].to_numpy(), rel=1e-9)
    X = sm.add_constant(small[["x1", "x2"]].to_numpy())
    one = sm.GLM(small["y"].to_numpy(), X, family=sm.families.Binomial(), freq_weights=small["one"]).fit()
    freq = sm.GLM(small["y"].to_numpy(), X, family=sm.families.Binomial(), freq_weights=small["three"]).fit()
    assert freq.bse == pytest.approx(one.bse / np.sqrt(3), rel=1e-9)


def test_saturated_two_group_model_by_hand():
    """Hand computation (no published source): with one 0/1 predictor the weighted fit gives each
    group's weighted share, and the linearisation variance of the group-0 log odds is
    n/(n-1) * sum w_i^2 (y_i - p0)^2 / (p0 (1 - p0) sum w_i)^2 over group 0."""
    d = pd.DataFrame(
        {
            "x": [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1],
            "y": [1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0],
            "w": [1.0, 2.0, 0.5, 1.5, 1.0, 2.0, 1.0, 1.0, 3.0, 0.5, 1.0],
        },
        dtype=float,
    )
    t = models.fit_formula(d, "y ~ x", intercept=True, weight="w").set_index("term")
    g0, g1 = d[d["x"] == 0], d[d["x"] == 1]
    p0 = (g0["w"] * g0["y"]).sum() / g0["w"].sum()  # 2.5 / 6 = 0.41666...
    p1 = (g1["w"] * g1["y"]).sum() / g1["w"].sum()  # 6.5 / 8.5
    assert p0 == pytest.approx(2.5 / 6) and p1 == pytest.approx(6.5 / 8.5)
    assert t.loc["intercept", "coef"] == pytest.approx(np.log(p0 / (1 - p0)), rel=1e-9)
    assert t.loc["x", "odds_ratio"] == pytest.approx((p1 / (1 - p1)) / (p0 / (1 - p0)), rel=1e-9)
    n = len(d)

    def var(g, p):
        return n / (n - 1) * (g["w"] ** 2 * (g["y"] - p) ** 2).sum() / (p * (1 - p) * g["w"].sum()) ** 2

    assert t.loc["intercept", "std_err"] ** 2 == pytest.approx(var(g0, p0), rel=1e-9)
    # the slope is a difference of the two groups' log odds, whose influences do not overlap
    assert t.loc["x", "std_err"] ** 2 == pytest.approx(var(g0, p0) + var(g1, p1), rel=1e-9)
    assert t.loc["x", "p_value"] == pytest.approx(
        2 * stats.t.sf(abs(t.loc["x", "coef"]) / t.loc["x", "std_err"], n - 2), rel=1e-9
    )


def test_weighted_auc_by_hand():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.8, 0.4, 0.5, 0.4])
    # pairs (positive, negative) weighted w_i w_j: (0.8 > 0.5) 1*2, (0.8 > 0.4) 1*1, (0.4 < 0.5) 0,
    # (0.4 = 0.4) 3*1/2; total 4.5 over (1 + 3) * (2 + 1)
    assert models.auc(y, p, np.array([1.0, 3.0, 2.0, 1.0])) == pytest.approx(4.5 / 12)
    assert models.auc(y, p, np.ones(4)) == pytest.approx(models.auc(y, p))


def test_other_estimators_say_they_take_no_weight(small):
    for est in ("robust", "firth", "firth_wald"):
        t = models.fit_formula(small, "y ~ x1 + x2", weight="w", estimator=est)
        assert t["odds_ratio"].isna().all() and t["problem"].str.contains("not available with a survey weight").all()


def test_a_weighted_fit_without_complete_cases_says_so(small):
    t = models.fit_formula(small.assign(x2=np.nan), "y ~ x1 + x2", weight="w")
    assert t["odds_ratio"].isna().all() and (t["problem"] == "no complete cases").all()


def test_bad_weights_are_clear_errors(small):
    d = small.assign(w=small["w"].where(small.index != 5, 0.0))
    with pytest.raises(weights.WeightError, match=r"weight column 'w'.*zero: row 5 \(0\)"):
        models.fit_formula(d, "y ~ x1 + x2", weight="w")
    with pytest.raises(KeyError, match="weight column 'nope'"):
        models.fit_formula(small, "y ~ x1 + x2", weight="nope")


def test_weighted_marginal_effects_follow_statsmodels_formula_and_the_weights(small):
    """The weighted AMEs use the formula of statsmodels' get_margeff(at="overall", dummy=True):
    with weights of 1 and the ML covariance in place of the design-based one they are its numbers
    (x1 is 0/1: a discrete change; x2 continuous: a derivative)."""
    plain = models._fit(small, "y ~ x1 + x2", intercept=True)
    ref = plain.result.get_margeff(at="overall", method="dydx", dummy=True).summary_frame()
    ones = models._fit(small, "y ~ x1 + x2", intercept=True, weight="one")
    ml_like = models.FitResult(
        ones.table, ones.stats, ones.result, ones.data, "one", plain.result.cov_params().to_numpy(), 10**9
    )
    ame = models.marginal_effects(ml_like).set_index("term")
    assert ame.loc[["x1", "x2"], "ame_pp"].to_numpy() == pytest.approx(100 * ref["dy/dx"].to_numpy(), rel=1e-9)
    half = (ame["ci_high_pp"] - ame["ci_low_pp"]) / 2 / stats.norm.ppf(0.975)
    assert half.loc[["x1", "x2"]].to_numpy() == pytest.approx(100 * ref["Std. Err."].to_numpy(), rel=1e-6)
    # unequal weights: the weighted average of each respondent's change, by hand
    w = models._fit(small, "y ~ x1 + x2", intercept=True, weight="w")
    b = w.table.set_index("term")["coef"]
    eta0 = b["intercept"] + b["x2"] * small["x2"]
    change = 1 / (1 + np.exp(-(eta0 + b["x1"]))) - 1 / (1 + np.exp(-eta0))
    got = models.marginal_effects(w).set_index("term")
    assert got.loc["x1", "ame_pp"] == pytest.approx(100 * np.average(change, weights=small["w"]), rel=1e-9)
    assert got.loc["x1", "ci_low_pp"] < got.loc["x1", "ame_pp"] < got.loc["x1", "ci_high_pp"]
