"""Vendor column names -> codebook columns: the crosswalk (applied while reading: io -> validate).

A survey vendor's file names its columns ``Q1``, ``Q2_1``, ...; the codebook names them
``disposition``, ``goal_seamless``, ... A crosswalk is a CSV file with at least the columns
``source`` (a column of the data file) and ``target`` (a codebook column). Optional columns
``source_value`` and ``target_value`` recode values: a row holding them maps one value of the
source column (a code or a label, compared ignoring case and spacing) to a codebook code;
values a recode does not name stay as they are. Rows with an empty target are ignored (the
draft lists unmatched columns that way); other columns (``confidence``, ``basis``,
``source_label``) are for the analyst and ignored too.

* :func:`load` reads and checks a map against the codebook: a missing file, missing
  ``source``/``target`` columns, an unknown target (with the nearest codebook name), two sources
  for one target, one source for two targets, or half a value recode are
  :class:`~calaim.data.validate.DataError` problems naming the map's file, row and value.
* :meth:`Crosswalk.apply` renames (and recodes) a raw frame; a source the data file lacks is an
  error naming the map's row.
* :func:`draft` proposes a map for a data file from its column names, SPSS/Stata variable
  labels and value labels, with a confidence per row and the columns it could not match.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from calaim.data.codebook import Codebook
from calaim.data.validate import ERROR, WARNING, DataError, Problem, expected_codes, fmt_value, fmt_values

REQUIRED = ("source", "target")
DRAFT_COLUMNS = ["source", "target", "confidence", "basis", "source_label"]
MIN_CONFIDENCE = 0.6


def _norm(text) -> str:
    from calaim.data.io import normalise_label

    return normalise_label(text)


def _key(v) -> str:
    """A cell value as compared with a map's ``source_value``: numbers by value, text by label."""
    if v is None or (isinstance(v, float) and v != v):
        return ""
    try:
        f = float(str(v).strip())
        return fmt_value(int(f) if f.is_integer() else f)
    except ValueError:
        return _norm(v)


def _problem(kind, file, message, column=None, rows=(), values=(), severity=ERROR) -> Problem:
    return Problem(
        kind=kind, file=file, column=column, rows=list(rows), values=list(values), message=message, severity=severity
    )


@dataclass(frozen=True)
class Crosswalk:
    """A checked map: ``renames`` source -> target, ``recodes`` target -> {value key: code}."""

    file: str
    renames: dict[str, str]
    recodes: dict[str, dict[str, float | str]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)  # source -> first line of the map naming it

    def apply(self, df: pd.DataFrame, value_labels: dict, declared: dict, name: str):
        """(renamed frame, value labels, user-missing declarations, problems) for a raw frame.

        A value-recoded column loses the file's value labels and declarations (they describe
        the source codes)."""
        absent = [s for s in self.renames if s not in df.columns]
        if absent:
            raise DataError(
                [
                    _problem(
                        "crosswalk_source_absent",
                        self.file,
                        f"{self.file}, line {self.rows[s]}: source column '{s}' is not in {name}"
                        + _hint(s, [str(c) for c in df.columns])
                        + ".",
                        column=s,
                        rows=[self.rows[s]],
                        values=[s],
                    )
                    for s in absent
                ]
            )
        out = df.rename(columns=self.renames)
        for target, recode in self.recodes.items():
            out[target] = out[target].map(lambda v, r=recode: r.get(_key(v), v))
        labels = {
            self.renames.get(k, k): v for k, v in value_labels.items() if self.renames.get(k, k) not in self.recodes
        }
        decl = {self.renames.get(k, k): v for k, v in declared.items() if self.renames.get(k, k) not in self.recodes}
        n_values = sum(len(r) for r in self.recodes.values())
        note = _problem(
            "crosswalk",
            name,
            f"{name}: crosswalk {self.file} applied: {len(self.renames)} columns renamed to codebook names"
            + (f", {n_values} values recoded in {len(self.recodes)} columns" if self.recodes else "")
            + ".",
            severity=WARNING,
        )
        return out, labels, decl, [note]


