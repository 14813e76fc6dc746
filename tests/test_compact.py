"""Compact codes (calaim.data.compact): the same answers as float64, in a quarter of the memory.

Every comparison is against the float64 path that io.read/io.load take by default (or against
pandas reading the whole file at once), so a difference in any value, type or message fails.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from calaim.book import build, chapter
from calaim.data import codebook, compact, io, recode
from calaim.data.conventions import CSV_NA_MARKERS
from calaim.data.validate import DataError


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


@pytest.fixture(scope="module")
def default_csv():
    return build.default_data_path()


def test_code_dtype_from_the_codebook(cb):
    assert compact.code_dtype(cb.columns["org_type"], cb) is np.int8
    assert compact.code_dtype(cb.columns["resp_id"], cb) is None
    binary = next(c for c in cb.columns.values() if c.kind == "binary")
    assert compact.code_dtype(binary, cb) is np.int8
    for col in cb.columns.values():  # every valid value fits the chosen type
        t = compact.code_dtype(col, cb)
        if t is not None and col.codes:
            assert np.iinfo(t).min <= min(col.codes) and max(col.codes) <= np.iinfo(t).max


def test_small_read_widens_to_the_float64_read(cb, default_csv):
    wide = io.read(default_csv, cb)
    small = io.read(default_csv, cb, small=True)
    coded = [c for c in small.columns if c in cb.columns and c != cb.id_column]
    assert coded and all(str(small[c].dtype) in compact.COMPACT_NAMES for c in coded)
    assert small.memory_usage(deep=True).sum() < 0.3 * wide.memory_usage(deep=True).sum()
    pd.testing.assert_frame_equal(compact.widen(small), wide)


def test_derive_on_compact_codes_equals_derive_on_float64(cb, default_csv):
    wide = recode.derive(io.read(default_csv, cb), cb)
    small = recode.derive(io.read(default_csv, cb, small=True), cb)
    pd.testing.assert_frame_equal(compact.widen(small), wide)


@pytest.mark.parametrize("small", [True, False])
def test_derive_in_blocks_equals_derive_of_the_whole_frame(cb, default_csv, small):
    # 2,597 rows in blocks of 500: five full blocks and a short last one (97 rows)
    raw = io.read(default_csv, cb, small=small)
    whole = recode.derive(raw, cb)
    blocks = recode.derive_in_blocks(raw, cb, rows=500)
    pd.testing.assert_frame_equal(blocks, whole)
    assert blocks.attrs == whole.attrs
    if small:  # widened, the block-wise compact frame is the float64 path's frame
        pd.testing.assert_frame_equal(compact.widen(blocks), recode.derive(io.read(default_csv, cb), cb))


def test_derive_in_blocks_falls_back_when_blocks_disagree_on_a_type(cb, default_csv, monkeypatch):
    raw = io.read(default_csv, cb, small=True)
    whole = recode.derive(raw, cb)
    real = recode.derive

    def odd_derive(df, cb_):  # the second block's leader column comes back as text
        out = real(df, cb_)
        if df.index[0] == 500:  # filled into the bool array, "False" would read as True
            out["leader"] = out["leader"].astype(str)
        return out

    monkeypatch.setattr(recode, "derive", odd_derive)
    pd.testing.assert_frame_equal(recode.derive_in_blocks(raw, cb, rows=500), whole)


def test_prepared_frame_in_blocks_equals_the_whole_frame(cb, default_csv, tmp_path, monkeypatch):
    staged = tmp_path / default_csv.name
    staged.write_bytes(default_csv.read_bytes())
    expected, _ = chapter.prepare(staged, cb)  # float64, derived at once
    monkeypatch.setattr(recode, "DERIVE_BLOCK_ROWS", 700)
    stored = pd.read_pickle(chapter.write_prepared(staged, cb))
    pd.testing.assert_frame_equal(compact.widen(stored["frame"]), expected)


def test_chapters_hold_the_compact_frame_with_the_float64_values(cb, default_csv, tmp_path):
    staged = tmp_path / default_csv.name
    staged.write_bytes(default_csv.read_bytes())
    expected, _ = chapter.prepare(staged, cb)
    direct, _, _, _ = chapter._load(staged, cb, None)  # no prepared copy: read, validate, derive
    chapter.write_prepared(staged, cb)
    loaded, _, _, _ = chapter._load(staged, cb, None)  # the build's prepared copy
    for frame in (direct, loaded):
        assert str(frame["org_type"].dtype) == "Int8"
        pd.testing.assert_frame_equal(compact.widen(frame), expected)


def test_the_analysis_gives_the_same_numbers_on_compact_and_float64_codes(cb, default_csv):
    """The whole findings registry and the subgroup tables, on the same data held both ways."""
    from calaim.stats import findings, tables

    small = chapter.prepare(default_csv, cb, small=True)[0].copy()
    wide = compact.widen(small)
    assert small["fte_lt50"].isna().any()  # a subgroup indicator with missing values, as in Figure 26
    assert (str(small["fte_lt50"].dtype), str(wide["fte_lt50"].dtype)) == ("Int8", "float64")
    pd.testing.assert_frame_equal(findings.evaluate(small, cb=cb), findings.evaluate(wide, cb=cb))
    args = ("ecm_served", [3, 4, 5], {"fte_lt50": "small", "fte_50plus": "large"})
    pd.testing.assert_frame_equal(
        tables.by_subgroups(small, *args, population="complete"),
        tables.by_subgroups(wide, *args, population="complete"),
    )


@pytest.mark.parametrize(
    "values, dtype",
    [([1.0, 0.0, np.nan, 2.0], "float64"), ([1, 0, None, 2], "Int8"), ([True, False, None, True], "boolean")],
)
def test_truthy_is_false_where_missing_and_true_where_non_zero(values, dtype):
    got = compact.truthy(pd.Series(values, dtype=dtype))
    assert got.dtype == bool
    assert got.tolist() == [True, False, False, True]


def test_blocks_read_as_pandas_reads_the_whole_file(cb, tmp_path, monkeypatch):
    """Small blocks, a code column that turns float64 in a late block (a bad code 300 and a
    fraction) and a non-codebook column empty in the first blocks and text in a later one."""
    df = pd.read_csv(build.default_data_path(), dtype={"resp_id": str}, keep_default_na=False, na_values=["", "NA"])
    df = df.head(700).copy()
    df.loc[650, "org_type"] = 300
    df.loc[660, "fte"] = 2.5
    df["note"] = ""
    df.loc[610, "note"] = "late text"
    path = tmp_path / "blocks.csv"
    df.to_csv(path, index=False)
    monkeypatch.setattr(compact, "BLOCK_ROWS", 100)
    names, _ = io._header_names(path)
    opts = {"encoding": "utf-8-sig", "keep_default_na": False, "na_values": list(CSV_NA_MARKERS)}
    got = compact.read_csv_blocks(path, names, cb, dtype={0: str}, **opts)
    whole = pd.read_csv(
        path, header=0, names=[*range(len(names))], index_col=False, dtype={0: str}, low_memory=False, **opts
    )
    pos = {n: i for i, n in enumerate(names)}
    assert got[pos["org_type"]].dtype == "float64" and got[pos["org_type"]][650] == 300
    assert got[pos["fte"]].dtype == "float64" and got[pos["fte"]][660] == 2.5
    assert str(got[pos["familiarity"]].dtype) == "Int8"
    coded = [pos[n] for n in names if n in cb.columns and n != "resp_id"]
    pd.testing.assert_frame_equal(compact.widen(got), whole.astype({i: "float64" for i in coded}))


def test_text_in_a_code_column_reads_the_whole_file(cb, tmp_path):
    df = pd.read_csv(build.default_data_path(), dtype=str, keep_default_na=False).head(50)
    df.loc[40, "familiarity"] = "Very familiar"
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    names, _ = io._header_names(path)
    assert compact.read_csv_blocks(path, names, cb, dtype={0: str}, encoding="utf-8-sig") is None
    small = io.read(path, cb, small=True)  # label text mapped to codes, then compact
    pd.testing.assert_frame_equal(compact.widen(small), io.read(path, cb))
    assert small.loc[40, "familiarity"] == 1


def _messages(path, cb, **kw):
    with pytest.raises(DataError) as err:
        io.load(path, cb, **kw)
    return [str(p) for p in err.value.problems]


def test_validate_reports_the_same_problems_on_compact_codes(cb, tmp_path):
    """Bad codes (in and beyond the Int8 range), an out-of-range scale, a duplicate id, a
    missing required answer and answers from people not asked: word for word the same."""
    df = pd.read_csv(build.default_data_path(), dtype=str, keep_default_na=False).head(400)
    complete = df.index[df["disposition"] == "1"]
    sso = df.index[(df["disposition"] == "1") & (df["org_type"] != "1")]
    df.loc[complete[0], "org_type"] = "300"
    df.loc[complete[1], "familiarity"] = "9"
    df.loc[complete[2], "resp_id"] = df.loc[complete[3], "resp_id"]
    df.loc[complete[4], "role"] = ""
    df.loc[sso[0], "sso_type__housing"] = "1"  # asked of social service organisations only
    scale = next(c for c in cb.columns.values() if c.kind == "scale" and c.name in df.columns)
    df.loc[complete[5], scale.name] = str(int(scale.max) + 5)
    path = tmp_path / "bad.csv"
    df.to_csv(path, index=False)
    wide = _messages(path, cb)
    assert any("bad_code" in m for m in wide) and any("duplicate_id" in m for m in wide)
    assert any("not_asked" in m for m in wide) and any("out_of_range" in m for m in wide)
    assert _messages(path, cb, small=True) == wide
