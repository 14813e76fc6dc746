"""Registry statistics as registered classes (calaim.stats.statistics): every statistic the
registry uses has one class, and adding a statistic is one new class — checked by registering
a median here and evaluating it on the hand-made frame of tests/test_findings.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_findings import hand_frame, reg_row

from calaim.stats import findings, statistics


def test_every_statistic_of_the_registry_has_one_class():
    used = set(findings.load_registry()["statistic"])
    assert used <= set(statistics.STATISTICS)
    assert set(findings.STATISTICS) == set(statistics.STATISTICS)
    assert all(statistics.get(name).name == name for name in statistics.STATISTICS)
    with pytest.raises(ValueError, match="registered twice"):
        statistics.register(type("Again", (statistics.Share,), {}))


def test_tolerances_belong_to_their_classes():
    # the methods page's rules: shares 3 points on 100 or more, 6 below; means 0.3; counts exact
    assert findings.default_tolerance("share", 100) == 3.0 and findings.default_tolerance("share", 99) == 6.0
    assert findings.default_tolerance("mean", 50) == 0.3
    assert findings.default_tolerance("count", 5) == 0.0 and findings.default_tolerance("rank", 5) == 0.0
    assert np.isnan(findings.default_tolerance("odds_ratio", 500))


@pytest.fixture
def median_statistic():
    class Median(statistics.Statistic):
        """The median answer of a base (no interval), to 0.5."""

        name = "median"

        def tolerance(self, base):
            return 0.5

        def compute(self, ev, r, items, mask, codes, exclude, pick):
            v, _ = ev.answered_w(items[0], mask, exclude)
            if not len(v):
                raise statistics.Absent("empty base")
            return {"reproduced": float(np.median(v)), "base": len(v)}

    statistics.register(Median)
    yield Median
    del statistics.STATISTICS["median"]


def test_a_new_statistic_is_one_class(median_statistic):
    # hand_frame: completed respondents 1-8 rate satisfaction 8 7 5 4 6 3 2 9: median 5.5
    rows = [
        reg_row("sat_median", statistic="median", item="satisfaction", codes="", published=5.5),
        reg_row("sat_median_off", statistic="median", item="satisfaction", codes="", published=7),
    ]
    assert findings.check_registry(pd.DataFrame(rows)) == []
    ev = findings.evaluate(hand_frame(), registry=pd.DataFrame(rows), min_base=1).set_index("id")
    assert ev.loc["sat_median", "reproduced"] == 5.5 and ev.loc["sat_median", "base"] == 8
    assert ev.loc["sat_median", "tolerance"] == 0.5
    assert ev.loc["sat_median", "status"] == "match" and ev.loc["sat_median_off", "status"] == "miss"
    # the shared checks still apply to it
    bad = findings.check_registry(pd.DataFrame([reg_row("m", statistic="median", item="no_such", codes="")]))
    assert any("no_such" in p for p in bad)


def test_an_unknown_statistic_is_a_registry_problem():
    problems = findings.check_registry(pd.DataFrame([reg_row("x", statistic="mode")]))
    assert "x: unknown statistic 'mode'" in problems
