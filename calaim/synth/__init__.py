"""A synthetic respondent-level data set calibrated to the published figures.

The 2023 survey microdata are not public, so the book's default data set is synthetic. This
module builds it from the codebook and the published numbers, in two layers.

**Structure (exact allocation).** Where the report or the paper gives a count, the count is
allocated exactly: a list holding each value the stated number of times is shuffled onto the
respondents. This covers the 1,196 completed interviews and the 981 + 420 screen-outs
(Appendix A), the sample sources (801 outreach / 395 panel), the overlapping sectors of
Appendix A (MCP 53, FQHC 140, BH 292, social service 412, discharge planners 67, primary care
162 of whom 27% work at FQHCs), organisation types (Table A2) and roles by sector (Table A4),
the Medi-Cal bands of Figure 25 (271 / 304 / 595), familiarity (Figure 1), the regions of
Table A6, ECM and Community Supports providers (286 / 315), the 162 leaders not providing
either, the 119 BH and 51 MCP leaders, and the paper's SSO analytic sample (355, 51 of 58
counties).

**Answers (fitted models).** Every other column comes from one model family. A respondent's
answer to an item is drawn from a categorical distribution

    p(code k | respondent i)  proportional to  q_k * exp( sum_r x_ir * theta_r * phi_r(k) + o_ik )

where ``q`` is a plausible prior shape for the item's scale, each ``r`` is a published number
about the item (the share answering codes S in group g, or the group's mean), ``x_ir`` says
whether respondent i is in that group, ``phi_r`` tilts the codes the number counts (for means:
the code values), and ``o_ik`` are fixed offsets (the paper's planted odds ratios). The
``theta_r`` are fitted with :func:`scipy.optimize.least_squares` so that every published
number about the item is met at once (this is the maximum-entropy solution, the same thing
iterative proportional fitting converges to, but it degrades gracefully when two published
numbers contradict each other). Codes the report leaves unpinned keep the prior's relative
shape. Respondents sharing group memberships form a cell; counts per cell are rounded by
error diffusion along an ordering that keeps the smallest groups contiguous, so published
subgroup shares are met to within about one respondent rather than up to sampling noise.
Within a cell, answers are handed out by a respondent-level latent attitude (normal, shifted
by sector, familiarity and pilot participation) plus item noise, so answers correlate across
items the way attitudes do (the more familiar are more positive everywhere, channel users get
more complete data, ...), without moving any calibrated margin.

The published numbers are read from the findings registry (``data/published/findings*.csv``,
via :func:`calaim.stats.findings.load_registry`); structural counts are written down below with the
table they come from. :func:`notes_md` writes the data set's notes: what is pinned by a
published number and what is model fill. The data are synthetic: they reproduce the published
structure and margins, they are not evidence about CalAIM.

Layout (each module says where it sits): :mod:`calaim.synth.priors` (published structure counts,
planted odds ratios, prior shapes), :mod:`calaim.synth.structure` (who the respondents are),
:mod:`calaim.synth.targets` (registry rows as calibration targets), :mod:`calaim.synth.engine`
(the generic calibration engine: :func:`allocate` = :func:`prepare` + :func:`assign`,
:class:`Target`), :mod:`calaim.synth.stated` (the report's stated comparisons),
:mod:`calaim.synth.stages` (one stage per block of columns), this module (the generator that runs
them) and :mod:`calaim.synth.notes` (NOTES.md and the command line).

Public API: :func:`generate` (a DataFrame), :func:`write` / :func:`to_csv_bytes` (deterministic
CSV), :func:`notes_md` / :func:`write_notes`, :func:`fit_report` (fitted vs published per
target), :func:`load_targets`, and the engine. Between stages the generator derives with
:func:`calaim.data.recode.derive_arrays`, the rules :func:`calaim.data.recode.derive` uses.
``python -m calaim.synth`` rewrites ``data/synthetic/`` (the CSV and NOTES.md). Everything is
vectorised: a million completes take well under a minute (``benchmarks/bench_synth.py``);
above 250,000 respondents per item, codes are handed out by within-cell quantiles instead of a
sort, which is exact to a fraction of a percent.
"""

