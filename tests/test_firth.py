"""calaim.stats.firth: Firth estimates, penalized likelihood-ratio tests and profile limits,
checked against R's logistf on its sex2 data (tests/fixtures/sex2.csv, source in the file)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import firth
from calaim.stats.models import fit_formula

SEX2 = Path(__file__).parent / "fixtures" / "sex2.csv"
TERMS = ["intercept", "age", "oc", "vic", "vicl", "vis", "dia"]
FORMULA = "case ~ age + oc + vic + vicl + vis + dia"

# logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2, alpha = 0.1), summary() as printed
# in the example of the logistfPrint reference page of the biostatUtil R package (logistf >= 1.24):
# coef, se(coef), lower 0.9, upper 0.9, Chisq (penalized likelihood ratio), p (method 2 = profile).
LOGISTF_90 = pd.DataFrame(
    [
        [0.12025405, 0.4763429, -0.6673577, 0.9177303, 0.06286298, 8.020268e-01],
        [-1.10598131, 0.4149021, -1.8277045, -0.4328451, 7.50773092, 6.143472e-03],
        [-0.06881673, 0.4344026, -0.7986318, 0.6507581, 0.02467044, 8.751911e-01],
        [2.26887464, 0.5384872, 1.4248338, 3.2325326, 22.93139022, 1.678877e-06],
        [-2.11140817, 0.5320395, -3.0613215, -1.2704704, 19.10407252, 1.237805e-05],
        [-0.78831694, 0.4089620, -1.4743338, -0.1137542, 3.69740975, 5.449701e-02],
        [3.09601166, 1.5052197, 1.0835108, 6.8752016, 7.89693139, 4.951873e-03],
    ],
    index=TERMS,
    columns=["coef", "se", "lower", "upper", "chisq", "p"],
)
# The default 95% profile limits of the same fit, to the two decimals printed by the easystats
# `parameters` package's snapshot test of model_parameters() on this logistf model.
LOGISTF_95 = {
    "intercept": (-0.82, 1.07),
    "age": (-1.97, -0.31),
    "oc": (-0.94, 0.79),
    "vic": (1.27, 3.44),
    "vicl": (-3.26, -1.12),
    "vis": (-1.61, 0.02),
    "dia": (0.77, 8.03),
}


@pytest.fixture(scope="module")
def sex2():
    data = pd.read_csv(SEX2, comment="#")
    assert data.shape == (239, 7) and set(np.unique(data.to_numpy())) == {0, 1}
    y = data["case"].to_numpy(float)
    X = np.column_stack([np.ones(len(data)), data[TERMS[1:]].to_numpy(float)])
    return data, y, X, firth.firth_logit(y, X)


def test_firth_estimates_match_logistf(sex2):
    _, _, _, fit = sex2
    assert fit.converged
    assert fit.params == pytest.approx(LOGISTF_90["coef"].to_numpy(), abs=1e-6)


def test_penalized_likelihood_ratio_tests_match_logistf(sex2):
    _, y, X, fit = sex2
    for j, term in enumerate(TERMS):
        test = firth.profile_test(y, X, fit, j)
        assert test.chisq == pytest.approx(LOGISTF_90.loc[term, "chisq"], rel=1e-6), term
        assert test.p_value == pytest.approx(LOGISTF_90.loc[term, "p"], rel=1e-5), term


def test_profile_limits_match_logistf_at_90_and_95_percent(sex2):
    _, y, X, fit = sex2
    for j, term in enumerate(TERMS):
        low, high = firth.profile_interval(y, X, fit, j, level=0.90)
        assert low == pytest.approx(LOGISTF_90.loc[term, "lower"], abs=2e-6), term
        assert high == pytest.approx(LOGISTF_90.loc[term, "upper"], abs=2e-6), term
        low95, high95 = firth.profile_interval(y, X, fit, j)
        assert (low95, high95) == pytest.approx(LOGISTF_95[term], abs=0.005 + 1e-9), term
        # at each limit the penalized likelihood-ratio statistic is the chi-square(1) quantile
        for limit in (low95, high95):
            statistic, _ = firth._profile_stat(y, X, fit, j, limit)
            assert statistic == pytest.approx(stats.chi2.ppf(0.95, 1), abs=1e-6)


def test_wald_limits_of_dia_are_those_of_heinze_and_schemper(sex2):
    """Heinze and Schemper (2002), sex2, term dia: Wald log-odds limits -0.19 to 6.38 (p = 0.065)
    from the inverse Fisher information, against profile limits that exclude 0."""
    data, _, _, _ = sex2
    wald = fit_formula(data, FORMULA, estimator="firth_wald").set_index("term").loc["dia"]
    assert np.log(wald["ci_low"]) == pytest.approx(-0.19, abs=0.005)
    assert np.log(wald["ci_high"]) == pytest.approx(6.38, abs=0.005)
    assert wald["p_value"] == pytest.approx(0.065, abs=0.0005)
    profile = fit_formula(data, FORMULA, estimator="firth").set_index("term").loc["dia"]
    assert profile["coef"] == wald["coef"] and profile["std_err"] == wald["std_err"]
    assert np.log(profile["ci_low"]) == pytest.approx(0.77, abs=0.005)
    assert np.log(profile["ci_high"]) == pytest.approx(8.03, abs=0.005)
    assert profile["p_value"] == pytest.approx(LOGISTF_90.loc["dia", "p"], rel=1e-5)
    assert profile["estimator"] == "firth"


def test_logistf_standard_errors_are_those_of_the_augmented_data(sex2):
    """logistf >= 1.24 prints se(coef) from X' diag(w (1 + h)) X (the information of the data
    augmented by the Jeffreys pseudo-observations), not the inverse Fisher information this
    module (and Heinze and Schemper 2002) use for Wald limits: checked so that the difference
    between the two reference sets above is understood, not assumed."""
    _, y, X, fit = sex2
    eta = X @ fit.params
    p = 1 / (1 + np.exp(-eta))
    w = p * (1 - p)
    h = w * np.einsum("ij,jk,ik->i", X, fit.cov, X)
    augmented = np.linalg.inv(X.T @ (X * (w * (1 + h))[:, None]))
    assert np.sqrt(np.diag(augmented)) == pytest.approx(LOGISTF_90["se"].to_numpy(), abs=2e-6)
    assert (fit.bse > LOGISTF_90["se"].to_numpy()).all()


def test_profile_limits_are_finite_and_asymmetric_under_separation():
    """A separated 2x2 (no 'no' outcomes when x = 1): ML diverges, Firth's estimate and both
    profile limits stay finite, and the profile interval sits to the right of the Wald one."""
    a, b, c, d = 9, 0, 14, 20
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    df = pd.DataFrame({"y": y, "x": x})
    profile = fit_formula(df, "y ~ x", estimator="firth").iloc[0]
    wald = fit_formula(df, "y ~ x", estimator="firth_wald").iloc[0]
    assert np.isfinite([profile["ci_low"], profile["ci_high"]]).all()
    assert profile["ci_low"] > wald["ci_low"] and profile["ci_high"] > wald["ci_high"]
    b_hat = np.log(profile["odds_ratio"])
    assert np.log(profile["ci_high"]) - b_hat > b_hat - np.log(profile["ci_low"])  # longer upper arm
