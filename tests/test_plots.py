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


def test_wcag_contrast_reference_values():
    # WCAG 2.x definitions: black on white is 21:1, a colour on itself 1:1, #777777 on white ~4.48:1
    assert plots.contrast("black", "white") == pytest.approx(21.0)
    assert plots.contrast("#0072B2", "#0072B2") == pytest.approx(1.0)
    assert plots.contrast("#777777", "white") == pytest.approx(4.48, abs=0.01)


def test_likert_segment_labels_reach_4_5_to_1_on_every_fill():
    fills = plots.diverging_palette(4, 4) + plots.diverging_palette(2, 2, neutral=False)
    for fill in fills:
        assert plots.contrast(plots.label_colour(fill), fill) >= plots.MIN_CONTRAST, fill
    t = pd.DataFrame(
        {"row": ["A"] * 5, "response": list("abcde"), "value": [20, 20, 20, 20, 20], "base": [100] * 5}
    )
    ax = plots.likert(t, positive=["a", "b"], negative=["d", "e"], neutral=["c"])
    labelled = 0
    for container in ax.containers:
        for patch in container.patches:
            for text in ax.texts:
                if abs(text.get_position()[0] - (patch.get_x() + patch.get_width() / 2)) < 1e-9:
                    assert plots.contrast(text.get_color(), patch.get_facecolor()) >= plots.MIN_CONTRAST
                    labelled += 1
    assert labelled >= 4


def test_legible_enlarges_small_text_until_10_px_at_the_column_width():
    fig, ax = plt.subplots(figsize=(14, 3))
    ax.set_yticks([0, 1], ["first label", "second"])
    ax.text(0.5, 0.5, "tiny", fontsize=6)
    assert plots.text_px(fig) < plots.MIN_TEXT_PX
    h = fig.get_size_inches()[1]
    px = plots.legible(fig)
    assert px >= plots.MIN_TEXT_PX - 0.01 and plots.text_px(fig) == pytest.approx(px)
    assert fig.get_size_inches()[1] > h  # taller, so rows keep their spacing


def test_legible_rewraps_a_long_base_note_and_titles_instead_of_shrinking_the_figure():
    """Issue 15: Figure 14 has two panels side by side and a one-line base note 8.6 inches
    long; enlarging the text widened the note as fast as the text grew, so the figure, scaled
    down to the column, stayed at 8 px. The note and titles are re-wrapped to fit instead, and
    the base note and data mark are placed again around what moved."""
    from calaim.book import display

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 6.5), width_ratios=[2, 1])
    labels = [f"Sector number {i} with a long descriptive name" for i in range(12)]
    left.barh(range(12), range(12))
    left.set_yticks(range(12), labels)
    right.barh(range(4), [16, 13, 10, 61])
    right.set_yticks(range(4), ["No partner sector", "One sector", "Two sectors", "Three or more sectors"])
    left.set_title("Sectors with at least one partnership", fontsize=12, loc="left")
    right.set_title("Number of partner sectors", fontsize=12, loc="left")
    note = "Base: completed interviews (n = 1,196). Lines: 95% Wilson intervals. " * 2
    display.base_note(left, note.strip())
    plots.data_mark(fig)
    before = plots.text_px(fig)
    assert before < plots.MIN_TEXT_PX
    px = plots.legible(fig)
    assert px >= plots.MIN_TEXT_PX
    renderer = fig.canvas.get_renderer()
    base = next(t for t in fig.texts if t.get_gid() == plots.NOTE_GID)
    assert "\n" in base.get_text() and " ".join(base.get_text().split()) == note.strip()  # nothing lost
    assert base.get_window_extent(renderer).width <= fig.get_figwidth() * fig.dpi
    # the titles do not run into each other
    a, b = left._left_title.get_window_extent(renderer), right._left_title.get_window_extent(renderer)
    assert a.x1 <= b.x0
    # the note sits under every axis label, the mark above every title
    mark = next(t for t in fig.texts if t.get_gid() == plots.MARK_GID)
    lowest = min(t.get_window_extent(renderer).y0 for t in left.get_yticklabels() + left.get_xticklabels())
    assert base.get_window_extent(renderer).y1 <= lowest
    assert mark.get_window_extent(renderer).y0 >= max(a.y1, b.y1)
    plt.close(fig)


def test_wrap_notes_joins_the_lines_of_upright_category_labels():
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.set_xticks([0, 1], ["Mental health /\nsubstance use", "Correctional\nsystems"], rotation=90)
    assert plots.wrap_notes(fig) == 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Mental health / substance use", "Correctional systems"]
    assert all(t.get_rotation() == 90 for t in ax.get_xticklabels())
    assert plots.wrap_notes(fig) == 0  # nothing left to change
    plt.close(fig)


def test_wrap_notes_wraps_wide_category_labels_and_moves_a_side_legend_under_the_axes():
    """Figure 32's shape: long option names left of the bars and a legend right of the axes
    together took over half the width, so the figure stayed at 9 px however its text grew."""
    fig, ax = plt.subplots(figsize=(8, 6))
    names = [f"Option {i}: more implementation funding (data systems, hiring, training)" for i in range(6)]
    ax.barh(names, range(1, 7), label="Non-providers: would make providing more likely")
    ax.barh(names, range(1, 7), label="Current providers: most helpful support")
    ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1))
    assert plots.text_px(fig) < plots.MIN_TEXT_PX
    plots.legible(fig)
    assert plots.text_px(fig) >= plots.MIN_TEXT_PX
    renderer = fig.canvas.get_renderer()
    labels = ax.get_yticklabels()
    assert all(" ".join(t.get_text().split()) == n for t, n in zip(labels, names, strict=True))  # words kept
    assert max(t.get_window_extent(renderer).width for t in labels) <= 0.5 * fig.get_figwidth() * fig.dpi
    legend, axes_box = ax.get_legend().get_window_extent(renderer), ax.get_window_extent(renderer)
    assert legend.y1 <= min(t.get_window_extent(renderer).y0 for t in ax.get_xticklabels())  # under the axis
    assert legend.x1 <= axes_box.x1 + 0.5 * axes_box.width and legend.y1 < axes_box.y0
    plt.close(fig)