from __future__ import annotations

import io
import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from calaim.data import recode
from calaim.data.codebook import Codebook, load
from calaim.synth import stated

# the package's public API, re-exported from the modules that hold it (layout: priors -> structure,
# targets -> engine -> stages -> this generator -> notes)
from calaim.synth.engine import Fit, Offsets, Prepared, Target, _cells, _rng, allocate, assign, fit_tilt, prepare
from calaim.synth.notes import main, notes_md, write_notes
from calaim.synth.priors import (
    DEFAULT_N,
    DEFAULT_PATH,
    DEFAULT_SEED,
    MULTI_PRIOR,
    NOTES_PATH,
    PARTICIPATION_OR,
    PILOT_OR,
    STRUCTURE_COLUMNS,
)
from calaim.synth.stages import (
    _latents,
    _stage_followups,
    _stage_geography,
    _stage_items,
    _stage_profile,
    _stage_providers,
    _stage_sso_profile,
)
from calaim.synth.structure import _designate_incomplete, _structure
from calaim.synth.targets import (
    Spec,
    _aggregate_rows,
    _codes,
    _derived_sources,
    _item_scales,
    _Row,
    _spec,
    _translate,
    load_targets,
)

# =============================================================================================
# public API
# =============================================================================================
_CACHE: dict = {}
CACHE_MAX_N = 100_000


def generate(
    n: int = DEFAULT_N, seed: int = DEFAULT_SEED, cb: Codebook | None = None, registry: pd.DataFrame | None = None
) -> pd.DataFrame:
    """A synthetic respondent-level frame: ``n`` completed interviews plus the screen-outs in
    proportion (981 under 30% Medi-Cal and 420 not familiar for n = 1,196), every codebook
    column in codebook order, with the dtypes :func:`calaim.data.io.load` gives a file (id as
    nullable integers, codes as float64, NaN where a respondent was not asked).

    ``registry`` (the calibration targets) defaults to the findings registry (see
    :func:`load_targets`). The result is deterministic given (n, seed, codebook, registry);
    frames up to :data:`CACHE_MAX_N` completes are cached in memory (a copy is returned)."""
    return _generated(n, seed, cb, registry)[0].copy() if n <= CACHE_MAX_N else _generated(n, seed, cb, registry)[0]


def _generated(n, seed, cb=None, registry=None) -> tuple[pd.DataFrame, _Generator]:
    cb = cb or load()
    reg = load_targets() if registry is None else registry
    key = (int(n), int(seed), cb.source, id(cb), _registry_key(reg))
    if key in _CACHE:
        return _CACHE[key]
    g = _build(int(n), int(seed), cb, reg)
    out = (_frame_of(g), g)
    if n <= CACHE_MAX_N:  # a big frame is neither copied nor kept
        _CACHE.clear()
        _CACHE[key] = out
    return out


def _build(n: int, seed: int, cb: Codebook, reg: pd.DataFrame) -> _Generator:
    g = _Generator(n, seed, cb, reg)
    st = _structure(n, seed)
    for c in STRUCTURE_COLUMNS:
        g.cols[c] = st[c].to_numpy(dtype=float)
    g.latent = {"breadth": g.rng("latent:breadth").standard_normal(g.n_all)}
    g.derive()
    _designate_incomplete(g)
    _stage_profile(g)
    _stage_geography(g)
    _stage_sso_profile(g)
    g.derive()
    _stage_providers(g)
    g.derive()
    _latents(g)
    _stage_items(g)
    _stage_followups(g)
    return g


