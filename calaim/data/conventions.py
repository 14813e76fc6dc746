"""Missing-value conventions of survey exports, made explicit (part of reading: io -> validate).

:mod:`calaim.data.io` calls these while reading a file; each convention that changes a cell
says so with a warning (a :class:`~calaim.data.validate.Problem`), which ``calaim validate``
lists and every chapter's data box repeats.

* **CSV missing markers.** A CSV cell is missing only when it is empty (after trimming spaces)
  or exactly one of :data:`CSV_NA_MARKERS`. pandas' default list ("None", "null", "N/A", "nan",
  ...) is switched off, because "None" is a codebook label (experience code 4, information
  amount code 5) and must stay an answer.
* **SPSS / Stata user-missing declarations** (:func:`apply_user_missing`). A declared-missing
  code that the codebook lists as a valid answer of the column (9 = Unsure) stays an answer,
  with a warning; ``user_missing="missing"`` treats it as missing instead. Every other
  declared-missing code (99 = Refused, Stata's ``.a`` to ``.z``) becomes missing, with the
  number of cells reported.
* **Select-all choice text** (:func:`fill_choice_text`). A survey platform's choice-text export
  of a select-all question holds the option's text when it was chosen and a blank otherwise.
  When no column of a select-all item holds a 0 anywhere, blanks are read as "not chosen" (0)
  for every respondent the codebook's routing says was asked the question; the warning says
  how many asked respondents chose nothing at all.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from calaim.data.codebook import Codebook
from calaim.data.validate import WARNING, Problem, expected_codes, fmt_list, fmt_value

#: The only CSV cell texts read as missing (besides cells that are empty after trimming).
CSV_NA_MARKERS: tuple[str, ...] = ("", "NA")
USER_MISSING_OPTIONS = {"answer", "missing"}


def csv_na_note() -> str:
    """The CSV convention in words, for the data box."""
    shown = " and ".join(["empty cells", *(f"'{m}'" for m in CSV_NA_MARKERS if m)])
    return f"CSV cells read as missing: {shown} only; any other text (for example 'None') is an answer."


def _warn(kind: str, file: str, message: str, column=None, values=()) -> Problem:
    return Problem(kind=kind, file=file, column=column, rows=[], values=list(values), message=message, severity=WARNING)


def declared_missing(meta, fmt: str) -> dict[str, list]:
    """{column: declared-missing values} from pyreadstat metadata: (lo, hi) ranges for SPSS,
    the letters of Stata's extended missing values (``.a`` -> "a")."""
    out: dict[str, list] = {}
    if fmt == "sav":
        for col, ranges in (getattr(meta, "missing_ranges", None) or {}).items():
            out[col] = [(float(r["lo"]), float(r["hi"])) for r in ranges]
    else:
        for col, letters in (getattr(meta, "missing_user_values", None) or {}).items():
            out[col] = [str(x) for x in letters]
    return out


