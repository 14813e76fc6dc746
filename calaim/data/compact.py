"""Compact codes in memory: small nullable integers instead of float64, for large files.

Sits inside the first step of the data flow (io -> validate -> recode -> ...).
:func:`read_csv_blocks` is the CSV reader of :mod:`calaim.data.io`: it reads the file in blocks
of rows and keeps every codebook column in the smallest pandas nullable integer type that holds
the codebook's codes or range (:func:`code_dtype`; ``Int8`` for almost every column, missing =
``<NA>``): a cell takes 2 bytes instead of the 8 of float64, and the file is never held whole as
parsed text or as float64. A column with a value that is not a whole number of that type (a bad
code such as 300, a fraction) is kept as float64 instead, so validation sees the value exactly
as written. Text in a codebook column, blocks that disagree on another column's type, or a
structural oddity (a ParserWarning) make it return None: :mod:`calaim.data.io` then reads the
whole file at once as before, because its messages need the text.

:func:`shrink` turns a float64 code column (Parquet, SPSS, Stata) into the compact type when every
value fits. The build stores the compact frame and the chapters work on it as it is (a chapter of
1,000,000 completes then holds 2 bytes a code, not 8); the analysis modules give the same numbers
on it as on float64 codes (``tests/test_compact.py``). :func:`widen` turns
compact columns back into float64 with NaN, for comparisons in tests; :func:`truthy` is the one
way to turn an indicator column of any of these types into a bool mask.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from calaim.data.codebook import Codebook, Column

INT_TYPES = (("Int8", np.int8), ("Int16", np.int16), ("Int32", np.int32))
COMPACT_NAMES = {name for name, _ in INT_TYPES}
BLOCK_ROWS = 20_000


def code_dtype(col: Column, cb: Codebook) -> type | None:
    """The numpy integer type of the smallest nullable type holding every valid value of
    ``col`` (its codes, or its scale/count range); None for the id or a column without either."""
    if col.kind == "id":
        return None
    if col.kind in {"single", "binary"}:
        item = cb.items.get(col.item)
        values = list(col.codes) or list(getattr(item, "anchors", None) or {})
    else:
        values = [v for v in (col.min, col.max) if v is not None]
    if not values:
        return None
    lo, hi = min(values), max(values)
    for _, np_type in INT_TYPES:
        info = np.iinfo(np_type)
        if info.min <= lo and hi <= info.max:
            return np_type
    return None


def is_compact(s: pd.Series) -> bool:
    """Whether ``s`` holds codes in one of the compact types (not the ``Int64`` of whole-number ids)."""
    return str(s.dtype) in COMPACT_NAMES


def truthy(s: pd.Series) -> pd.Series:
    """``s`` as a plain bool mask: a missing value is False, any other value is its truth (a
    non-zero code is True). The same for float64 with NaN, a compact nullable code column, a
    nullable boolean and plain bool, where ``s.fillna(False).astype(bool)`` fails on the compact
    types (False is no valid ``Int8`` value)."""
    if s.dtype == bool:
        return s
    return s.fillna(False if pd.api.types.is_bool_dtype(s.dtype) else 0).astype(bool)


def _fit(values: np.ndarray, np_type: type) -> tuple[np.ndarray, np.ndarray] | None:
    """(integers, missing mask) when every non-missing value is a whole number of ``np_type``."""
    missing = np.isnan(values)
    info = np.iinfo(np_type)
    with np.errstate(invalid="ignore"):
        fits = missing | ((values == np.floor(values)) & (values >= info.min) & (values <= info.max))
    if not fits.all():
        return None
    return np.where(missing, 0, values).astype(np_type), missing


def shrink(values: np.ndarray, col: Column, cb: Codebook) -> pd.api.extensions.ExtensionArray | None:
    """float64 codes (NaN = missing) as the column's compact type, or None if a value does not fit."""
    np_type = code_dtype(col, cb)
    fitted = None if np_type is None else _fit(values, np_type)
    return None if fitted is None else pd.arrays.IntegerArray(*fitted)


def shrink_values(values: np.ndarray) -> pd.api.extensions.ExtensionArray | None:
    """float64 values (NaN = missing) as ``Int8`` when every one is a whole number of that type."""
    fitted = _fit(values, np.int8)
    return None if fitted is None else pd.arrays.IntegerArray(*fitted)


