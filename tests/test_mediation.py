"""Batched mediation (calaim.stats.mediation) against statsmodels' Mediation, the reference."""

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from calaim.stats import mediation as md

KW = {"mediator": "m", "outcome": "y", "covariates": ("z",), "population": "all"}


def _mediated(n=3000, direct=0.0, seed=5):
    """x raises m strongly and m raises y strongly; x's direct effect on y is ``direct``."""
    rng = np.random.default_rng(seed)
    x = rng.binomial(1, 0.5, n).astype(float)
    z = rng.binomial(1, 0.4, n).astype(float)
    m = rng.binomial(1, expit(-1.5 + 2.0 * x + 0.3 * z)).astype(float)
    y = rng.binomial(1, expit(-1.0 + 2.0 * m + direct * x + 0.2 * z)).astype(float)
    return pd.DataFrame({"x": x, "m": m, "y": y, "z": z, "pop_all": True})


def test_mediation_finds_a_purely_indirect_path():
    df = _mediated()
    res = md.mediation(df, "x", **KW, n_rep=200, seed=1)
    by = res.set_index("effect")
    indirect, direct = by.loc["indirect (through the mediator)"], by.loc["direct"]
    assert indirect["ci_low_pp"] > 10  # x -> m -> y moves y by tens of points
    assert direct["ci_low_pp"] < 0 < direct["ci_high_pp"]
    # full-sample plug-in estimates: total = indirect + direct exactly
    assert by.loc["total", "estimate_pp"] == pytest.approx(indirect["estimate_pp"] + direct["estimate_pp"], abs=1e-9)
    assert (res["n"] == len(df)).all() and (res["method"] == "bootstrap").all()  # auto: a base under 5,000
    with pytest.raises(ValueError, match="unknown mediation method"):
        md.mediation(df, "x", **KW, method="sobel")
    with pytest.raises(ValueError, match="unknown mediation engine"):
        md.mediation(df, "x", **KW, engine="R")
    again = md.mediation(df, "x", **KW, n_rep=200, seed=1)
    pd.testing.assert_frame_equal(res, again)  # seeded: the same bootstrap every time


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_batched_replicates_equal_statsmodels_mediation_on_the_same_seed(method):
    """Same seed, same random-number order: the intervals and p-values of the batched fits are
    statsmodels' own (to rounding), for both the bootstrap and the parametric draws."""
    df = _mediated(600, direct=0.4, seed=11)
    ours = md.mediation(df, "x", **KW, n_rep=150, seed=7, method=method)
    ref = md.mediation(df, "x", **KW, n_rep=150, seed=7, method=method, engine="statsmodels")
    cols = ["estimate_pp", "ci_low_pp", "ci_high_pp", "p_value"]
    np.testing.assert_allclose(ours[cols].to_numpy(), ref[cols].to_numpy(), rtol=0, atol=1e-6)
    # and the bounds differ between seeds, so the comparison above can fail
    other = md.mediation(df, "x", **KW, n_rep=150, seed=8, method=method)
    assert not np.allclose(ours["ci_low_pp"], other["ci_low_pp"], atol=1e-3)


@pytest.mark.parametrize("method", ["bootstrap", "parametric"])
def test_replicates_in_blocks_equal_replicates_at_once(method, monkeypatch):
    """On a large file the replicates are simulated a block at a time (bounded memory); the
    draws stay in order, so every interval and p-value is the one of a single block."""
    df = _mediated(600, direct=0.4, seed=11)
    whole = md.mediation(df, "x", **KW, n_rep=150, seed=7, method=method)
    monkeypatch.setattr(md, "BLOCK_CELLS", 600 * 7)  # blocks of 7 replicates, the last one of 3
    blocks = md.mediation(df, "x", **KW, n_rep=150, seed=7, method=method)
    cols = ["estimate_pp", "ci_low_pp", "ci_high_pp", "p_value"]
    np.testing.assert_allclose(blocks[cols].to_numpy(), whole[cols].to_numpy(), rtol=0, atol=1e-10)


