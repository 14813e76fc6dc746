"""An item present but empty in every row is treated as absent everywhere (Figure 10's wait_improve).

The file is the synthetic default with ``wait_improve`` blanked in every row (tmp_path)."""

from __future__ import annotations

import pandas as pd
import pytest

from calaim.book import chapter, display
from calaim.data import io


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    df = io.load(chapter.DEFAULT_DATA)
    df["wait_improve"] = float("nan")
    path = tmp_path_factory.mktemp("empty") / "wave_2024.csv"
    io.write(df, path)
    return chapter.setup(str(path), wave="2024")


def test_empty_column_is_dropped_and_said(ctx):
    assert "wait_improve" not in ctx.df.columns and ctx.empty == ["wait_improve"]
    assert not ctx.has("confidence", "wait_improve")
    assert any("wait_improve" in w and "not asked in this wave" in w for w in ctx.warnings)
    assert "wait_improve" in ctx.header().data


def test_one_note_for_the_empty_item(ctx):
    md = display.missing(ctx, "Expectations (Figure 10)", "confidence", "wait_improve").data
    note = "not asked in this wave / not in this data set* (empty in every row: `wait_improve`)."
    assert md == "*Expectations (Figure 10): " + note


def test_scorecard_says_not_in_data(ctx):
    card = ctx.scorecard("s1").set_index("id")
    for rid in ("f10_wait_12m", "f10_wait_3m"):
        assert card.loc[rid, "wave 2024"] == "not in data"
    assert (card["wave 2024"] == "not in data").sum() == 2


def test_draw_never_shows_an_empty_chart(ctx, capsys):
    empty = pd.DataFrame({"subgroup": [], "value": [], "suppressed": []})
    from unittest import mock

    shown = []
    with mock.patch("IPython.display.display", side_effect=shown.append):
        assert display.draw(ctx, "bars", empty, "Wait (Figure 10)", "f10") is None
    assert len(shown) == 1 and "not asked in this wave / not in this data set" in shown[0].data


def test_other_wave_scorecard_has_change_not_match(ctx):
    card = ctx.scorecard("s1")
    assert "status" not in card.columns and "2023 published" in card.columns and "wave 2024" in card.columns
    assert set(card["verdict"]) <= {"changed", "no detectable change", "not comparable"}
    # the same data as 2023 (only wait_improve blanked): no share differs detectably from its published value
    shares = card[card["change"].str.endswith(" pts") & (card["change 95% CI"] != "")]
    assert len(shares) > 10
    assert (shares["verdict"] == "no detectable change").mean() > 0.9
    assert card.set_index("id").loc["f10_wait_12m", "verdict"] == "not comparable"
