"""calaim.data.io and calaim.data.validate: every problem kind, round trips, and file safety.

Every data file is built in ``tmp_path`` from the ``valid_frame`` fixture (tests/conftest.py);
nothing binary is committed. Each problem test breaks one thing and checks the problem's
kind and that its message names the file, the column, the row(s) and the value.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pyreadstat
import pytest

from calaim.data import io, validate
from calaim.data.validate import DataError, Problem

SRC = "survey.csv"


def only(problems: list[Problem], kind: str) -> Problem:
    found = [p for p in problems if p.kind == kind]
    assert len(found) == 1, f"expected one {kind} problem, got {[str(p) for p in problems]}"
    return found[0]


def kinds(problems) -> set[str]:
    return {p.kind for p in problems}


def names_all(message: str, *parts: str) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in message: {message}"


def with_object(df: pd.DataFrame, *cols: str) -> pd.DataFrame:
    return df.astype({c: object for c in cols}).copy()  # copy: one consolidated frame


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ the valid fixture
def test_valid_frame_is_valid(valid_frame, cb):
    assert validate.validate(valid_frame, cb, source=SRC) == []
    assert validate.check(valid_frame, cb, source=SRC) == []
    assert len(valid_frame) == 20 and valid_frame["resp_id"].is_unique
    kinds_present = {cb.columns[c].kind for c in valid_frame.columns}
    assert kinds_present == {"id", "single", "binary", "scale", "count"}


# ------------------------------------------------------------------ one test per kind
def test_empty_file(valid_frame, cb):
    p = only(validate.validate(valid_frame.iloc[0:0], cb, source=SRC), "empty_file")
    names_all(p.message, SRC, "no respondent rows")
    assert p.severity == "error"


def test_missing_id_column_and_empty_ids(valid_frame, cb):
    p = only(validate.validate(valid_frame.drop(columns="resp_id"), cb, source=SRC), "missing_id")
    names_all(p.message, SRC, "'resp_id'")
    df = with_object(valid_frame, "resp_id")
    df.loc[4, "resp_id"] = "  "
    p = only(validate.validate(df, cb, source=SRC), "missing_id")
    assert p.rows == [5] and p.column == "resp_id"
    names_all(p.message, SRC, "'resp_id'", "row 5", "file line 6", "empty")


def test_duplicate_id(valid_frame, cb):
    df = valid_frame.copy()
    df.loc[[6, 12], "resp_id"] = 1001
    p = only(validate.validate(df, cb, source=SRC), "duplicate_id")
    assert p.rows == [1, 7, 13] and p.values == [1001]
    names_all(p.message, SRC, "'resp_id'", "rows 1, 7 and 13", "file lines 2, 8 and 14", "1001")


def test_missing_required_column_and_value(valid_frame, cb):
    p = only(validate.validate(valid_frame.drop(columns="role"), cb, source=SRC), "missing_required")
    names_all(p.message, SRC, "'role'", "absent")
    df = valid_frame.copy()
    df.loc[2, "org_type"] = np.nan
    p = only(validate.validate(df, cb, source=SRC), "missing_required")
    assert p.column == "org_type" and p.rows == [3]
    names_all(p.message, SRC, "'org_type'", "row 3", "file line 4", "empty")


def test_optional_items_may_be_absent_and_blank(valid_frame, cb):
    df = valid_frame.drop(
        columns=["satisfaction", "discharge_planner"] + [c for c in valid_frame if c.startswith("county__")]
    )
    df.loc[3, "served_access"] = np.nan  # item non-response in an optional column is fine
    assert validate.validate(df, cb, source=SRC) == []


def test_unknown_column_and_derived_names(valid_frame, cb):
    df = valid_frame.assign(favourite_colour=1.0, sector_sso=1.0)
    problems = validate.validate(df, cb, source=SRC)
    unknown = {p.column: p for p in problems if p.kind == "unknown_column"}
    assert set(unknown) == {"favourite_colour", "sector_sso"}
    names_all(unknown["favourite_colour"].message, SRC, "'favourite_colour'", "not defined in the codebook")
    names_all(unknown["sector_sso"].message, SRC, "'sector_sso'", "derived")
    p = validate.validate(valid_frame.rename(columns={"satisfaction": "satisfacton"}), cb, source=SRC)
    assert "did you mean 'satisfaction'" in only(p, "unknown_column").message


def test_wrong_type(valid_frame, cb):
    df = with_object(valid_frame, "satisfaction")
    df.loc[2, "satisfaction"] = "ten"
    p = only(validate.validate(df, cb, source=SRC), "wrong_type")
    assert p.column == "satisfaction" and p.rows == [3] and p.values == ["ten"]
    names_all(p.message, SRC, "'satisfaction'", "row 3", "file line 4", "'ten'", "not a number")


def test_bad_code_single_and_multi(valid_frame, cb):
    df = valid_frame.copy()
    df.loc[[5, 9], "org_type"] = 99
    df.loc[0, "support__rates"] = 2
    problems = validate.validate(df, cb, source=SRC)
    bad = {p.column: p for p in problems if p.kind == "bad_code"}
    assert set(bad) == {"org_type", "support__rates"}
    assert bad["org_type"].rows == [6, 10] and bad["org_type"].values == [99]
    names_all(bad["org_type"].message, SRC, "'org_type'", "rows 6 and 10", "file lines 7 and 11", "99", "97")
    names_all(bad["support__rates"].message, SRC, "'support__rates'", "row 1", "file line 2", "value 2", "0", "1")
    # a wrong code in org_type must not cascade into population problems
    assert kinds(problems) == {"bad_code"}


def test_out_of_range_and_non_integer(valid_frame, cb):
    df = valid_frame.copy()
    df.loc[3, "satisfaction"] = 11
    df.loc[4, "satisfaction"] = 5.5
    df.loc[0, "mcp_contracts"] = -1
    problems = validate.validate(df, cb, source=SRC)
    sat = next(p for p in problems if p.kind == "out_of_range" and p.column == "satisfaction")
    assert sat.rows == [4, 5] and sat.values == [11.0, 5.5]
    names_all(sat.message, SRC, "'satisfaction'", "rows 4 and 5", "file lines 5 and 6", "11", "5.5", "0 to 10")
    cnt = next(p for p in problems if p.kind == "out_of_range" and p.column == "mcp_contracts")
    names_all(cnt.message, "'mcp_contracts'", "row 1", "-1", "0 to 30")
    assert kinds(problems) == {"out_of_range"}


def test_not_asked(valid_frame, cb):
    df = valid_frame.copy()
    assert df.loc[1, "credential"] == 12  # not a prescriber: specialty is not asked
    df.loc[1, "specialty"] = 1
    assert df.loc[5, "org_type"] != 1  # not an SSO: sso_type is not asked
    df.loc[5, "sso_type__housing"] = 0  # a 0 is an answer too
    problems = validate.validate(df, cb, source=SRC)
    by_col = {p.column: p for p in problems if p.kind == "not_asked"}
    assert set(by_col) == {"specialty", "sso_type__housing"}
    names_all(by_col["specialty"].message, SRC, "'specialty'", "row 2", "file line 3", "value 1", "'prescriber'")
    names_all(by_col["sso_type__housing"].message, SRC, "row 6", "value 0", "'ssotype_asked'")


def test_not_asked_skipped_when_population_cannot_be_evaluated(valid_frame, cb):
    # without discharge_planner nobody can be placed in the 'hdp' population
    df = valid_frame.assign(hdp_support=1.0).drop(columns="discharge_planner")
    assert "not_asked" not in kinds(validate.validate(df, cb, source=SRC))
    # with it, answers from non-planners are flagged
    df = valid_frame.assign(hdp_support=1.0)
    p = only(validate.validate(df, cb, source=SRC), "not_asked")
    assert p.column == "hdp_support" and len(p.rows) == 20 - int((valid_frame["discharge_planner"] == 1).sum())


def test_all_missing_is_a_warning(valid_frame, cb):
    df = valid_frame.assign(hdp_poc=np.nan)
    p = only(validate.validate(df, cb, source=SRC), "all_missing")
    assert p.severity == "warning"
    names_all(p.message, SRC, "'hdp_poc'", "no answer", "20 rows")
    warnings = validate.check(df, cb, source=SRC)  # does not raise
    assert [w.kind for w in warnings] == ["all_missing"]


def test_every_problem_reported_at_once(valid_frame, cb):
    df = with_object(valid_frame, "satisfaction")
    df.loc[2, "satisfaction"] = "ten"
    df.loc[5, "org_type"] = 99
    df.loc[6, "resp_id"] = 1001
    df = df.drop(columns="role").assign(extra=1, hdp_poc=np.nan)
    with pytest.raises(DataError) as info:
        validate.check(df, cb, source=SRC)
    err = info.value
    assert kinds(err.problems) == {
        "wrong_type",
        "bad_code",
        "duplicate_id",
        "missing_required",
        "unknown_column",
        "all_missing",
    }
    lines = str(err).splitlines()
    assert len(lines) == len(err.problems) == 6
    assert all(SRC in line for line in lines)
    assert err.problems[-1].severity == "warning"  # errors first


def test_many_rows_are_summarised(valid_frame, cb):
    df = valid_frame.assign(medical_share=7.0)
    p = only(validate.validate(df, cb, source=SRC), "bad_code")
    assert len(p.rows) == 20
    names_all(p.message, "rows 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 and 10 more")


# ------------------------------------------------------------------ round trips
@pytest.mark.parametrize("ext", ["csv", "parquet", "sav", "dta"])
def test_round_trip(valid_frame, cb, tmp_path, ext):
    df = valid_frame
    path = io.write(df, tmp_path / f"survey.{ext}", cb)
    back = io.load(path, cb)
    assert list(back.columns) == list(df.columns)
    assert back["resp_id"].dtype == "Int64"
    expected = df.astype({"resp_id": "Int64"})
    pd.testing.assert_frame_equal(back, expected)
    assert back.attrs["warnings"] == []


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_written_files_carry_codebook_labels(valid_frame, cb, tmp_path, ext):
    path = io.write(valid_frame, tmp_path / f"survey.{ext}", cb)
    reader = pyreadstat.read_sav if ext == "sav" else pyreadstat.read_dta
    _, meta = reader(str(path), metadataonly=True)
    labels = {int(k): v for k, v in meta.variable_value_labels["served_access"].items()}
    assert labels == cb.labels("served_access")
    assert {int(k): v for k, v in meta.variable_value_labels["county__alameda"].items()} == {
        0: "Not selected",
        1: "Selected",
    }
    assert meta.column_names_to_labels["org_type"] == cb.column("org_type").label
    if ext == "dta":  # Stata's variable-label limit
        assert all(len(v or "") <= 80 for v in meta.column_names_to_labels.values())


def test_text_ids_round_trip_as_text(valid_frame, cb, tmp_path):
    df = valid_frame.assign(resp_id=[f"R{i:03d}" for i in range(20)])
    for ext in ["csv", "parquet", "sav", "dta"]:
        back = io.load(io.write(df, tmp_path / f"ids.{ext}", cb), cb)
        assert back["resp_id"].tolist() == df["resp_id"].tolist(), ext
        assert pd.api.types.is_string_dtype(back["resp_id"].dtype)
    # leading zeros are kept: such ids are text, not numbers
    df = valid_frame.assign(resp_id=[f"{i:04d}" for i in range(20)])
    back = io.load(io.write(df, tmp_path / "zeros.csv", cb), cb)
    assert back["resp_id"].tolist()[:2] == ["0000", "0001"]


def test_stata_name_limit(valid_frame, cb, tmp_path):
    df = valid_frame.assign(**{"a_very_long_column_name_that_stata_refuses": 1.0})
    with pytest.raises(DataError) as info:
        io.write(df, tmp_path / "long.dta", cb)
    names_all(str(info.value), "a_very_long_column_name_that_stata_refuses", "32")
    assert max(len(c) for c in cb.columns) <= io.STATA_NAME_MAX  # every codebook column fits


# ------------------------------------------------------------------ value labels
def test_sav_labels_disagreeing_with_codebook(valid_frame, cb, tmp_path):
    path = tmp_path / "relabelled.sav"
    labels = {"served_access": dict(cb.labels("served_access")), "org_type": dict(cb.labels("org_type"))}
    labels["served_access"].update({1: "Much worse", 5: "Much better"})  # reversed ends
    labels["org_type"][2] = "  fqhc OR other   community clinic "  # only case/spacing differ: fine
    pyreadstat.write_sav(valid_frame, str(path), variable_value_labels=labels)
    with pytest.raises(DataError) as info:
        io.load(path, cb)
    p = only(info.value.problems, "label_mismatch")
    assert p.column == "served_access" and p.values == [1, 5]
    names_all(p.message, "relabelled.sav", "'served_access'", "code 1", "'Much worse'", "'Much better'", "code 5")
    rows_with_1_or_5 = [i + 1 for i, v in enumerate(valid_frame["served_access"]) if v in (1, 5)]
    assert p.rows == rows_with_1_or_5
    # downgraded on request
    df = io.load(path, cb, labels="warning")
    assert any("label" in w and "served_access" in w for w in df.attrs["warnings"])


def test_label_strings_map_to_codes(valid_frame, cb, tmp_path):
    df = with_object(valid_frame, "served_access", "org_type", "support__rates", "satisfaction")
    df["served_access"] = [f"  {cb.labels('served_access')[int(v)].upper()} " for v in valid_frame["served_access"]]
    df["org_type"] = [cb.labels("org_type")[int(v)] for v in valid_frame["org_type"]]
    df["support__rates"] = ["Yes" if v == 1 else "No" for v in valid_frame["support__rates"]]
    df.loc[valid_frame["satisfaction"] == 10, "satisfaction"] = "Extremely satisfied"  # a scale anchor
    for ext in ["dta", "csv"]:
        path = tmp_path / f"labels.{ext}"
        if ext == "dta":
            pyreadstat.write_dta(df, str(path))
        else:
            df.to_csv(path, index=False)
        back = io.load(path, cb)
        for col in ["served_access", "org_type", "support__rates", "satisfaction"]:
            assert back[col].tolist() == valid_frame[col].tolist(), (ext, col)


def test_unknown_label_is_bad_code(valid_frame, cb, tmp_path):
    df = with_object(valid_frame, "org_type")
    df["org_type"] = [cb.labels("org_type")[int(v)] for v in valid_frame["org_type"]]
    df.loc[3, "org_type"] = "Spaceship"
    path = tmp_path / "labels.csv"
    df.to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        io.load(path, cb)
    # reported once, without a cascade of missing-answer or not-asked problems; the other
    # cells' label text was mapped to codes, which is a warning
    assert kinds(info.value.errors) == {"bad_code"}
    assert kinds(info.value.problems) == {"bad_code", "label_text"}
    p = info.value.problems[0]
    assert p.column == "org_type" and p.rows == [4] and p.values == ["Spaceship"]
    names_all(p.message, "labels.csv", "'org_type'", "row 4", "file line 5", "'Spaceship'")


# ------------------------------------------------------------------ CSV details
def test_bom_csv_and_messy_names_and_cells(valid_frame, cb, tmp_path):
    df = with_object(valid_frame, "org_type")
    df["org_type"] = [f" {int(v)} " for v in valid_frame["org_type"]]
    df = df.rename(columns={"resp_id": " RESP_ID", "role": "Role "})
    path = tmp_path / "bom.csv"
    path.write_bytes(df.to_csv(index=False).encode("utf-8-sig"))
    assert path.read_bytes()[:3] == b"\xef\xbb\xbf"
    back = io.load(path, cb)
    assert list(back.columns) == list(valid_frame.columns)
    pd.testing.assert_frame_equal(back, valid_frame.astype({"resp_id": "Int64"}))


def test_unknown_text_columns_are_stripped(valid_frame, cb, tmp_path):
    path = tmp_path / "notes.csv"
    valid_frame.assign(note=[" a ", ""] * 10).to_csv(path, index=False)
    df, problems = io.read_with_problems(path, cb)
    assert df["note"].iloc[0] == "a" and pd.isna(df["note"].iloc[1])
    assert problems == []


@pytest.mark.parametrize("sep, word", [(";", "semicolon"), ("\t", "tab")])
def test_wrong_delimiter(valid_frame, cb, tmp_path, sep, word):
    path = tmp_path / "semi.csv"
    valid_frame.to_csv(path, index=False, sep=sep)
    with pytest.raises(DataError) as info:
        io.read(path, cb)
    p = only(info.value.problems, "delimiter")
    names_all(p.message, "semi.csv", word, "comma")


def test_not_utf8(valid_frame, cb, tmp_path):
    text = valid_frame.assign(note="plain").to_csv(index=False)
    lines = text.encode("utf-8").split(b"\n")
    lines[3] = lines[3].replace(b"plain", b"caf\xe9")  # Latin-1 e-acute in data row 3
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"\n".join(lines))
    offset = path.read_bytes().index(b"\xe9")
    with pytest.raises(DataError) as info:
        io.read(path, cb)
    p = only(info.value.problems, "encoding")
    assert p.rows == [3]
    names_all(p.message, "latin1.csv", "UTF-8", f"offset {offset}", "line 4", "0xE9")


def test_empty_and_header_only_csv(cb, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header = tmp_path / "header.csv"
    header.write_text("resp_id,disposition,familiarity,org_type,role\n")
    for path in (empty, header):
        with pytest.raises(DataError) as info:
            io.read(path, cb)
        p = only(info.value.problems, "empty_file")
        names_all(p.message, path.name)


def test_duplicate_columns_after_normalising(valid_frame, cb, tmp_path):
    path = tmp_path / "dup.csv"
    valid_frame.assign(ROLE=1).to_csv(path, index=False)
    with pytest.raises(DataError) as info:
        io.read(path, cb)
    p = only(info.value.problems, "duplicate_column")
    names_all(p.message, "dup.csv", "'role'", "'ROLE'")


# ------------------------------------------------------------------ other file failures
def test_truncated_parquet(valid_frame, cb, tmp_path):
    path = io.write(valid_frame, tmp_path / "cut.parquet", cb)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError) as info:
        io.load(path, cb)
    names_all(only(info.value.problems, "corrupt_file").message, "cut.parquet", "Parquet")


@pytest.mark.parametrize("ext", ["sav", "dta"])
def test_corrupt_stat_file(cb, tmp_path, ext):
    path = tmp_path / f"junk.{ext}"
    path.write_bytes(b"this is not a statistics file" * 10)
    with pytest.raises(DataError) as info:
        io.read(path, cb)
    names_all(only(info.value.problems, "corrupt_file").message, path.name)


def test_missing_file_and_unknown_extension(cb, tmp_path):
    with pytest.raises(DataError) as info:
        io.read(tmp_path / "nowhere.csv", cb)
    assert kinds(info.value.problems) == {"file_not_found"}
    with pytest.raises(DataError) as info:
        io.read(tmp_path / "book.xlsx", cb)
    p = only(info.value.problems, "unsupported_format")
    names_all(p.message, "book.xlsx", ".csv", ".parquet", ".sav", ".dta")


# ------------------------------------------------------------------ the input is never touched
@pytest.mark.parametrize("ext", ["csv", "parquet", "sav", "dta"])
def test_input_file_unchanged(valid_frame, cb, tmp_path, ext):
    folder = tmp_path / "in"
    folder.mkdir()
    bad = valid_frame.copy()
    bad.loc[0, "satisfaction"] = 12  # make load fail too
    path = io.write(bad, folder / f"survey.{ext}", cb)
    before, listing = sha(path), sorted(p.name for p in folder.iterdir())
    mtime = path.stat().st_mtime_ns
    df = io.read(path, cb)
    validate.validate(df, cb, source=path.name)
    with pytest.raises(DataError):
        io.load(path, cb)
    assert sha(path) == before
    assert path.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in folder.iterdir()) == listing  # nothing written next to it


def test_write_does_not_modify_the_frame(valid_frame, cb, tmp_path):
    before = valid_frame.copy()
    for ext in ["csv", "parquet", "sav", "dta"]:
        io.write(valid_frame, tmp_path / f"w.{ext}", cb)
    pd.testing.assert_frame_equal(valid_frame, before)