def test_batched_newton_matches_statsmodels_glm_to_1e_8_on_resamples():
    df = _mediated(400, direct=0.5, seed=3)
    X = sm.add_constant(df[["x", "m", "z"]].to_numpy())
    y = df["y"].to_numpy()
    rng = np.random.default_rng(0)
    idx = [rng.integers(0, len(y), len(y)) for _ in range(5)]
    weights = np.array([np.bincount(i, minlength=len(y)) for i in idx])
    beta, converged = md.logit_newton(y, X, weights)
    assert converged.all()
    for b, i in zip(beta, idx, strict=True):
        ref = sm.GLM(y[i], X[i], family=sm.families.Binomial()).fit(tol=1e-12).params
        np.testing.assert_allclose(b, ref, rtol=0, atol=1e-8)


def test_estimate_is_the_full_sample_plug_in_not_the_replicate_mean():
    """The reported indirect effect is computed by hand from statsmodels' full-sample GLM fits
    (mediator averaged over its fitted probability), to 1e-8."""
    df = _mediated(500, direct=0.3, seed=2)
    res = md.mediation(df, "x", **KW, n_rep=100, seed=3).set_index("effect")
    binom = sm.families.Binomial()
    fo = sm.GLM(df["y"], sm.add_constant(df[["x", "m", "z"]]), family=binom).fit(tol=1e-12).params
    fm = sm.GLM(df["m"], sm.add_constant(df[["x", "z"]]), family=binom).fit(tol=1e-12).params

    def po(tm, te):  # E[Y(te, M(tm))], averaged over respondents
        pm = expit(fm["const"] + fm["x"] * tm + fm["z"] * df["z"])
        lin = fo["const"] + fo["x"] * te + fo["z"] * df["z"]
        return (pm * expit(lin + fo["m"]) + (1 - pm) * expit(lin)).mean()

    acme = ((po(1, 0) - po(0, 0)) + (po(1, 1) - po(0, 1))) / 2
    ade = ((po(0, 1) - po(0, 0)) + (po(1, 1) - po(1, 0))) / 2
    assert res.loc["indirect (through the mediator)", "estimate_pp"] == pytest.approx(100 * acme, abs=1e-8)
    assert res.loc["direct", "estimate_pp"] == pytest.approx(100 * ade, abs=1e-8)
    assert res.loc["share mediated", "estimate_pp"] == pytest.approx(100 * acme / (acme + ade), abs=1e-8)


def test_parametric_draws_agree_with_the_bootstrap_above_the_switch():
    """Above BOOTSTRAP_MAX_N, ``auto`` switches to parametric draws: on such a base their
    intervals agree with the bootstrap's to a small fraction of the interval width."""
    df = _mediated(md.BOOTSTRAP_MAX_N + 1000, direct=0.4, seed=9)
    auto = md.mediation(df, "x", **KW, n_rep=400, seed=4)
    boot = md.mediation(df, "x", **KW, n_rep=400, seed=4, method="bootstrap")
    assert (auto["method"] == "parametric").all()
    width = boot["ci_high_pp"] - boot["ci_low_pp"]
    for col in ("ci_low_pp", "ci_high_pp"):
        assert ((auto[col] - boot[col]).abs() < 0.2 * width).all(), (auto[col], boot[col], width)
    pd.testing.assert_series_equal(auto["estimate_pp"], boot["estimate_pp"])  # same full-sample estimate


def test_format_p_shows_zero_as_below_one_replicate():
    assert md.format_p(0.0, 1000) == "< 0.001"
    assert md.format_p(0.0, 200) == "< 0.005"
    assert md.format_p(0.0421, 1000) == "0.042"
    assert md.format_p(float("nan"), 1000) == "–"


def test_mediation_names_missing_columns():
    with pytest.raises(KeyError, match="not in this data set: m"):
        md.mediation(_mediated(200).drop(columns="m"), "x", mediator="m", outcome="y", covariates=(), population="all")


def test_mediation_refuses_an_empty_or_flat_base():
    with pytest.raises(ValueError, match="complete cases"):
        md.mediation(_mediated(10), "x", mediator="m", outcome="y", covariates=(), population="all")
    with pytest.raises(ValueError, match="does not vary"):
        md.mediation(_mediated(200).assign(m=1.0), "x", mediator="m", outcome="y", covariates=(), population="all")
