"""Change since 2023 (calaim.stats.change), checked against published and hand computations."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.stats import change


def _wilson(x, n, z=1.959963984540054):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


@pytest.mark.parametrize(
    ("x1", "n1", "x2", "n2", "lo", "hi"),
    [
        (56, 70, 48, 80, 0.0524, 0.3339),  # Newcombe (1998), Stat Med 17:873-890, Table II example (a), method 10
        (9, 10, 3, 10, 0.1705, 0.8090),  # the same table, example (f)
    ],
)
def test_newcombe_interval_matches_the_paper_and_hand_computation(x1, n1, x2, n2, lo, hi):
    c = change.share_change(x1, n1, x2, n2)
    assert c.unit == "points"
    assert c.ci_low == pytest.approx(100 * lo, abs=0.01) and c.ci_high == pytest.approx(100 * hi, abs=0.01)
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = _wilson(x1, n1), _wilson(x2, n2)
    d = p1 - p2
    assert c.change == pytest.approx(100 * d)
    assert c.ci_low == pytest.approx(100 * (d - math.hypot(p1 - l1, u2 - p2)))
    assert c.ci_high == pytest.approx(100 * (d + math.hypot(u1 - p1, p2 - l2)))
    assert 0 < c.p_value < 0.05  # both intervals exclude 0


def test_no_change_is_not_significant():
    c = change.share_change(50, 100, 500, 1000)
    assert c.change == 0 and c.p_value == pytest.approx(1.0) and c.ci_low < 0 < c.ci_high


def test_welch_by_hand():
    c = change.mean_change(6.2, 2.0, 150, 5.9, 2.2, 1196)
    v1, v2 = 2.0**2 / 150, 2.2**2 / 1196
    df = (v1 + v2) ** 2 / (v1**2 / 149 + v2**2 / 1195)
    t = stats.t.ppf(0.975, df)
    assert c.change == pytest.approx(0.3)
    assert c.ci_low == pytest.approx(0.3 - t * math.sqrt(v1 + v2))
    ref = stats.ttest_ind_from_stats(6.2, 2.0, 150, 5.9, 2.2, 1196, equal_var=False)
    assert c.p_value == pytest.approx(ref.pvalue)
    assert not change.mean_change(6.2, None, 150, 5.9, None, 1196).testable


def test_ratio_of_odds_ratios():
    c = change.ratio_change(2.0, 1.0, 4.0, 2.0, 1.0, 4.0)
    assert c.change == pytest.approx(1.0) and c.p_value == pytest.approx(1.0)
    se = math.hypot(math.log(4) / (2 * change.Z), math.log(4) / (2 * change.Z))
    assert c.ci_high == pytest.approx(math.exp(change.Z * se))


def test_holm_within_section_and_verdicts():
    ev = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "section": ["s1", "s1", "s2", "s2", "s2"],
            "statistic": ["share", "share", "share", "mean", "share"],
            "published": [60.0, 50.0, 30.0, 5.9, 40.0],
            "published_n": [1000, 1000, 1000, 1196, np.nan],
            "reproduced": [70.0, 51.0, 20.0, 6.5, 45.0],
            "base": [1000, 1000, 1000, 1500, 1500],
            "ci_low": np.nan,
            "ci_high": np.nan,
            "status": "computed",
            "suppressed": False,
        }
    )
    t = change.change_table(ev).set_index("id")
    raw_b = change.share_change(510, 1000, 500, 1000).p_value
    raw_a = change.share_change(700, 1000, 600, 1000).p_value
    assert t.loc["b", "p_holm"] == pytest.approx(min(1, max(2 * raw_a, raw_b)))  # Holm, 2 tests in s1
    assert t.loc["c", "p_holm"] == pytest.approx(t.loc["c", "p"])  # only test in s2
    assert t.loc["a", "verdict"] == "changed" and t.loc["a", "direction"] == "up"
    assert t.loc["c", "direction"] == "down"
    assert t.loc["b", "verdict"] == "no detectable change"
    assert t.loc["d", "verdict"] == "not comparable" and t.loc["d", "change"] == pytest.approx(0.6)
    assert t.loc["e", "reason"] == "no published base"


def test_a_published_bound_is_not_tested_as_a_point():
    """'Over 90%' (comparison gt) says only where the 2023 value lies: no change can be tested
    against 90 as if it were the 2023 share; the same row stated as a point is tested."""
    row = {"statistic": "share", "reproduced": 86.0, "base": 1000, "published": 90.0, "published_n": 1196,
           "status": "computed", "suppressed": False}
    bound = change.row_change(row | {"comparison": "gt"})
    assert math.isnan(bound.change) and math.isnan(bound.p_value) and bound.reason == "published only as a bound"
    point = change.row_change(row | {"comparison": "eq"})
    # the 2023 count is the published share of the published base: round(0.90 * 1196) = 1076
    assert point.change == pytest.approx(86.0 - 100 * 1076 / 1196) and point.p_value < 0.05
    ev = pd.DataFrame([row | {"id": "b", "section": "s1", "comparison": "gt", "ci_low": 84.0, "ci_high": 88.0}])
    assert change.change_table(ev).loc[0, "verdict"] == change.NOT_COMPARABLE


def test_degenerate_shares_do_not_warn():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        c = change.share_change(0, 50, 0, 400)
    assert c.change == 0 and c.p_value == 1.0


# ------------------------------------------------------------------ previous wave's microdata
def _row(stat, value, base, lo=np.nan, hi=np.nan, rid="x", **extra):
    return {"id": rid, "section": "s1", "statistic": stat, "reproduced": value, "base": base,
            "ci_low": lo, "ci_high": hi, "status": "computed", "suppressed": False} | extra


def test_micro_share_change_uses_both_samples_counts():
    # 56 of 70 this wave against 48 of 80 in the previous file: Newcombe (1998) Table II (a)
    c = change.micro_change(_row("share", 100 * 56 / 70, 70), _row("share", 100 * 48 / 80, 80))
    assert c.ci_low == pytest.approx(5.24, abs=0.01) and c.ci_high == pytest.approx(33.39, abs=0.01)
    assert c.change == pytest.approx(100 * (56 / 70 - 48 / 80))


def test_micro_mean_change_is_welch_on_the_raw_samples():
    """The SE recovered from each wave's t interval gives exactly Welch's test on the raw data."""
    from calaim.stats import estimate

    rng = np.random.default_rng(7)
    new, old = rng.normal(6.4, 1.8, 140), rng.normal(5.9, 2.6, 95)
    e_new, e_old = estimate.mean(new, min_base=1), estimate.mean(old, min_base=1)
    c = change.micro_change(
        _row("mean", e_new.value, e_new.base, e_new.ci_low, e_new.ci_high),
        _row("mean", e_old.value, e_old.base, e_old.ci_low, e_old.ci_high),
    )
    ref = stats.ttest_ind(new, old, equal_var=False)
    assert c.p_value == pytest.approx(ref.pvalue, rel=1e-9)
    lo, hi = ref.confidence_interval(0.95)
    assert (c.ci_low, c.ci_high) == (pytest.approx(lo, rel=1e-9), pytest.approx(hi, rel=1e-9))


def test_micro_change_untested_when_either_side_is_missing_or_suppressed():
    ok = _row("share", 50.0, 100)
    assert change.micro_change(ok, {"statistic": "", "status": "not in data"}).reason == "not in data"
    assert change.micro_change(ok, _row("share", 50.0, 5, suppressed=True)).reason == "no estimate"
    assert math.isnan(change.micro_change(_row("share", 50.0, 5, suppressed=True), ok).p_value)


def test_change_table_against_previous_microdata_replaces_the_published_values():
    ev = pd.DataFrame([_row("share", 70.0, 1000, rid="a"), _row("share", 51.0, 1000, rid="b")]).assign(
        published=[10.0, 10.0], published_n=[5, 5]
    )
    prev = pd.DataFrame([_row("share", 60.0, 1000, rid="a"), _row("share", 50.0, 1000, rid="b")])
    t = change.change_table(ev, previous=prev).set_index("id")
    assert t["published_2023"].tolist() == [60.0, 50.0]  # the previous wave, not the published 10
    assert t.loc["a", "p"] == pytest.approx(change.share_change(700, 1000, 600, 1000).p_value)
    assert t.loc["a", "verdict"] == "changed" and t.loc["b", "verdict"] == "no detectable change"


def test_chapter_compares_with_previous_wave_microdata(tmp_path):
    """``setup(compare_data=OLD)``: the scorecard's comparison column is the registry evaluated on
    the old file, and a file compared with itself shows no change anywhere."""
    from calaim.book import chapter
    from calaim.stats import findings

    lines = chapter.DEFAULT_DATA.read_text(encoding="utf-8").splitlines(keepends=True)
    old = tmp_path / "wave_2023_subset.csv"
    old.write_text("".join(lines[:1] + lines[1::2]), encoding="utf-8")  # every second respondent

    ctx = chapter.setup(str(chapter.DEFAULT_DATA), wave="2024", compare_data=str(old))
    assert ctx.comparing and ctx.previous is not None
    assert "wave_2023_subset.csv" in ctx.header().data
    ch = ctx.changes(["s2"]).set_index("id")
    ref = findings.evaluate(ctx.previous, min_base=ctx.min_base).set_index("id")
    shared = ch.index[ch["published_2023"].notna()]
    assert len(shared) > 10
    assert np.allclose(ch.loc[shared, "published_2023"], pd.to_numeric(ref.loc[shared, "reproduced"]))
    card = ctx.scorecard("s2")
    assert {"previous wave", "previous base", "verdict"} <= set(card.columns)
    assert "2023 published" not in card.columns

    same = chapter.setup(str(old), compare_data=str(old)).changes(["s2"])
    tested = same[same["p"].notna()]
    assert len(tested) > 10 and (tested["change"].abs() < 1e-9).all() and (tested["verdict"] != "changed").all()
