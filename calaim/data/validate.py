"""Check a respondent-level frame against the codebook and say exactly what is wrong.

:func:`validate` never stops at the first problem: it returns one :class:`Problem` per
(kind, column) with the 1-based data rows involved (row 1 = first respondent; in a CSV file
that is file line 2, after the header), a few of the offending values and a sentence a person
can act on. :func:`check` raises :class:`DataError` carrying every problem when any of them is
an error, and returns the warnings otherwise.

Problem kinds (``severity`` is "error" unless noted):

=================  ==========================================================================
empty_file         the file has no respondent rows (or no columns)
missing_id         no id column (``resp_id``), or respondents with an empty id
duplicate_id       the same id on more than one row
duplicate_column   two columns with the same name (after trimming and ignoring case)
missing_required   a required column is absent, or empty for a respondent who was asked it
unknown_column     a column the codebook does not define (derived names such as
                   ``sector_sso`` are computed by :func:`calaim.data.recode.derive`, never read)
wrong_type         text that is not a number in a coded or numeric column
bad_code           a value that is not one of the column's codes (select-all columns: 0/1)
out_of_range       a scale or count outside [min, max], or not a whole number
not_asked          an answer from a respondent outside the item's ``asked`` population
missing_weight     the weight column given (``weight=``) is not in the file
bad_weight         a weight that is not a finite number above 0 (zero, negative, missing,
                   text); every respondent of the file needs one, screen-outs included,
                   because every population (Appendix A counts everyone) may be weighted
all_missing        (warning) a column that is present but holds no answer at all
=================  ==========================================================================

:mod:`calaim.data.io` adds file-level kinds (``file_not_found``, ``unsupported_format``,
``encoding``, ``delimiter``, ``malformed_csv``, ``corrupt_file``), for SPSS / Stata
files ``label_mismatch`` (the file's value labels disagree with the codebook's), and two
warnings for what it tolerates: ``bom`` (a UTF-8 byte-order mark, ignored) and ``label_text``
(label text instead of codes, mapped to codes).

``not_asked`` is an error, not a warning: an answer where the questionnaire's routing
allows none means the file's columns or filters differ from the codebook's (a merge that
shifted rows, a recoded filter question), and the item's base would silently include
people who were never asked it.

Populations are computed with :func:`calaim.data.recode.derive` on the data being checked. A
column is checked for ``not_asked`` only when every input of its population is present
(a wave that drops ``discharge_planner`` cannot say who the discharge planners are), and rows
whose population inputs are themselves invalid are left out of that check, so one bad code
is reported once rather than again as a cascade of ``not_asked`` problems.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from calaim.data import compact, recode
from calaim.data.codebook import Codebook, Column, load

ERROR, WARNING = "error", "warning"
MAX_ROWS_SHOWN = 10
MAX_VALUES_SHOWN = 5
DERIVE_ROWS = 200_000  # rows derived at a time for the who-was-asked checks

# Raw inputs of the derived variables that population queries use (see calaim.data.recode.derive).
# A population is evaluable only when all of its raw inputs are present in the data.
_ORG = ["org_type"]
DERIVED_INPUTS: dict[str, list[str]] = {
    "sector_sso": _ORG,
    "sector_mcp": _ORG,
    "sector_fqhc": _ORG,
    "bh_org": _ORG,
    "hc_org": _ORG,
    "sector_hdp": ["discharge_planner"],
    "sector_bh": ["org_type", "specialty", "credential"],
    "sector_pcp": ["credential", "specialty", "role", "work_setting"],
    "leader": ["role"],
    "role4": ["role"],
}
_PARTNER_DERIVED = re.compile(r"^(n_partner_sectors|partner_band|partners_\w+)$")
_RENAME = " (the file has '{}': rename it)"
_DUPLICATE_ID = (
    "is used on more than one row; ids must be unique",
    "are each used on more than one row; ids must be unique",
)
_KEYWORDS = {"and", "or", "not", "in", "is", "True", "False", "None"}


@dataclass
class Problem:
    """One thing wrong with a data file: what, where, and which values."""

    kind: str
    file: str
    column: str | None = None
    rows: list[int] = field(default_factory=list)  # 1-based data rows (row 1 = first respondent)
    values: list[Any] = field(default_factory=list)  # offending values, deduplicated, a few
    message: str = ""
    severity: str = ERROR

    def __str__(self) -> str:
        return f"[{self.severity}: {self.kind}] {self.message}"


class DataError(Exception):
    """A data file cannot be used as it is; ``.problems`` lists every reason."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == ERROR]

    def kinds(self) -> set[str]:
        return {p.kind for p in self.problems}