def write(
    path: str | Path = DEFAULT_PATH, n: int = DEFAULT_N, seed: int = DEFAULT_SEED, cb: Codebook | None = None
) -> Path:
    """Write :func:`generate` as CSV (see :func:`to_csv_bytes`) and return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_csv_bytes(generate(n, seed, cb)))
    return path


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """Deterministic CSV bytes: given column order, integers without '.0', empty for missing,
    '\\n' line endings, UTF-8."""
    buf = io.StringIO()
    ints = pd.DataFrame(
        {c: df[c].round().astype("Int64") if pd.api.types.is_numeric_dtype(df[c]) else df[c] for c in df.columns}
    )
    ints.to_csv(buf, index=False, lineterminator="\n")
    return buf.getvalue().encode("utf-8")


def fit_report(n: int = DEFAULT_N, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """One row per fitted target: the registry ids it stands for, the column, the published
    value and the value the fitted model expects before rounding to respondents."""
    return pd.DataFrame(_generated(n, seed)[1].fits)


def _registry_key(reg: pd.DataFrame) -> int:
    if reg is None or not len(reg):
        return 0
    return zlib.crc32(reg.to_csv(index=False).encode())


def _frame_of(g: _Generator) -> pd.DataFrame:
    """The generated columns in codebook order, with the dtypes :func:`calaim.data.io.load` gives a
    file: the id as nullable integers, every coded / scale / count column as float64 (NaN =
    not asked)."""
    out = {}
    for name in g.cb.columns:
        v = g.cols.get(name)
        out[name] = np.full(g.n_all, np.nan) if v is None else np.asarray(v, dtype=float)
    df = pd.DataFrame(out, copy=False)
    df[g.cb.id_column] = df[g.cb.id_column].astype("Int64")
    return df


# =============================================================================================
# the generator: columns so far, derived groups, one column at a time
# =============================================================================================
class _Generator:
    """Holds the columns generated so far, the derived frame and the registry targets."""

    def __init__(self, n: int, seed: int, cb: Codebook, registry: pd.DataFrame):
        self.n, self.seed, self.cb = int(n), int(seed), cb
        self.scales = _item_scales(cb)
        self.by_col: dict[str, list[_Row]] = {}
        self.registry = registry
        src = _derived_sources(cb)
        rank_rows = []
        for _, row in registry.iterrows() if len(registry) else []:
            if row["statistic"] == "rank":
                rank_rows.append(row)
                continue
            for t in _aggregate_rows(row, cb, src) if row.get("aggregate", "") else [_translate(row, cb, src)]:
                if t is not None:
                    self.by_col.setdefault(t.column, []).append(t)
        for row in rank_rows:
            t = self._rank_target(row)
            if t is not None:
                self.by_col.setdefault(t.column, []).append(t)
        self.fits: list[dict] = []
        self.skipped: list[tuple[str, str]] = []  # registry rows that could not be targets, and why
        self.cols: dict[str, np.ndarray] = {}
        self.D: dict = {}
        self.cell_cache: dict = {}
        self.group_cache: dict = {}
        self.geo_memo: dict = {}
        self.latent: dict = {}

    def _rank_target(self, row) -> _Row | None:
        """A published rank ("among the top k options") as a lower bound on the option's share in
        the row's base: above the share of the option ranked k+1 among the others, taking each
        option's overall published share (or its prior) as the yardstick."""
        col = row["item"].strip()
        if col not in self.cb.columns or self.cb.column(col).kind != "binary":
            return None
        if row.get("comparison", "") not in ("le", "lt"):
            return None
        k = int(float(row["published"])) - (1 if row["comparison"] == "lt" else 0)
        item = self.cb.item(self.cb.column(col).item)
        prior = MULTI_PRIOR.get(item.name, {})
        others = []
        for other in self.cb.columns_of(item.name):
            if other == col:
                continue
            pub = [
                r.value
                for r in self.by_col.get(other, [])
                if r.kind == "share" and r.population == "complete" and not r.subgroup and r.cmp == "eq"
            ]
            others.append(float(np.mean(pub)) if pub else float(prior.get(other.split("__", 1)[1], 0)))
        if not 1 <= k <= len(others):
            return None
        bar = sorted(others, reverse=True)[k - 1]  # to rank k or better, beat the k-th best of the others
        return _Row(
            row["id"],
            col,
            (1,),
            (),
            "share",
            bar + 1.0,
            "ge",
            None,
            row["population"] or "complete",
            row.get("subgroup", ""),
            bool(str(row.get("inconsistency", "")).strip()),
            False,
        )

    # ----------------------------------------------------------------- frame plumbing
    def rng(self, name: str) -> np.random.Generator:
        return _rng(self.seed, name)

    def derive(self) -> dict:
        """Derived variables and population flags of the columns so far (recode.derive_arrays)."""
        self.D = recode.derive_arrays(self.cols, self.cb, self.geo_memo)
        return self.D

    def m(self, name: str) -> np.ndarray:
        """A derived boolean (or 0/1) column as a bool array (missing = False)."""
        a = self.D[name]
        return a if a.dtype == bool else (np.asarray(a, float) == 1)

    def v(self, name: str) -> np.ndarray:
        """A derived column as floats (NaN = missing)."""
        return np.asarray(self.D[name], dtype=float)

    def set(self, column: str, values, mask) -> None:
        out = np.full(len(mask), np.nan)
        out[mask] = values
        self.cols[column] = out

    # ----------------------------------------------------------------- targets
    def group(self, population: str, subgroup: str) -> np.ndarray | None:
        key = (id(self.D), population, subgroup)
        if key in self.group_cache:
            return self.group_cache[key]
        pc = f"pop_{population}"
        g = None
        if pc in self.D and (not subgroup or subgroup in self.D):
            g = self.m(pc)
            if subgroup:
                g = g & self.m(subgroup)
        if self.group_cache and next(iter(self.group_cache))[0] != id(self.D):
            self.group_cache.clear()
        self.group_cache[key] = g
        return g

    def targets(self, column: str, answer: np.ndarray, extra=()):
        """Targets about ``column`` restricted to its respondents, with duplicates merged
        (contradicting copies: the ones without an inconsistency note win, else the mean)."""
        rows = list(self.by_col.get(column, [])) + list(extra)
        merged: dict = {}
        for r in rows:
            g = self.group(r.population, r.subgroup)
            if g is None:
                self.skipped.append((r.id, f"group {r.population}/{r.subgroup} not available when {column} is drawn"))
                continue
            g = g & answer
            size = int(g.sum())
            if size == 0:
                self.skipped.append((r.id, "empty group"))
                continue
            value = r.value
            if r.count:
                pub = self.cb.populations.get(r.population)
                base = pub.published_n if (pub and pub.published_n and not r.subgroup) else None
                value = 100.0 * (value / base if base else value / size)
            key = (r.codes, r.exclude, r.kind, r.cmp, hash(g.tobytes()))
            merged.setdefault(key, []).append((r, g, value))
        out, exact = [], []
        for (codes, exclude, kind, cmp, _), items in merged.items():
            counts = [x for x in items if x[0].count]
            clean = counts or [x for x in items if not x[0].inconsistent] or items
            value = float(np.mean([x[2] for x in clean]))
            r, g = clean[0][0], clean[0][1]
            size = int(g.sum())
            if kind == "mean":
                scale = r.tol or 0.3
            elif r.count:
                scale = max(100.0 * 0.25 / size, 0.05)
            else:
                scale = r.tol or (3.0 if size >= 100 else 6.0)
            t = Target(
                g,
                codes if kind != "mean" else None,
                value,
                exclude,
                cmp if cmp else "eq",
                scale,
                ";".join(x[0].id for x in items),
                kind,
            )
            if r.count and cmp in ("", "eq"):
                t.count = int(round(value / 100 * size))
                exact.append(len(out))
            out.append(t)
        return out, exact

    def derived_rows(self, item: str, column: str) -> list[_Row]:
        """Registry share rows about a derived 0/1 variable, as targets on ``column``."""
        out = []
        for _, row in self.registry.iterrows() if len(self.registry) else []:
            if row["item"] == item and row["statistic"] == "share" and not row.get("aggregate", ""):
                tol = float(row["tolerance"]) if str(row.get("tolerance", "")).strip() else None
                out.append(
                    _Row(
                        row["id"],
                        column,
                        _codes(row["codes"]) or (1,),
                        (),
                        "share",
                        float(row["published"]),
                        row.get("comparison", "") or "eq",
                        tol,
                        row["population"] or "complete",
                        row.get("subgroup", ""),
                        bool(str(row.get("inconsistency", "")).strip()),
                        False,
                    )
                )
        return out

    # ----------------------------------------------------------------- one column
    def prepare(
        self,
        column: str,
        answer: np.ndarray,
        *,
        spec: Spec | None = None,
        offsets=None,
        extra=(),
        direct=(),
        record=True,
    ) -> tuple[Prepared | None, Spec]:
        """Fit ``column`` for the respondents in ``answer`` and round its counts per cell.
        ``extra``: more registry rows; ``direct``: ready-made :class:`Target` objects."""
        spec = spec or _spec(self.cb, column, self.scales)
        idx = np.flatnonzero(answer)
        if len(idx) == 0:
            return None, spec
        targets, exact = self.targets(column, answer, extra)
        targets += [t for t in direct if (t.mask & answer).any()]
        # codes a published zero count rules out entirely
        forbid = [i for i, t in enumerate(targets) if t.count == 0 and t.mask.sum() == answer.sum()]
        groups: list[np.ndarray] = []
        keys: dict = {}
        for t in targets:
            sub = t.mask[idx]
            k = hash(sub.tobytes())
            if k not in keys:
                keys[k] = len(groups)
                groups.append(sub)
            t._g = keys[k]
        G = np.stack(groups, axis=1) if groups else np.zeros((len(idx), 0), dtype=bool)
        K = len(spec.codes)
        if offsets is None:
            offsets = Offsets(np.zeros(self.n_all, dtype=np.int64), np.zeros((1, K)))
        off = Offsets(offsets.ids[idx], offsets.table.copy())
        for i in forbid:
            for c in targets[i].codes:
                off.table[:, spec.codes.index(c)] = -np.inf
        targets = [t for i, t in enumerate(targets) if i not in forbid]
        exact = [e - sum(1 for f in forbid if f < e) for e in exact if e not in forbid]
        ck = (hash(idx.tobytes()), hash(G.tobytes()), hash(off.ids.tobytes()))
        if ck not in self.cell_cache:
            self.cell_cache.clear()
            self.cell_cache[ck] = _cells(G, off.ids)
        prep = prepare(
            spec.codes,
            spec.q,
            G,
            targets,
            self.rng(f"draw:{column}"),
            spec.ordinal,
            spec.special,
            off,
            exact,
            self.cell_cache[ck],
        )
        if record and prep.fit is not None:
            for t, mv in zip(prep.fit.targets, prep.fit.model, strict=True):
                self.fits.append(
                    {
                        "targets": t.source,
                        "column": column,
                        "published": t.value,
                        "fitted": float(mv) * (100.0 if t.kind != "mean" else 1.0),
                        "kind": t.kind,
                    }
                )
        return prep, spec

    def latent_z(self, column: str, spec: Spec, idx: np.ndarray) -> np.ndarray | None:
        if not spec.latent:
            return None
        lat = self.latent[spec.latent][idx]
        return spec.rho * lat + math.sqrt(1 - spec.rho**2) * self.rng(f"noise:{column}").standard_normal(len(idx))

    def run(
        self,
        column: str,
        answer: np.ndarray,
        *,
        spec: Spec | None = None,
        offsets=None,
        extra=(),
        direct=(),
        z=None,
        record=True,
    ) -> np.ndarray:
        """Fit and draw ``column`` for the respondents in ``answer``; store and return it."""
        prep, spec = self.prepare(column, answer, spec=spec, offsets=offsets, extra=extra, direct=direct, record=record)
        idx = np.flatnonzero(answer)
        if prep is None:
            self.set(column, np.zeros(0), answer)
            return self.cols[column]
        zz = z[idx] if z is not None else self.latent_z(column, spec, idx)
        self.set(column, assign(prep, zz, self.rng(f"assign:{column}")), answer)
        return self.cols[column]

    @property
    def n_all(self) -> int:
        return len(next(iter(self.cols.values())))


