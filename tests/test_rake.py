"""Raking (calaim.stats.rake, weightipy underneath): converges to the targets within 1e-6,
trimming caps the weights, bad targets are clear errors, and ``calaim rake`` writes a new file
whose weight column the book accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calaim.stats import rake, weights


def toy(n: int = 600, seed: int = 16) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "region": rng.choice([1, 2, 3], n, p=[0.5, 0.3, 0.2]).astype(float),
            "sector": rng.choice([1, 2], n, p=[0.7, 0.3]).astype(float),
            "pop_complete": np.r_[np.ones(n - 20, bool), np.zeros(20, bool)],
        }
    )


TARGETS = {"margins": {"region": {1: 0.3, 2: 0.3, 3: 0.4}, "sector": {1: 0.5, 2: 0.5}}}


def test_raking_converges_to_the_targets_within_1e_6():
    df = toy()
    res = rake.rake(df, rake.parse_targets(TARGETS))
    assert res.converged and res.max_error <= 1e-6
    inside = df["pop_complete"].to_numpy()
    w = res.weights[inside]
    for column, shares in TARGETS["margins"].items():
        for code, share in shares.items():
            assert w[df.loc[inside, column] == code].sum() / w.sum() == pytest.approx(share, abs=1e-6)
    assert (res.weights[~inside] == 1).all() and w.mean() == pytest.approx(1.0)
    assert res.summary.deff == pytest.approx(weights.kish_deff(w)) and res.summary.n == inside.sum()
    m = res.margins.set_index(["column", "code"])
    assert m.loc[("region", 3.0), "unweighted"] == pytest.approx(np.mean(df.loc[inside, "region"] == 3))


def test_trimming_caps_the_weights_and_reports_the_miss():
    df = toy()
    free = rake.rake(df, rake.parse_targets(TARGETS))
    trimmed = rake.rake(df, rake.parse_targets({**TARGETS, "trim": 1.3}))
    assert trimmed.summary.max <= 1.3 * 1.0001  # weightipy's cap tolerance
    assert free.summary.max > 1.3 and trimmed.summary.deff < free.summary.deff
    assert trimmed.max_error == pytest.approx(trimmed.margins["difference"].abs().max())


@pytest.mark.parametrize(
    ("margins", "message"),
    [
        ({"region": {1: 0.3, 2: 0.3, 3: 0.3}}, "shares sum to 0.9, not 1"),
        ({"region": {1: 0.5, 2: 0.6, 3: -0.1}}, "not above 0"),
        ({"region": {1: "a lot", 2: 0.5}}, "is not a number"),
        ({"region": {}}, "must map each code"),
    ],
)
def test_bad_target_shares_are_clear_errors(margins, message):
    with pytest.raises(rake.TargetError, match=message):
        rake.parse_targets({"margins": margins})


def test_targets_that_do_not_fit_the_data_are_clear_errors():
    df = toy()
    absent = rake.parse_targets({"margins": {"county": {1: 1.0}}})
    with pytest.raises(rake.TargetError, match="'county' is not a column"):
        rake.rake(df, absent)
    empty = rake.parse_targets({"margins": {"region": {1: 0.3, 2: 0.3, 3: 0.3, 4: 0.1}}})
    with pytest.raises(rake.TargetError, match="empty cell: no respondent .* has code 4"):
        rake.rake(df, empty)
    missing = rake.parse_targets({"margins": {"region": {1: 0.5, 2: 0.5}}})
    with pytest.raises(rake.TargetError, match=r"have a code with no target .*\(3\)"):
        rake.rake(df, missing)
    with pytest.raises(rake.TargetError, match="trim"):
        rake.parse_targets({**TARGETS, "trim": 1})


def test_cli_rake_writes_a_weighted_copy_the_book_accepts(tmp_path, capsys):
    import yaml

    from calaim import cli
    from calaim.book import chapter

    targets = tmp_path / "targets.yml"
    margins = {"sector_sso": {0: 0.55, 1: 0.45}, "region_los_angeles": {0: 0.7, 1: 0.3}}
    targets.write_text(yaml.safe_dump({"margins": margins, "trim": 4}), encoding="utf-8")
    before = chapter.DEFAULT_DATA.read_bytes()
    out = tmp_path / "raked.csv"
    assert cli.main(["rake", str(chapter.DEFAULT_DATA), "--targets", str(targets), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Kish design effect" in printed and "converged" in printed and "sector_sso" in printed
    assert chapter.DEFAULT_DATA.read_bytes() == before  # the input is never modified
    assert cli.main(["validate", str(out), "--weight", "rake_weight"]) == 0
    capsys.readouterr()
    df, _ = chapter.prepare(out, weight="rake_weight")
    done = df[df["pop_complete"]]
    w = done["rake_weight"]
    assert w[done["sector_sso"].astype(bool)].sum() / w.sum() == pytest.approx(0.45, abs=1e-6)
    # bad targets: a clear error, no file written
    targets.write_text(yaml.safe_dump({"margins": {"sector_sso": {0: 0.5, 1: 0.4}}}), encoding="utf-8")
    bad_out = tmp_path / "x.csv"
    assert cli.main(["rake", str(chapter.DEFAULT_DATA), "--targets", str(targets), "--out", str(bad_out)]) == 1
    assert "shares sum to 0.9, not 1" in capsys.readouterr().err and not bad_out.exists()
