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
    display.set_data_label(None)
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
    assert out.loc["g"].tolist() == ["40", "30 to 51", "100"]  # whole percentages, as the report
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


def _round_trip(t: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """figure_data as write_figure_data writes it, read back with pandas' defaults."""
    import io

    text = display.figure_data(t, label="synthetic").to_csv(index=False, lineterminator="\n")
    return pd.read_csv(io.StringIO(text)), text


def test_figure_csv_round_trip_keeps_labels_and_missing_values():
    """Issue 15: the answer "None" (Figures 20-21) came back as a missing value, some files carried
    an `index` column, and Figure 2's file read "whole- person"."""
    t = pd.DataFrame(
        {
            "answer": pd.Categorical(["A lot", "None", "Unsure"]),
            "item": ["Meeting needs through whole-\nperson care", None, "b"],
            "value": [40.0, np.nan, 10.0],
            "base": [100, 100, 100],
        },
        index=[3, 7, 9],  # rows left after a filter: numbers, not labels
    )
    back, text = _round_trip(t)
    assert back.columns.tolist() == ["answer", "item", "value", "base", "data"]  # no index column
    assert back["answer"].tolist() == ["A lot", "None (answer)", "Unsure"]  # not read as missing
    assert back.loc[0, "item"] == "Meeting needs through whole-person care"
    assert pd.isna(back.loc[1, "item"]) and pd.isna(back.loc[1, "value"])  # missing stays missing
    assert "None," not in text and ",None" not in text and "nan" not in text.lower()
    leaked, _ = _round_trip(t.reset_index())  # an `index` column an earlier reset_index() left
    assert "index" not in leaked.columns and leaked.columns[0] == "answer"
    labelled, _ = _round_trip(pd.DataFrame({"v": [1.0]}, index=["Statewide"]))  # text labels are kept
    assert labelled.columns.tolist() == ["label", "v", "data"] and labelled.loc[0, "label"] == "Statewide"


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
    assert shown[0].format == "png" and not plt.fignum_exists(fig.number)
    assert shown[1].data == "[Download the data of this figure (CSV, 2 rows)](figure_data/t-fig01-demo.csv)"


def test_figures_are_2x_column_sized_legible_and_marked(tmp_path, monkeypatch, shown):
    import io

    from PIL import Image

    monkeypatch.chdir(tmp_path)
    display.set_data_label("synthetic")
    fig, ax = plt.subplots(figsize=(15, 4))  # wider than the column: shown scaled down
    ax.barh(range(3), [10, 20, 30])
    ax.set_yticks(range(3), ["a rather long label for the first bar", "second", "third"])
    ax.annotate("8 pt note", (30, 2), fontsize=8)
    data = pd.DataFrame({"answer": ["x"], "value": [10.0]})
    display.figure(fig, data, "t-wide")
    assert "synthetic data" in [t.get_text() for t in fig.texts]
    image = shown[0]
    with Image.open(io.BytesIO(image.data)) as im:
        dpi = im.info["dpi"][0]
        assert round(dpi) == plots.output_dpi(im.width / dpi) >= plots.MIN_DPI  # scaled down: fewer pixels
        pt = float(im.info["calaim:min-font-pt"])
        natural_in = im.width / dpi
    assert image.width == plots.COLUMN_PX  # sized to the text column
    assert pt / 72 * image.width / natural_in >= plots.MIN_TEXT_PX - 0.05  # no text under 10 px there
    csv = (tmp_path / "figure_data" / "t-wide.csv").read_text()
    assert csv == "answer,value,data\nx,10.0,synthetic\n"


def test_a_real_file_names_itself_in_the_csv():
    t = display.figure_data(pd.DataFrame({"v": [1.0]}), label="wave2024.sav")
    assert t["data"].tolist() == ["wave2024.sav"]


def test_html_table_shows_whole_labels_no_index_ids_as_tooltips_and_formats():
    long = "a label of more than fifty characters that pandas would cut short with dots"
    t = pd.DataFrame(
        {
            "id": ["f17_self_communicate", "x2"],
            "what": [long, "FQHC staff"],
            "%": [12.6, -0.04],
            "mean score": [7.5312, 11.0],
            "p": [1.2e-59, 0.0234],
            "n": [1196.0, float("nan")],
        }
    )
    out = display.html_table(t)
    assert long in out and "..." not in out and "…" not in out
    assert 'title="id: f17_self_communicate"' in out and ">f17_self_communicate<" not in out
    assert "<th" in out and ">0<" not in out.split("<tbody>")[1].split("</td>")[0]  # no row number
    assert ">13<" in out and ">-0<" not in out and ">0<" in out  # whole %, no -0
    assert ">7.5<" in out and ">11.0<" in out  # one decimal for means
    assert "&lt; 0.001" in out and "e-59" not in out and ">0.023<" in out
    assert ">1,196<" in out and "NaN" not in out and ">–<" in out
    assert "<details" not in out
    folded = display.html_table(pd.DataFrame({"a": range(40)}))
    assert folded.startswith('<details class="calaim-table-fold"><summary>Show the table (40 rows)')
    indexed = display.html_table(pd.DataFrame({"v": [1.5]}, index=pd.Index(["row label"], name="answer")))
    assert '<th scope="col">answer</th>' in indexed and '<th scope="row">row label</th>' in indexed
    sortable = display.Table(t, sortable=True, filterable=True)._repr_html_()
    assert 'data-sortable="true"' in sortable and 'data-filterable="true"' in sortable


def test_no_negative_zero_anywhere():
    assert display.nan_to_dash([-0.001, -0.04], 1) == ["0.0", "0.0"]
    assert display.ci_text(-0.2, 3.0) == "0–3"
    assert display.fmt_pct(-0.01, 0) == "0"
    assert chapter.value_text(-0.001, "mean") == "0.0"


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
    box = plots.place_notes(fig)  # as legible does when the figure is shown
    text = fig.texts[-1]
    assert text.get_text() == "Base: n = 10"
    label_bottom = ax.xaxis.label.get_window_extent(fig.canvas.get_renderer()).y0 / fig.dpi / fig.get_figheight()
    assert text.get_position()[1] < label_bottom
    # the box returned is the figure's tight box, note included: what savefig would crop to
    tight = fig.get_tightbbox(fig.canvas.get_renderer())
    assert box.bounds == pytest.approx(tight.bounds, abs=1e-9)
