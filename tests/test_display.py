"""calaim.book.display: table formatting, notes, and figures with their data file."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from calaim.book import chapter, display, plots  # noqa: E402


@pytest.fixture(autouse=True)
def shown(monkeypatch):
    """The book's theme for every test; what display.figure / display.draw would show in the
    notebook is collected here instead; no figure is left open afterwards."""
    plots.set_theme()
    out = []
    monkeypatch.setattr("IPython.display.display", lambda *objs, **kw: out.extend(objs))
    yield out
    plt.close("all")


def test_ci_text_and_percentages():
    assert display.ci_text(52.04, 61.5) == "52–62"
    assert display.ci_text(52.04, 61.5, 1, sep=" to ") == "52.0 to 61.5"
    assert display.ci_text(np.nan, 3) == "–"
    assert display.fmt_pct(12.345) == "12.3" and display.fmt_pct(None) == "–"
    assert display.wrap("one two three", 7) == "one two\nthree"


def test_show_rounds_numbers_counts_to_whole_numbers_and_marks_missing():
    t = pd.DataFrame(
        {
            "row": ["a", "b"],
            "n": [1234.0, 56.0],
            "respondents": [1500, 20],
            "%": [12.345, np.nan],
            "flag": [True, False],
            "text": ["x", "y"],
        }
    )
    out = display.show(t, "row", decimals=1)
    assert out.index.tolist() == ["a", "b"] and out.index.name is None
    assert out["n"].tolist() == ["1,234", "56"]
    assert out["respondents"].tolist() == ["1,500", "20"]
    assert out["%"].tolist() == ["12.3", "–"]
    assert out["flag"].tolist() == [True, False] and out["text"].tolist() == ["x", "y"]


def test_copyable_share_table():
    t = pd.DataFrame({"group": ["g"], "value": [40.04], "ci_low": [30.0], "ci_high": [50.56], "base": [100.0]})
    out = display.copyable(t, ["group"])
    assert out.loc["g"].tolist() == ["40.0", "30.0 to 50.6", "100"]
    assert list(out.columns) == ["%", "95% CI", "base"]
    blank = display.copyable(t.assign(value=float("nan"), ci_low=float("nan"), base=float("nan")), ["group"])
    assert blank.loc["g"].tolist() == ["–", "–", "–"]  # a suppressed base (public release) is a dash


def test_fmt_n():
    assert display.fmt_n(1234.0) == "1,234" and display.fmt_n(float("nan")) == "–" and display.fmt_n(None) == "–"


def test_to_wide_keeps_first_appearance_order():
    t = pd.DataFrame({"row": ["z", "z", "a", "a"], "response": ["yes", "no", "yes", "no"], "value": [1, 2, 3, 4]})
    w = display.to_wide(t, ["row"], "response")
    assert w.index.tolist() == ["z", "a"] and w.columns.tolist() == ["yes", "no"]
    assert w.loc["a", "no"] == 4


def test_missing_note_names_the_absent_columns(cb):
    df = pd.DataFrame({"goal_simpler": [1.0]})
    ctx = chapter.Context(df=df, cb=cb, data_path=Path("file.csv"), wave="2023", min_base=30, synthetic=False)
    md = display.missing(ctx, "Goals", "goal").data
    assert md.startswith("*Goals: not asked in this wave / not in this data set*")
    assert "`goal_simpler`" not in md and "`goal_" in md
    assert "`satisfaction`" in display.missing(ctx, "Satisfaction", ["satisfaction"]).data


def test_figure_data_undoes_wrapping_rounds_and_keeps_labelled_index():
    t = pd.DataFrame({"value": [1 / 3], "base": [12]}, index=pd.Index(["long\nlabel"], name="row"))
    out = display.figure_data(t)
    assert out.columns.tolist() == ["row", "value", "base"]
    assert out.iloc[0].tolist() == ["long label", 0.3333, 12]


def test_public_figure_data_hides_small_counts():
    t = pd.DataFrame(
        {
            "response": ["a", "b", "c"],
            "value": [5.0, 60.0, 95.0],
            "ci_low": [2.0, 50.0, 90.0],
            "ci_high": [9.0, 69.0, 98.0],
            "count": [5, 60, 95],
            "base": [100, 100, 100],
        }
    )
    out = display.figure_data(t, public=True)
    assert "count" not in out
    assert np.isnan(out.loc[0, "value"]) and np.isnan(out.loc[0, "ci_low"]) and out.loc[1, "value"] == 60.0
    assert np.isnan(out.loc[2, "value"])  # 95 of 100: the 5 others follow from it, as in the kernel's rule
    assert display.figure_data(t).loc[0, "count"] == 5


def test_figure_data_releases_a_chapters_own_columns():
    """The overlap table of Appendix A on a file with 2 MCP respondents: the share of the row
    sector rests on a base of 2, below min_base; in public, the counts 2 and 4 go too."""
    t = pd.DataFrame(
        {
            "sector": ["MCP", "MCP", "SSO", "SSO"],
            "also in": ["MCP", "SSO", "MCP", "SSO"],
            "respondents in both": [2, 0, 0, 400],
            "share (%)": [100.0, 0.0, 0.0, 100.0],
            "base (row sector)": [2, 2, 400, 400],
            "others": [4, 40, 12, 13],
        }
    )
    release = {
        "counts": ["respondents in both"],
        "estimates": {"share (%)": ("base (row sector)", "respondents in both")},
    }
    out = display.figure_data(t, min_base=30, **release)
    assert out["share (%)"].isna().tolist() == [True, True, False, False]
    assert out["respondents in both"].tolist() == [2, 0, 0, 400]  # not public: counts stay, as whole numbers
    pub = display.figure_data(t, public=True, min_base=30, **release)
    assert pub["respondents in both"].isna().tolist() == [True, False, False, False]
    assert pub["base (row sector)"].isna().tolist() == [False, False, False, False]  # not declared: as given
    assert pub["others"].tolist() == [4, 40, 12, 13]  # not declared, not the kernel's: left alone


def test_figure_writes_the_data_and_links_it(tmp_path, monkeypatch, shown):
    monkeypatch.chdir(tmp_path)
    fig, ax = plt.subplots()
    ax.bar([0, 1], [10, 20])
    data = pd.DataFrame({"answer": ["x", "y"], "value": [10.0, 20.0], "base": [50, 50]})
    assert display.figure(fig, data, "t-fig01-demo") is None
    assert (tmp_path / "figure_data" / "t-fig01-demo.csv").read_text() == "answer,value,base\nx,10.0,50\ny,20.0,50\n"
    assert shown[0] is fig and not plt.fignum_exists(fig.number)
    assert shown[1].data == "[Download the data of this figure (CSV, 2 rows)](figure_data/t-fig01-demo.csv)"


def test_figure_names_are_checked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="figure name"):
        display.write_figure_data(pd.DataFrame({"a": [1]}), "../escape")


def test_draw_leaves_out_suppressed_rows_and_says_so(cb, tmp_path, monkeypatch, shown):
    monkeypatch.chdir(tmp_path)
    ctx = chapter.Context(df=pd.DataFrame(), cb=cb, data_path=Path("f.csv"), wave="2023", min_base=30, synthetic=False)
    t = pd.DataFrame(
        {
            "subgroup": ["big", "small"],
            "value": [40.0, np.nan],
            "ci_low": [30.0, np.nan],
            "ci_high": [50.0, np.nan],
            "base": [100, 10],
            "suppressed": [False, True],
        }
    )
    ax = display.draw(ctx, "bars", t, "Figure X", "t-draw", y="subgroup", base="Base: all")
    notes = [o.data for o in shown if hasattr(o, "data")]
    assert notes[0] == "*Figure X: not drawn for small (base below 30).*"
    assert [tick.get_text() for tick in ax.get_yticklabels()] == ["big"]
    assert pd.read_csv(tmp_path / "figure_data" / "t-draw.csv")["subgroup"].tolist() == ["big"]


def test_base_note_sits_below_everything_drawn():
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlabel("a label")
    display.base_note(ax, "Base: n = 10")
    text = fig.texts[-1]
    assert text.get_text() == "Base: n = 10"
    label_bottom = ax.xaxis.label.get_window_extent(fig.canvas.get_renderer()).y0 / fig.dpi / fig.get_figheight()
    assert text.get_position()[1] < label_bottom
