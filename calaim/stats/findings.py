"""The registry of published numbers, and published vs reproduced.

``data/published/findings.csv`` lists every number the report and the paper publish, one row
each, with the chapter that shows it (``page``) and a declarative recipe for recomputing it from
respondent-level data: the statistic
(``share``, ``mean``, ``count``, ``rank``, ``n_selected``, ``odds_ratio`` or ``context``), the
item, the response codes counted, the population asked, an optional subgroup, codes that leave
the base, an optional ``min`` / ``max`` across several items or models, and how the published
value is to be compared (``eq`` within a tolerance, or ``gt`` / ``ge`` / ``lt`` / ``le`` for
claims such as "over 90%"). The file format is described in the book's methods page.

* :func:`load_registry` reads the registry with typed columns (codes stay text; see
  :func:`parse_codes`);
* :func:`check_registry` lists what is malformed in it (an empty list means well-formed);
* :func:`evaluate` recomputes every row on a data set and says whether it matches;
* :func:`fidelity` summarises an evaluation; :func:`inconsistencies` lists the published
  numbers that the registry flags as conflicting with another published number.

Matching rules (used when a row's ``tolerance`` is empty): a share matches when it is within
3 percentage points of the published value on a base of 100 or more and within 6 points on a
smaller base; a mean within 0.3; counts, ranks and numbers of options selected exactly; an odds
ratio when the published value lies inside the reproduced 95% confidence interval.

Nothing here prints or writes files; :func:`load_registry` is the only function that reads one.

Place in the flow: derive -> estimate (:mod:`calaim.stats.estimate` computes every share, mean
and count here) -> **findings** (published vs reproduced) -> scorecards and key findings.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from calaim import DATA_DIR
from calaim.data import codebook, recode
from calaim.stats import estimate, statistics

PUBLISHED_DIR = DATA_DIR / "published"
DEFAULT_PATH = PUBLISHED_DIR / "findings.csv"

REGISTRY_COLUMNS = (
    "id",
    "source",
    "section",
    "page",
    "figure",
    "statistic",
    "item",
    "codes",
    "population",
    "subgroup",
    "exclude_codes",
    "aggregate",
    "comparison",
    "model",
    "term",
    "published",
    "published_lo",
    "published_hi",
    "published_n",
    "tolerance",
    "inconsistency",
    "description",
)
FLOAT_COLUMNS = ("published", "published_lo", "published_hi", "tolerance")
INT_COLUMNS = ("published_n",)
TEXT_COLUMNS = tuple(c for c in REGISTRY_COLUMNS if c not in FLOAT_COLUMNS + INT_COLUMNS)

SOURCES = ("report", "paper")
SECTIONS = ("key_findings", "s1", "s2", "s3", "s4", "s5", "appendix_a", "appendix_b", "paper")
#: The chapter (notebook name) that shows and explains a row; key findings link to it.
PAGES = (
    "key_findings",
    "s1_implementer_views",
    "s2_partnerships",
    "s3_data_exchange",
    "s4_ecm_cs",
    "s5_other_programs",
    "appendix_a_sample",
    "appendix_b_collaboration",
    "paper_sso",
)
STATISTICS = tuple(statistics.STATISTICS)  # one registered class each (calaim.stats.statistics)
COMPARISONS = ("eq", "gt", "ge", "lt", "le")
AGGREGATES = ("min", "max")
STATUSES = ("match", "miss", "suppressed", "not in data", "context")


#: Derived columns that are not 0/1 indicators (cannot be a subgroup) and their codes.
DERIVED_NON_BOOLEAN = {"role4", "medi_band", "n_counties", "plan_model", "n_partner_sectors", "partner_band"}
DERIVED_CODES: dict[str, object] = {
    "medi_band": {1, 2, 3},
    "partner_band": {0, 1, 2, 3},
    "n_partner_sectors": (0, 99),
    "n_counties": (0, 999),
    "role4": None,  # text categories
    "plan_model": None,
}

RESULT_COLUMNS = [
    "id",
    "section",
    "page",
    "figure",
    "description",
    "statistic",
    "item",
    "population",
    "subgroup",
    "comparison",
    "published",
    "published_n",
    "reproduced",
    "base",
    "ci_low",
    "ci_high",
    "tolerance",
    "status",
    "suppressed",
    "inconsistency",
    "note",
]


# =============================================================================== reading
@lru_cache(maxsize=1024)
def parse_codes(text) -> tuple[float, ...]:
    """``"1;2"`` -> ``(1.0, 2.0)``; empty -> ``()``. Raises ValueError on a non-number."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ()
    return tuple(float(c) for c in str(text).split(";") if c.strip() != "")


