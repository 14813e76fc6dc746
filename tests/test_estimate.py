"""The estimate kernel (calaim.stats.estimate): values, intervals and suppression worked out by
hand; it is the one place that computes a share's CI; a figure's table and the scorecard row for
the same number agree on the synthetic default; the prepared-data cache is keyed by content."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pandas as pd
import pytest

from calaim import ROOT
from calaim.book import chapter, display
from calaim.stats import estimate, findings, tables

Z = 1.959963984540054


def wilson_by_hand(k: int, n: int) -> tuple[float, float]:
    centre = (k + Z * Z / 2) / (n + Z * Z)
    half = Z / (n + Z * Z) * math.sqrt(k * (n - k) / n + Z * Z / 4)
    return 100 * (centre - half), 100 * (centre + half)


def test_share_value_ci_and_fields():
    e = estimate.share([1, 1, 1, 1, 1] + [2] * 35, [1])
    lo, hi = wilson_by_hand(5, 40)
    assert e.value == pytest.approx(12.5) and e.base == 40 and e.count == 5
    assert e.ci_low == pytest.approx(lo) and e.ci_high == pytest.approx(hi)
    assert not e.suppressed and e.reason == "" and "Wilson" in e.method
    with pytest.raises(dataclass_frozen_error()):
        e.value = 1.0  # type: ignore[misc]


def dataclass_frozen_error():
    from dataclasses import FrozenInstanceError

    return FrozenInstanceError


def test_min_base_suppresses_but_keeps_the_value():
    e = estimate.share_of(10, 29, min_base=30)
    assert e.suppressed and e.reason == "base below 30"
    assert e.value == pytest.approx(100 * 10 / 29)  # kept for the registry's comparison
    shown = e.released()
    assert np.isnan(shown["value"]) and np.isnan(shown["ci_low"]) and shown["base"] == 29 and shown["count"] == 10


@pytest.mark.parametrize(
    ("k", "n", "suppressed"),
    [(10, 100, True), (90, 100, True), (11, 100, False), (89, 100, False), (0, 100, False), (100, 100, False)],
)
def test_public_rule_on_counts_and_complements(k, n, suppressed):
    public = estimate.DisclosurePolicy.for_release(True)
    e = estimate.share_of(k, n, min_base=30, policy=public)
    assert e.suppressed is suppressed
    assert bool(np.isnan(e.released()["count"])) is suppressed  # a suppressed count is not released
    assert not estimate.share_of(k, n, min_base=30).suppressed  # no public rule: nothing suppressed


def test_public_rule_hides_a_tiny_base():
    e = estimate.share_of(3, 7, min_base=5, policy=estimate.DisclosurePolicy(11))
    assert e.suppressed and e.reason == "base of 1 to 10" and np.isnan(e.released()["base"])


def test_mean_t_interval_by_hand():
    v = [1.0, 2.0, 3.0, 4.0]
    e = estimate.mean(v, min_base=2)
    half = 3.182446305284263 * np.std(v, ddof=1) / 2  # t(0.975, 3) * s / sqrt(4)
    assert e.value == 2.5 and e.base == 4 and np.isnan(e.count)
    assert e.ci_low == pytest.approx(2.5 - half) and e.ci_high == pytest.approx(2.5 + half)
    assert estimate.mean(v, min_base=5).reason == "base below 5"


def test_count_and_public_count():
    e = estimate.count([1, 1, 2, 3], codes=[1])
    assert (e.value, e.base, e.suppressed) == (2.0, 4, False)
    assert estimate.count(np.ones(12), policy=estimate.DisclosurePolicy(11)).value == 12
    assert estimate.count(np.ones(5), policy=estimate.DisclosurePolicy(11)).suppressed


def test_weighted_share_with_its_effective_n_wilson_interval_by_hand():
    # 4 respondents answer 1 (weight 2 each), 6 answer 2 (weight 1 each)
    values = [1] * 4 + [2] * 6
    w = [2.0] * 4 + [1.0] * 6
    e = estimate.share(values, [1], min_base=5, weights=w)
    # share = 8 / 14; effective n = 14^2 / (4 * 4 + 6) = 196 / 22; Wilson on k = share * neff
    neff = 196 / 22
    p = 8 / 14
    centre = (p * neff + Z * Z / 2) / (neff + Z * Z)
    half = Z / (neff + Z * Z) * math.sqrt(neff * p * (1 - p) + Z * Z / 4)
    assert e.value == pytest.approx(100 * p) and e.effective_n == pytest.approx(neff)
    assert e.ci_low == pytest.approx(100 * (centre - half)) and e.ci_high == pytest.approx(100 * (centre + half))
    assert (e.base, e.count, e.weighted) == (10, 4, True) and "effective n" in e.method
    assert e.released()["effective_n"] == pytest.approx(neff)
    assert "effective_n" not in estimate.share(values, [1], min_base=5).released()


def test_weighted_mean_linearisation_interval_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    w = np.array([1.0, 1.0, 2.0, 4.0])
    e = estimate.mean(y, min_base=2, weights=w)
    m = (1 + 2 + 6 + 16) / 8  # 3.125
    z = w * (y - m) / 8
    se = math.sqrt(4 / 3 * np.sum((z - z.mean()) ** 2))
    half = 3.182446305284263 * se  # t(0.975, 3)
    assert e.value == pytest.approx(m) and e.base == 4 and e.effective_n == pytest.approx(64 / 22)
    assert e.ci_low == pytest.approx(m - half) and e.ci_high == pytest.approx(m + half)
    assert "linearisation" in e.method and e.weighted


@pytest.mark.parametrize("policy", [estimate.NO_POLICY, estimate.DisclosurePolicy(11)])
def test_equal_weights_give_the_unweighted_estimate_field_for_field(policy):
    rng = np.random.default_rng(16)
    for n in (0, 1, 7, 29, 30, 31, 123, 1000):
        values = rng.integers(1, 6, n).astype(float)
        ones = np.ones(n)
        pairs = [
            (estimate.share(values, [1, 2], 30, policy), estimate.share(values, [1, 2], 30, policy, ones)),
            (estimate.mean(values, 30, policy), estimate.mean(values, 30, policy, ones)),
            (estimate.count(values, [3], policy), estimate.count(values, [3], policy, ones)),
        ]
        for plain, weighted in pairs:
            a, b = dataclasses.asdict(plain), dataclasses.asdict(weighted)
            assert b.pop("weighted") and not a.pop("weighted")
            assert b.pop("method").startswith(a.pop("method"))
            assert a.keys() == b.keys()
            for key in a:  # identical, not approximately equal
                assert a[key] == b[key] or (pd.isna(a[key]) and pd.isna(b[key])), (n, key)


def test_bad_weights_are_clear_errors():
    with pytest.raises(ValueError, match="zero: row 2"):
        estimate.share([1, 2, 1], [1], weights=[1.0, 0.0, 2.0])
    with pytest.raises(ValueError, match="2 weights for 3 values"):
        estimate.mean([1, 2, 1], weights=[1.0, 2.0])
    with pytest.raises(TypeError):
        estimate.share_of(1, 2, weights=[1.0, 2.0])


def test_only_the_kernel_computes_a_share_ci_and_no_library_module_reads_the_public_switch():
    callers = sorted(
        p.relative_to(ROOT).as_posix()
        for p in (ROOT / "calaim").rglob("*.py")
        if re.search(r"\bproportion_confint\b", p.read_text(encoding="utf-8"))
    )
    assert callers == ["calaim/stats/estimate.py"]
    readers = [p.name for p in (ROOT / "calaim").rglob("*.py") if "CALAIM_PUBLIC" in p.read_text(encoding="utf-8")]
    assert readers == []


# ------------------------------------------------------- figure table vs scorecard row
@pytest.fixture(scope="module")
def default_ctx():
    return chapter.setup("", "2023", 30)


@pytest.mark.parametrize("public", [False, True])
def test_figure_value_equals_scorecard_value(default_ctx, public):
    """Every single-item share of the registry, computed as a figure computes it (tables.share,
    then the CSV form of display.figure_data), equals the scorecard's reproduced value, and is
    suppressed exactly when the scorecard row is."""
    policy = estimate.DisclosurePolicy.for_release(public)
    df = default_ctx.df
    reg = findings.load_registry()
    rows = reg[(reg["statistic"] == "share") & (reg["aggregate"] == "") & ~reg["item"].str.contains(r"\|")]
    ev = findings.evaluate(df, registry=rows, cb=default_ctx.cb, min_base=30, policy=policy).set_index("id")
    figure_rows, checked = [], 0
    for r in rows.to_dict("records"):
        if r["item"] not in df or (r["subgroup"] and r["subgroup"] not in df):
            continue
        pop, sub = r["population"] or None, r["subgroup"] or None
        s = tables.share(df, r["item"], r["codes"], pop, sub, r["exclude_codes"], 30, policy=policy)
        figure_rows.append({"id": r["id"], **s})
    fig = display.figure_data(pd.DataFrame(figure_rows), public=public).set_index("id")
    for rid, f in fig.iterrows():
        sc = ev.loc[rid]
        assert bool(f["suppressed"]) == bool(sc["suppressed"]), rid
        if not sc["suppressed"]:
            assert f["value"] == round(float(sc["reproduced"]), 4), rid
            assert f["ci_low"] == round(float(sc["ci_low"]), 4), rid
            checked += 1
    assert checked > 300  # the registry has several hundred shares: the test covers them


# ------------------------------------------------------- prepared-data cache
def test_prepared_cache_is_keyed_by_content(tmp_path, cb, valid_frame):
    from calaim.data import io

    path = io.write(valid_frame, tmp_path / "survey.csv", cb)
    chapter.write_prepared(path, cb)
    assert len(chapter.setup(str(path), cb=cb).df) == len(valid_frame)  # the cache is used
    data = bytearray(path.read_bytes())
    i = data.index(b",1,")  # one answer changed, same size: a size check would accept the cache
    data[i + 1 : i + 2] = b"2"
    path.write_bytes(bytes(data))
    with pytest.raises(RuntimeError, match="does not belong"):
        chapter.setup(str(path), cb=cb)
