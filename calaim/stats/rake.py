"""Raking (iterative proportional fitting to target margins) with trimming and diagnostics.

Place in the flow: io -> validate -> derive -> **rake** (``calaim rake``: a weight column
written to a new file) -> weights / estimate (``calaim build --weight``) -> tables, registry.

The raking itself is weightipy's rim weighting (weightipy 0.4.2, the maintained successor of
quantipy's ``Rim``, and the first release that runs under pandas 3): it rakes on each margin in
turn until the margins stop improving, and optionally caps the weights (trimming) at
``trim`` times the mean weight, re-normalising after each cap. This module checks the targets
first (so that a bad target is a clear error, not a silent non-convergence), runs weightipy
with a tight convergence criterion, and measures the result: the weight range, Kish's design
effect, the effective n, and each margin achieved against its target. With trimming the
margins may miss their targets; :attr:`RakeResult.converged` says whether every achieved share
is within ``tol`` (1e-6) of its target.

Targets (``TARGETS.yml``, or the same structure as a dict)::

    weight_column: rake_weight        # name of the new column (default rake_weight)
    population: complete              # who is raked (a codebook population; default complete)
    trim: 5                           # optional: cap weights at 5 x the mean weight
    margins:                          # column -> {code: share}; each margin's shares sum to 1
      region: {1: 0.25, 2: 0.40, 3: 0.35}
      sector_sso: {0: 0.6, 1: 0.4}

Respondents outside ``population`` keep a weight of 1 (every respondent needs a valid weight;
see :mod:`calaim.data.validate`). All functions are pure (weightipy's console output is
captured and dropped).
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from calaim.data import compact
from calaim.stats import weights as survey_weights

DEFAULT_WEIGHT_COLUMN = "rake_weight"
DEFAULT_TOL = 1e-6
SUM_TOL = 1e-6  # how far a margin's shares may be from summing to 1


class TargetError(ValueError):
    """Targets that cannot be raked to (the message names the margin, code and rows)."""


@dataclass(frozen=True)
class Targets:
    """Checked raking targets: ``margins`` as ((column, ((code, share), ...)), ...)."""

    margins: tuple[tuple[str, tuple[tuple[float, float], ...]], ...]
    population: str = "complete"
    trim: float | None = None
    weight_column: str = DEFAULT_WEIGHT_COLUMN


@dataclass(frozen=True)
class RakeResult:
    """Raking weights (one per row of the frame; 1 outside the population), their summary over
    the raked population, the margins achieved against the targets (a DataFrame with column,
    code, target, unweighted and achieved shares and their difference) and whether every
    margin is within ``tol`` of its target."""

    weights: np.ndarray
    summary: survey_weights.WeightSummary
    margins: pd.DataFrame
    converged: bool
    max_error: float
    trim: float | None


def _code(value, where: str) -> float:
    try:
        code = float(value)
    except (TypeError, ValueError):
        raise TargetError(f"{where}: code {value!r} is not a number") from None
    return code


def parse_targets(raw: Mapping, source: str = "targets") -> Targets:
    """Check a targets mapping (see the module docstring) and return :class:`Targets`.

    Errors: no margins; a margin that is not a mapping of code to share; a share that is not
    a number in (0, 1]; shares of a margin not summing to 1 (within 1e-6); a trim of 1 or less.
    """
    if not isinstance(raw, Mapping) or not isinstance(raw.get("margins"), Mapping) or not raw["margins"]:
        raise TargetError(f"{source}: needs 'margins': a mapping of column -> {{code: share}}")
    margins = []
    for column, shares in raw["margins"].items():
        where = f"{source}: margin '{column}'"
        if not isinstance(shares, Mapping) or not shares:
            raise TargetError(f"{where} must map each code to its share of the population")
        pairs = []
        for code, share in shares.items():
            try:
                share = float(share)
            except (TypeError, ValueError):
                raise TargetError(f"{where}: share {share!r} of code {code} is not a number") from None
            if not (0 < share <= 1) or math.isnan(share):
                raise TargetError(f"{where}: share {share:g} of code {code} is not above 0 and at most 1")
            pairs.append((_code(code, where), share))
        total = sum(s for _, s in pairs)
        if abs(total - 1) > SUM_TOL:
            raise TargetError(f"{where}: shares sum to {total:.6g}, not 1")
        if len({c for c, _ in pairs}) != len(pairs):
            raise TargetError(f"{where}: a code is listed twice")
        margins.append((str(column), tuple(pairs)))
    trim = raw.get("trim")
    if trim is not None:
        trim = float(trim)
        if not trim > 1:
            raise TargetError(f"{source}: trim {trim:g} must be above 1 (a cap on weight / mean weight)")
    return Targets(
        margins=tuple(margins),
        population=str(raw.get("population") or "complete"),
        trim=trim,
        weight_column=str(raw.get("weight_column") or DEFAULT_WEIGHT_COLUMN),
    )


def _check_cells(frame: pd.DataFrame, rows: np.ndarray, targets: Targets) -> dict[str, np.ndarray]:
    """The margin columns of the raked rows as floats; TargetError for an absent column, an
    empty cell (a target code nobody has) or a respondent whose code has no target."""
    values = {}
    for column, pairs in targets.margins:
        if column not in frame.columns:
            raise TargetError(f"margin '{column}' is not a column of the data")
        v = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[rows]
        codes = np.array([c for c, _ in pairs])
        for code in codes:
            if not np.any(v == code):
                raise TargetError(
                    f"margin '{column}': empty cell: no respondent of population '{targets.population}' "
                    f"has code {code:g}, so its target share cannot be reached"
                )
        other = np.flatnonzero(~np.isin(v, codes))
        if other.size:
            shown = ", ".join(f"row {rows[i] + 1} ({'missing' if np.isnan(v[i]) else f'{v[i]:g}'})" for i in other[:10])
            raise TargetError(
                f"margin '{column}': {other.size} respondent(s) of population '{targets.population}' have a code "
                f"with no target (or none): {shown}; give every code a share"
            )
        values[column] = v
    return values


def rake(frame: pd.DataFrame, targets: Targets, tol: float = DEFAULT_TOL, max_iterations: int = 5000) -> RakeResult:
    """Rake the respondents of ``targets.population`` (``pop_<name>`` of a derived frame) to
    the target margins with weightipy; weights average 1 over the raked respondents."""
    import weightipy

    pop = f"pop_{targets.population}"
    if pop not in frame.columns:
        raise TargetError(f"population '{targets.population}' is not in the data (no {pop} column)")
    rows = np.flatnonzero(compact.truthy(frame[pop]).to_numpy())
    if rows.size == 0:
        raise TargetError(f"population '{targets.population}' has no respondents")
    values = _check_cells(frame, rows, targets)
    names = {column: f"m{i}" for i, (column, _) in enumerate(targets.margins)}  # weightipy-safe names
    data = pd.DataFrame({names[c]: v for c, v in values.items()})
    scheme_dict = {names[c]: {code: 100 * share for code, share in pairs} for c, pairs in targets.margins}
    params = {"convcrit": 1e-14, "max_iterations": int(max_iterations)}
    if targets.trim:
        params["cap"] = float(targets.trim)
    with contextlib.redirect_stdout(io.StringIO()):
        scheme = weightipy.scheme_from_dict(scheme_dict, name="rake", rim_params=params)
        w = weightipy.weight(data, scheme).to_numpy(dtype=float)
    w = w / w.mean()
    full = np.ones(len(frame))
    full[rows] = w
    table = margins_table(values, w, targets)
    max_error = float(table["difference"].abs().max())
    return RakeResult(
        weights=full,
        summary=survey_weights.summarize(w, targets.weight_column),
        margins=table,
        converged=bool(max_error <= tol),
        max_error=max_error,
        trim=targets.trim,
    )


def margins_table(values: Mapping[str, np.ndarray], w: np.ndarray, targets: Targets) -> pd.DataFrame:
    """Each target code's share: target, unweighted and achieved (weighted), and the
    difference achieved - target (all as proportions)."""
    rows = []
    for column, pairs in targets.margins:
        v = values[column]
        for code, share in pairs:
            hit = v == code
            rows.append(
                {
                    "column": column,
                    "code": code,
                    "target": share,
                    "unweighted": float(hit.mean()),
                    "achieved": float(w[hit].sum() / w.sum()),
                }
            )
    out = pd.DataFrame(rows)
    out["difference"] = out["achieved"] - out["target"]
    return out