def _typed(raw: pd.DataFrame) -> pd.DataFrame:
    """Registry columns in order with their types: text ('' when empty), floats, nullable ints.
    Unknown extra columns are kept after the registry's own."""
    out = pd.DataFrame(index=raw.index)
    for col in REGISTRY_COLUMNS:
        s = raw[col] if col in raw.columns else pd.Series("", index=raw.index)
        if col in FLOAT_COLUMNS:
            out[col] = pd.to_numeric(s.replace("", np.nan), errors="coerce").astype("float64")
        elif col in INT_COLUMNS:
            out[col] = pd.to_numeric(s.replace("", np.nan), errors="coerce").round().astype("Int64")
        else:
            out[col] = s.astype(object).where(s.notna(), "").astype(str).str.strip()
    for col in raw.columns:
        if col not in out.columns:
            out[col] = raw[col]
    return out.reset_index(drop=True)


def _read(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")


def load_registry(path: str | Path | None = None) -> pd.DataFrame:
    """Read the registry (default ``data/published/findings.csv``) with typed columns."""
    path = Path(path) if path is not None else DEFAULT_PATH
    if not path.is_file():
        raise FileNotFoundError(f"no findings registry at {path}")
    reg = _typed(_read(path))
    reg.attrs["files"] = [path.name]
    return reg


# =============================================================================== checking
def _is_number(text: str) -> bool:
    try:
        float(text)
    except (TypeError, ValueError):
        return False
    return True


def _allowed_codes(name: str, cb: codebook.Codebook, derived: set[str]):
    """Codes a column can take: a set, a (min, max) range, or None when not checkable."""
    if name in cb.columns:
        col = cb.columns[name]
        if col.kind == "binary":
            return {0, 1}
        if col.kind == "single":
            return set(col.codes)
        if col.kind in {"scale", "count"}:
            return (col.min, col.max)
        return None
    if name in DERIVED_CODES:
        return DERIVED_CODES[name]
    if name in derived:
        return {0, 1}
    return None


def _model_terms() -> dict[str, set[str] | None]:
    """{model id: its term names} from :data:`calaim.stats.models.MODELS` (None: terms unknown);
    empty when the models module cannot be imported."""
    try:
        from calaim.stats import models  # noqa: PLC0415  (a registry can be checked without statsmodels' models)
    except Exception:
        return {}
    return {m: (set(spec.terms) if hasattr(spec, "terms") else None) for m, spec in models.MODELS.items()}


def check_registry(reg: pd.DataFrame, cb: codebook.Codebook | None = None) -> list[str]:
    """Problems that make the registry unusable or ambiguous; an empty list means well-formed.

    Accepts the typed frame of :func:`load_registry` or the raw strings of a CSV.
    """
    cb = cb or codebook.load()
    problems: list[str] = []
    missing = [c for c in REGISTRY_COLUMNS if c not in reg.columns]
    if missing:
        problems.append(f"registry lacks column(s): {', '.join(missing)}")
    raw = reg.astype(object).where(reg.notna(), "")
    derived = recode.derived_names(cb)
    known = set(cb.columns) | set(cb.items) | derived
    multi_items = {n for n, it in cb.items.items() if it.type == "multi"}
    model_terms = _model_terms()

    ids = raw["id"].astype(str).str.strip() if "id" in raw else pd.Series([], dtype=str)
    for dup in sorted(set(ids[ids.duplicated()])):
        problems.append(f"{dup}: duplicate id")

    def g(row, col) -> str:
        v = row.get(col, "")
        if isinstance(v, float) and math.isnan(v):
            return ""
        if v is pd.NA or v is None:
            return ""
        return str(v).strip()

    for i, row in raw.iterrows():
        rid = g(row, "id") or f"row {i + 2}"

        def bad(msg: str, rid: str = rid) -> None:
            problems.append(f"{rid}: {msg}")

        if not g(row, "id"):
            bad("empty id")
        source, section, stat = g(row, "source"), g(row, "section"), g(row, "statistic")
        comparison, aggregate = g(row, "comparison"), g(row, "aggregate")
        item, population, subgroup = g(row, "item"), g(row, "population"), g(row, "subgroup")
        if source not in SOURCES:
            bad(f"unknown source {source!r}")
        if section not in SECTIONS:
            bad(f"unknown section {section!r}")
        if g(row, "page") not in PAGES:
            bad(f"unknown page {g(row, 'page')!r} (one of: {', '.join(PAGES)})")
        if stat not in statistics.STATISTICS:
            bad(f"unknown statistic {stat!r}")
        kind = statistics.STATISTICS.get(stat, _GENERIC)
        if comparison and comparison not in COMPARISONS:
            bad(f"unknown comparison {comparison!r}")
        if aggregate and aggregate not in AGGREGATES:
            bad(f"unknown aggregate {aggregate!r}")
        if not g(row, "figure"):
            bad("empty figure")
        if not g(row, "description"):
            bad("empty description")
        for col in ("published", "published_lo", "published_hi", "published_n", "tolerance"):
            v = g(row, col)
            if col == "published" and not v:
                bad("published is empty or not numeric")
            elif v and not _is_number(v):
                bad(f"{col} is not numeric: {v!r}")
        if not kind.evaluated:
            continue

        # population and subgroup
        if population and population not in cb.populations:
            bad(f"population {population!r} is not in the codebook")
        if not population and kind.needs_population:
            bad("no population")
        if subgroup:
            if subgroup not in derived or subgroup in DERIVED_NON_BOOLEAN:
                bad(f"subgroup {subgroup!r} is not a derived boolean column")

        # models
        model, term = g(row, "model"), g(row, "term")
        if kind.uses_models:
            if not model or not term:
                bad("odds_ratio row without model or term")
            else:
                mids = model.split("|")
                for m in mids:
                    if m not in model_terms:
                        bad(f"unknown model {m!r}")
                    elif model_terms[m] is not None and term not in model_terms[m]:
                        bad(f"unknown term {term!r} in model {m!r}")
                if aggregate and len(mids) < 2:
                    bad(f"aggregate {aggregate!r} needs several models")
                if len(mids) > 1 and not aggregate:
                    bad("several models but no aggregate")
            continue
        if model or term:
            bad("model/term given on a row that is not an odds ratio")

        # items
        items = item.split("|") if item else []
        if aggregate and len(items) < 2:
            bad(f"aggregate {aggregate!r} needs several items")
        if len(items) > 1 and not aggregate:
            bad("several items but no aggregate")
        if not items and kind.needs_items:
            bad("no item")
        for it in items:
            if it not in known:
                bad(f"item {it!r} is not a codebook column, item or derived name")
            elif (msg := kind.check_item(it, cb, multi_items)) is not None:
                bad(msg)

        # codes
        if kind.needs_codes and not g(row, "codes"):
            bad(f"{stat} row without codes")
        for col in ("codes", "exclude_codes"):
            text = g(row, col)
            if not text:
                continue
            try:
                codes = parse_codes(text)
            except ValueError:
                bad(f"{col} not numeric: {text!r}")
                continue
            for it in items:
                allowed = _allowed_codes(it, cb, derived) if it in known else None
                if allowed is None:
                    continue
                if isinstance(allowed, tuple):
                    lo, hi = allowed
                    off = [
                        c for c in codes if c != int(c) or (lo is not None and c < lo) or (hi is not None and c > hi)
                    ]
                else:
                    off = [c for c in codes if c not in allowed]
                if off:
                    bad(f"{col} {', '.join(f'{c:g}' for c in off)} not among the codes of {it!r}")
    return problems


# =============================================================================== evaluating
def default_tolerance(statistic: str, base) -> float:
    """The default matching tolerance of a statistic on a base (NaN: the CI rule of ORs)."""
    kind = statistics.STATISTICS.get(statistic)
    return float("nan") if kind is None else kind.tolerance(base)


_Absent = statistics.Absent
_GENERIC = statistics.Statistic()  # the checks every statistic shares, for a row naming an unknown one


class _Evaluator:
    def __init__(
        self,
        frame: pd.DataFrame,
        cb: codebook.Codebook,
        min_base: int,
        policy: estimate.DisclosurePolicy,
        weight: str | None = None,
    ):
        self.frame, self.cb = frame, cb
        self.min_base, self.policy = min_base, policy
        self.weight = weight
        self.n = len(frame)
        self._arr: dict[str, object] = {}  # column name -> its array (see column)
        self._masks: dict[tuple[str, str], np.ndarray] = {}
        self._fits: dict[str, pd.DataFrame | str] = {}
        self._models = None

    # ---------------------------------------------------------------- data access
    def column(self, name: str):
        """The column's array as the frame holds it, not copied (compact codes stay 2 bytes a
        cell, bool 1), or float64 for text; :class:`Absent` when the data lack it."""
        if name not in self._arr:
            if name not in self.frame.columns:
                self._arr[name] = None
            else:
                s = self.frame[name]
                if pd.api.types.is_bool_dtype(s):
                    self._arr[name] = s.fillna(False).to_numpy(dtype=bool)
                elif pd.api.types.is_numeric_dtype(s):  # no copy: compact codes, ints, floats
                    self._arr[name] = s.array if isinstance(s.dtype, pd.api.extensions.ExtensionDtype) else s.to_numpy()
                else:
                    self._arr[name] = pd.to_numeric(s, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        a = self._arr[name]
        if a is None:
            raise _Absent(f"column {name!r} not in data")
        return a

    def values(self, name: str, mask: np.ndarray) -> np.ndarray:
        """The column's values in ``mask`` as float64 (missing = NaN). A compact column is widened
        only on the rows asked for, so a large file is never held as float64 whole."""
        a = self.column(name)
        if isinstance(a, np.ndarray):
            return a[mask].astype("float64", copy=False)
        return a[mask].to_numpy(dtype="float64", na_value=np.nan)

    def is_one(self, name: str) -> np.ndarray:
        """Where the column equals 1 (missing: False), over all rows."""
        a = self.column(name)
        if isinstance(a, np.ndarray):
            return a == 1
        return (a == 1).to_numpy(dtype=bool, na_value=False)

    def mask(self, population: str, subgroup: str) -> np.ndarray:
        """The rows of a population (and subgroup). Kept as bits: a registry names dozens of
        them, and at a million respondents a byte a row would add up to a tenth of the frame."""
        key = (population, subgroup)
        if key not in self._masks:
            m = np.ones(self.n, dtype=bool)
            if population:
                m &= self.is_one(f"pop_{population}")
            if subgroup:
                m &= self.is_one(subgroup)
            self._masks[key] = np.packbits(m)
        return np.unpackbits(self._masks[key], count=self.n).view(bool)

    def answered(self, item: str, mask: np.ndarray, exclude: tuple) -> np.ndarray:
        return self.answered_w(item, mask, exclude)[0]

    def answered_w(self, item: str, mask: np.ndarray, exclude: tuple) -> tuple[np.ndarray, np.ndarray | None]:
        """The answers in the base and their weights (None when unweighted)."""
        v = self.values(item, mask)
        keep = ~np.isnan(v)
        if exclude:
            keep &= ~np.isin(v, exclude)
        w = None if self.weight is None else self.values(self.weight, mask)[keep]
        return v[keep], w

    # ---------------------------------------------------------------- statistics
    def share(self, item, codes, mask, exclude) -> estimate.Estimate:
        v, w = self.answered_w(item, mask, exclude)
        return estimate.share(v, codes, self.min_base, self.policy, w)

    def mean(self, item, mask, exclude) -> estimate.Estimate:
        v, w = self.answered_w(item, mask, exclude)
        return estimate.mean(v, self.min_base, self.policy, w)

    def options_of(self, column: str) -> list[str]:
        col = self.cb.columns.get(column)
        if col is None or col.kind != "binary":
            raise _Absent(f"{column!r} is not a multi-select option")
        return [c for c in self.cb.columns_of(col.item) if c in self.frame.columns]

    def model_table(self, model_id: str) -> pd.DataFrame:
        if model_id not in self._fits:
            if self._models is None:
                try:
                    from calaim.stats import models  # noqa: PLC0415

                    self._models = models
                except Exception as exc:  # not written yet, or broken
                    self._models = exc
            if isinstance(self._models, Exception):
                raise _Absent(f"calaim.stats.models not available ({type(self._models).__name__})")
            try:
                weighted = {"weight": self.weight} if self.weight else {}  # unweighted: the plain call
                self._fits[model_id] = self._models.fit(self.frame, model_id, **weighted)
            except Exception as exc:
                self._fits[model_id] = f"model {model_id!r} could not be fitted: {exc}"
        table = self._fits[model_id]
        if isinstance(table, str):
            raise _Absent(table)
        return table

    def odds_ratio(self, model_id: str, term: str):
        t = self.model_table(model_id)
        hit = t[t["term"] == term]
        if hit.empty:
            raise _Absent(f"term {term!r} not in model {model_id!r}")
        r = hit.iloc[0]
        if pd.isna(r["odds_ratio"]):
            problem = r.get("problem") if "problem" in hit.columns else None
            raise _Absent(f"model {model_id!r}: no estimate for {term!r}" + (f" ({problem})" if problem else ""))
        n = int(r["n"]) if pd.notna(r.get("n")) else np.nan
        return float(r["odds_ratio"]), float(r["ci_low"]), float(r["ci_high"]), n

    # ---------------------------------------------------------------- one row
    def row(self, r: dict) -> dict:
        """Reproduced value, base, CI inputs; raises _Absent when something is missing. The row's
        statistic class (:mod:`calaim.stats.statistics`) does the computing."""
        kind = statistics.get(r["statistic"])
        agg = r["aggregate"]
        items = [i for i in r["item"].split("|") if i] if r["item"] else []
        out = {"reproduced": np.nan, "base": np.nan, "ci_low": np.nan, "ci_high": np.nan, "k": np.nan, "note": ""}
        pick = (np.nanargmin if agg == "min" else np.nanargmax) if agg else None
        mask = codes = exclude = None
        if not kind.uses_models:
            mask = self.mask(r["population"], r["subgroup"])
            codes = parse_codes(r["codes"])
            exclude = parse_codes(r["exclude_codes"])
        out.update(kind.compute(self, r, items, mask, codes, exclude, pick))
        return out


def _compare(
    comparison: str, reproduced: float, published: float, tol: float, ci=(np.nan, np.nan), use_ci: bool = False
) -> bool:
    if comparison == "gt":
        return reproduced > published
    if comparison == "ge":
        return reproduced >= published
    if comparison == "lt":
        return reproduced < published
    if comparison == "le":
        return reproduced <= published
    if use_ci:
        lo, hi = ci
        return bool(lo <= published <= hi)
    return abs(reproduced - published) <= tol + 1e-9


def evaluate(
    df: pd.DataFrame,
    registry: pd.DataFrame | None = None,
    cb: codebook.Codebook | None = None,
    min_base: int = 30,
    policy: estimate.DisclosurePolicy = estimate.NO_POLICY,
    weight: str | None = None,
) -> pd.DataFrame:
    """Recompute every registry row on ``df`` and compare it with the published value.

    ``df`` is respondent-level data, derived or not (it is passed through
    :func:`calaim.data.recode.derive` unless it already has ``pop_complete``). Returns one row per
    registry row with ``reproduced``, ``base``, a 95% CI (Wilson for shares, t for means, the
    model's for odds ratios), the ``tolerance`` used, ``status`` (match / miss / suppressed / not in
    data / context; "suppressed" whenever the estimate is, since match / miss would reveal the
    hidden value), ``suppressed`` (base below ``min_base``, or the small-count rule; the estimate
    and its CI are then blank, so no page or CSV downstream can show them) and a ``note`` saying
    what was missing or which item an aggregate picked. Nothing raises for absent columns or models.

    ``policy`` (default: none beyond ``min_base``; ``DisclosurePolicy.for_release(True)``, with
    ``min_count`` 11, in a public release) adds the small-count rule: a share or count whose count,
    or base minus count, is 1 to ``min_count - 1`` is suppressed, as is any estimate on such a
    base, and such a base is left empty (NA).

    ``weight`` (default None, or '': unweighted) weights every share and mean by that column
    through the kernel; the result then has an ``effective_n`` column (Kish's effective n of each
    estimate's base) after ``base``. Nothing is read from module state: the caller (the chapter
    context, :meth:`calaim.book.chapter.Context.evaluated`) passes both.
    """
    weight = weight or None
    tiny = policy.small

    cb = cb or codebook.load()
    reg = load_registry() if registry is None else _typed(registry)
    frame = df if "pop_complete" in df.columns else recode.derive(df, cb)
    ev = _Evaluator(frame, cb, min_base, policy, weight)
    estimates: list[estimate.Estimate | None] = []

    records = []
    for r in reg[list(REGISTRY_COLUMNS)].to_dict("records"):
        rec = {
            c: r[c]
            for c in (
                "id",
                "section",
                "page",
                "figure",
                "description",
                "statistic",
                "item",
                "population",
                "subgroup",
                "published",
                "published_n",
                "inconsistency",
            )
        }
        rec["comparison"] = r["comparison"] or "eq"
        kind = statistics.STATISTICS.get(r["statistic"])
        if kind is not None and not kind.evaluated:  # context rows: facts about the study
            rec.update(
                reproduced=np.nan,
                base=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                k=np.nan,
                tolerance=np.nan,
                status="context",
                suppressed=False,
                note="",
            )
            records.append(rec)
            estimates.append(None)
            continue
        try:
            res = ev.row(r)
        except _Absent as exc:
            rec.update(
                reproduced=np.nan,
                base=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                k=np.nan,
                tolerance=np.nan,
                status="not in data",
                suppressed=False,
                note=str(exc),
            )
            records.append(rec)
            estimates.append(None)
            continue
        except (ValueError, KeyError) as exc:  # a malformed row: report it, do not stop the book
            rec.update(
                reproduced=np.nan,
                base=np.nan,
                ci_low=np.nan,
                ci_high=np.nan,
                k=np.nan,
                tolerance=np.nan,
                status="not in data",
                suppressed=False,
                note=f"cannot evaluate: {exc}",
            )
            records.append(rec)
            estimates.append(None)
            continue
        estimates.append(res.pop("estimate", None))
        rec.update(res, tolerance=np.nan, status="computed", suppressed=False)
        records.append(rec)

    out = pd.DataFrame.from_records(records)
    if out.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)

    # tolerance, status, suppression
    computed = out["status"] == "computed"
    reg_tol = reg["tolerance"].to_numpy(float)
    tol, status, suppressed = [], [], []
    for i, row in enumerate(out.itertuples(index=False)):
        if not computed.iloc[i]:
            tol.append(np.nan)
            status.append(row.status)
            suppressed.append(False)
            continue
        kind = statistics.get(row.statistic)
        t = reg_tol[i] if not np.isnan(reg_tol[i]) else kind.tolerance(row.base)
        use_ci = kind.matches_by_ci and np.isnan(reg_tol[i])
        directional = row.comparison != "eq"
        ok = _compare(row.comparison, row.reproduced, row.published, t, (row.ci_low, row.ci_high), use_ci)
        tol.append(np.nan if (directional or use_ci) else t)
        # shares, means and counts: the kernel's rules; ranks and odds ratios need min_base; any
        # estimate on a tiny base is suppressed (each statistic's class says which)
        small = kind.suppressed(row.base, estimates[i], min_base, tiny)
        # a suppressed estimate is never compared in the open: match / miss would tell the hidden value
        status.append("suppressed" if small else ("match" if ok else "miss"))
        suppressed.append(bool(small))
    out["tolerance"] = tol
    out["status"] = status
    out["suppressed"] = suppressed
    out.loc[out["suppressed"], ["reproduced", "ci_low", "ci_high"]] = np.nan
    if policy.min_count:
        out.loc[[tiny(b) for b in out["base"]], "base"] = np.nan
    out["base"] = out["base"].astype("Int64")
    columns = list(RESULT_COLUMNS)
    if weight:
        pairs = zip(estimates, out["base"], strict=True)
        out["effective_n"] = [np.nan if e is None or pd.isna(b) else e.effective_n for e, b in pairs]
        columns.insert(columns.index("base") + 1, "effective_n")
    return out[columns].reset_index(drop=True)


# =============================================================================== summaries
def fidelity(result: pd.DataFrame) -> dict:
    """How many evaluated rows match: counts overall and misses by section. Rows whose estimate
    is suppressed are not evaluated (status "suppressed"): they count in ``suppressed`` only."""
    st = result["status"]
    evaluated = st.isin(["match", "miss"])
    matched = int((st == "match").sum())
    n_eval = int(evaluated.sum())
    sections = list(dict.fromkeys(result["section"]))
    by_section = {}
    for s in sections:
        sub = st[result["section"] == s]
        e = int(sub.isin(["match", "miss"]).sum())
        m = int((sub == "match").sum())
        by_section[s] = {
            "evaluated": e,
            "matched": m,
            "missed": e - m,
            "not_in_data": int((sub == "not in data").sum()),
            "suppressed": int((sub == "suppressed").sum()),
        }
    return {
        "rows": int(len(result)),
        "evaluated": n_eval,
        "matched": matched,
        "missed": n_eval - matched,
        "share_matched": matched / n_eval if n_eval else float("nan"),
        "not_in_data": int((st == "not in data").sum()),
        "context": int((st == "context").sum()),
        "suppressed": int(result["suppressed"].sum()),
        "misses_by_section": {s: v["missed"] for s, v in by_section.items() if v["missed"]},
        "by_section": by_section,
    }


def inconsistencies(registry: pd.DataFrame | None = None) -> pd.DataFrame:
    """Registry rows whose published number conflicts with another (non-empty ``inconsistency``)."""
    reg = load_registry() if registry is None else _typed(registry)
    note = reg["inconsistency"].astype(str).str.strip()
    cols = ["id", "section", "figure", "description", "published", "inconsistency"]
    return reg.loc[note != "", cols].reset_index(drop=True)
