"""Reading a CSV survey file for :func:`calaim.data.io.read`: the reader in blocks of rows, the
checks of its shape (binary files given a .csv name, a byte-order mark, undecodable text, extra
or short rows, empty header cells) and the problems they raise, each naming the file, line and
column. :mod:`calaim.data.io` re-exports what other modules use.

Place in the flow: io (the first step: file -> frame), before validate.
"""

from __future__ import annotations

import codecs
import csv
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from calaim.data import compact
from calaim.data.codebook import Codebook
from calaim.data.conventions import CSV_NA_MARKERS
from calaim.data.validate import ERROR, WARNING, DataError, Problem, fmt_list, fmt_rows, fmt_values


def _problem(kind: str, file: str, message: str, column=None, rows=(), values=(), severity=ERROR) -> Problem:
    return Problem(
        kind=kind, file=file, column=column, rows=list(rows), values=list(values), message=message, severity=severity
    )


def _fail(kind: str, file: str, message: str, **kw) -> DataError:
    return DataError([_problem(kind, file, message, **kw)])


def _read_csv(path: Path, cb: Codebook, name: str) -> tuple[pd.DataFrame, dict]:
    _sniff_binary(path, name)
    try:
        head = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except pd.errors.EmptyDataError:
        raise _fail("empty_file", name, f"{name}: the file is empty (no header and no rows).") from None
    except UnicodeDecodeError:
        raise _encoding_error(path, name) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        detail = _exc_text(exc, path, name)
        raise _fail("malformed_csv", name, f"{name}: the header cannot be parsed as CSV: {detail}") from None
    columns = [str(c) for c in head.columns]
    if len(columns) == 1:
        header = columns[0]
        for sep, word in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if sep in header:
                raise _fail(
                    "delimiter",
                    name,
                    f"{name}: only one column was found, and its header {header[:60]!r}... contains {word}: the file "
                    f"seems to be separated by {word}, not commas. Save it as comma-separated CSV (UTF-8) and "
                    "try again.",
                    column=header,
                    values=[sep],
                )
    names, first = _header_names(path)  # exactly as written: pandas would rename 'role' twice to 'role.1'
    first_longer = len(first) > len(names)  # pandas would drop (or index by) the extra fields
    id_cols = [i for i, c in enumerate(names) if c.strip().casefold() == cb.id_column.casefold()]
    extra = "\x00extra"  # a name no header holds: the fields beyond the header's last column
    options = {"encoding": "utf-8-sig", "keep_default_na": False, "na_values": list(CSV_NA_MARKERS)}
    ids = dict.fromkeys(id_cols, str)
    try:
        # in blocks, codes compact (calaim.data.compact); None: read whole, as the messages need
        df = None if first_longer else compact.read_csv_blocks(path, names, cb, dtype=ids, **options)
        odd = first_longer
        if df is None and not first_longer:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", pd.errors.ParserWarning)
                df = pd.read_csv(
                    path, header=0, names=[*range(len(names))], index_col=False, dtype=ids, low_memory=False, **options
                )
            odd = any(issubclass(w.category, pd.errors.ParserWarning) for w in caught)
        if odd:
            # the first data row has more fields than the header: read again with a column for them
            df = pd.read_csv(
                path,
                header=0,
                names=[*range(len(names)), extra],
                index_col=False,
                dtype={**ids, extra: str},
                low_memory=False,
                **options,
            )
    except UnicodeDecodeError:
        raise _encoding_error(path, name) from None
    except (pd.errors.ParserError, csv.Error) as exc:
        raise _malformed_csv(path, name, exc, columns) from None
    problems: list[Problem] = []
    lines = FileLines(path)
    if extra in df.columns:
        df = _extra_fields(df, extra, names, name, lines, problems)
    df.columns = names
    _short_last_row(path, len(df), len(names), name, lines, problems)
    df = _empty_header_cells(df, names, name, lines, problems)
    if problems and any(p.severity == ERROR for p in problems):
        raise DataError(problems)
    df.attrs["file_lines"] = lines
    df.attrs["read_problems"] = problems
    return df, {}


# ---------------------------------------------------------------------- CSV structure
_MAGIC = {
    b"PAR1": ("a Parquet file", ".parquet"),
    b"$FL2": ("an SPSS .sav file", ".sav"),
    b"$FL3": ("an SPSS .zsav file", ".zsav"),
    b"PK\x03\x04": ("a ZIP archive (for example an Excel .xlsx workbook)", None),
    b"\xd0\xcf\x11\xe0": ("an old Excel .xls workbook", None),
    b"<stata_dta>": ("a Stata .dta file", ".dta"),
}


