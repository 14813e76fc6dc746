"""Check that a built book shows no respondent ids.

The chapters print aggregates only, so no page should hold a respondent-level row. An id is
the one value of such a row that can be searched for without knowing the page: :func:`scan`
looks for every id of the data in every text file of a built book (HTML, JavaScript, the
notebooks and data files it links to) and returns where it found one. ``calaim build`` runs it
before publishing and fails if any id appears.

An id is found as a whole token: ``R7Q000123`` or ``900123`` standing alone, not inside a
longer word or number, and a run of digits after ``<digit>.`` (the decimals of a number such as
``52.900123``) does not count. Long base64 runs (embedded images) are skipped. Ids shorter
than :data:`MIN_ID_CHARS` characters (for example the synthetic data's 1 to 2,597) cannot be
told apart from ordinary numbers and words, so they are not searched for; :func:`searchable`
says which ids are.

Because short ids cannot be searched for, and a respondent-level table need not show the id at
all, :func:`scan_records` checks tables instead of tokens: a table of the book (HTML page, CSV
download, executed notebook output) whose column is headed by the id column, or whose rows
equal respondents' answers on 3+ data columns, is a leak whatever the ids look like. What it
can and cannot catch is listed above :data:`MIN_RECORD_ROWS`.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd

MIN_ID_CHARS = 6
TEXT_SUFFIXES = frozenset({".html", ".htm", ".js", ".json", ".ipynb", ".csv", ".txt", ".md", ".xml", ".svg", ".tsv"})
_TOKEN = re.compile(r"[0-9A-Za-z_]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{256,}={0,2}")
_WORD = "0-9A-Za-z_"


@dataclass(frozen=True)
class Hit:
    """An id found in a file of the book: the file (relative to the scanned folder), its line."""

    file: str
    line: int
    id: str

    def __str__(self) -> str:
        return f"{self.file}, line {self.line}: respondent id {self.id!r}"


def id_texts(ids: Iterable) -> list[str]:
    """Ids as they would be printed: whole numbers without '.0', text trimmed; no missing values."""
    out = []
    for v in ids:
        if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
            continue
        if isinstance(v, (int, np.integer)) or (isinstance(v, (float, np.floating)) and float(v).is_integer()):
            out.append(str(int(v)))
        else:
            text = str(v).strip()
            if text:
                out.append(text)
    return sorted(set(out))


def searchable(ids: Iterable, min_chars: int = MIN_ID_CHARS) -> list[str]:
    """The ids long enough to be searched for meaningfully."""
    return [i for i in id_texts(ids) if len(i) >= min_chars]


def scan_text(text: str, ids: set[str]) -> list[tuple[int, str]]:
    """(line, id) for every id standing as a whole token in ``text``."""
    text = _BASE64.sub(lambda m: " " * len(m.group()), text)  # same length: line numbers stay right
    newlines = [m.start() for m in re.finditer("\n", text)] if ids else []

    def _line(pos: int) -> int:
        return bisect.bisect_left(newlines, pos) + 1

    found: list[tuple[int, str]] = []
    simple = {i for i in ids if _TOKEN.fullmatch(i)}
    if simple:
        for m in _TOKEN.finditer(text):
            tok = m.group()
            if tok not in simple:
                continue
            start = m.start()
            if tok.isdigit() and start >= 2 and text[start - 1] == "." and text[start - 2].isdigit():
                continue  # the decimals of a number
            found.append((_line(start), tok))
    for other in sorted(ids - simple):
        for m in re.finditer(rf"(?<![{_WORD}]){re.escape(other)}(?![{_WORD}])", text):
            found.append((_line(m.start()), other))
    return sorted(found)


def scan(root: str | Path, ids: Iterable, suffixes: Iterable[str] = TEXT_SUFFIXES) -> list[Hit]:
    """Every place under ``root`` where one of ``ids`` (already :func:`searchable`) appears."""
    root = Path(root)
    wanted = set(id_texts(ids))
    suffixes = {s.lower() for s in suffixes}
    hits: list[Hit] = []
    if not wanted:
        return hits
    for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes):
        text = path.read_text(encoding="utf-8", errors="replace")
        rel = path.relative_to(root).as_posix()
        hits.extend(Hit(rel, line, i) for line, i in scan_text(text, wanted))
    return hits


def ids_of(frame: pd.DataFrame, id_column: str) -> list[str]:
    """The searchable ids of a respondent frame (none when it has no id column)."""
    return searchable(frame[id_column]) if id_column in frame.columns else []


# ---------------------------------------------------------------------------- records
# Ids of 1 to 5 characters cannot be searched for, and a respondent-level table need not hold
# the id at all. So the record check looks at tables, not tokens: every HTML table of the book,
# every CSV file and every table a notebook output shows (HTML or pandas' plain-text repr).
#
# A table is a leak when
#   * one of its column headers is the id column (``resp_id``, any case), with 3+ rows; or
#   * at least MIN_RECORD_COLUMNS of its headers name data columns (codebook or derived names,
#     or a codebook column's label) and at least MIN_RECORD_ROWS of its rows equal some
#     respondent's answers on exactly those columns (codes, or label text mapped to codes).
#
# It catches ``df[[...]].head()``, ``df.sample()``, ``print(df.loc[...])`` and exported row
# slices, whatever the id length and whether or not the id is shown. It cannot catch rows whose
# columns were renamed to words that are neither a column name nor its label, rows printed as
# free text (an f-string per respondent), tables of fewer than 3 rows or 3 data columns, or a
# single respondent's answers spread over a sentence. Aggregated tables do not trigger it: their
# headers are statistics ("share (%)", "n") rather than data columns; a long-format table of
# three grouping columns and a count could (each of its rows is an observed combination), which
# the chapters do not print, and such a table would reveal small cells anyway.
MIN_RECORD_ROWS = 3
MIN_RECORD_COLUMNS = 3


@dataclass(frozen=True)
class RecordHit:
    """A table of the book that holds respondent-level rows."""

    file: str
    table: int  # 1-based, in the file's order
    columns: tuple[str, ...]
    rows: int  # how many of its rows are a respondent's answers (or ids)
    reason: str

    def __str__(self) -> str:
        cols = ", ".join(self.columns)
        return f"{self.file}, table {self.table}: {self.rows} respondent-level rows ({self.reason}: {cols})"


class _Tables(HTMLParser):
    """Collects the cell texts of every <table> (header row first)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self._stack: list[list[list[str]]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self._stack.append([])
        elif tag == "tr" and self._stack:
            self._stack[-1].append([])
        elif tag in {"td", "th"} and self._stack and self._stack[-1]:
            self._cell = []

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)

    def handle_endtag(self, tag):
        if tag in {"td", "th"} and self._cell is not None and self._stack and self._stack[-1]:
            self._stack[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table" and self._stack:
            self.tables.append([r for r in self._stack.pop() if r])


def html_tables(text: str) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(text)
    parser.close()
    return parser.tables


def plain_tables(text: str) -> list[list[list[str]]]:
    """pandas' text repr of a frame: a header line, then one line per row led by its index."""
    lines = [ln for ln in text.splitlines() if ln.strip()]
    if len(lines) < 2:
        return []
    header = lines[0].split()
    rows = [ln.split() for ln in lines[1:]]
    rows = [r[1:] if len(r) == len(header) + 1 else r for r in rows]
    rows = [r for r in rows if len(r) == len(header)]
    return [[header, *rows]] if rows else []


def _norm(v) -> object:
    """A cell or a data value in one comparable form: None, a rounded number, or folded text."""
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return None
    text = str(v).strip()
    if text in {"", "nan", "NaN", "<NA>", "None", "–", "-"}:
        return None
    try:
        x = float(text.replace(",", ""))
    except ValueError:
        return " ".join(text.split()).casefold()
    return round(x, 6)


class RecordIndex:
    """The respondents' answer vectors, looked up by a set of columns."""

    def __init__(self, frame: pd.DataFrame, id_column: str, cb=None):
        self.frame = frame
        self.id_column = id_column
        self.cb = cb
        self.names: dict[str, str] = {}
        for c in frame.columns:
            if c == id_column:
                continue
            self.names.setdefault(str(c).casefold(), c)
            col = cb.columns.get(c) if cb is not None else None
            if col is not None and getattr(col, "label", None):
                self.names.setdefault(" ".join(str(col.label).split()).casefold(), c)
        self._vectors: dict[tuple[str, ...], set[tuple]] = {}
        self._labels: dict[str, dict[str, int]] = {}

    def column(self, header: str) -> str | None:
        return self.names.get(" ".join(str(header).split()).casefold())

    def vectors(self, cols: tuple[str, ...]) -> set[tuple]:
        if cols not in self._vectors:
            sub = self.frame[list(cols)].astype(object)
            self._vectors[cols] = {tuple(_norm(v) for v in row) for row in sub.itertuples(index=False)}
        return self._vectors[cols]

    def cell(self, col: str, text: str) -> object:
        value = _norm(text)
        if isinstance(value, str) and self.cb is not None and col in self.cb.columns:
            if col not in self._labels:
                from calaim.data.io import label_codes, normalise_label

                self._labels[col] = {
                    normalise_label(k): v for k, v in label_codes(self.cb.columns[col], self.cb).items()
                }
            code = self._labels[col].get(value)
            return float(code) if code is not None else value
        return value


def table_leak(table: list[list[str]], index: RecordIndex) -> tuple[str, tuple[str, ...], int] | None:
    """(reason, columns, rows) when ``table`` (header row first) holds respondent-level rows."""
    if len(table) < 1 + MIN_RECORD_ROWS:
        return None
    # the header is the last header-looking row before the body; pandas puts the index name in a
    # second header row, so look at the first two rows
    for h in range(min(2, len(table) - MIN_RECORD_ROWS)):
        header, body = table[h], table[h + 1 :]
        width = len(header)
        body = [r[-width:] if len(r) > width else r for r in body if len(r) >= width]
        if len(body) < MIN_RECORD_ROWS:
            continue
        heads = [" ".join(x.split()).casefold() for x in header]
        if index.id_column.casefold() in heads:
            return "the id column", (index.id_column,), len(body)
        mapped = [(i, index.column(x)) for i, x in enumerate(header)]
        mapped = [(i, c) for i, c in mapped if c is not None]
        if len(mapped) < MIN_RECORD_COLUMNS:
            continue
        cols = tuple(c for _, c in mapped)
        known = index.vectors(cols)
        hits = sum(tuple(index.cell(c, row[i]) for i, c in mapped) in known for row in body)
        if hits >= MIN_RECORD_ROWS:
            return "rows equal to respondents' answers", cols, hits
    return None


def _file_tables(path: Path, text: str) -> list[list[list[str]]]:
    suffix = path.suffix.lower()
    if suffix in {".html", ".htm"}:
        return html_tables(text)
    if suffix in {".csv", ".tsv"}:
        import csv

        rows = list(csv.reader(text.splitlines(), delimiter="\t" if suffix == ".tsv" else ","))
        return [rows] if rows else []
    if suffix == ".ipynb":
        import json

        try:
            nb = json.loads(text)
        except ValueError:
            return []
        found = []
        for cell in nb.get("cells", []):
            for output in cell.get("outputs", []) or []:
                data = output.get("data", {}) or {}
                if "text/html" in data:
                    found.extend(html_tables("".join(data["text/html"])))
                elif "text/plain" in data:
                    found.extend(plain_tables("".join(data["text/plain"])))
                if output.get("output_type") == "stream":
                    found.extend(plain_tables("".join(output.get("text", ""))))
        return found
    return []


def scan_records(root: str | Path, frame: pd.DataFrame, id_column: str, cb=None) -> list[RecordHit]:
    """Every table under ``root`` (HTML pages, CSV files, notebooks) that shows respondent-level
    rows of ``frame``: see the comment above :data:`MIN_RECORD_ROWS` for what counts."""
    root = Path(root)
    index = RecordIndex(frame, id_column, cb)
    hits: list[RecordHit] = []
    for path in sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in {".html", ".htm", ".csv", ".tsv", ".ipynb"}
    ):
        text = path.read_text(encoding="utf-8", errors="replace")
        if "<table" not in text and path.suffix.lower() in {".html", ".htm"}:
            continue
        rel = path.relative_to(root).as_posix()
        for n, table in enumerate(_file_tables(path, text), 1):
            leak = table_leak(table, index)
            if leak is not None:
                reason, cols, rows = leak
                hits.append(RecordHit(rel, n, cols, rows, reason))
    return hits
