"""The bad-input suite: malformed data files and what ``calaim validate`` and ``calaim build`` do.

Every file is generated here, in ``tmp_path``, from the valid fixture frame of conftest.py
(nothing binary is committed). Each case has a documented outcome (README, "What happens with
a bad file"):

* ``error``: ``calaim validate`` exits non-zero with a problem line of the expected kind that
  names the file and, as applicable, the column, the row(s) and the value; ``calaim build``
  fails at its data step, before any notebook runs, and leaves the previous book untouched;
* ``warning``: the file is used; ``calaim validate`` exits 0 and prints the warning, and the
  same warning reaches the book (every chapter's header lists the data warnings);
* ``ok``: the file is valid as it is (tolerated differences are normalised silently).

Whatever the outcome, the input file's bytes are the same afterwards and nothing is written
next to it.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyreadstat
import pytest
from conftest import make_valid_frame

from calaim import cli
from calaim.book import chapter
from calaim.data import codebook, io


@dataclass(frozen=True)
class Case:
    make: Callable[[Path, pd.DataFrame, codebook.Codebook], Path]  # writes the file into a folder
    outcome: str  # "error", "warning" or "ok"
    kind: str = ""  # the problem kind (errors and warnings)
    names: tuple[str, ...] = ()  # what the problem's line must name besides the file


# ---------------------------------------------------------------------------- file writers
def _codes_text(df: pd.DataFrame) -> str:
    """CSV text with whole-number codes written as 1, not 1.0 (as io.write does)."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == "float64" and np.all(np.isnan(out[c]) | (np.floor(out[c]) == out[c])):
            out[c] = out[c].astype("Int64")
    return out.to_csv(index=False, lineterminator="\n")


def csv_of(name: str, change: Callable[[pd.DataFrame, codebook.Codebook], pd.DataFrame], **kw):
    """A writer of ``name``: the valid frame, changed, as CSV."""

    def make(folder: Path, frame: pd.DataFrame, cb) -> Path:
        path = folder / name
        path.write_text(_codes_text(change(frame.copy(), cb)), encoding="utf-8", **kw)
        return path

    return make


def bytes_of(name: str, content: Callable[[pd.DataFrame, codebook.Codebook], bytes]):
    def make(folder: Path, frame: pd.DataFrame, cb) -> Path:
        path = folder / name
        path.write_bytes(content(frame.copy(), cb))
        return path

    return make


def with_cell(column: str, row: int, value):
    """The valid frame with one cell (0-based row) replaced, the column made text if needed."""

    def change(df: pd.DataFrame, cb) -> pd.DataFrame:
        if isinstance(value, str) or value is None:
            df = df.astype({column: object})
        df.loc[row, column] = value
        return df

    return change


def latin1_cell(df, cb) -> bytes:
    lines = _codes_text(df.assign(note="plain")).encode("utf-8").split(b"\n")
    lines[3] = lines[3].replace(b"plain", b"caf\xe9")  # data row 3, Latin-1 e-acute
    return b"\n".join(lines)


def ragged_row(df, cb) -> bytes:
    lines = _codes_text(df).split("\n")
    lines[4] += ",9"  # data row 4 has one field too many
    return "\n".join(lines).encode("utf-8")


def labels_with_stray_space_and_case(df, cb):
    df = df.astype({"org_type": object, "support__rates": object})
    df["org_type"] = [f"  {cb.labels('org_type')[int(v)].upper()} " for v in df["org_type"]]
    df["support__rates"] = [" YES" if v == 1 else "no " for v in df["support__rates"]]
    return df


def unknown_label(df, cb):
    df = df.astype({"org_type": object})
    df["org_type"] = [cb.labels("org_type")[int(v)] for v in df["org_type"]]
    df.loc[3, "org_type"] = "Spaceship"
    return df


def not_asked(df, cb):
    assert df.loc[1, "credential"] == 12  # not a prescriber: specialty is not asked
    df.loc[1, "specialty"] = 1
    return df


