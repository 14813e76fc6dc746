"""calaim.book.report: the chapter layout helpers (moved from Section 1's notebook), on small
frames whose numbers are worked out by hand, under the rules of the context they are given."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from calaim.book import chapter, display, plots, report
from calaim.stats import tables

NAN = np.nan


@pytest.fixture
def shown(monkeypatch):
    """What the helpers would show in a notebook, collected here instead."""
    plots.set_theme()
    display.set_data_label(None)
    out = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: out.extend(objs))
    yield out
    plt.close("all")


def hand_frame() -> pd.DataFrame:
    """12 rows, the last 2 not completed. Among the 10 completes:
    goal_seamless  1 1 1 2 2 3 9 NaN 1 4  -> 9 answered: 4 strongly, 2 somewhat agree, 1 each of 3, 4, 9
    goal_value     2 2 2 2 1 1 9 9   3 3  -> 10 answered
    served_access  1 2 97 97 3 4 5 8 1 2  -> 97 (not applicable) leaves the base: 8 answered, 4 better
    familiarity    1 2 1 2 3 4 1 2 1 1;   sector_mcp: the first 4 completes
    satisfaction   8 9 7 8 5 6 4 5 6 7;   w: 2 for the first 4 completes, 1 for the rest."""
    n_complete = 10
    return pd.DataFrame(
        {
            "pop_complete": [True] * n_complete + [False, False],
            "goal_seamless": [1, 1, 1, 2, 2, 3, 9, NAN, 1, 4, 1, 1],
            "goal_value": [2, 2, 2, 2, 1, 1, 9, 9, 3, 3, 4, 4],
            "served_access": [1, 2, 97, 97, 3, 4, 5, 8, 1, 2, 1, 1],
            "familiarity": [1, 2, 1, 2, 3, 4, 1, 2, 1, 1, 1, 1],
            "sector_mcp": [True] * 4 + [False] * 6 + [True, True],
            "satisfaction": [8.0, 9, 7, 8, 5, 6, 4, 5, 6, 7, 0, 0],
            "w": [2.0] * 4 + [1.0] * 6 + [1.0, 1.0],
        }
    )


@pytest.fixture
def ctx(cb):
    return chapter.Context(
        df=hand_frame(), cb=cb, data_path=Path("hand.csv"), wave="2023", min_base=1, synthetic=True
    )


# ---------------------------------------------------------------------------- grids
def test_grid_long_counts_every_answer_of_every_row(ctx):
    long = report.grid_long(ctx, "goal").set_index(["row", "response"])
    seamless, value = ctx.parts("goal")["goal_seamless"], ctx.parts("goal")["goal_value"]
    assert set(long.index.get_level_values("row")) == {seamless, value}  # goal_whole_person is not in the data
    s = long.loc[seamless]
    assert (s["base"] == 9).all()
    assert s.loc["Strongly agree", "value"] == pytest.approx(100 * 4 / 9)
    assert s.loc["Somewhat agree", "value"] == pytest.approx(100 * 2 / 9)
    assert s.loc["Unsure", "value"] == pytest.approx(100 / 9) and s.loc["Unsure", "count"] == 1
    v = long.loc[value]
    assert v.loc["Somewhat agree", "value"] == 40.0 and v.loc["Strongly disagree", "value"] == 0.0
    assert (v["base"] == 10).all()


def test_grid_long_leaves_not_applicable_out_of_the_base(ctx):
    long = report.grid_long(ctx, "served").set_index("response")
    assert "Not applicable" not in long.index and (long["base"] == 8).all()
    assert long.loc["Much better", "value"] == 25.0 and long.loc["Somewhat better", "value"] == 25.0


def test_grid_summary_groups_ranks_and_gives_the_first_groups_ci(ctx):
    out = report.grid_summary(ctx, "goal", {"Total agree": [1, 2], "Unsure": [9]})
    seamless, value = ctx.parts("goal")["goal_seamless"], ctx.parts("goal")["goal_value"]
    # value: 6 of 10 agree (60%); seamless: 6 of 9 (66.7%): seamless ranks first
    assert out["row"].tolist() == [seamless, value]
    assert out["n"].tolist() == [9.0, 10.0]
    assert out["Total agree %"].tolist() == pytest.approx([100 * 6 / 9, 60.0])
    assert out["Unsure %"].tolist() == pytest.approx([100 / 9, 20.0])
    lo, hi = tables.wilson(6, 9)
    assert out.loc[0, "95% CI"] == display.ci_text(100 * lo, 100 * hi)
    # somewhat agree: seamless 2 of 9 (22%), value 4 of 10 (40%): ranked, value comes first
    ranked = report.grid_summary(ctx, "goal", {"Somewhat agree": [2]})
    assert ranked["row"].tolist() == [value, seamless] and ranked["Somewhat agree %"].tolist() == [40.0, 100 * 2 / 9]
    unranked = report.grid_summary(ctx, "goal", {"Somewhat agree": [2]}, rank=False)
    assert unranked["row"].tolist() == [seamless, value]  # the grid's own order
    assert list(unranked.columns) == ["row", "n", "Somewhat agree %", "95% CI"]


def test_subgroup_long_gives_overall_then_each_subgroup_in_the_data(ctx):
    long = report.subgroup_long(ctx, "familiarity", {"sector_mcp": "MCP", "sector_sso": "SSO"}, overall="All")
    assert list(dict.fromkeys(long["row"])) == ["All", "MCP"]  # sector_sso is not in the data
    very = long[long["response"] == "Very familiar"].set_index("row")
    assert very.loc["All", "value"] == 50.0 and very.loc["All", "base"] == 10  # 5 of 10
    assert very.loc["MCP", "value"] == 50.0 and very.loc["MCP", "base"] == 4  # 1, 2, 1, 2


def test_helpers_follow_the_contexts_rules(ctx):
    """min_base, the public small-count rule and the weight all come from the context."""
    strict = dataclasses.replace(ctx, min_base=10)
    long = report.grid_long(strict, "goal").set_index(["row", "response"])
    seamless = ctx.parts("goal")["goal_seamless"]
    assert long.loc[seamless, "suppressed"].all()  # base 9 < 10
    assert not long.loc[ctx.parts("goal")["goal_value"], "suppressed"].any()  # base 10
    public = report.grid_long(dataclasses.replace(ctx, public=True), "goal")
    assert public["suppressed"].all() and public["value"].isna().all()  # every count and base is below 11
    weighted = report.subgroup_long(dataclasses.replace(ctx, weight="w"), "familiarity", {})
    very = weighted.set_index("response").loc["Very familiar"]
    # weights 2, 2, 1, 1, 1, 1 ... : very familiar = rows 1, 3 (w 2 each), 7, 9, 10 (w 1) = 7 of 14
    assert very["value"] == pytest.approx(50.0) and very["effective_n"] == pytest.approx(14**2 / (4 * 4 + 6))
    somewhat = weighted.set_index("response").loc["Somewhat familiar"]
    assert somewhat["value"] == pytest.approx(100 * 5 / 14)  # rows 2, 4 (w 2) and 8 (w 1)


# ---------------------------------------------------------------------------- tests
def test_shares_test_is_the_subgroup_against_the_rest(ctx):
    # familiarity very (1) in sector_mcp: 2 of 4; in the other 6 completes: 3 of 6
    r = report.shares_test(ctx, "familiarity", [1], "sector_mcp", fisher_below=100)
    assert (r["a"], r["b"], r["n_a"], r["n_b"]) == (50.0, 50.0, 4, 6)
    assert r["test"] == "Fisher's exact test"
    assert r["p"] == pytest.approx(stats.fisher_exact([[2, 2], [3, 3]]).pvalue)
    z = report.shares_test(ctx, "familiarity", [1, 2], "sector_mcp", fisher_below=0)
    assert z["test"] == "two-proportion z test" and z["a"] == 100.0
    assert np.isnan(report.shares_test(dataclasses.replace(ctx, min_base=5), "familiarity", [1], "sector_mcp")["p"])


def test_means_test_is_welch_and_weighted_under_a_weight(ctx):
    r = report.means_test(ctx, "satisfaction", "sector_mcp")
    ref = stats.ttest_ind([8, 9, 7, 8], [5, 6, 4, 5, 6, 7], equal_var=False)
    assert r["test"] == "Welch t test" and r["p"] == pytest.approx(ref.pvalue)
    assert (r["a"], r["n_a"], r["n_b"]) == (8.0, 4, 6)
    w = report.means_test(dataclasses.replace(ctx, weight="w"), "satisfaction", "sector_mcp")
    # equal weights within each group: the weighted means are the plain ones, the test is design-based
    assert w["a"] == pytest.approx(8.0) and "weighted" in w["test"]


# ---------------------------------------------------------------------------- figures
def test_likert_figure_draws_rows_in_order_and_writes_their_data(ctx, shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    long = report.grid_long(ctx, "goal")
    fam = report.labels(ctx, "goal")
    order = [ctx.parts("goal")["goal_value"], ctx.parts("goal")["goal_seamless"]]
    ax = report.likert_figure(
        ctx, long, order, [fam[1], fam[2]], [fam[3], fam[4]], "t-likert", other=[fam[9]], note_text="Base: x."
    )
    assert ax is not None
    csv = pd.read_csv(tmp_path / "figure_data" / "t-likert.csv")
    assert list(dict.fromkeys(csv["row"])) == order  # rows in the order asked for, labels unwrapped
    assert len(csv) == len(long)
    assert shown[-1].data.startswith("[Download the data of this figure (CSV, 10 rows)]")


def test_likert_figure_says_so_when_everything_is_suppressed(ctx, shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    strict = dataclasses.replace(ctx, min_base=50)
    fam = report.labels(ctx, "goal")
    out = report.likert_figure(
        strict, report.grid_long(strict, "goal"), list(ctx.parts("goal").values()), [fam[1]], [fam[4]], "t-none"
    )
    assert out is None and not (tmp_path / "figure_data").exists()
    assert "fewer than 50 respondents" in shown[0].data


def test_dot_panels_one_panel_per_dimension_and_suppressed_rows_named(shown):
    table = pd.DataFrame(
        {
            "dimension": ["Sector", "Sector", "Region"],
            "subgroup": ["Managed care plans", "Hospitals", "North"],
            "value": [7.0, NAN, 6.0],
            "ci_low": [6.5, NAN, 5.0],
            "ci_high": [7.5, NAN, 7.0],
            "base": [40, 12, 35],
        }
    )
    fig, bottom = report.dot_panels(table, ref=6.5, xlabel="Mean")
    axes = fig.axes
    assert len(axes) == 2 and bottom is axes[-1] and bottom.get_xlabel() == "Mean"
    top = [t.get_text() for t in axes[0].get_yticklabels()]
    assert top == ["Managed care plans (n = 40)", "Hospitals (n = 12, suppressed)"]
    assert len(axes[0].containers) == 1 and len(axes[1].containers) == 1  # one drawn point per shown row
    assert [a.get_title(loc="left") for a in axes] == ["Sector", "Region"]