def _hint(name: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def load(path, cb: Codebook) -> Crosswalk:
    """Read and check a crosswalk CSV; raise :class:`DataError` listing every problem."""
    path = Path(path)
    file = path.name
    if not path.is_file():
        raise DataError([_problem("crosswalk_not_found", file, f"{file}: no such crosswalk file.")])
    try:
        m = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataError([_problem("crosswalk_unreadable", file, f"{file}: cannot be read as CSV ({exc}).")]) from None
    m.columns = [str(c).strip().casefold() for c in m.columns]
    lacking = [c for c in REQUIRED if c not in m.columns]
    if lacking:
        raise DataError(
            [
                _problem(
                    "crosswalk_columns",
                    file,
                    f"{file}: a crosswalk needs the columns 'source' and 'target'; missing {fmt_values(lacking)} "
                    f"(found {fmt_values(list(m.columns))}).",
                    values=lacking,
                )
            ]
        )
    has_values = "source_value" in m.columns and "target_value" in m.columns
    problems: list[Problem] = []
    renames: dict[str, str] = {}
    rows: dict[str, int] = {}
    recodes: dict[str, dict] = {}
    sources_of: dict[str, dict[str, int]] = {}
    known = list(cb.columns)
    for i, r in m.iterrows():
        line = int(i) + 2  # the header is line 1
        source, target = r["source"].strip(), r["target"].strip()
        if not target:
            continue
        if not source:
            problems.append(_problem("crosswalk_row", file, f"{file}, line {line}: target '{target}' has no source."))
            continue
        if target not in cb.columns:
            problems.append(
                _problem(
                    "crosswalk_unknown_target",
                    file,
                    f"{file}, line {line}: target '{target}' (for source '{source}') is not a codebook column"
                    + _hint(target, known)
                    + ".",
                    column=target,
                    rows=[line],
                    values=[target],
                )
            )
            continue
        if source in renames and renames[source] != target:
            problems.append(
                _problem(
                    "crosswalk_two_targets",
                    file,
                    f"{file}, line {line}: source '{source}' is mapped to '{renames[source]}' (line {rows[source]}) "
                    f"and to '{target}'; a column can feed only one codebook column.",
                    column=source,
                    rows=[rows[source], line],
                    values=[renames[source], target],
                )
            )
            continue
        sources_of.setdefault(target, {}).setdefault(source, line)
        renames[source] = target
        rows.setdefault(source, line)
        if has_values:
            sv, tv = r["source_value"].strip(), r["target_value"].strip()
            if sv or tv:
                if not (sv and tv):
                    problems.append(
                        _problem(
                            "crosswalk_value",
                            file,
                            f"{file}, line {line}: a value recode needs both source_value and target_value "
                            f"(got {sv!r} and {tv!r}).",
                            column=source,
                            rows=[line],
                        )
                    )
                    continue
                try:
                    code: float | str = float(tv)
                except ValueError:
                    code = tv  # a label: mapped to its code by the reader
                recodes.setdefault(target, {})[_key(sv)] = code
    for target, srcs in sources_of.items():
        if len(srcs) > 1:
            where = ", ".join(f"'{s}' (line {n})" for s, n in srcs.items())
            problems.append(
                _problem(
                    "crosswalk_two_sources",
                    file,
                    f"{file}: target '{target}' has {len(srcs)} sources: {where}; keep one.",
                    column=target,
                    rows=list(srcs.values()),
                    values=list(srcs),
                )
            )
    if problems:
        raise DataError(problems)
    return Crosswalk(file=file, renames=renames, recodes=recodes, rows=rows)


# ---------------------------------------------------------------------- drafting
def file_metadata(path) -> tuple[list[str], dict[str, str], dict[str, dict]]:
    """(column names, variable labels, value labels) of a data file, as written (no renaming)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in {".sav", ".zsav", ".dta"}:
        import pyreadstat

        reader = pyreadstat.read_dta if suffix == ".dta" else pyreadstat.read_sav
        _, meta = reader(str(path), metadataonly=True)
        labels = {k: v for k, v in (meta.column_names_to_labels or {}).items() if v}
        return list(meta.column_names), labels, dict(meta.variable_value_labels or {})
    if suffix in {".parquet", ".pq"}:
        import pyarrow.parquet as pq

        return [n for n in pq.read_schema(path).names if not n.startswith("__index")], {}, {}
    return [str(c) for c in pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns], {}, {}


def _value_score(file_labels: dict, col, cb: Codebook) -> float | None:
    """Share of the codebook's labels of ``col`` that the file's value labels carry (None: nothing to compare)."""
    book = expected_codes(col, cb) if col.kind != "binary" else {}
    if not file_labels or not book:
        return None
    have = {_norm(v) for v in file_labels.values()}
    want = {_norm(v) for v in book.values()}
    return len(have & want) / len(want)


@dataclass(frozen=True)
class Draft:
    table: pd.DataFrame  # DRAFT_COLUMNS, one row per data column (unmatched: empty target)
    unmatched: tuple[str, ...]


def draft(columns: list[str], labels: dict[str, str], value_labels: dict[str, dict], cb: Codebook) -> Draft:
    """Propose a crosswalk: each data column's best codebook column, one source per target.

    Confidence: 1.0 for the same name (ignoring case), 0.95 for the same variable label, else
    difflib's similarity of the labels (or of the names, times 0.8), blended with the share of
    the codebook's value labels the column carries. Below :data:`MIN_CONFIDENCE`, unmatched."""
    by_name = {c.casefold(): c for c in cb.columns}
    by_label = {_norm(col.label): name for name, col in cb.columns.items()}
    label_keys = list(by_label)
    name_keys = list(by_name)
    candidates: list[tuple[float, str, str, str]] = []
    for src in columns:
        s = str(src).strip()
        options: dict[str, tuple[float, str]] = {}
        if s.casefold() in by_name:
            options[by_name[s.casefold()]] = (1.0, "name")
        lab = _norm(labels.get(src, ""))
        if lab in by_label:
            options.setdefault(by_label[lab], (0.95, "variable label"))
        if not options:  # fuzzy matching only where nothing matched exactly (it is the slow part)
            if lab:
                for close in difflib.get_close_matches(lab, label_keys, n=3, cutoff=MIN_CONFIDENCE):
                    ratio = difflib.SequenceMatcher(None, lab, close).ratio()
                    options.setdefault(by_label[close], (0.9 * ratio, "similar variable label"))
            for close in difflib.get_close_matches(s.casefold(), name_keys, n=3, cutoff=0.75):
                ratio = difflib.SequenceMatcher(None, s.casefold(), close).ratio()
                options.setdefault(by_name[close], (0.8 * ratio, "similar name"))
        for target, (conf, basis) in options.items():
            vs = _value_score(value_labels.get(src, {}), cb.columns[target], cb)
            if vs is not None and conf < 1.0:
                conf = 0.8 * conf + 0.2 * vs
                basis += f" + value labels {vs:.0%}"
            candidates.append((conf, str(src), target, basis))
    chosen: dict[str, tuple[str, float, str]] = {}
    taken: set[str] = set()
    for conf, src, target, basis in sorted(candidates, key=lambda c: (-c[0], c[1], c[2])):
        if conf < MIN_CONFIDENCE or src in chosen or target in taken:
            continue
        chosen[src] = (target, conf, basis)
        taken.add(target)
    rows, unmatched = [], []
    for src in columns:
        target, conf, basis = chosen.get(str(src), ("", 0.0, "unmatched"))
        if not target:
            unmatched.append(str(src))
        rows.append(
            {
                "source": src,
                "target": target,
                "confidence": round(conf, 2),
                "basis": basis,
                "source_label": labels.get(src, ""),
            }
        )
    return Draft(table=pd.DataFrame(rows, columns=DRAFT_COLUMNS), unmatched=tuple(unmatched))
