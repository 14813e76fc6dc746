"""Read and write respondent-level survey files: CSV, Parquet, SPSS ``.sav``, Stata ``.dta``.

:func:`read` returns a frame in one shape whatever the format:

* column names trimmed and matched to the codebook ignoring case (``Org_Type `` ->
  ``org_type``); names the codebook does not know are kept (trimmed) for
  :func:`calaim.data.validate.validate` to report;
* the id column as nullable integers (``Int64``) when every id is a whole number without
  leading zeros, as text otherwise;
* every coded, scale and count column of the codebook as ``float64`` (missing = NaN);
  a column holding text that is not a number stays ``object`` so that validation can name
  the row and the value. With ``small=True`` the codes stay in the compact nullable integer
  types of :mod:`calaim.data.compact` (``Int8`` almost everywhere: 2 bytes a cell, not 8), as
  ``calaim validate`` and the build read a file; ``compact.widen`` gives the float64 frame back.
  A CSV file is read in blocks of rows either way;
* text cells trimmed, empty text missing.

SPSS and Stata files are read with pyreadstat as numeric codes. Where the file carries value
labels, they are compared with the codebook's labels (ignoring case and spacing); a
disagreement is a ``label_mismatch`` problem naming the column, the code and both labels.
A column that holds label text instead of codes (an export made with value formats
applied, or a CSV typed by hand) is mapped to codes by its labels, with one ``label_text``
warning naming the columns; labels the codebook does not know are ``bad_code`` problems. A
CSV cell is missing only when empty or "NA" (no codebook label, such as "None", is ever read as
missing), SPSS/Stata user-missing declarations are resolved and choice-text select-all exports
are read as 0/1: see :mod:`calaim.data.conventions`. A CSV file that starts with a UTF-8
byte-order mark is read as UTF-8, with a ``bom`` warning. Select-all columns also
accept yes/no, checked/unchecked
and the option's own label for 1.

The input file is only ever opened for reading. :func:`load` is ``read`` followed by
:func:`calaim.data.validate.check`: it raises :class:`DataError` listing every problem at once.

:func:`write` writes the same four formats; ``.sav`` and ``.dta`` files carry the
codebook's variable labels and value labels. Stata limits variable names to 32 characters
and variable labels to 80: a longer name raises :class:`DataError` (no codebook column is
that long), a longer label is shortened with "...".

The CSV reader and its shape checks live in :mod:`calaim.data.csvread`; this module keeps the
Parquet and SPSS/Stata readers, the normalisation every format shares, and the writers.

Place in the flow: io (the first step: file -> frame), before validate.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from calaim.data import compact, conventions
from calaim.data.codebook import Codebook, Column
from calaim.data.codebook import load as load_codebook
from calaim.data.csvread import (  # the CSV reader (FileLines and _header_names re-exported)
    FileLines as FileLines,
)
from calaim.data.csvread import (
    _exc_text,
    _fail,
    _has_bom,
    _problem,
    _read_csv,
)
from calaim.data.csvread import (
    _header_names as _header_names,
)
from calaim.data.validate import (
    ERROR,
    MAX_VALUES_SHOWN,
    WARNING,
    DataError,
    Problem,
    as_numeric,
    check,
    expected_codes,
    fmt_list,
    fmt_rows,
    fmt_value,
    fmt_values,
)

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".sav": "sav", ".zsav": "sav", ".dta": "dta"}
STATA_NAME_MAX = 32
STATA_LABEL_MAX = 80
BINARY_SYNONYMS = {1: {"selected", "yes", "checked", "1"}, 0: {"not selected", "no", "unchecked", "not checked", "0"}}
LABEL_CHECKS = {"error", "warning", "ignore"}


def normalise_label(text) -> str:
    """Label text compared ignoring case, spacing and Unicode width forms."""
    return " ".join(unicodedata.normalize("NFKC", str(text)).split()).casefold()


def label_codes(col: Column, cb: Codebook) -> dict[str, int]:
    """Normalised label -> code for a column (codes, scale anchors, 0/1 synonyms)."""
    out = {normalise_label(v): int(k) for k, v in expected_codes(col, cb).items()}
    if col.kind == "binary":
        for code, words in BINARY_SYNONYMS.items():
            out.update({w: code for w in words})
        item = cb.items.get(col.item)
        if item is not None and col.part in item.parts:
            out.setdefault(normalise_label(item.parts[col.part]), 1)
    return out


def _accepted_labels(col: Column, cb: Codebook) -> dict[int, set[str]]:
    """Code -> the normalised labels that count as agreeing with the codebook."""
    acc: dict[int, set[str]] = {}
    for label, code in label_codes(col, cb).items():
        acc.setdefault(code, set()).add(label)
    return acc


# ---------------------------------------------------------------------- format readers
# CSV: calaim.data.csvread
def _read_parquet(path: Path, cb: Codebook, name: str) -> tuple[pd.DataFrame, dict]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schema = pq.read_schema(path)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _fail(
            "corrupt_file",
            name,
            f"{name}: the file cannot be read as Parquet; it may be truncated or corrupt "
            f"({_exc_text(exc, path, name)}).",
        ) from None
    seen: dict[str, int] = {}
    for col_name in schema.names:
        seen[col_name] = seen.get(col_name, 0) + 1
    dups = [c for c, k in seen.items() if k > 1]
    if dups:
        raise _fail(
            "duplicate_column",
            name,
            f"{name}: the file has {'a column name' if len(dups) == 1 else 'column names'} {fmt_values(dups)} more "
            "than once; each column must appear once. Remove or rename the copies.",
            column=dups[0],
            values=dups[:5],
        )
    try:
        df = pq.read_table(path).to_pandas()
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise _fail(
            "corrupt_file",
            name,
            f"{name}: the file cannot be read as Parquet; it may be truncated or corrupt "
            f"({_exc_text(exc, path, name)}).",
        ) from None
    return _parquet_index(df, cb), {}


def _parquet_index(df: pd.DataFrame, cb: Codebook) -> pd.DataFrame:
    """Rows numbered 0.. whatever index pandas stored: a RangeIndex from a row slice (starting at
    100, say) is dropped; a named index (the id written as the index) becomes a column again."""
    names = [n for n in df.index.names if n is not None]
    if names and not (isinstance(df.index, pd.RangeIndex) and names == ["index"]):
        return df.reset_index()
    return df.reset_index(drop=True)


def _read_stat(path: Path, cb: Codebook, name: str, fmt: str) -> tuple[pd.DataFrame, dict]:
    import pyreadstat

    reader = pyreadstat.read_sav if fmt == "sav" else pyreadstat.read_dta
    try:
        df, meta = reader(str(path), apply_value_formats=False, user_missing=True)
    except Exception as exc:  # pyreadstat raises its own and OS errors; name the file instead
        what = "SPSS" if fmt == "sav" else "Stata"
        raise _fail(
            "corrupt_file",
            name,
            f"{name}: the file cannot be read as {what} data; it may be truncated or corrupt "
            f"({_exc_text(exc, path, name)}).",
        ) from None
    df.attrs["user_missing"] = conventions.declared_missing(meta, fmt)
    return df, dict(meta.variable_value_labels or {})


# ---------------------------------------------------------------------- normalisation
_WHOLE_ID = re.compile(r"-?[1-9]\d{0,17}(\.0+)?|0(\.0+)?")  # no leading zeros: "007" stays text


def _normalise_id(s: pd.Series) -> pd.Series:
    """Whole-number ids as Int64, anything else as text (trimmed, empty = missing)."""
    if pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
        vals = s.to_numpy(dtype="float64", na_value=np.nan)
        ok = ~np.isnan(vals)
        if np.all(np.floor(vals[ok]) == vals[ok]):
            return s.astype("Int64")
        return s.astype(object).map(lambda v: v if pd.isna(v) else fmt_value(v)).astype("str")
    if isinstance(s.dtype, pd.StringDtype):  # a CSV's ids: the same steps, vectorised (no object a row)
        txt = s.str.strip()
        txt = txt.where(txt != "", None)
        present = txt.dropna()
        if len(present) and present.str.fullmatch(_WHOLE_ID.pattern).all():
            return pd.to_numeric(txt).astype("Int64")
        return txt.astype(object).where(txt.notna(), np.nan).astype("str")
    txt = s.astype(object).map(lambda v: v if pd.isna(v) else str(v).strip())
    txt = txt.where(txt != "", np.nan)
    present = txt.dropna()
    if len(present) and present.map(lambda v: bool(_WHOLE_ID.fullmatch(v))).all():
        # "1" and "1.0" are one respondent: both become 1 (and a duplicate_id if on two rows)
        return pd.to_numeric(txt).astype("Int64")
    return txt.astype("str")


def _strip_text(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_numeric_dtype(s.dtype) or pd.api.types.is_bool_dtype(s.dtype):
        return s
    if not (pd.api.types.is_object_dtype(s.dtype) or pd.api.types.is_string_dtype(s.dtype)):
        return s
    obj = s.astype(object)
    out = obj.map(lambda v: (v.strip() or np.nan) if isinstance(v, str) else v)
    return (
        out.astype(s.dtype)
        if pd.api.types.is_string_dtype(s.dtype) and not pd.api.types.is_object_dtype(s.dtype)
        else out
    )


def _coded(
    s: pd.Series,
    col: Column,
    cb: Codebook,
    name: str,
    problems: list[Problem],
    line_offset,
    noted: list,
    small: bool = False,
) -> pd.Series:
    """A codebook column as float64 codes (``small``: as the compact type of
    :mod:`calaim.data.compact` when every value fits); label text mapped to codes (noted in
    ``noted`` as (column, rows, texts)); text that is neither left in place (object) for
    validation to report."""
    if small and compact.is_compact(s):
        return s
    num, wrong, clean = as_numeric(s)
    if not wrong.any():
        packed = compact.shrink(num, col, cb) if small else None
        return (
            pd.Series(num, index=s.index, dtype="float64", copy=False)
            if packed is None
            else pd.Series(packed, index=s.index, copy=False)
        )
    lookup = label_codes(col, cb)
    texts = clean[wrong]
    mapped = texts.map(lambda v: lookup.get(normalise_label(v)))
    hit = mapped.notna().to_numpy()
    if not hit.any():
        out = pd.Series(num, index=s.index, dtype=object)
        out[wrong] = clean[wrong]
        return out.where(wrong | ~np.isnan(num), np.nan)
    out = num.copy()
    pos = np.flatnonzero(wrong)
    out[pos[hit]] = mapped[hit].astype("float64").to_numpy()
    mapped_rows = [int(p) + 1 for p in pos[hit]]
    mapped_texts = list(dict.fromkeys(texts[hit].tolist()[:1000]))
    noted.append((col.name, mapped_rows, mapped_texts))
    if (~hit).any():
        miss = pos[~hit]
        rows = [int(p) + 1 for p in miss]
        vals = list(dict.fromkeys(texts[~hit].tolist()))
        known = "; ".join(f"{k} = {v}" for k, v in expected_codes(col, cb).items())
        problems.append(
            _problem(
                "bad_code",
                name,
                f"{name}: column '{col.name}', {fmt_rows(rows, line_offset)}: "
                f"{'label' if len(vals) == 1 else 'labels'} "
                f"{fmt_values(vals[:5], len(vals))} {'matches' if len(vals) == 1 else 'match'} none of the "
                f"codebook's labels ({known}).",
                column=col.name,
                rows=rows,
                values=vals[:5],
            )
        )
        out[miss] = np.nan
    return pd.Series(out, index=s.index, dtype="float64")


def _label_mismatch(
    values: pd.Series, file_labels: dict, col: Column, cb: Codebook, name: str, severity: str
) -> Problem | None:
    accepted = _accepted_labels(col, cb)
    book = expected_codes(col, cb)
    bad: list[tuple[int, str, str]] = []
    for code, label in file_labels.items():
        try:
            c = float(code)
        except (TypeError, ValueError):
            continue
        if not c.is_integer() or int(c) not in accepted:
            continue
        if normalise_label(label) not in accepted[int(c)]:
            bad.append((int(c), str(label), book.get(int(c), "Selected" if int(c) == 1 else "Not selected")))
    if not bad:
        return None
    codes = [b[0] for b in bad]
    rows = [int(p) + 1 for p in np.flatnonzero(values.isin(codes).to_numpy())]
    detail = "; ".join(f"code {c} is labelled {fl!r} in the file but {bl!r} in the codebook" for c, fl, bl in bad)
    where = (
        f" ({fmt_rows(rows, None)} hold {'this code' if len(codes) == 1 else 'these codes'})"
        if rows
        else " (no row holds these codes)"
    )
    return _problem(
        "label_mismatch",
        name,
        f"{name}: column '{col.name}': the file's value labels disagree with the codebook: {detail}{where}. "
        "Recode the column to the codebook's codes, or correct data/codebook.yml if its wording is what differs.",
        column=col.name,
        rows=rows,
        values=codes,
        severity=severity,
    )


def _normalise(
    df: pd.DataFrame, cb: Codebook, name: str, value_labels: dict, fmt: str, labels: str, lines=None, small=False
) -> tuple[pd.DataFrame, list[Problem]]:
    problems: list[Problem] = []
    line_offset = (lines if lines is not None else 1) if fmt == "csv" else None
    by_lower = {c.casefold(): c for c in cb.columns}
    new_names, origin = [], {}
    for orig in df.columns:
        stripped = str(orig).strip()
        new = by_lower.get(stripped.casefold(), stripped)
        new_names.append(new)
        origin.setdefault(new, []).append(str(orig))
    seen_dups = set()
    for new, origs in origin.items():
        if len(origs) > 1 and new not in seen_dups:
            seen_dups.add(new)
            problems.append(
                _problem(
                    "duplicate_column",
                    name,
                    (
                        f"{name}: the header names column '{new}' {len(origs)} times; each column must appear once."
                        if len(set(origs)) == 1
                        else f"{name}: columns {fmt_values(origs)} are the same column '{new}' once case and "
                        "spaces are ignored; only the first is used."
                    ),
                    column=new,
                    values=origs,
                )
            )
    df = df.set_axis(new_names, axis=1)
    if seen_dups:
        df = df.loc[:, ~df.columns.duplicated()]
    labels_by_new = {}
    for orig, labs in value_labels.items():
        new = by_lower.get(str(orig).strip().casefold(), str(orig).strip())
        labels_by_new.setdefault(new, labs)

    if df.shape[1] == 0 or len(df) == 0:
        what = "no columns" if df.shape[1] == 0 else "a header but no respondent rows"
        raise DataError([_problem("empty_file", name, f"{name}: the file has {what}.")] + problems)

    cols = {}
    noted: list[tuple[str, list[int], list]] = []
    for cname in df.columns:
        s = df[cname]
        col = cb.columns.get(cname)
        if cname == cb.id_column:
            cols[cname] = _normalise_id(s)
        elif col is not None:
            coded = _coded(s, col, cb, name, problems, line_offset, noted, small)
            cols[cname] = coded
            numeric = coded.dtype == "float64" or compact.is_compact(coded)
            if labels != "ignore" and cname in labels_by_new and numeric:
                p = _label_mismatch(coded, labels_by_new[cname], col, cb, name, ERROR if labels == "error" else WARNING)
                if p is not None:
                    problems.append(p)
        else:
            cols[cname] = _strip_text(s)
    out = pd.DataFrame(cols, index=pd.RangeIndex(len(df)), copy=False)  # a dict would be copied
    if noted:
        problems.append(_label_text_warning(name, noted, line_offset))
    return out, problems


def _label_text_warning(name: str, noted: list[tuple[str, list[int], list]], line_offset) -> Problem:
    """One warning for every column whose label text was mapped to codes (tolerated, but said)."""
    shown = noted[:MAX_VALUES_SHOWN]
    parts = [
        f"'{c}' ({len(rows)} {'cell' if len(rows) == 1 else 'cells'}, first at "
        f"{fmt_rows(rows[:1], line_offset)}: {fmt_value(texts[0])})"
        for c, rows, texts in shown
    ]
    more = f" and {len(noted) - len(shown)} more" if len(noted) > len(shown) else ""
    column, rows, texts = noted[0]
    return _problem(
        "label_text",
        name,
        f"{name}: {'column' if len(noted) == 1 else 'columns'} {'; '.join(parts)}{more} "
        f"{'holds' if len(noted) == 1 else 'hold'} label text instead of numeric codes; it was mapped to the "
        "codebook's "
        "codes by label, ignoring case and spacing.",
        column=column,
        rows=rows,
        values=texts[:MAX_VALUES_SHOWN],
        severity=WARNING,
    )


# ---------------------------------------------------------------------- public API
def _format_of(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise _fail(
            "unsupported_format",
            path.name,
            f"{path.name}: unsupported file type {path.suffix or '(none)'!r}; use one of "
            f"{fmt_list(sorted(set(FORMATS)))}.",
        )
    return fmt


def check_regular(path: Path) -> None:
    """A ``not_a_file`` error unless ``path`` (after symlinks) is a regular file: a named pipe, a
    device (a link to /dev/zero) or a folder would block, never end, or not be data at all."""
    import stat

    name = Path(path).name
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise _fail("not_a_file", name, f"{name}: cannot be read: {exc.strerror or exc}.") from None
    if stat.S_ISREG(mode):
        return
    what = (
        "a named pipe (FIFO)"
        if stat.S_ISFIFO(mode)
        else "a device"
        if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
        else "a folder"
        if stat.S_ISDIR(mode)
        else "a socket"
        if stat.S_ISSOCK(mode)
        else "not a regular file"
    )
    raise _fail(
        "not_a_file", name, f"{name}: is {what}, not a regular file; save the data to a file and give its path."
    )


def read_with_problems(
    path,
    cb: Codebook | None = None,
    labels: str = "error",
    user_missing: str = "answer",
    crosswalk=None,
    small: bool = False,
) -> tuple[pd.DataFrame, list[Problem]]:
    """Read a data file into the normalised shape; return it with the problems found while
    reading (label mismatches, unknown labels, duplicate columns). File-level failures
    (missing, unreadable, empty, wrong delimiter, not UTF-8) raise :class:`DataError`.

    ``crosswalk`` (a :class:`calaim.data.crosswalk.Crosswalk`) renames and recodes the file's
    columns first. The missing-value conventions of :mod:`calaim.data.conventions` apply
    (``user_missing``: "answer" keeps a declared-missing code the codebook lists as an answer).

    ``small=True`` keeps codes in the compact nullable integer types of
    :mod:`calaim.data.compact` (2 bytes a cell instead of 8; :func:`calaim.data.compact.widen`
    gives the float64 frame back): for validating and preparing large files."""
    if labels not in LABEL_CHECKS:
        raise ValueError(f"labels must be one of {sorted(LABEL_CHECKS)}, not {labels!r}")
    cb = cb or load_codebook()
    path = Path(path)
    name = path.name
    fmt = _format_of(path)
    if not path.exists():
        raise _fail("file_not_found", name, f"{name}: no such file.")
    check_regular(path)
    if fmt == "csv":
        df, value_labels = _read_csv(path, cb, name)
    elif fmt == "parquet":
        df, value_labels = _read_parquet(path, cb, name)
    else:
        df, value_labels = _read_stat(path, cb, name, fmt)
    lines = df.attrs.pop("file_lines", None)
    read_problems = df.attrs.pop("read_problems", [])
    declared = df.attrs.pop("user_missing", {})
    if crosswalk is not None:
        df, value_labels, declared, xw_problems = crosswalk.apply(df, value_labels, declared, name)
        read_problems = read_problems + xw_problems
    df, um_problems = conventions.apply_user_missing(df, declared, value_labels, cb, name, user_missing)
    out, problems = _normalise(df, cb, name, value_labels, fmt, labels, lines, small)
    del df
    if not any(p.severity == ERROR for p in problems):
        out, ct_problems = conventions.fill_choice_text(out, cb, name)
        problems += ct_problems
    problems = read_problems + um_problems + problems
    if lines is not None:
        out.attrs["file_lines"] = lines
    if fmt == "csv" and _has_bom(path):
        problems.insert(
            0,
            _problem(
                "bom",
                name,
                f"{name}: the file starts with a UTF-8 byte-order mark (bytes 0xEF 0xBB 0xBF, as Excel's 'CSV UTF-8' "
                "writes); it was ignored.",
                values=["0xEF 0xBB 0xBF"],
                severity=WARNING,
            ),
        )
    return out, problems


def read(path, cb: Codebook | None = None, labels: str = "error", **options) -> pd.DataFrame:
    """Read ``.csv``, ``.parquet``, ``.sav`` or ``.dta`` into the normalised frame.

    Raises :class:`DataError` when the file cannot be read or when reading it found an error
    (a value label that disagrees with the codebook, a label with no code, duplicate
    columns). ``labels="warning"`` downgrades label mismatches to warnings (kept as text in
    ``df.attrs["warnings"]``), ``"ignore"`` skips that comparison. Values are not validated
    here: see :func:`load`.
    """
    df, problems = read_with_problems(path, cb, labels, **options)
    df.attrs.pop("file_lines", None)
    if any(p.severity == ERROR for p in problems):
        raise DataError(sorted(problems, key=lambda p: p.severity != ERROR))
    df.attrs["warnings"] = [p.message for p in problems]
    return df


def load(path, cb: Codebook | None = None, labels: str = "error", weight: str | None = None, **options) -> pd.DataFrame:
    """:func:`read` + :func:`calaim.data.validate.check`: the frame, or a :class:`DataError`
    listing every problem of the file at once. Warnings are kept (as text) in
    ``df.attrs["warnings"]``. ``weight`` names a survey-weight column (need not be in the
    codebook; checked as finite and above 0 for every respondent). ``options``: ``user_missing``,
    ``crosswalk``, ``small`` (see :func:`read_with_problems`)."""
    cb = cb or load_codebook()
    path = Path(path)
    df, problems = read_with_problems(path, cb, labels, **options)
    lines = df.attrs.pop("file_lines", None)
    found = check(df, cb, source=path.name, extra=problems, line_offset=lines, weight=weight)
    df.attrs["warnings"] = [p.message for p in found]
    return df


# ---------------------------------------------------------------------- writing
def _for_writing(df: pd.DataFrame, fmt: str) -> pd.DataFrame:
    out = {}
    for c in df.columns:
        s = df[c]
        if isinstance(s.dtype, pd.CategoricalDtype):
            s = s.astype(object)
        if pd.api.types.is_bool_dtype(s.dtype):
            s = s.astype("float64") if s.isna().any() else s.astype("int64")
        if fmt in {"sav", "dta"}:
            if pd.api.types.is_extension_array_dtype(s.dtype) and pd.api.types.is_numeric_dtype(s.dtype):
                s = s.astype("float64") if s.isna().any() else s.astype(s.dtype.numpy_dtype)
            elif not pd.api.types.is_numeric_dtype(s.dtype):
                s = s.astype(object).map(
                    lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA else str(v)
                )
        elif fmt == "csv" and s.dtype == "float64":
            vals = s.to_numpy()
            ok = ~np.isnan(vals)
            if np.all(np.floor(vals[ok]) == vals[ok]) and (np.abs(vals[ok]) < 2**53).all():
                s = s.astype("Int64")  # 1 not 1.0 in the file
        out[c] = s
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _labels_for(df: pd.DataFrame, cb: Codebook, fmt: str) -> tuple[dict, dict, dict]:
    column_labels, value_labels, measure = {}, {}, {}
    for c in df.columns:
        col = cb.columns.get(c)
        if col is None:
            continue
        label = col.label
        if fmt == "dta" and len(label) > STATA_LABEL_MAX:
            label = label[: STATA_LABEL_MAX - 3].rstrip() + "..."
        column_labels[c] = label
        codes = expected_codes(col, cb) if col.kind != "binary" else {0: "Not selected", 1: "Selected"}
        if codes and pd.api.types.is_numeric_dtype(df[c].dtype):
            value_labels[c] = {int(k): str(v) for k, v in codes.items()}
        measure[c] = "scale" if col.kind in {"scale", "count"} else "nominal"
    return column_labels, value_labels, measure


def write(df: pd.DataFrame, path, cb: Codebook | None = None) -> Path:
    """Write ``df`` as ``.csv`` (UTF-8), ``.parquet``, ``.sav`` or ``.dta`` (by extension).

    SPSS and Stata files carry the codebook's variable labels and value labels, so a reader
    of the file in SPSS / Stata sees the same wording as the book. The frame is not changed.
    """
    cb = cb or load_codebook()
    path = Path(path)
    fmt = _format_of(path)
    out = _for_writing(df, fmt)
    if fmt == "csv":
        out.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    elif fmt == "parquet":
        out.to_parquet(path, index=False, engine="pyarrow")
    else:
        import pyreadstat

        names = [str(c) for c in out.columns]
        if fmt == "dta":
            too_long = [c for c in names if len(c) > STATA_NAME_MAX]
            bad = [c for c in names if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", c)]
            if too_long or bad:
                msgs = []
                if too_long:
                    msgs.append(
                        f"{fmt_values(too_long)} {'is' if len(too_long) == 1 else 'are'} longer than Stata's "
                        f"{STATA_NAME_MAX}-character limit"
                    )
                if bad:
                    msgs.append(
                        f"{fmt_values(bad)} "
                        f"{'is not a valid Stata name' if len(bad) == 1 else 'are not valid Stata names'}"
                    )
                raise _fail(
                    "bad_name",
                    path.name,
                    f"{path.name}: cannot write Stata file: column names {'; '.join(msgs)}. Rename them or "
                    "write .sav / .parquet.",
                )
        column_labels, value_labels, measure = _labels_for(out, cb, fmt)
        labels_list = [column_labels.get(c) for c in names]
        if fmt == "sav":
            pyreadstat.write_sav(
                out, str(path), column_labels=labels_list, variable_value_labels=value_labels, variable_measure=measure
            )
        else:
            pyreadstat.write_dta(
                out, str(path), column_labels=labels_list, variable_value_labels=value_labels, version=15
            )
    return path