def apply_user_missing(
    df: pd.DataFrame, declared: dict[str, list], value_labels: dict, cb: Codebook, name: str, option: str = "answer"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Resolve the declared-missing values of a raw SPSS/Stata frame (column names already
    matched to the codebook). Returns a new frame and one warning per declaration found."""
    if option not in USER_MISSING_OPTIONS:
        raise ValueError(f"user_missing must be one of {sorted(USER_MISSING_OPTIONS)}, not {option!r}")
    if not declared:
        return df, []
    out = df.copy()
    kept, dropped, listed = [], [], []
    by_lower = {c.casefold(): c for c in cb.columns}
    for cname, decl in declared.items():
        if cname not in out.columns:
            continue
        col = cb.columns.get(by_lower.get(str(cname).strip().casefold(), ""))
        valid = expected_codes(col, cb) if col is not None else {}
        s = out[cname]
        labels = value_labels.get(cname, {})
        for d in decl:
            if isinstance(d, str):  # Stata .a-.z
                mask = s.astype(object).map(lambda v, d=d: isinstance(v, str) and v.strip() == d).to_numpy(bool)
                what, codes = f".{d}", []
            else:
                lo, hi = d
                num = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64")
                mask = (num >= lo) & (num <= hi)
                codes = sorted({float(v) for v in num[mask]})
                what = fmt_value(lo) if lo == hi else f"{fmt_value(lo)} to {fmt_value(hi)}"
            listed.append(f"'{cname}' {what}")
            if not mask.any():
                continue
            valid_codes = [c for c in codes if c.is_integer() and int(c) in valid]
            if valid_codes and option == "answer":
                vmask = pd.to_numeric(s, errors="coerce").isin(valid_codes).to_numpy(bool)
                for c in valid_codes:
                    kept.append((cname, int(c), valid[int(c)], int((pd.to_numeric(s, errors="coerce") == c).sum())))
                mask = mask & ~vmask
            if mask.any():
                lab = labels.get(codes[0], labels.get(int(codes[0]), "")) if len(codes) == 1 else ""
                dropped.append((cname, what + (f" = {lab}" if lab else ""), int(mask.sum())))
                s = s.astype(object).where(~mask, np.nan) if isinstance(d, str) else s.where(~mask, np.nan)
        out[cname] = s
    problems = []
    if listed:
        problems.append(
            _warn(
                "user_missing",
                name,
                f"{name}: the file declares user-missing values: {fmt_list(listed, limit=40)}.",
                column=next(iter(declared)),
            )
        )
    if kept:
        parts = "; ".join(f"'{c}' code {k} = {lab} ({n} cells)" for c, k, lab, n in kept)
        problems.append(
            _warn(
                "user_missing_valid",
                name,
                f"{name}: declared missing in the file but a valid answer in the codebook, so kept as an answer: "
                f"{parts}. To treat them as missing, use --user-missing missing (calaim validate and calaim build).",
                column=kept[0][0],
                values=[k for _, k, _, _ in kept],
            )
        )
    if dropped:
        parts = "; ".join(f"'{c}' {w} ({n} cells)" for c, w, n in dropped)
        problems.append(
            _warn(
                "user_missing_dropped",
                name,
                f"{name}: declared-missing codes read as missing: {parts}.",
                column=dropped[0][0],
            )
        )
    return out, problems


def fill_choice_text(df: pd.DataFrame, cb: Codebook, name: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Blanks of select-all items exported as option text (or 1) and blank -> 0 for asked respondents.

    ``df`` is the normalised frame (codes as float64, or compact: :mod:`calaim.data.compact`).
    An item qualifies when all its columns in the data are numeric, at least one holds a 1 and
    none holds a 0."""
    from calaim.data import compact, recode

    found = []
    for item in cb.items.values():
        if item.type != "multi":
            continue
        cols = [c.name for c in item.columns if c.name in df.columns]
        if not cols or any(df[c].dtype != "float64" and not compact.is_compact(df[c]) for c in cols):
            continue
        answered = not_one = blanks = False  # column by column: no float64 copy of the whole item
        for c in cols:
            vals = df[c].to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(vals)
            answered |= bool((~missing).any())
            not_one |= bool((vals[~missing] != 1).any())
            blanks |= bool(missing.any())
        if answered and not not_one and blanks:
            found.append((item, cols))
    if not found:
        return df, []
    try:
        derived = recode.derive(df, cb)
    except Exception as exc:  # noqa: BLE001 - a frame with invalid cells: leave it to validation
        return df, [
            _warn(
                "choice_text",
                name,
                f"{name}: select-all columns look like a choice-text export, but who was asked could not be "
                f"worked out ({exc}); blanks were left missing.",
            )
        ]
    out = df.copy()
    parts = []
    for item, cols in found:
        asked = derived[f"pop_{item.asked}"].to_numpy(bool)
        none_chosen = asked.copy()
        for c in cols:
            v = out[c].to_numpy(dtype="float64", na_value=np.nan, copy=True)
            none_chosen &= np.isnan(v)
            v[asked & np.isnan(v)] = 0.0
            out[c] = v if not compact.is_compact(df[c]) else pd.array(v, dtype=df[c].dtype)
        parts.append(
            f"'{item.name}' ({len(cols)} options; {int(asked.sum()):,} respondents asked, "
            f"{int(none_chosen.sum()):,} of them chose none)"
        )
    return out, [
        _warn(
            "choice_text",
            name,
            f"{name}: select-all {'item' if len(parts) == 1 else 'items'} {'; '.join(parts)} "
            f"{'holds' if len(parts) == 1 else 'hold'} only the option text (or 1) and blanks, as a choice-text "
            "export does: a blank was read as 'not chosen' (0) for every respondent the codebook says was asked.",
            column=found[0][1][0],
        )
    ]
