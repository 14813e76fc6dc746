"""Plot functions draw what they are given (checked on the Axes, not on pixels)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from calaim.book import plots  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    plots.set_theme()
    yield
    plt.close("all")


def test_likert_puts_positive_right_and_negative_left():
    t = pd.DataFrame(
        {
            "row": ["A"] * 4 + ["B"] * 4,
            "response": ["Much better", "Somewhat better", "Same", "Worse"] * 2,
            "value": [20, 30, 40, 10, 10, 20, 50, 20],
            "base": [100] * 8,
        }
    )
    ax = plots.likert(t, positive=["Much better", "Somewhat better"], negative=["Worse"], neutral=["Same"])
    widths = {}
    for container in ax.containers:
        widths[container.get_label()] = [(p.get_x(), p.get_width()) for p in container.patches]
    # row A: neutral 40 centred -> positive starts at +20 and spans 50; negative ends at -20-10
    somewhat = widths["Somewhat better"][0]
    assert somewhat == (20.0, 30.0)
    much = widths["Much better"][0]
    assert much == (50.0, 20.0)
    worse = widths["Worse"][0]
    assert worse[0] == -20.0 and worse[1] == -10.0
    assert "(n = 100)" in ax.get_yticklabels()[0].get_text()


def test_forest_draws_one_point_per_term_on_log_scale():
    t = pd.DataFrame({"term": ["a", "b"], "odds_ratio": [0.5, 2.0], "ci_low": [0.3, 1.2], "ci_high": [0.9, 3.5]})
    ax = plots.forest(t)
    assert ax.get_xscale() == "log"
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["a", "b"]


def test_heatmap_annotates_every_cell():
    wide = pd.DataFrame([[10, 20], [30, 40]], index=["r1", "r2"], columns=["c1", "c2"])
    ax = plots.heatmap(wide)
    assert sorted(t.get_text() for t in ax.texts) == ["10", "20", "30", "40"]


def test_likert_strongest_answers_sit_at_the_outer_ends():
    t = pd.DataFrame(
        {
            "row": ["A"] * 4,
            "response": ["Much better", "Somewhat better", "Somewhat worse", "Much worse"],
            "value": [10, 20, 30, 40],
        }
    )
    ax = plots.likert(
        t, positive=["Much better", "Somewhat better"], negative=["Somewhat worse", "Much worse"], base=None
    )
    spans = {c.get_label(): (c.patches[0].get_x(), c.patches[0].get_width()) for c in ax.containers}
    assert spans["Somewhat better"] == (0.0, 20.0) and spans["Much better"] == (20.0, 10.0)
    assert spans["Somewhat worse"] == (0.0, -30.0) and spans["Much worse"] == (-30.0, -40.0)


def test_change_dots_marks_the_2023_value_and_colours_changes():
    from calaim.book import plots

    t = pd.DataFrame(
        {
            "label": ["a", "b"],
            "value": [60.0, 40.0],
            "ci_low": [55.0, 35.0],
            "ci_high": [65.0, 45.0],
            "published": [50.0, 41.0],
            "verdict": ["changed", "no detectable change"],
        }
    )
    ax = plots.change_dots(t, wave="2024")
    ticks = [c for c in ax.collections if c.get_label() == "2023 published"]
    assert len(ticks) == 1 and ticks[0].get_offsets()[:, 0].tolist() == [50.0, 41.0]
    labels = [txt.get_text() for txt in ax.get_legend().get_texts()]
    assert labels.count("2023 published") == 1 and "wave 2024: changed" in labels
    assert [tl.get_text() for tl in ax.get_yticklabels()] == ["a", "b"]


def test_likert_and_bars_draw_around_suppressed_estimates():
    """A one-respondent file suppresses every estimate: likert draws empty rows instead of
    failing on the answers missing from its pivot; bars leave a missing estimate out and pair
    whiskers and labels with the bars that remain (issue 14)."""
    nan = float("nan")
    t = pd.DataFrame({"row": ["a"] * 3, "response": ["Good", "Same", "Bad"], "value": [nan] * 3, "base": [1] * 3})
    ax = plots.likert(t, positive=["Good"], negative=["Bad"], neutral=["Same"])
    assert [p.get_width() for p in ax.patches] == [0, 0, 0]
    plt.close(ax.figure)
    b = pd.DataFrame(
        {
            "subgroup": ["A", "B", "C"] * 2,
            "row": ["r1"] * 3 + ["r2"] * 3,
            "value": [10.0, nan, 30.0, nan, nan, 60.0],
            "ci_low": [5.0, nan, 25.0, nan, nan, 55.0],
            "ci_high": [15.0, nan, 35.0, nan, nan, 65.0],
        }
    )
    ax = plots.bars(b, hue="row")
    assert [t.get_text() for t in ax.get_yticklabels()] == ["A", "B", "C"]  # B keeps its (empty) place
    assert [(a.get_text(), a.xy[0]) for a in ax.texts] == [("10", 15.0), ("30", 35.0), ("60", 65.0)]
    plt.close(ax.figure)
