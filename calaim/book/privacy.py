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
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass
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