def widen(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every nullable integer column as float64 (missing = NaN); others untouched."""
    compact = [c for c in df.columns if is_compact(df[c])]
    if not compact:
        return df
    wide = set(compact)
    # one frame built from all its columns at once: assigning column by column would leave it
    # fragmented (pandas then warns on every later insert, e.g. in a chapter's df.assign)
    out = pd.DataFrame(
        {c: df[c].to_numpy(dtype="float64", na_value=np.nan) if c in wide else df[c] for c in df.columns},
        index=df.index,
    )
    out.attrs = dict(df.attrs)
    return out


def _join(parts: list[pd.Series]) -> pd.Series | None:
    """One column from its blocks, typed as reading it whole would have typed it, or None."""
    kinds = {str(p.dtype) for p in parts}
    if len(kinds) == 1:
        return pd.concat(parts, ignore_index=True)
    if all(pd.api.types.is_numeric_dtype(p.dtype) and not pd.api.types.is_bool_dtype(p.dtype) for p in parts):
        return pd.Series(np.concatenate([p.to_numpy(dtype="float64", na_value=np.nan) for p in parts]))
    texts = [p for p in parts if not (p.dtype == "float64" and p.isna().all())]
    if len({str(p.dtype) for p in texts}) == 1 and not pd.api.types.is_numeric_dtype(texts[0].dtype):
        # blocks with no value at all are read as float64: as the text type they are all missing
        dtype = texts[0].dtype
        return pd.concat(
            [p if p.dtype == dtype else pd.Series(pd.NA, index=p.index, dtype=dtype) for p in parts], ignore_index=True
        )
    return None


def _line_count(path) -> int:
    """Lines of the file (newlines + 1): at least as many as its records."""
    n = 1
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def read_csv_blocks(path, names: list[str], cb: Codebook, **read_options) -> pd.DataFrame | None:
    """The CSV file as :func:`pandas.read_csv` would read it whole (columns numbered 0..), with
    codebook columns compact; None when it must be read whole instead (see the module docstring).

    Each code column is one array sized for the file's line count, filled block by block (pages
    never written are never resident): many small per-block arrays would fragment the heap."""
    by_lower = {c.casefold(): c for c in cb.columns}
    targets: dict[int, type] = {}
    for i, name in enumerate(names):
        col = cb.columns.get(by_lower.get(name.strip().casefold(), ""))
        np_type = code_dtype(col, cb) if col is not None else None
        if np_type is not None:
            targets[i] = np_type
    capacity = _line_count(path)
    values = {i: np.empty(capacity, dtype=t) for i, t in targets.items()}
    missing = {i: np.empty(capacity, dtype=bool) for i in targets}
    floats: dict[int, np.ndarray] = {}  # code columns holding a value that is no whole number of the type
    others: dict[int, list] = {i: [] for i in range(len(names)) if i not in targets}
    n = 0

    def odd() -> bool:
        return any(issubclass(w.category, pd.errors.ParserWarning) for w in caught)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        with pd.read_csv(
            path, header=0, names=[*range(len(names))], index_col=False, chunksize=BLOCK_ROWS, **read_options
        ) as reader:
            for block in reader:
                k = len(block)
                if odd() or block.shape[1] != len(names) or n + k > capacity:
                    return None
                for i in range(len(names)):
                    s = block[i]
                    if i not in targets:
                        others[i].append(s)
                        continue
                    if not pd.api.types.is_numeric_dtype(s.dtype):
                        return None  # text in a code column: read whole for the exact messages
                    v = s.to_numpy(dtype="float64", na_value=np.nan)
                    fitted = None if i in floats else _fit(v, targets[i])
                    if fitted is not None:
                        values[i][n : n + k], missing[i][n : n + k] = fitted
                        continue
                    if i not in floats:
                        floats[i] = np.where(missing[i][:n], np.nan, values[i][:n].astype("float64"))
                        floats[i] = np.concatenate([floats[i], np.empty(capacity - n)])
                        del values[i], missing[i]
                    floats[i][n : n + k] = v
                n += k
    if odd() or n == 0:
        return None
    cols = {}
    for i in range(len(names)):
        if i in floats:
            cols[i] = floats.pop(i)[:n].copy()
        elif i in targets:
            cols[i] = pd.arrays.IntegerArray(values.pop(i)[:n], missing.pop(i)[:n])
        else:
            joined = _join(others.pop(i))
            if joined is None:
                return None
            cols[i] = joined.array
    return pd.DataFrame(cols, index=pd.RangeIndex(n), copy=False)  # pd.Series(array) would copy each
