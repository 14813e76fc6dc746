"""Disclosure control: min_base suppression everywhere, and the public-release rule (no count
of 1 to 10 respondents) in calaim.stats.tables, calaim.stats.findings and calaim.book.chapter, on frames whose
numbers are worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_findings import hand_frame, reg_row

from calaim.book import chapter
from calaim.stats import findings, tables

PUBLIC = tables.DisclosurePolicy.for_release(True)


def frame(ones: int, zeros: int, group_size: int | None = None) -> pd.DataFrame:
    """``ones`` respondents with x = 1 then ``zeros`` with x = 0; the first ``group_size`` in grp."""
    n = ones + zeros
    return pd.DataFrame(
        {
            "pop_complete": [True] * n,
            "x": [1.0] * ones + [0.0] * zeros,
            "y": [float(i % 5) for i in range(n)],
            "grp": [i < (group_size if group_size is not None else n) for i in range(n)],
        }
    )


def is_nan(v) -> bool:
    return isinstance(v, float) and math.isnan(v)


# ---------------------------------------------------------------------------- the default
def test_default_policy_changes_nothing():
    assert tables.NO_POLICY == tables.DisclosurePolicy(0) and not tables.NO_POLICY.public
    r = tables.share(frame(5, 35), "x", [1], min_base=30)
    lo, hi = tables.wilson(5, 40)
    assert r == {
        "value": 12.5,
        "ci_low": 100 * float(lo),
        "ci_high": 100 * float(hi),
        "count": 5,
        "base": 40,
        "suppressed": False,
    }
    assert type(r["count"]) is int and type(r["base"]) is int
    small = tables.share(frame(5, 3), "x", [1], min_base=30)  # base 8 < 30: the min_base rule only
    assert small["suppressed"] and is_nan(small["value"]) and small["count"] == 5 and small["base"] == 8


def test_min_base_suppresses_in_every_table_function():
    f = frame(20, 20, group_size=12)
    assert tables.share(f, "x", [1], subgroup="grp", min_base=30)["suppressed"]
    assert tables.mean(f, "y", subgroup="grp", min_base=30)["suppressed"]
    d = tables.distribution(f, "x", {0: "no", 1: "yes"}, subgroup="grp", min_base=30)
    assert d["suppressed"].all() and d["value"].isna().all()
    g = tables.grid(f, {"x": "X"}, {"yes": [1]}, subgroup="grp", min_base=30)
    assert g["suppressed"].all() and g["value"].isna().all()
    b = tables.by_subgroups(f, "x", [1], {"grp": "Group"}, min_base=30).set_index("subgroup")
    assert not b.loc["Overall", "suppressed"] and b.loc["Overall", "value"] == 50.0
    assert b.loc["Group", "suppressed"] and math.isnan(b.loc["Group", "value"]) and b.loc["Group", "base"] == 12
    m = tables.means_by_subgroups(f, "y", {"grp": "Group"}, min_base=30).set_index("subgroup")
    assert m.loc["Group", "suppressed"] and math.isnan(m.loc["Group", "value"])


# ---------------------------------------------------------------------------- public
@pytest.mark.parametrize(
    "ones, zeros, suppressed",
    [
        (5, 35, True),  # 5 respondents said yes: a count below 11
        (35, 5, True),  # 87.5% of 40 reveals the 5 who did not
        (1, 39, True),
        (39, 1, True),
        (10, 30, True),
        (11, 29, False),  # 11 and 29: both may be shown
        (29, 11, False),
        (0, 40, False),  # nobody is not a small count
        (40, 0, False),
    ],
)
def test_public_share_suppresses_counts_below_11(ones, zeros, suppressed):
    r = tables.share(frame(ones, zeros), "x", [1], min_base=30, policy=PUBLIC)
    assert r["suppressed"] is suppressed
    assert r["base"] == 40
    if suppressed:
        assert is_nan(r["value"]) and is_nan(r["ci_low"]) and is_nan(r["count"])
    else:
        assert r["value"] == pytest.approx(100 * ones / 40) and r["count"] == ones


def test_public_hides_small_bases_even_with_a_small_min_base():
    f = frame(20, 20, group_size=8)  # the group: 8 respondents, all x = 1
    r = tables.share(f, "x", [1], subgroup="grp", min_base=1, policy=PUBLIC)
    assert r["suppressed"] and is_nan(r["value"]) and is_nan(r["base"]) and is_nan(r["count"])
    m = tables.mean(f, "y", subgroup="grp", min_base=1, policy=PUBLIC)
    assert m["suppressed"] and is_nan(m["value"]) and is_nan(m["base"])
    m = tables.mean(frame(20, 20, group_size=11), "y", subgroup="grp", min_base=1, policy=PUBLIC)
    assert not m["suppressed"] and m["base"] == 11 and m["value"] == pytest.approx(np.mean([i % 5 for i in range(11)]))
    # the same calls without the public policy show everything
    r = tables.share(f, "x", [1], subgroup="grp", min_base=1)
    assert not r["suppressed"] and r["value"] == 100.0 and r["base"] == 8


def test_public_rule_reaches_distributions_and_subgroup_tables():
    f = pd.DataFrame({"pop_complete": [True] * 50, "x": [1.0] * 30 + [2.0] * 15 + [3.0] * 5, "grp": [True] * 50})
    d = tables.distribution(f, "x", {1: "a", 2: "b", 3: "c"}, min_base=30, policy=PUBLIC).set_index("response")
    assert list(d["suppressed"]) == [False, False, True]  # 30, 15 and 5 of 50
    assert d.loc["a", "value"] == 60.0 and d.loc["b", "value"] == 30.0 and math.isnan(d.loc["c", "value"])
    assert math.isnan(d.loc["c", "count"])


def test_suppress_count():
    assert is_nan(tables.suppress_count(10, PUBLIC)) and tables.suppress_count(11, PUBLIC) == 11
    assert tables.suppress_count(0, PUBLIC) == 0
    s = tables.suppress_count(pd.Series([0, 3, 11, 250], index=list("abcd")), PUBLIC)
    assert s.isna().tolist() == [False, True, False, False] and list(s.index) == list("abcd")
    assert np.isnan(tables.suppress_count(np.array([1, 20]), PUBLIC)).tolist() == [True, False]
    assert tables.suppress_count(3) == 3


# ---------------------------------------------------------------------------- findings
def test_findings_small_count_rule_by_hand():
    # hand_frame (tests/test_findings.py): 8 completes; served_access better (1, 2) = 3 of 6
    rows = [
        reg_row("access", exclude_codes="97", published=50),
        reg_row("n_complete", statistic="count", item="", codes="", published=8),
        reg_row("n_very", statistic="count", item="familiarity", codes="1", published=4),
        reg_row("sat_mcp", statistic="mean", item="satisfaction", codes="", subgroup="sector_mcp", published=7.5),
    ]
    reg = pd.DataFrame(rows)
    plain = findings.evaluate(hand_frame(), registry=reg, min_base=1, policy=tables.DisclosurePolicy(0)).set_index("id")
    assert not plain["suppressed"].any()
    assert plain["base"].tolist() == [6, 8, 8, 2]

    ev = findings.evaluate(hand_frame(), registry=reg, min_base=1, policy=tables.DisclosurePolicy(4)).set_index("id")
    assert ev.loc["access", "suppressed"]  # 3 of 6: a count below 4
    assert ev.loc["access", "base"] == 6  # the base itself may be shown
    assert not ev.loc["n_complete", "suppressed"] and ev.loc["n_complete", "base"] == 8
    assert not ev.loc["n_very", "suppressed"]  # 4 of 8, and 4 not
    assert ev.loc["sat_mcp", "suppressed"] and pd.isna(ev.loc["sat_mcp", "base"])  # base 2

    ev = findings.evaluate(hand_frame(), registry=reg, min_base=1, policy=tables.DisclosurePolicy(9)).set_index("id")
    assert ev["suppressed"].all()
    assert ev["base"].isna().all()
    # the hidden number and its CI are blank, so no table or CSV built from these rows can show
    # them, and the status is "suppressed": match / miss computed from it would reveal it
    assert ev[["reproduced", "ci_low", "ci_high"]].isna().all().all()
    assert (ev["status"] == "suppressed").all()
    assert plain.loc["n_complete", "reproduced"] == 8


def test_suppressed_status_does_not_depend_on_the_hidden_value():
    """The side channel: a published 98% for a group of 2 that both answer "familiar" used to show
    "match" beside a dash; now the same rows with a matching and a missing published value give
    identical public scorecard rows (apart from the published column)."""
    # hand_frame: sector_mcp holds 2 respondents (base 2), their satisfaction mean is 7.5
    near = reg_row("sat_mcp", statistic="mean", item="satisfaction", codes="", subgroup="sector_mcp", published=7.5)
    far = dict(near, published=1.0)
    for min_base, policy in ((30, tables.NO_POLICY), (1, PUBLIC)):
        cards = [
            chapter.scorecard_table(
                findings.evaluate(hand_frame(), registry=pd.DataFrame([r]), min_base=min_base, policy=policy)
            )
            for r in (near, far)
        ]
        for card in cards:
            assert card.loc[0, "status"] == "suppressed" and card.loc[0, "reproduced"] == "–"
        assert cards[0].drop(columns="published").equals(cards[1].drop(columns="published"))
    shown = findings.evaluate(hand_frame(), registry=pd.DataFrame([near, far]), min_base=1, policy=tables.NO_POLICY)
    assert shown["status"].tolist() == ["match", "miss"]  # unsuppressed, the comparison is shown
    fid = findings.fidelity(findings.evaluate(hand_frame(), registry=pd.DataFrame([near, far]), min_base=30))
    assert (fid["evaluated"], fid["suppressed"]) == (0, 2)


def test_findings_follow_the_policy_they_are_given():
    reg = pd.DataFrame([reg_row("access", exclude_codes="97", published=50)])
    assert not findings.evaluate(hand_frame(), registry=reg, min_base=1)["suppressed"].any()
    public = findings.evaluate(hand_frame(), registry=reg, min_base=1, policy=PUBLIC)
    assert public["suppressed"].all() and public["base"].isna().all()
    table = chapter.scorecard_table(public)
    assert table.loc[0, "reproduced"] == "–" and table.loc[0, "95% CI"] == "–" and table.loc[0, "base"] == ""


# ---------------------------------------------------------------------------- chapter.setup
def test_setup_sets_the_policy_from_public_only(monkeypatch, cb, tmp_path, valid_frame):
    from calaim.data import io

    path = io.write(valid_frame, tmp_path / "survey.csv", cb)
    ctx = chapter.setup(str(path), cb=cb, public=True)
    assert ctx.public and ctx.policy.min_count == 11 and ctx.tables.policy == PUBLIC
    assert "Public release" in ctx.header().data
    ctx = chapter.setup(str(path), cb=cb)
    assert not ctx.public and ctx.policy.min_count == 0 and ctx.tables.policy == tables.NO_POLICY
    assert "Public release" not in ctx.header().data
    monkeypatch.setenv("CALAIM_PUBLIC", "1")  # the old switch: library code reads no environment variable
    ctx = chapter.setup(str(path), cb=cb, public=False)
    assert not ctx.public and ctx.policy.min_count == 0 and ctx.tables.policy == tables.NO_POLICY