# ---------------------------------------------------------------------- message helpers
def fmt_value(v: Any) -> str:
    """A value as a reader would write it: 99 not 99.0, text in quotes."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        f = float(v)
        return str(int(f)) if f.is_integer() else f"{f:g}"
    return repr(str(v))


def fmt_list(items: list[str], total: int | None = None, limit: int = MAX_ROWS_SHOWN) -> str:
    """'1', '1 and 2', '1, 2 and 3', '1, 2, ..., 10 and 190 more'."""
    total = len(items) if total is None else total
    shown = items[:limit]
    if total > len(shown):
        return ", ".join(shown) + f" and {total - len(shown)} more"
    if len(shown) == 1:
        return shown[0]
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def fmt_rows(rows: list[int], line_offset: int | None) -> str:
    """'row 3 (file line 4)', 'rows 3 and 5 (file lines 4 and 6)', ..."""
    if not rows:
        return ""
    word = "row" if len(rows) == 1 else "rows"
    text = f"{word} {fmt_list([str(r) for r in rows])}"
    if line_offset is not None:
        lw = "file line" if len(rows) == 1 else "file lines"
        text += f" ({lw} {fmt_list([str(r + line_offset) for r in rows])})"
    return text


def fmt_values(values: list[Any], total: int | None = None) -> str:
    return fmt_list([fmt_value(v) for v in values], total=total, limit=MAX_VALUES_SHOWN)


def _distinct(values) -> list[Any]:
    """Distinct values in order of appearance, as plain Python scalars."""
    seen: dict[Any, None] = {}
    for v in values:
        v = v.item() if isinstance(v, np.generic) else v
        key = (type(v).__name__ if isinstance(v, str) else "num", v)
        if key not in seen:
            seen[key] = None
    return [k[1] for k in seen]


def _codes_text(codes) -> str:
    codes = sorted(int(c) for c in codes)
    return fmt_list([str(c) for c in codes], limit=20)


class _Report:
    """Collects problems for one source, building messages in one style."""

    def __init__(self, source: str, line_offset: int | None):
        self.source = source
        self.line_offset = line_offset
        self.problems: list[Problem] = []

    def add(self, kind, column, message, rows=(), values=(), severity=ERROR):
        self.problems.append(
            Problem(
                kind=kind,
                file=self.source,
                column=column,
                rows=list(rows),
                values=list(values),
                message=message,
                severity=severity,
            )
        )

    def cells(self, kind: str, column: str, mask: np.ndarray, original: pd.Series, what, severity: str = ERROR) -> None:
        """A problem about the cells of ``column`` where ``mask`` is true; ``what`` finishes
        the sentence (a (singular, plural) pair when the verb depends on the count)."""
        pos = np.flatnonzero(mask)
        rows = [int(p) + 1 for p in pos]
        vals = original.iloc[pos]
        distinct = _distinct(vals.tolist()) if len(pos) <= 5000 else _distinct(vals.iloc[:5000].tolist())
        n_distinct = len(distinct) if len(pos) <= 5000 else int(pd.Series(vals.astype(str)).nunique())
        shown = distinct[:MAX_VALUES_SHOWN]
        where = fmt_rows(rows, self.line_offset)
        noun = "value" if n_distinct == 1 else "values"
        if isinstance(what, tuple):
            what = what[0] if n_distinct == 1 else what[1]
        message = f"{self.source}: column '{column}', {where}: {noun} {fmt_values(shown, n_distinct)} {what}."
        self.add(kind, column, message, rows, shown, severity)


# ---------------------------------------------------------------------- column coercion
def as_numeric(s: pd.Series) -> tuple[np.ndarray, np.ndarray, pd.Series]:
    """(float values with NaN for missing or non-numeric, mask of non-numeric text, the
    series with text cells trimmed and empty text as missing)."""
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        s = s.astype(object)
        dtype = s.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
        num = s.to_numpy(dtype="float64", na_value=np.nan)
        return num, np.zeros(len(s), dtype=bool), s
    txt = s.astype(object)
    is_str = np.fromiter((isinstance(v, str) for v in txt.to_numpy()), dtype=bool, count=len(txt))
    if is_str.any():
        stripped = txt[is_str].str.strip()
        stripped[stripped == ""] = np.nan
        txt = txt.copy()
        txt[is_str] = stripped
    missing = txt.isna().to_numpy()
    num = pd.to_numeric(txt, errors="coerce")
    num = pd.Series(num, index=s.index).to_numpy(dtype="float64", na_value=np.nan)
    wrong = ~missing & np.isnan(num)
    return num, wrong, txt


def expected_codes(col: Column, cb: Codebook) -> dict[int, str]:
    """The codes a column may hold, with labels (scale anchors for scale columns)."""
    if col.codes:
        return dict(col.codes)
    item = cb.items.get(col.item)
    return dict(item.anchors) if item is not None else {}


# ---------------------------------------------------------------------- populations
def _identifiers(query: str) -> set[str]:
    return {t for t in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query) if t not in _KEYWORDS}


def population_inputs(
    cb: Codebook, name: str, derived: set[str] | None = None, _seen: frozenset = frozenset()
) -> tuple[set[str], bool]:
    """(raw data columns a population depends on, whether every name in it is known)."""
    derived = recode.derived_names(cb) if derived is None else derived
    pop = cb.populations[name]
    raw: set[str] = set()
    known = True
    partner_cols = [f"partner__{k}" for k in cb.option_sets.get("partner_sectors", {})]
    for ident in _identifiers(pop.query):
        if ident.startswith("pop_") and ident[4:] in cb.populations and ident[4:] not in _seen:
            sub, ok = population_inputs(cb, ident[4:], derived, _seen | {name})
            raw |= sub
            known &= ok
        elif ident in cb.columns:
            raw.add(ident)
        elif ident in DERIVED_INPUTS:
            raw |= set(DERIVED_INPUTS[ident])
        elif _PARTNER_DERIVED.match(ident):
            raw |= set(partner_cols)
        elif ident in derived:
            pass  # a derived name whose inputs we do not track: assume evaluable
        else:
            known = False
    return raw, known


# ---------------------------------------------------------------------- the checks
def _report_blank_ids(rep, blank: np.ndarray, idc: str, source: str, line_offset) -> None:
    """One ``missing_id`` problem listing every row whose id is empty (``blank``), if any."""
    if blank.any():
        rows = [int(p) + 1 for p in np.flatnonzero(blank)]
        rep.add(
            "missing_id",
            idc,
            f"{source}: column '{idc}', {fmt_rows(rows, line_offset)}: the id is empty (value: empty); "
            "every respondent needs one.",
            rows=rows,
            values=[None],
        )


def validate(
    df: pd.DataFrame,
    cb: Codebook | None = None,
    source: str = "<data>",
    line_offset: int | None = None,
    known: list[Problem] | None = None,
    weight: str | None = None,
) -> list[Problem]:
    """Every problem of ``df`` against the codebook, errors and warnings, in a stable order.

    ``weight`` names a survey-weight column: it need not be in the codebook, and must hold a
    finite number above 0 for every respondent (:func:`calaim.stats.weights.check_weights`).

    ``source`` names the file in messages. ``line_offset`` turns a data row into a file line
    (default: 1 for a ``.csv`` source, whose line 1 is the header; none otherwise).
    ``known`` are problems already reported for cells of ``df`` (e.g. by :mod:`calaim.data.io`
    while mapping value labels): those cells are not reported again, and are not counted
    as missing answers or as population inputs.
    """
    cb = cb or load()
    source = str(source)
    if line_offset is None and source.lower().endswith(".csv"):
        line_offset = 1
    rep = _Report(source, line_offset)
    n = len(df)
    idc = cb.id_column
    flagged: dict[str, np.ndarray] = {}
    for p in known or []:
        if p.column and p.rows and p.severity == ERROR:
            mask = flagged.setdefault(p.column, np.zeros(n, dtype=bool))
            idx = np.asarray([r - 1 for r in p.rows if 0 < r <= n], dtype=int)
            mask[idx] = True

    # -- column names
    names = [str(c) for c in df.columns]
    counts = Counter(names)
    for name, k in counts.items():
        if k > 1:
            rep.add(
                "duplicate_column",
                name,
                f"{source}: column '{name}' appears {k} times; only the first is checked.",
                values=[name],
            )
    if len(set(names)) < len(names):
        df = df.loc[:, ~pd.Index(names).duplicated()]
    df = df.set_axis([str(c) for c in df.columns], axis=1)
    present = set(df.columns)

    if df.shape[1] == 0:
        rep.add("empty_file", None, f"{source}: the file has no columns.")
    elif n == 0:
        rep.add("empty_file", None, f"{source}: the file has a header but no respondent rows.")

    # -- id
    if idc not in present:
        rep.add(
            "missing_id",
            idc,
            f"{source}: there is no id column '{idc}'{_hint(idc, names, _RENAME)}; every respondent needs an id.",
            values=[idc],
        )
    elif n and pd.api.types.is_integer_dtype(df[idc].dtype):
        # whole-number ids (io reads them as Int64): the same checks without a Python object a row
        ids = df[idc]
        blank = ids.isna().to_numpy()
        _report_blank_ids(rep, blank, idc, source, line_offset)
        dup = ids.duplicated(keep=False).to_numpy() & ~blank
        if dup.any():
            rep.cells("duplicate_id", idc, dup, ids, _DUPLICATE_ID)
    elif n:
        ids = df[idc]
        txt = ids.astype(object)
        blank = txt.isna().to_numpy() | np.fromiter(
            (isinstance(v, str) and not v.strip() for v in txt), dtype=bool, count=n
        )
        _report_blank_ids(rep, blank, idc, source, line_offset)
        key = pd.Series(
            [
                None if b else (v.strip() if isinstance(v, str) else fmt_value(v))
                for v, b in zip(txt, blank, strict=True)
            ],
            index=df.index,
            dtype=object,
        )
        dup = (key.duplicated(keep=False) & ~pd.Series(blank, index=df.index)).to_numpy()
        if dup.any():
            rep.cells("duplicate_id", idc, dup, ids, _DUPLICATE_ID)

    # -- required columns
    for name in cb.required_columns():
        if name != idc and name not in present:
            rep.add(
                "missing_required",
                name,
                f"{source}: the required column '{name}' ({cb.columns[name].label}) is "
                f"absent{_hint(name, names, _RENAME)}.",
                values=[name],
            )

    # -- unknown columns
    derived = recode.derived_names(cb)
    n_unknown = 0
    for name in df.columns:
        if name in cb.columns or (weight and name == weight):
            continue
        n_unknown += 1
        if name in derived:
            why = "is a derived variable that calaim.data.recode.derive computes; input files must not contain it"
        else:
            hint = _hint(name, list(cb.columns)) if n_unknown <= 50 else ""  # keep a very wide file fast
            why = f"is not defined in the codebook{hint}"
        rep.add("unknown_column", name, f"{source}: column '{name}' {why}.", values=[name])

    if weight:
        _check_weight(df, weight, rep)

    # -- values, column by column
    numeric = _Numbers(df, flagged)  # float values recomputed when needed, not held for every column
    invalid: dict[str, np.ndarray] = {}  # rows with a wrong_type / bad_code / out_of_range value
    for col in cb.columns.values():
        name = col.name
        if name not in present or col.kind == "id":
            continue
        s = df[name]
        num, wrong, clean = as_numeric(s)
        pre = flagged.get(name)
        if pre is not None:
            wrong &= ~pre
            num = np.where(pre, np.nan, num)
        numeric.add(name)
        bad_any = wrong.copy() if pre is None else wrong | pre
        if wrong.any():
            rep.cells(
                "wrong_type",
                name,
                wrong,
                clean,
                (
                    f"is not a number; the column holds {_expects(col, cb)}",
                    f"are not numbers; the column holds {_expects(col, cb)}",
                ),
            )
        ok = ~np.isnan(num)
        if col.kind in {"single", "binary"}:
            codes = np.array(sorted(expected_codes(col, cb)), dtype="float64")
            bad = ok & ~np.isin(num, codes)
            if bad.any():
                if col.kind == "binary":
                    what = ("is not allowed", "are not allowed")
                    what = tuple(
                        w + ": a select-all option column holds only 0 (not selected) or 1 (selected)" for w in what
                    )
                else:
                    what = (
                        f"is not one of the column's codes ({_codes_text(codes)})",
                        f"are not among the column's codes ({_codes_text(codes)})",
                    )
                rep.cells("bad_code", name, bad, clean, what)
            bad_any |= bad
        elif col.kind in {"scale", "count"}:
            lo, hi = float(col.min), float(col.max)
            with np.errstate(invalid="ignore"):
                bad = ok & ((num < lo) | (num > hi) | (np.floor(num) != num))
            if bad.any():
                rng = f"whole numbers from {fmt_value(lo)} to {fmt_value(hi)}"
                rep.cells(
                    "out_of_range",
                    name,
                    bad,
                    clean,
                    (f"is outside the allowed range ({rng})", f"are outside the allowed range ({rng})"),
                )
            bad_any |= bad
        if bad_any.any():
            invalid[name] = bad_any
        if n and not ok.any() and not bad_any.any():
            rep.add(
                "all_missing",
                name,
                f"{source}: column '{name}' is present but has no answer in "
                f"{f'any of its {n} rows' if n > 1 else 'its only row'}; "
                "it is treated as not asked in this data set.",
                severity=WARNING,
            )

    # -- populations: required answers and answers from people not asked
    if n and numeric:
        _check_populations(df, cb, rep, numeric, invalid, present)
    return rep.problems


class _Numbers:
    """The checked code columns of a frame as float values (NaN = missing or flagged by the
    reader), computed column by column when asked: holding every column as float64 at once
    would take 8 bytes a cell (calaim.data.compact keeps codes in 2)."""

    def __init__(self, df: pd.DataFrame, flagged: dict[str, np.ndarray]):
        self.df, self.flagged, self.names = df, flagged, {}

    def add(self, name: str) -> None:
        self.names[name] = None

    def __contains__(self, name) -> bool:
        return name in self.names

    def __iter__(self):
        return iter(list(self.names))

    def __bool__(self) -> bool:
        return bool(self.names)

    def __getitem__(self, name: str) -> np.ndarray:
        num = as_numeric(self.df[name])[0]
        pre = self.flagged.get(name)
        return num if pre is None else np.where(pre, np.nan, num)

    def codes(self, name: str):
        """The column for deriving populations: compact codes as they are, else the floats."""
        s = self.df[name]
        if not compact.is_compact(s):
            return self[name]
        pre = self.flagged.get(name)
        return s.array if pre is None else s.mask(pre).array


def _check_populations(df, cb, rep: _Report, numeric, invalid, present) -> None:
    n = len(df)
    idc = cb.id_column
    asked = {cb.columns[c].asked for c in numeric}
    derived_set = recode.derived_names(cb)
    evaluable: dict[str, set[str]] = {}
    needed: set[str] = set()
    for pop in sorted(asked):
        if pop not in cb.populations:
            continue
        raw, known = population_inputs(cb, pop, derived_set)
        if known and raw <= present:
            evaluable[pop] = raw
            needed |= raw
    if not evaluable:
        return
    # derive on the population inputs only (fast), as numbers; the id is a surrogate so that
    # a missing or duplicated id (reported above) does not move anybody out of 'everyone'.
    # (views of the columns, not copies), derived DERIVE_ROWS rows at a time: every derived value and
    # population depends on its own row only, and a slice's derived columns are small.
    cols = {c: numeric.codes(c) for c in sorted(needed - {idc}) if c in numeric}
    frame = pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)
    frame[idc] = np.arange(1, n + 1)
    derived = {f"pop_{pop}": np.zeros(n, dtype=bool) for pop in evaluable}
    try:
        for start in range(0, n, DERIVE_ROWS):
            part = recode.derive(frame.iloc[start : start + DERIVE_ROWS], cb)
            for name, mask in derived.items():
                mask[start : start + len(part)] = part[name].to_numpy(dtype=bool)
            del part
    except Exception as exc:  # derive is not expected to fail; say so instead of crashing
        rep.add(
            "not_asked",
            None,
            f"{rep.source}: who-was-asked checks were skipped: populations could not be computed ({exc}).",
            severity=WARNING,
        )
        return
    excluded_by_pop: dict[str, np.ndarray] = {}
    for pop, raw in evaluable.items():
        ex = np.zeros(n, dtype=bool)
        for c in raw:
            if c in invalid:
                ex |= invalid[c]
        excluded_by_pop[pop] = ex

    del frame
    for name in numeric:
        num = numeric[name]
        col = cb.columns[name]
        pop = col.asked
        answered = ~np.isnan(num)
        if pop in evaluable:
            inpop = derived[f"pop_{pop}"]
            ex = excluded_by_pop[pop]
        else:
            inpop, ex = None, np.zeros(n, dtype=bool)
        if col.required:
            target = np.ones(n, dtype=bool) if inpop is None else inpop
            missing = target & ~answered & ~invalid.get(name, np.zeros(n, dtype=bool)) & ~ex
            if missing.any():
                rows = [int(p) + 1 for p in np.flatnonzero(missing)]
                who = "" if inpop is None or pop == "everyone" else f" although they are in population '{pop}'"
                rep.add(
                    "missing_required",
                    name,
                    f"{rep.source}: column '{name}' is required, but {fmt_rows(rows, rep.line_offset)} "
                    f"{'has' if len(rows) == 1 else 'have'} no answer{who}; value: empty.",
                    rows=rows,
                    values=[None],
                )
        if inpop is None:
            continue
        out = answered & ~inpop & ~ex
        if out.any():
            label = cb.populations[pop].label
            values = pd.Series(num)
            rep.cells(
                "not_asked",
                name,
                out,
                values,
                f"given by {'a respondent' if out.sum() == 1 else 'respondents'} outside the population the "
                "item is asked of, "
                f"'{pop}' ({label[0].lower() + label[1:]}); such answers should be empty",
            )


def _check_weight(df: pd.DataFrame, weight: str, rep: _Report) -> None:
    """``missing_weight`` / ``bad_weight`` problems of the weight column."""
    from calaim.stats import weights

    if weight not in df.columns:
        message = f"{rep.source}: weight column '{weight}' is not in the file."
        rep.add("missing_weight", weight, message, values=[weight])
        return
    raw = df[weight]
    num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~(np.isfinite(num) & (num > 0))
    if not bad.any():
        return
    rows = np.flatnonzero(bad) + 1
    labels = [f"line {r + rep.line_offset}" for r in rows] if rep.line_offset else rows.tolist()
    try:
        weights.check_weights(raw[bad].astype(object), weight, rows=labels, source=rep.source)
    except weights.WeightError as exc:
        rep.add("bad_weight", weight, str(exc), rows=rows.tolist(), values=_distinct(raw[bad].tolist()))


def _expects(col: Column, cb: Codebook) -> str:
    if col.kind == "binary":
        return "0/1 select-all flags"
    if col.kind in {"scale", "count"}:
        return f"whole numbers from {fmt_value(col.min)} to {fmt_value(col.max)}"
    return f"numeric codes ({_codes_text(expected_codes(col, cb))})"


def _hint(name: str, candidates: list[str], template: str = " (did you mean '{}'?)") -> str:
    lower = {c.lower(): c for c in candidates}
    if name.lower() in lower and lower[name.lower()] != name:
        return template.format(lower[name.lower()])
    close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.85)
    return template.format(close[0]) if close and close[0] != name else ""


def check(
    df: pd.DataFrame,
    cb: Codebook | None = None,
    source: str = "<data>",
    line_offset: int | None = None,
    extra: list[Problem] | None = None,
    weight: str | None = None,
) -> list[Problem]:
    """Raise :class:`DataError` (with every problem, errors first) if anything is an error;
    otherwise return the warnings. ``extra`` adds problems found while reading the file;
    ``weight`` names a survey-weight column (see :func:`validate`)."""
    problems = list(extra or []) + validate(df, cb, source, line_offset, known=extra, weight=weight)
    errors = [p for p in problems if p.severity == ERROR]
    warnings = [p for p in problems if p.severity != ERROR]
    if errors:
        raise DataError(errors + warnings)
    return warnings