def _sniff_binary(path: Path, name: str) -> None:
    """A ``not_csv`` error for a binary file named .csv (Parquet, SPSS, a workbook, or any bytes
    with NUL characters), instead of the CSV reader's puzzling message."""
    with path.open("rb") as fh:
        start = fh.read(8192)
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return  # UTF-16 text: the encoding check explains it
    for magic, (what, suffix) in _MAGIC.items():
        if start.startswith(magic):
            fix = f"rename it to end in {suffix}" if suffix else "export it as CSV (UTF-8)"
            raise _fail(
                "not_csv",
                name,
                f"{name}: the file is named .csv but is {what} (it starts with the bytes {magic[:4]!r}); {fix}.",
                values=[magic[:4].decode("latin-1")],
            )
    if b"\x00" in start:
        offset = start.index(b"\x00")
        line = start.count(b"\n", 0, offset) + 1
        raise _fail(
            "not_csv",
            name,
            f"{name}: the file is binary data, not CSV text (a NUL byte at offset {offset}, line {line}); export the "
            "data as comma-separated CSV (UTF-8).",
            values=["0x00"],
        )


def _header_names(path: Path) -> tuple[list[str], list[str]]:
    """The header's names exactly as written, and the first data record's fields."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        return next(reader, []), next(reader, [])


class FileLines:
    """Data row (1-based) -> file line of a CSV, correct after quoted fields holding newlines.

    Used as ``line_offset`` by :func:`calaim.data.validate.fmt_rows` (``row + lines``). Computed
    on first use, and only by a pass over the file when it has a quote character at all."""

    def __init__(self, path: Path):
        self.path = path
        self._starts: np.ndarray | None = None
        self._plain: bool | None = None

    def _load(self) -> None:
        starts, line, inside = [], 0, False
        with self.path.open("rb") as fh:
            for raw in fh:
                line += 1
                if not inside:
                    starts.append(line)
                if raw.count(b'"') % 2:
                    inside = not inside
        self._starts = np.asarray(starts, dtype=np.int64)  # record k (0 = header) starts at line starts[k]
        self._plain = bool(np.all(self._starts == np.arange(1, len(self._starts) + 1)))

    def line(self, row: int) -> int:
        if self._starts is None:
            self._load()
        return int(self._starts[row]) if 0 <= row < len(self._starts) else row + 1

    def __radd__(self, row: int) -> int:
        return self.line(int(row))


def _extra_fields(df: pd.DataFrame, extra: str, names: list[str], name: str, lines, problems) -> pd.DataFrame:
    """Fields beyond the header's last column: trailing commas (every row, nothing in them) are
    dropped with a warning; values there are a ``malformed_csv`` error naming rows and values."""
    values = df[extra].map(lambda v: v.strip() if isinstance(v, str) else v)
    filled = values.notna() & (values != "")
    last = names[-1] if names else "?"
    if not filled.any():
        problems.append(
            _problem(
                "trailing_comma",
                name,
                f"{name}: the data rows end with a comma that the header does not have (an empty field after the last "
                f"column '{last}'); the empty field was ignored.",
                column=last,
                severity=WARNING,
            )
        )
    else:
        rows = [int(i) + 1 for i in np.flatnonzero(filled.to_numpy())]
        vals = list(dict.fromkeys(values[filled].tolist()))
        problems.append(
            _problem(
                "malformed_csv",
                name,
                f"{name}: {fmt_rows(rows[:20], lines)} {'has' if len(rows) == 1 else 'have'} more fields than the "
                f"header's {len(names)} columns: {'value' if len(vals) == 1 else 'values'} "
                f"{fmt_values(vals[:5], len(vals))} beyond the last column '{last}'. A text answer holding an unquoted "
                "comma (or a stray delimiter) splits a row: quote such answers or remove the extra field.",
                column=last,
                rows=rows,
                values=vals[:5],
            )
        )
    return df.drop(columns=extra)


def _empty_header_cells(df: pd.DataFrame, names: list[str], name: str, lines, problems) -> pd.DataFrame:
    """Columns with an empty header cell: dropped with a warning when they hold nothing (Excel's
    trailing empty columns); an ``empty_header`` error when they hold values."""
    empty = [i for i, c in enumerate(names) if not c.strip()]
    if not empty:
        return df
    keep = np.ones(len(names), dtype=bool)
    dropped = []
    for i in empty:
        s = df.iloc[:, i]
        filled = s.notna() & (s.astype(str).str.strip() != "")
        after = next((names[j] for j in range(i - 1, -1, -1) if names[j].strip()), None)
        where = f"column {i + 1}" + (f" (after '{after}')" if after else "")
        if filled.any():
            rows = [int(r) + 1 for r in np.flatnonzero(filled.to_numpy())]
            vals = list(dict.fromkeys(s[filled].tolist()))
            problems.append(
                _problem(
                    "empty_header",
                    name,
                    f"{name}: {where} has no name in the header but holds values in {fmt_rows(rows[:20], lines)} "
                    f"({fmt_values(vals[:5], len(vals))}); give it its codebook name or delete it.",
                    rows=rows,
                    values=vals[:5],
                )
            )
        else:
            keep[i] = False
            dropped.append(where)
    if dropped:
        problems.append(
            _problem(
                "empty_column",
                name,
                f"{name}: {fmt_list(dropped)} {'has' if len(dropped) == 1 else 'have'} no header name and no values "
                "(as Excel adds after the last column); ignored.",
                severity=WARNING,
            )
        )
    return df.loc[:, keep]


def _short_last_row(path: Path, n_rows: int, width: int, name: str, lines, problems) -> None:
    """A last record with fewer fields than the header (a cut-off file) is a ``short_row`` error;
    pandas would fill the missing fields with empty values."""
    if not n_rows:
        return
    with path.open("rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - (1 << 20)))
        tail = fh.read().decode("utf-8", errors="replace")
    tail_lines = [ln for ln in tail.replace("\r\n", "\n").split("\n") if ln.strip()]
    if not tail_lines or '"' in tail_lines[-1]:
        return  # a quoted last record may span lines: leave it to the parser
    fields = next(csv.reader([tail_lines[-1]]), [])
    if 0 < len(fields) < width:
        row = n_rows
        problems.append(
            _problem(
                "short_row",
                name,
                f"{name}: {fmt_rows([row], lines)}, the last one, has {len(fields)} fields but the header has {width} "
                "columns: the file seems cut off. Export it again (or delete the incomplete row).",
                rows=[row],
                values=fields[-1:],
            )
        )


def _malformed_csv(path: Path, name: str, exc: Exception, columns: list[str]) -> DataError:
    """A row with more fields than the header: name the row, the file line and the extra values."""
    m = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if not m:
        return _fail("malformed_csv", name, f"{name}: the file is not well-formed CSV: {_exc_text(exc, path, name)}")
    expected, line, saw = (int(g) for g in m.groups())
    extra: list[str] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        for i, record in enumerate(csv.reader(fh), 1):
            if i == line:
                extra = record[expected:]
                break
    last = columns[-1] if columns else "?"
    shown = (
        f": {'value' if len(extra) == 1 else 'values'} {fmt_values(extra)} beyond the last column '{last}'"
        if extra
        else ""
    )
    return _fail(
        "malformed_csv",
        name,
        f"{name}: {fmt_rows([line - 1], 1)} has {saw} fields but the header has {expected} columns{shown}. A "
        "text answer "
        "holding an unquoted comma (or a stray delimiter) splits a row: quote such answers or remove the extra field.",
        column=last,
        rows=[line - 1],
        values=extra[:5],
    )


def _exc_text(exc: Exception, path: Path, name: str) -> str:
    """A reader's error text with this machine's directories replaced by the file name."""
    text = str(exc)
    for long in {str(path.resolve()), str(path.absolute()), str(path)}:
        text = text.replace(long, name)
    return text


def _has_bom(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(3) == codecs.BOM_UTF8


def _encoding_error(path: Path, name: str) -> DataError:
    data = path.read_bytes()
    for bom, what in ((codecs.BOM_UTF16_LE, "UTF-16 (little-endian)"), (codecs.BOM_UTF16_BE, "UTF-16 (big-endian)")):
        if data.startswith(bom):
            marks = " ".join(f"0x{b:02X}" for b in bom)
            return _fail(
                "encoding",
                name,
                f"{name}: the file is {what} text, not UTF-8: it starts with the byte-order mark {marks} (as Excel's "
                "'Unicode Text' writes). Save it as UTF-8 (e.g. Excel's 'CSV UTF-8').",
                values=[marks],
            )
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        offset = exc.start
        line = data.count(b"\n", 0, offset) + 1
        start = data.rfind(b"\n", 0, offset) + 1
        end = data.find(b"\n", offset)
        column = offset - start + 1
        byte = data[offset]
        rows = [line - 1] if line > 1 else []
        # which field holds the byte, and its text if the file is Windows-1252 (the usual culprit)
        index = max(len(next(csv.reader([data[start:offset].decode("cp1252", errors="replace")]), [])) - 1, 0)
        fields = next(
            csv.reader([data[start : None if end < 0 else end].decode("cp1252", errors="replace").rstrip("\r")]), []
        )
        cell = fields[index] if index < len(fields) else None
        header = next(csv.reader([data.split(b"\n", 1)[0].decode("utf-8-sig", errors="replace").rstrip("\r")]), [])
        colname = header[index].strip() if line > 1 and index < len(header) else None
        if line == 1:
            where = f"in the header, column name {cell!r} (as Windows-1252)"
        else:
            where = f"column '{colname}', {fmt_rows(rows, 1)}: value {cell!r} (as Windows-1252)"
        return _fail(
            "encoding",
            name,
            f"{name}: {where} is not UTF-8 text: byte 0x{byte:02X} at offset {offset} (line {line}, column {column}) "
            "cannot be decoded. It may be Latin-1 / Windows-1252; save it as UTF-8 (e.g. Excel's 'CSV UTF-8').",
            column=colname,
            rows=rows,
            values=[v for v in (cell, f"0x{byte:02X}") if v is not None],
        )
    return _fail("encoding", name, f"{name}: the file could not be decoded as UTF-8.")