def parquet_file(name: str, change=lambda df, cb: df, cut: bool = False):
    def make(folder: Path, frame: pd.DataFrame, cb) -> Path:
        path = folder / name
        df = change(frame.copy(), cb)
        df.to_parquet(path, index=False)
        if cut:
            data = path.read_bytes()
            path.write_bytes(data[: len(data) // 2])
        return path

    return make


def text_satisfaction(df, cb):
    df = df.astype({"satisfaction": object})
    df.loc[3, "satisfaction"] = "ten"
    return df.astype({"satisfaction": str})


def stat_file(name: str, change=lambda df, cb: df, labels=None):
    def make(folder: Path, frame: pd.DataFrame, cb) -> Path:
        path = folder / name
        df = change(frame.copy(), cb)
        if labels is None:
            return io.write(df, path, cb)
        writer = pyreadstat.write_sav if name.endswith(".sav") else pyreadstat.write_dta
        writer(df, str(path), variable_value_labels=labels(cb))
        return path

    return make


def reversed_labels(cb):
    labels = {"served_access": dict(cb.labels("served_access"))}
    labels["served_access"].update({1: "Much worse", 5: "Much better"})  # the ends swapped
    return labels


def spaced_labels(cb):
    return {"org_type": {k: f"  {v.lower()}  " for k, v in cb.labels("org_type").items()}}


def one_row(folder: Path, frame: pd.DataFrame, cb) -> Path:
    path = folder / "one_row.csv"
    path.write_text(_codes_text(frame.iloc[:1]), encoding="utf-8")
    return path


BIG_N = 200_000


def big_file(folder: Path, frame: pd.DataFrame, cb) -> Path:
    """200,000 valid rows: the 20 fixture rows repeated (each is valid alone), ids 900001..."""
    header, *rows = _codes_text(frame).rstrip("\n").split("\n")
    rest = [r.split(",", 1)[1] for r in rows]
    path = folder / "big.csv"
    body = "\n".join(f"{900001 + i},{rest[i % len(rest)]}" for i in range(BIG_N))
    path.write_text(header + "\n" + body + "\n", encoding="utf-8")
    return path


def all_missing(df, cb):
    return df.assign(hdp_poc=np.nan)


def renamed(columns: dict):
    return lambda df, cb: df.rename(columns=columns)


# ---------------------------------------------------------------------------- structure (issue 14)
def extra_field_first_row(df, cb) -> bytes:
    lines = _codes_text(df).split("\n")
    lines[1] += ",7"  # the first data row: pandas would take the extra field as an index
    return "\n".join(lines).encode("utf-8")


def short_last_row(df, cb) -> bytes:
    text = _codes_text(df).rstrip("\n")
    head, last = text.rsplit("\n", 1)
    return (head + "\n" + ",".join(last.split(",")[:5]) + "\n").encode("utf-8")  # the file cut off


def trailing_commas(df, cb) -> bytes:
    header, *rows = _codes_text(df).rstrip("\n").split("\n")
    return ("\n".join([header, *(r + "," for r in rows)]) + "\n").encode("utf-8")


def identical_headers(df, cb) -> bytes:
    text = _codes_text(df.assign(extra=df["role"]))
    return text.replace(",extra\n", ",role\n", 1).encode("utf-8")


def excel_empty_columns(df, cb) -> bytes:
    header, *rows = _codes_text(df).rstrip("\n").split("\n")
    return ("\n".join([header + ",,", *(r + ",," for r in rows)]) + "\n").encode("utf-8")


def empty_header_with_values(df, cb) -> bytes:
    text = _codes_text(df.assign(zz=5))
    return text.replace(",zz\n", ",\n", 1).encode("utf-8")


def newline_in_quotes(df, cb) -> bytes:
    df = df.assign(note="plain")
    df.loc[1, "note"] = "two\nlines"  # a quoted field with a newline in data row 2
    df.loc[3, "satisfaction"] = 11
    return _codes_text(df).encode("utf-8")


def parquet_named_csv(folder: Path, frame: pd.DataFrame, cb) -> Path:
    path = folder / "really_parquet.csv"
    frame.to_parquet(path, index=False)
    return path


def parquet_with_index(name: str, index):
    def make(folder: Path, frame: pd.DataFrame, cb) -> Path:
        path = folder / name
        index(frame.copy()).to_parquet(path)  # the index stored as pandas writes it
        return path

    return make


def parquet_duplicate_columns(folder: Path, frame: pd.DataFrame, cb) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / "dup_columns.parquet"
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table.append_column("role", table.column("role")), path)
    return path


def one_and_one_point_zero(df, cb):
    df = df.astype({"resp_id": object})
    df["resp_id"] = [str(1 + i) for i in range(len(df))]
    df.loc[5, "resp_id"] = "1.0"  # the same respondent as row 1
    return df


# ---------------------------------------------------------------------------- the table
CASES: dict[str, Case] = {
    # --- the file as a whole
    "empty_file": Case(bytes_of("empty.csv", lambda df, cb: b""), "error", "empty_file", ("empty",)),
    "header_only": Case(
        bytes_of("header_only.csv", lambda df, cb: b"resp_id,disposition,familiarity,org_type,role\n"),
        "error",
        "empty_file",
        ("no respondent rows",),
    ),
    "semicolons": Case(
        bytes_of("semicolons.csv", lambda df, cb: df.to_csv(index=False, sep=";").encode()),
        "error",
        "delimiter",
        ("semicolons", "comma", "resp_id;disposition"),
    ),
    "tabs": Case(
        bytes_of("tabs.csv", lambda df, cb: df.to_csv(index=False, sep="\t").encode()), "error", "delimiter", ("tabs",)
    ),
    "not_utf8": Case(
        bytes_of("latin1.csv", latin1_cell),
        "error",
        "encoding",
        ("column 'note'", "row 3", "file line 4", "'café'", "0xE9"),
    ),
    "utf16": Case(
        bytes_of("utf16.csv", lambda df, cb: _codes_text(df).encode("utf-16")),
        "error",
        "encoding",
        ("UTF-16", "0xFF 0xFE"),
    ),
    "byte_order_mark": Case(
        bytes_of("bom.csv", lambda df, cb: _codes_text(df).encode("utf-8-sig")), "warning", "bom", ("byte-order mark",)
    ),
    "ragged_row": Case(
        bytes_of("ragged.csv", ragged_row),
        "error",
        "malformed_csv",
        ("row 4", "file line 5", "value '9'", "139 fields"),
    ),
    "unsupported_format": Case(
        bytes_of("survey.xlsx", lambda df, cb: b"PK\x03\x04 not really a workbook"),
        "error",
        "unsupported_format",
        (".xlsx", ".csv", ".parquet", ".sav", ".dta"),
    ),
    "one_row": Case(one_row, "warning", "all_missing", ("'specialty'", "its only row")),
    "200000_rows": Case(big_file, "ok"),
    # --- ids and columns
    "duplicated_ids": Case(
        csv_of("dup_ids.csv", with_cell("resp_id", 6, 1003)),
        "error",
        "duplicate_id",
        ("'resp_id'", "rows 3 and 7", "file lines 4 and 8", "value 1003"),
    ),
    "empty_id": Case(
        csv_of("empty_id.csv", with_cell("resp_id", 4, None)),
        "error",
        "missing_id",
        ("'resp_id'", "row 5", "file line 6", "empty"),
    ),
    "missing_id_column": Case(
        csv_of("no_id.csv", lambda df, cb: df.drop(columns="resp_id")), "error", "missing_id", ("'resp_id'",)
    ),
    "text_ids": Case(
        csv_of("text_ids.csv", lambda df, cb: df.assign(resp_id=[f"R7Q{900001 + i}" for i in range(len(df))])), "ok"
    ),
    "messy_column_names": Case(csv_of("messy_names.csv", renamed({"resp_id": " RESP_ID", "role": "Role "})), "ok"),
    "unknown_column": Case(
        csv_of("extra.csv", lambda df, cb: df.assign(favourite_colour=1)),
        "error",
        "unknown_column",
        ("'favourite_colour'", "not defined in the codebook"),
    ),
    "derived_column": Case(
        csv_of("derived.csv", lambda df, cb: df.assign(sector_sso=1)),
        "error",
        "unknown_column",
        ("'sector_sso'", "derived"),
    ),
    "duplicate_column": Case(
        csv_of("dup_column.csv", lambda df, cb: df.assign(ROLE=1)), "error", "duplicate_column", ("'role'", "'ROLE'")
    ),
    "missing_required_column": Case(
        csv_of("no_role.csv", lambda df, cb: df.drop(columns="role")), "error", "missing_required", ("'role'",)
    ),
    "missing_required_answer": Case(
        csv_of("blank_familiarity.csv", with_cell("familiarity", 1, np.nan)),
        "error",
        "missing_required",
        ("'familiarity'", "row 2", "file line 3", "value: empty"),
    ),
    # --- values
    "code_not_in_codebook": Case(
        csv_of("code99.csv", with_cell("org_type", 5, 99)),
        "error",
        "bad_code",
        ("'org_type'", "row 6", "file line 7", "value 99"),
    ),
    "select_all_not_0_1": Case(
        csv_of("option2.csv", with_cell("support__rates", 0, 2)),
        "error",
        "bad_code",
        ("'support__rates'", "row 1", "value 2"),
    ),
    "coded_5.5": Case(
        csv_of("org_5_5.csv", with_cell("org_type", 3, 5.5)), "error", "bad_code", ("'org_type'", "row 4", "value 5.5")
    ),
    "unknown_label": Case(
        csv_of("spaceship.csv", unknown_label),
        "error",
        "bad_code",
        ("'org_type'", "row 4", "file line 5", "'Spaceship'"),
    ),
    "labels_stray_space_and_case": Case(
        csv_of("labels.csv", labels_with_stray_space_and_case),
        "warning",
        "label_text",
        ("'org_type'", "'support__rates'", "row 1", "label text", "'SOCIAL SERVICE PROVIDER'"),
    ),
    "scale_11": Case(
        csv_of("sat11.csv", with_cell("satisfaction", 3, 11)),
        "error",
        "out_of_range",
        ("'satisfaction'", "row 4", "file line 5", "value 11", "0 to 10"),
    ),
    "scale_minus_1": Case(
        csv_of("sat_minus1.csv", with_cell("satisfaction", 3, -1)),
        "error",
        "out_of_range",
        ("'satisfaction'", "row 4", "value -1"),
    ),
    "scale_5.5": Case(
        csv_of("sat_5_5.csv", with_cell("satisfaction", 3, 5.5)),
        "error",
        "out_of_range",
        ("'satisfaction'", "row 4", "value 5.5", "whole numbers"),
    ),
    "scale_ten": Case(
        csv_of("sat_ten.csv", with_cell("satisfaction", 3, "ten")),
        "error",
        "wrong_type",
        ("'satisfaction'", "row 4", "file line 5", "'ten'", "not a number"),
    ),
    "all_missing_item": Case(csv_of("no_answers.csv", all_missing), "warning", "all_missing", ("'hdp_poc'", "20 rows")),
    "skip_logic_violated": Case(
        csv_of("not_asked.csv", not_asked),
        "error",
        "not_asked",
        ("'specialty'", "row 2", "file line 3", "value 1", "'prescriber'"),
    ),
    # --- other formats
    "truncated_parquet": Case(parquet_file("cut.parquet", cut=True), "error", "corrupt_file", ("Parquet", "truncated")),
    "zero_byte_parquet": Case(
        bytes_of("zero.parquet", lambda df, cb: b""), "error", "corrupt_file", ("Parquet", "0 bytes")
    ),
    "parquet_text_in_scale": Case(
        parquet_file("ten.parquet", text_satisfaction), "error", "wrong_type", ("'satisfaction'", "row 4", "'ten'")
    ),
    "sav_labels_not_codebook": Case(
        stat_file("relabelled.sav", labels=reversed_labels),
        "error",
        "label_mismatch",
        ("'served_access'", "code 1", "'Much worse'", "code 5", "rows 1, 5, 9"),
    ),
    "sav_labels_spacing_and_case": Case(stat_file("spaced_labels.sav", labels=spaced_labels), "ok"),
    "dta_code_not_in_codebook": Case(
        stat_file("code99.dta", with_cell("org_type", 2, 99)), "error", "bad_code", ("'org_type'", "row 3", "value 99")
    ),
    "sav_not_spss": Case(
        bytes_of("junk.sav", lambda df, cb: b"this is not an SPSS file" * 20), "error", "corrupt_file", ("SPSS",)
    ),
    # --- CSV structure (issue 14)
    "extra_field_first_row": Case(
        bytes_of("extra_first.csv", extra_field_first_row),
        "error",
        "malformed_csv",
        ("row 1", "file line 2", "value '7'", "beyond the last column"),
    ),
    "short_last_row": Case(
        bytes_of("cut_off.csv", short_last_row), "error", "short_row", ("row 20", "file line 21", "5 fields", "cut off")
    ),
    "trailing_commas": Case(bytes_of("trailing.csv", trailing_commas), "warning", "trailing_comma", ("empty field",)),
    "identical_header_names": Case(
        bytes_of("same_name.csv", identical_headers), "error", "duplicate_column", ("'role'", "2 times")
    ),
    "excel_trailing_empty_columns": Case(
        bytes_of("excel.csv", excel_empty_columns), "warning", "empty_column", ("no header name", "column 139")
    ),
    "empty_header_cell_with_values": Case(
        bytes_of("no_name.csv", empty_header_with_values),
        "error",
        "empty_header",
        ("column 139", "no name", "rows 1", "(5)"),
    ),
    "newline_in_quoted_field": Case(
        bytes_of("newline.csv", newline_in_quotes),
        "error",
        "out_of_range",
        ("'satisfaction'", "row 4", "file line 6", "value 11"),
    ),
    "binary_garbage": Case(
        bytes_of("garbage.csv", lambda df, cb: bytes(range(256)) * 8), "error", "not_csv", ("binary", "NUL byte")
    ),
    "parquet_named_csv": Case(parquet_named_csv, "error", "not_csv", ("Parquet", ".parquet")),
    # --- Parquet indexes and names (issue 14)
    "parquet_row_slice": Case(
        parquet_with_index("slice.parquet", lambda df: df.set_axis(pd.RangeIndex(100, 100 + len(df)))), "ok"
    ),
    "parquet_id_as_index": Case(parquet_with_index("id_index.parquet", lambda df: df.set_index("resp_id")), "ok"),
    "parquet_duplicate_columns": Case(
        parquet_duplicate_columns, "error", "duplicate_column", ("'role'", "more than once")
    ),
    "ids_1_and_1.0": Case(
        csv_of("one_point_zero.csv", one_and_one_point_zero),
        "error",
        "duplicate_id",
        ("'resp_id'", "rows 1 and 6", "file lines 2 and 7", "value 1"),
    ),
}

ERRORS = [k for k, c in CASES.items() if c.outcome == "error"]
TOLERATED = [k for k, c in CASES.items() if c.outcome != "error"]


def test_the_suite_is_broad():
    assert len(CASES) >= 25
    assert {c.outcome for c in CASES.values()} == {"error", "warning", "ok"}


# ---------------------------------------------------------------------------- helpers
@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_valid_frame(20)


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_case(name: str, tmp_path: Path, frame: pd.DataFrame, cb) -> Path:
    folder = tmp_path / "input"
    folder.mkdir()
    return CASES[name].make(folder, frame, cb)


def problem_line(text: str, prefix: str) -> str:
    found = [line for line in text.splitlines() if line.startswith(prefix)]
    assert found, f"no line starting {prefix!r} in:\n{text}"
    return found[0]


def names_all(line: str, *parts: str) -> None:
    for part in parts:
        assert part in line, f"{part!r} not in: {line}"


# ---------------------------------------------------------------------------- errors
@pytest.mark.parametrize("name", ERRORS)
def test_error_cases_fail_validate_and_build(name, tmp_path, frame, cb, capsys):
    case = CASES[name]
    path = write_case(name, tmp_path, frame, cb)
    before, listing = sha(path), sorted(p.name for p in path.parent.iterdir())

    assert cli.main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    line = problem_line(err, f"[error: {case.kind}]")
    names_all(line, path.name, *case.names)
    assert f"{path.name}: " in err.splitlines()[-1] and "error(s)" in err.splitlines()[-1]
    assert str(tmp_path) not in err  # no directory of this machine, only the file name

    # the build stops at its data step, before any notebook runs, and keeps the previous book
    out = tmp_path / "out"
    (out / "html").mkdir(parents=True)
    previous = b"<html>the previous book</html>"
    (out / "html" / "index.html").write_bytes(previous)
    t0 = time.perf_counter()
    assert cli.main(["build", "--data", str(path), "--out", str(out)]) == 1
    assert time.perf_counter() - t0 < 60
    err = capsys.readouterr().err
    assert "build failed at step 'data'" in err
    assert "notebooks:" not in err  # no notebook was executed
    names_all(problem_line(err, f"[error: {case.kind}]"), path.name, *case.names)
    assert (out / "html" / "index.html").read_bytes() == previous
    assert sorted(p.name for p in out.iterdir()) == ["html"]  # no staging copy of the data left behind

    assert sha(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing


# ---------------------------------------------------------------------------- tolerated
@pytest.mark.parametrize("name", TOLERATED)
def test_tolerated_cases_validate_with_their_warning(name, tmp_path, frame, cb, capsys):
    case = CASES[name]
    path = write_case(name, tmp_path, frame, cb)
    before, listing = sha(path), sorted(p.name for p in path.parent.iterdir())

    t0 = time.perf_counter()
    assert cli.main(["validate", str(path)]) == 0
    seconds = time.perf_counter() - t0
    captured = capsys.readouterr()
    n_rows = BIG_N if name == "200000_rows" else 1 if name == "one_row" else 20
    assert f"{path.name}: OK ({n_rows} rows" in captured.out
    if case.outcome == "ok":
        assert "0 warning(s)" in captured.out and captured.err == ""
    else:
        names_all(problem_line(captured.err, f"warning: {path.name}: "), *case.names)
        for line in captured.err.splitlines():
            assert line.startswith(f"warning: {path.name}: ")
    if name == "200000_rows":
        assert seconds < 60, f"validating {BIG_N:,} rows took {seconds:.0f} s"
    assert sha(path) == before
    assert sorted(p.name for p in path.parent.iterdir()) == listing


@pytest.mark.parametrize("name", [k for k in TOLERATED if CASES[k].outcome == "warning"])
def test_warnings_are_shown_in_the_book(name, tmp_path, frame, cb):
    """Each chapter starts with ctx.header(), which lists the warnings of the data it ran on."""
    case = CASES[name]
    path = write_case(name, tmp_path, frame, cb)
    before = sha(path)
    ctx = chapter.setup(str(path), cb=cb)
    header = ctx.header().data
    warned = [w for w in ctx.warnings if all(part in w for part in case.names)]
    assert warned, ctx.warnings
    assert f"Data warning: {warned[0]}" in header
    assert sha(path) == before


def test_tolerated_files_read_as_the_valid_frame(tmp_path, frame, cb):
    """What the tolerant readings produce is the data the file means, not just 'no error'."""
    expected = frame.astype({"resp_id": "Int64"})
    for name in ["byte_order_mark", "labels_stray_space_and_case", "messy_column_names", "sav_labels_spacing_and_case"]:
        folder = tmp_path / name
        folder.mkdir()
        back = io.load(CASES[name].make(folder, frame, cb), cb)
        pd.testing.assert_frame_equal(back, expected, check_dtype=name != "sav_labels_spacing_and_case", obj=name)


# ---------------------------------------------------------------------------- special files, output (issue 14)
def _build_fails_at(args: list[str], step: str, capsys) -> str:
    assert cli.main(["build", *args]) == 1
    err = capsys.readouterr().err
    assert f"build failed at step '{step}'" in err
    assert "Traceback" not in err
    return err


def test_fifo_is_not_a_file(tmp_path, capsys):
    import os

    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    assert cli.main(["validate", str(fifo)]) == 1
    names_all(problem_line(capsys.readouterr().err, "[error: not_a_file]"), "pipe.csv", "named pipe")
    out = tmp_path / "out"
    err = _build_fails_at(["--data", str(fifo), "--out", str(out)], "data", capsys)
    names_all(problem_line(err, "[error: not_a_file]"), "pipe.csv", "named pipe")
    assert str(tmp_path) not in err.split("build failed", 1)[1].rsplit("\n", 2)[0]  # the output folder as given aside
    assert not (out / ".staging-html").exists()


def test_symlink_to_dev_zero_is_refused_at_once(tmp_path, capsys):
    link = tmp_path / "zero.csv"
    link.symlink_to("/dev/zero")
    t0 = time.perf_counter()
    assert cli.main(["validate", str(link)]) == 1
    names_all(problem_line(capsys.readouterr().err, "[error: not_a_file]"), "zero.csv", "a device")
    _build_fails_at(["--data", str(link), "--out", str(tmp_path / "out")], "data", capsys)
    assert time.perf_counter() - t0 < 30


def test_symlink_target_without_extension_builds_like_it_validates(tmp_path, frame, cb, capsys, monkeypatch):
    from calaim.book import build

    target = tmp_path / "export_2024"  # no extension
    target.write_text(_codes_text(frame), encoding="utf-8")
    link = tmp_path / "survey.csv"
    link.symlink_to(target)
    assert cli.main(["validate", str(link)]) == 0
    staged = []

    def stop(stage, params, **kw):
        staged.append(params["data_path"])
        raise build.BuildError("notebooks", "stopped by the test")

    monkeypatch.setattr(build, "execute_notebooks", stop)
    _build_fails_at(["--data", str(link), "--out", str(tmp_path / "out")], "notebooks", capsys)
    assert staged == ["../_data/survey.csv"]  # the data step passed, under the link's name


def test_out_that_is_a_file_or_unwritable(tmp_path, frame, capsys):
    import os

    data = tmp_path / "ok.csv"
    data.write_text(_codes_text(frame), encoding="utf-8")
    a_file = tmp_path / "book.txt"
    a_file.write_text("not a folder", encoding="utf-8")
    err = _build_fails_at(["--data", str(data), "--out", str(a_file)], "output", capsys)
    assert "is a file, not a folder" in err
    if os.geteuid() != 0:  # root may write anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        err = _build_fails_at(["--data", str(data), "--out", str(locked / "out")], "output", capsys)
        assert "cannot create the output folder" in err


def test_data_step_messages_name_no_staging_path(tmp_path, frame, capsys):
    path = tmp_path / "bad.csv"
    path.write_text(_codes_text(frame.assign(satisfaction=11)), encoding="utf-8")
    err = _build_fails_at(["--data", str(path), "--out", str(tmp_path / "out")], "data", capsys)
    failure, last = err.split("build failed", 1)[1].rstrip("\n").rsplit("\n", 1)
    assert ".staging" not in failure and str(tmp_path) not in failure, failure
    assert "no book was published" in last  # nothing was there before, and the message says so
