"""calaim.stats.tables against numbers worked out by hand."""

import math

import numpy as np
import pandas as pd
import pytest

from calaim.stats import tables


def derived(values, subgroup=None):
    n = len(values)
    return pd.DataFrame(
        {
            "pop_complete": [True] * n,
            "x": values,
            "grp": subgroup if subgroup is not None else [True] * n,
        }
    )


def test_share_base_excludes_not_applicable_and_missing():
    # 1,2 = better; 3 = same; 8 = unsure (stays in base); 97 = N/A (leaves); NaN = not answered
    f = derived([1, 2, 3, 8, 97, np.nan, 1, 3])
    r = tables.share(f, "x", [1, 2], exclude=[97], min_base=1)
    assert r["base"] == 6
    assert r["count"] == 3
    assert r["value"] == pytest.approx(50.0)


def test_wilson_interval_by_hand():
    # k = 3, n = 6, z = 1.959964: centre (p + z^2/2n) / (1 + z^2/n), half-width z/(1+z^2/n) sqrt(p(1-p)/n + z^2/4n^2)
    z, k, n = 1.959963984540054, 3, 6
    p = k / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z / denom * math.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    lo, hi = tables.wilson(k, n)
    assert float(lo) == pytest.approx(centre - half, abs=1e-9)
    assert float(hi) == pytest.approx(centre + half, abs=1e-9)


def test_small_bases_are_suppressed():
    f = derived([1] * 10 + [3] * 10)
    r = tables.share(f, "x", [1], min_base=30)
    assert r["suppressed"] and np.isnan(r["value"]) and r["base"] == 20
    r = tables.share(f, "x", [1], min_base=20)
    assert not r["suppressed"] and r["value"] == pytest.approx(50.0)


def test_mean_and_t_interval_by_hand():
    f = derived([2, 4, 6, 8])
    r = tables.mean(f, "x", min_base=1)
    # mean 5, sd sqrt(20/3), t(0.975, 3) = 3.182446
    half = 3.182446305284263 * math.sqrt(20 / 3) / 2
    assert r["value"] == pytest.approx(5.0)
    assert r["ci_low"] == pytest.approx(5 - half, abs=1e-6)


def test_overlapping_subgroups_count_a_respondent_twice():
    f = derived([1, 1, 3, 3])
    f["a"] = [True, True, True, False]
    f["b"] = [True, False, True, True]
    t = tables.by_subgroups(f, "x", [1], {"a": "A", "b": "B"}, min_base=1)
    assert t["base"].tolist() == [4, 3, 3]
    assert t["value"].round(4).tolist() == [50.0, round(200 / 3, 4), round(100 / 3, 4)]


def test_release_hides_declared_counts_and_the_estimates_resting_on_them():
    """Appendix B's "rows of Table B1" on the default data: 9 and 4 respondents in 6 and 7 rows
    (of 1,196 completes). In public, those counts and their shares of the completes go; a text
    CI column gets the dash; an integer count column stays whole numbers."""
    t = pd.DataFrame(
        {
            "rows": ["5 rows", "6 rows", "7 rows"],
            "respondents": [16, 9, 4],
            "share (%)": [1.34, 0.75, 0.33],
            "95% CI": ["0.8 to 2.2", "0.4 to 1.4", "0.1 to 0.9"],
        }
    )
    rests = {("share (%)", "95% CI"): (None, "respondents")}
    public = tables.release(t, ["respondents"], rests, policy=tables.DisclosurePolicy(11))
    assert public["respondents"].tolist() == [16, pd.NA, pd.NA]
    assert public["share (%)"].isna().tolist() == [False, True, True]
    assert public["95% CI"].tolist() == ["0.8 to 2.2", "–", "–"]
    kept = tables.release(t, ["respondents"], rests, policy=tables.DisclosurePolicy(0))
    pd.testing.assert_frame_equal(kept, t.astype({"respondents": "Int64"}))
    # a base below min_base blanks the share whatever the policy; base minus count counts too
    s = pd.DataFrame({"base": [20, 100, 100], "k": [10, 95, 50], "pct": [50.0, 95.0, 50.0]})
    out = tables.release(s, estimates={"pct": ("base", "k")}, min_base=30, policy=tables.DisclosurePolicy(11))
    assert out["pct"].isna().tolist() == [True, True, False]