def test_rewrapping_keeps_hyphenated_words_and_bases_whole():
    """A chapter's own break after a hyphen ("Medi-" / "Cal") joins without a space, and a base
    "(n = 119)" is never split across lines when a label is wrapped again."""
    assert plots._flat("support for high-risk Medi-\nCal patients (n = 1,067)") == (
        "support for high-risk Medi-Cal patients (n\u00a0=\u00a01,067)"
    )
    fig, ax = plt.subplots(figsize=(6, 3))
    names = ["Receiving referrals from new partners working nearby (n = 119)", "Short (n = 7)"]
    ax.barh(names, [1, 2])
    assert plots.wrap_notes(fig) == 1
    wrapped = [t.get_text() for t in ax.get_yticklabels()]
    assert "\n" in wrapped[0] and all("(n\u00a0=\u00a0" in w for w in wrapped)
    plt.close(fig)


def test_paired_dots_draws_both_estimates_of_each_row_with_their_intervals():

    t = pd.DataFrame(
        {"label": ["a", "b"], "v": [10.0, 50.0], "lo": [8.0, 45.0], "hi": [12.0, 55.0],
         "w": [11.0, 40.0], "wlo": [9.0, 30.0], "whi": [13.0, 50.0]}
    )
    ax = plots.paired_dots(t, ("v", "lo", "hi"), ("w", "wlo", "whi"), ("unweighted", "raked"))
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 2 and ln.get_marker() in ("o", "s")]
    first, second = lines
    assert list(first.get_xdata()) == [10.0, 50.0] and list(second.get_xdata()) == [11.0, 40.0]
    assert all(s > f for f, s in zip(first.get_ydata(), second.get_ydata(), strict=True))  # second just below
    assert [tx.get_text() for tx in ax.get_yticklabels()] == ["a", "b"]
    assert [tx.get_text() for tx in ax.get_legend().get_texts()] == ["unweighted", "raked"]
    # whiskers span each CI: the error-bar segments run from lo to hi
    segs = [seg for coll in ax.collections for seg in coll.get_segments()]
    spans = sorted((round(s[0][0], 6), round(s[1][0], 6)) for s in segs)
    assert (8.0, 12.0) in spans and (30.0, 50.0) in spans
    plt.close(ax.figure)


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


def test_legible_png_crops_to_the_tight_box_without_a_second_layout_pass():
    """legible_png saves with the box legible measured instead of bbox_inches="tight" (which
    lays the figure out again): the image has exactly the size the tight crop gives,
    and its note and mark are inside it."""
    import io

    from PIL import Image

    from calaim.book import display

    fig, ax = plt.subplots(figsize=(6, 3))
    ax.barh(range(3), [3, 1, 2])
    ax.set_yticks(range(3), ["a rather long category label", "b", "c"])
    ax.set_xlabel("share (%)")
    display.base_note(ax, "Base: completed interviews (n = 1,196).")
    plots.data_mark(fig)
    png, _ = plots.legible_png(fig)
    tight = io.BytesIO()
    fig.savefig(tight, format="png", dpi=plots.DPI, bbox_inches="tight", pad_inches=0.1)
    with Image.open(io.BytesIO(png)) as ours, Image.open(tight) as ref:
        assert ours.size == ref.size
        assert ours.mode == "RGB" and ref.mode == "RGBA"  # opaque: stored without the alpha channel
        assert ours.convert("RGBA").tobytes() == ref.tobytes()  # the same pixels: the same crop
        assert round(ours.info["dpi"][0]) == plots.DPI  # shown at its natural size: full resolution
        assert ours.info["calaim:min-font-pt"] == f"{plots.min_font_pt(fig):.2f}"


def test_output_dpi_is_twice_the_shown_pixels_within_bounds():
    assert plots.output_dpi(5.0) == plots.DPI  # natural size: 500 CSS px, 1,000 pixels
    assert plots.output_dpi(plots.COLUMN_PX / plots.CSS_PX_PER_INCH) == plots.DPI
    assert plots.output_dpi(9.5) == 160  # shown 760 px wide: 1,520 pixels over 9.5 in
    assert plots.output_dpi(15.0) == plots.MIN_DPI  # 2 x 760 / 15 = 101, raised to the floor


def test_a_transparent_figure_keeps_its_alpha_channel():
    import io

    from PIL import Image

    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([0, 1], [0, 1])
    fig.patch.set_alpha(0.0)
    ax.patch.set_alpha(0.0)
    box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(0.1)
    png = plots.png_bytes(fig, box, 150, {"k": "v"})
    ref = io.BytesIO()
    fig.savefig(ref, format="png", dpi=150, bbox_inches=box)
    with Image.open(io.BytesIO(png)) as ours, Image.open(ref) as theirs:
        assert ours.mode == "RGBA" and ours.tobytes() == theirs.tobytes()
        assert ours.info["k"] == "v" and round(ours.info["dpi"][0]) == 150
    plt.close(fig)
