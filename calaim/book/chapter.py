"""What every chapter notebook does first and last.

A chapter starts with ``ctx = chapter.setup(data_path, wave, min_base)`` which loads and
validates the data (the synthetic default when ``data_path`` is empty), derives the recodes,
sets the plotting theme and returns a :class:`Context`. ``ctx.header()`` shows which data the
chapter ran on; ``ctx.scorecard(section)`` ends the chapter with its published-vs-reproduced
table. Display helpers return objects (Markdown, Styler) for the notebook to show; the
module itself prints nothing.

The context owns the build's estimation rules; no library module holds them. ``ctx.min_base``,
``ctx.policy`` (the disclosure policy, from ``public``) and ``ctx.weight`` (the survey-weight
column or None) are passed to every estimate, and ``ctx.tables`` (a
:class:`calaim.stats.tables.Rules`) is :mod:`calaim.stats.tables` with the three filled in:
``ctx.tables.share(df, "x", [1], "complete")`` is ``tables.share(df, "x", [1], "complete",
min_base=ctx.min_base, policy=ctx.policy, weight=ctx.weight)`` (a call may still pass its own
``min_base``). Claims tests take ``weight=ctx.weight``; :meth:`Context.evaluated` passes the
rules to :func:`calaim.stats.findings.evaluate`. Two contexts in one process (public and not,
weighted and not) therefore never disturb each other.

Place in the flow: io -> validate -> derive (:func:`prepare`) -> **chapter context** -> chapters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from calaim import DATA_DIR
from calaim.book import display, plots
from calaim.book.display import MISSING_NOTE
from calaim.data import codebook, recode
from calaim.stats import tables
from calaim.stats.estimate import DisclosurePolicy

DEFAULT_DATA = DATA_DIR / "synthetic" / "calaim_synthetic_2023.csv"
PUBLISHED_WAVE = "2023"


@dataclass
class Context:
    df: pd.DataFrame  # codes as compact nullable integers (calaim.data.compact), missing = <NA>
    cb: codebook.Codebook
    data_path: Path
    wave: str
    min_base: int
    synthetic: bool
    public: bool = False
    warnings: list = field(default_factory=list)
    empty: list = field(default_factory=list)  # codebook columns present but empty in every row (dropped)
    _evaluated: pd.DataFrame | None = None
    weight: str | None = None  # the survey-weight column every share and mean is weighted by
    weight_summary: object = None  # calaim.stats.weights.WeightSummary over the completed interviews
    previous: pd.DataFrame | None = None  # the previous wave's microdata (--compare-data), derived
    previous_path: Path | None = None
    _evaluated_previous: pd.DataFrame | None = None

    # ----------------------------------------------------------------- rules
    @property
    def policy(self) -> DisclosurePolicy:
        """The disclosure policy of this chapter: a public release's small-count rule when
        ``public``, none beyond ``min_base`` otherwise."""
        return DisclosurePolicy.for_release(self.public)

    @property
    def tables(self) -> tables.Rules:
        """:mod:`calaim.stats.tables` under this chapter's ``min_base``, policy and weight."""
        return tables.Rules(min_base=self.min_base, policy=self.policy, weight=self.weight)

    # ----------------------------------------------------------------- facts
    @property
    def n_complete(self) -> int:
        return int(self.df["pop_complete"].sum())

    @property
    def source_label(self) -> str:
        if self.synthetic:
            return "the SYNTHETIC default data set (generated to match the published figures; not survey evidence)"
        return f"the data file `{self.data_path.name}`"

    def has(self, *columns: str) -> bool:
        return all(c in self.df.columns for c in columns)

    def parts(self, item: str) -> dict[str, str]:
        """{data column: row or option label} for the parts of a grid / multi item that are in
        the data (empty when the codebook has no such item)."""
        if item not in self.cb.items:
            return {}
        it = self.cb.items[item]
        return {it.column_name(k): label for k, label in it.parts.items() if it.column_name(k) in self.df.columns}

    def unweighted_note(self, what: str):
        """Under a survey weight, the note for a cell that counts respondents by hand (a worked
        example, a rank test, counts by design): it says that ``what`` is unweighted, so that
        nothing stays unweighted silently. None without a weight (the cell then shows nothing)."""
        if not self.weight:
            return None
        from IPython.display import Markdown

        return Markdown(
            f"*Unweighted: {what} counts respondents as they are, without the weight `{self.weight}`; "
            "the chapter's figures, tables and tests use the weighted estimates.*"
        )

    def missing_note(self, what: str, columns) -> str:
        """The one note for an absent item, wherever a figure or table would have been."""
        columns = list(columns)
        empty = [c for c in columns if c in self.empty]
        absent = [c for c in columns if c not in self.empty]
        parts = []
        if absent:
            parts.append(f"missing column(s): {', '.join(f'`{c}`' for c in absent)}")
        if empty:
            parts.append(f"empty in every row: {', '.join(f'`{c}`' for c in empty)}")
        return f"*{what}: {MISSING_NOTE}* ({'; '.join(parts)})."

    # ----------------------------------------------------------------- display
    def header(self):
        from IPython.display import Markdown

        kind = "warning" if self.synthetic else "note"
        lines = [
            ":::{admonition} Data for this chapter",
            f":class: {kind}",
            "",
            f"This chapter ran on {self.source_label}: {self.n_complete:,} completed interviews, wave {self.wave}.",
            f"Estimates on bases below {self.min_base} respondents are suppressed (shown as –).",
        ]
        if self.weight_summary is not None:
            ws = self.weight_summary
            lines.append(
                f"Shares and means are weighted by the column `{ws.column}`: weights from {ws.min:.3g} to "
                f"{ws.max:.3g} among the completed interviews, Kish design effect {ws.deff:.2f}, effective n "
                f"{ws.effective_n:,.1f} of {ws.n:,}. Bases are unweighted counts of respondents; intervals use the "
                "effective n (shares) or a linearisation standard error (means)."
            )
        if self.public:
            lines.append(
                f"Public release: counts of 1 to {tables.PUBLIC_MIN_COUNT - 1} respondents, and estimates from "
                "which such a "
                "count could be worked out, are suppressed too."
            )
        if self.synthetic:
            lines.append(
                "Because the data are synthetic, the reproduced numbers show that the code recomputes the report's "
                "figures correctly from data with the published structure; they are not findings about CalAIM."
            )
        if self.previous is not None:
            n_prev = int(self.previous["pop_complete"].sum())
            lines.append(
                f"Compared with the previous wave's microdata, `{self.previous_path.name}` ({n_prev:,} completed "
                "interviews): both waves are samples, every change is tested on the two samples' estimates, and the "
                "published 2023 numbers play no part."
            )
        elif self.wave != PUBLISHED_WAVE:
            lines.append(
                f"The columns headed \"2023 published\" show the 2023 report's values; each change from them to "
                f"wave {self.wave} is tested."
            )
        if self.data_path.suffix.lower() == ".csv":
            from calaim.data.conventions import csv_na_note

            lines.append(csv_na_note())
        for w in self.warnings:
            lines.append(f"Data warning: {w}")
        lines.append(":::")
        return Markdown("\n".join(lines))

    def evaluated(self, sections: list[str] | None = None) -> pd.DataFrame:
        """The registry rows (all, or those of ``sections``) computed on this chapter's data."""
        from calaim.stats import findings

        if self._evaluated is None:
            self._evaluated = pd.DataFrame()
        done = set(self._evaluated["section"]) if len(self._evaluated) else set()
        reg = findings.load_registry()
        wanted = set(reg["section"]) if sections is None else set(sections)
        todo = wanted - done
        if todo:
            new = findings.evaluate(
                self.df,
                registry=reg[reg["section"].isin(todo)],
                cb=self.cb,
                min_base=self.min_base,
                policy=self.policy,
                weight=self.weight,
            )
            self._evaluated = pd.concat([self._evaluated, new], ignore_index=True) if len(self._evaluated) else new
        ev = self._evaluated[self._evaluated["section"].isin(wanted)]
        order = {rid: i for i, rid in enumerate(reg["id"])}
        return ev.sort_values("id", key=lambda s: s.map(order)).reset_index(drop=True)

    def evaluated_previous(self, sections: list[str] | None = None) -> pd.DataFrame | None:
        """The registry rows computed on the previous wave's microdata (None without one)."""
        from calaim.stats import findings

        if self.previous is None:
            return None
        if self._evaluated_previous is None:
            self._evaluated_previous = findings.evaluate(
                self.previous, cb=self.cb, min_base=self.min_base, policy=self.policy, weight=self.weight
            )
        ev = self._evaluated_previous
        return ev if sections is None else ev[ev["section"].isin(sections)].reset_index(drop=True)

    @property
    def published_label(self) -> str:
        """What the registry's published values are called on this book's pages: "published" on
        the 2023 wave, "2023 published" when the book runs on another wave."""
        return "published" if not self.comparing else "2023 published"

    def relabel(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with columns starting "published" renamed to start with :attr:`published_label`."""
        if not self.comparing:
            return frame
        return frame.rename(columns=lambda c: f"2023 {c}" if str(c).startswith("published") else c)

    @property
    def comparing(self) -> bool:
        """True when the book shows change (another wave, or previous microdata), not match / miss."""
        return self.previous is not None or self.wave != PUBLISHED_WAVE

    def changes(self, sections: list[str] | None = None) -> pd.DataFrame:
        """:func:`calaim.stats.change.change_table` of these sections (all when None)."""
        from calaim.stats import change, findings

        ev = self.evaluated(sections)
        ev = ev[ev["status"] != "context"].reset_index(drop=True)
        return change.change_table(ev, findings.load_registry(), previous=self.evaluated_previous(sections))

    def scorecard(self, section: str | list[str]) -> pd.DataFrame:
        """Published vs reproduced for one section, ready to display (copyable HTML table)."""
        sections = [section] if isinstance(section, str) else list(section)
        ev = self.evaluated(sections)
        ev = ev[ev["status"] != "context"]
        return scorecard_table(ev, wave=self.wave, previous=self.evaluated_previous(sections))


#: the order of statuses in a published-vs-reproduced table: what needs a look comes first
STATUS_ORDER = {"miss": 0, "not in data": 1, "suppressed": 2, "match": 3, "context": 4}
#: how a published value stated as a bound ("over 90%") is written
BOUND = {"gt": "> ", "ge": "≥ ", "lt": "< ", "le": "≤ ", "eq": ""}
#: decimals of each kind of statistic: whole percentages and counts, one decimal for means
DECIMALS = {"share": 0, "count": 0, "n_selected": 0, "rank": 0, "mean": 1, "odds_ratio": 2}


def value_text(v, statistic: str = "share") -> str:
    """A registry value as the book shows it: whole numbers for shares and counts (thousands
    separators), one decimal for means, two for odds ratios; '' when missing; never '-0'."""
    if v is None or pd.isna(v):
        return ""
    d = DECIMALS.get(str(statistic), 0 if float(v) == int(float(v)) else 2)
    return display.no_negative_zero(f"{float(v):,.{d}f}")


def published_text(v, statistic: str = "share", comparison: str = "eq") -> str:
    """The published value with its bound: '> 90' for a report saying "over 90%"."""
    text = value_text(v, statistic)
    return f"{BOUND.get(comparison or 'eq', '')}{text}" if text else ""


def scorecard_table(
    ev: pd.DataFrame,
    wave: str = PUBLISHED_WAVE,
    registry: pd.DataFrame | None = None,
    previous: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Published vs reproduced, one row per registry row. On the 2023 wave: status match / miss,
    misses first (then rows not in the data, then matches, each in registry order). For another
    wave: the 2023 published value, this wave's, and the tested change with its verdict instead of
    match / miss, in registry order. With ``previous`` (the registry evaluated on the previous
    wave's microdata) the comparison columns are that wave's estimates ("previous wave") and the
    change is tested on both samples. Values are text in the formats of :func:`value_text`; a
    published bound keeps its sign (:func:`published_text`); a previous wave's estimate is a
    point value, never a bound."""
    published_label = "published" if wave == PUBLISHED_WAVE else "2023 published"
    stat = ev["statistic"] if "statistic" in ev else pd.Series("", index=ev.index)
    comp = ev["comparison"] if "comparison" in ev else pd.Series("eq", index=ev.index)
    ev = ev.assign(_statistic=stat.fillna("").astype(str), _comparison=comp.fillna("eq").astype(str))
    if previous is not None:
        published_label = "previous wave"
        if wave == PUBLISHED_WAVE:
            wave = "this"
        prev = previous.set_index("id")
        ev = ev.assign(
            published=ev["id"].map(prev["reproduced"]).to_numpy(),
            published_n=ev["id"].map(prev["base"]).to_numpy(),
            _comparison="eq",
        )
    if wave == PUBLISHED_WAVE:  # a later wave keeps registry order (its rows carry a change verdict)
        ev = ev.iloc[ev["status"].map(lambda x: STATUS_ORDER.get(x, 1)).argsort(kind="stable")]
    out = pd.DataFrame(
        {
            "id": ev["id"],
            "where": ev["figure"],
            "what": ev["description"],
            published_label: [
                published_text(v, s, c)
                for v, s, c in zip(ev["published"], ev["_statistic"], ev["_comparison"], strict=True)
            ],
            "reproduced": [
                "not in data" if status == "not in data" else ("–" if sup else value_text(v, st))
                for v, st, sup, status in zip(
                    ev["reproduced"], ev["_statistic"], ev["suppressed"], ev["status"], strict=True
                )
            ],
            "95% CI": [
                "–" if sup or pd.isna(lo) else f"{value_text(lo, st)} to {value_text(hi, st)}"
                for lo, hi, st, sup in zip(ev["ci_low"], ev["ci_high"], ev["_statistic"], ev["suppressed"], strict=True)
            ],
            "base": ev["base"].map(lambda b: "" if pd.isna(b) else f"{int(b):,}"),
        }
    )
    if wave == PUBLISHED_WAVE:
        out["status"] = ev["status"].to_numpy()
        out["note"] = ev["inconsistency"].fillna("").to_numpy()
    else:
        out = out.rename(columns={"reproduced": f"wave {wave}", "95% CI": f"wave {wave} 95% CI"})
        cols = change_columns(ev, registry, previous)
        if previous is not None:
            cols = cols.rename(columns={"2023 base": "previous base"})
        out = pd.concat([out.reset_index(drop=True), cols], axis=1)
    return out.reset_index(drop=True)


def change_columns(
    ev: pd.DataFrame, registry: pd.DataFrame | None = None, previous: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The "change since 2023" columns of a scorecard (:func:`calaim.stats.change.change_table`);
    with ``previous``, the change since the previous wave's microdata."""
    from calaim.stats import change, findings

    reg = findings.load_registry() if registry is None else registry
    ch = change.change_table(ev.reset_index(drop=True), reg, previous=previous)
    unit = {"points": " pts", "units": "", "ratio": "×"}

    def fmt(v, u):
        if pd.isna(v):
            return ""
        return f"{v:.2f}{unit.get(u, '')}" if u == "ratio" else f"{v:+.1f}{unit.get(u, '')}"

    return pd.DataFrame(
        {
            "2023 base": ev["published_n"].map(lambda b: "" if pd.isna(b) else f"{int(b):,}").to_numpy(),
            "change": [fmt(v, u) for v, u in zip(ch["change"], ch["unit"], strict=True)],
            "change 95% CI": [
                "" if pd.isna(lo) else f"{fmt(lo, u)} to {fmt(hi, u)}"
                for lo, hi, u in zip(ch["ci_low"], ch["ci_high"], ch["unit"], strict=True)
            ],
            "p (Holm)": ch["p_holm"].map(lambda p: "" if pd.isna(p) else display.p_text(p)),
            "verdict": ch["verdict"],
            "direction": ch["direction"],
        }
    )


def is_synthetic(path: Path) -> bool:
    """True for the committed synthetic default (same bytes, wherever it was copied) and for
    any file whose name says it is synthetic, as the generator's files do."""
    if "synthetic" in path.name.lower():
        return True
    if DEFAULT_DATA.is_file() and path.is_file() and path.stat().st_size == DEFAULT_DATA.stat().st_size:
        return hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(DEFAULT_DATA.read_bytes()).digest()
    return False


def content_hash(path: Path) -> str:
    """sha256 of a data file's bytes, plus the codebook's, which the derived frame depends on:
    what the prepared-data cache is keyed by."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:  # in pieces: a large file is never held in memory whole
        while piece := fh.read(1 << 20):
            digest.update(piece)
    digest.update(codebook.DEFAULT_PATH.read_bytes())
    return digest.hexdigest()


def prepared_path(path: Path) -> Path:
    """Where the build stores the validated, derived frame of a staged data file."""
    return path.with_name(path.name + ".prepared.pkl")


def prepare(
    path: Path,
    cb: codebook.Codebook | None = None,
    crosswalk: Path | None = None,
    weight: str | None = None,
    user_missing: str = "answer",
    small: bool = False,
) -> tuple[pd.DataFrame, list[str]]:
    """Read, validate (raising DataError on errors) and derive a data file; return the derived
    frame and the warnings of reading and validating it (shown in every chapter's header).
    ``crosswalk``: a map file (:mod:`calaim.data.crosswalk`) applied before validation.
    ``weight`` names a survey-weight column (validated, kept as floats). ``user_missing``: what
    a declared-missing SPSS / Stata code that the codebook lists as an answer becomes
    (:func:`calaim.data.conventions.apply_user_missing`: "answer" or "missing"). ``small`` keeps
    the codes compact (:mod:`calaim.data.compact`), as the chapters hold them;
    :func:`calaim.data.compact.widen` of it is the float64 frame that ``small=False`` returns."""
    from calaim.data import crosswalk as xw
    from calaim.data import io

    cb = cb or codebook.load()
    xwalk = xw.load(crosswalk, cb) if crosswalk else None
    raw = io.load(path, cb, weight=weight or None, crosswalk=xwalk, user_missing=user_missing, small=small)
    warnings = list(raw.attrs.get("warnings", []))
    raw, empty = drop_empty(raw, cb)
    if empty:
        warnings.append(
            f"{len(empty)} {'column is' if len(empty) == 1 else 'columns are'} present but empty in every row "
            f"({', '.join(empty[:20])}{', ...' if len(empty) > 20 else ''}): treated as not asked in this wave "
            "(not in this data set)."
        )
    # the compact path is the build's one for large files: derived a block of rows at a time
    derived = recode.derive_in_blocks(raw, cb) if small else recode.derive(raw, cb)
    if weight:
        derived[weight] = pd.to_numeric(raw[weight]).astype(float).to_numpy()
    derived.attrs["empty_columns"] = empty
    return derived, warnings


def drop_empty(raw: pd.DataFrame, cb: codebook.Codebook) -> tuple[pd.DataFrame, list[str]]:
    """``raw`` without the codebook columns that are empty in every row (an item dropped from a
    wave but kept as a blank column), and their names: every chapter then treats them as absent."""
    empty = [c for c in raw.columns if c in cb.columns and c != cb.id_column and raw[c].isna().all()]
    return raw.drop(columns=empty), empty


def write_prepared(
    path: Path,
    cb: codebook.Codebook | None = None,
    crosswalk: Path | None = None,
    weight: str | None = None,
    user_missing: str = "answer",
) -> Path:
    """Prepare a staged data file once for all chapters (the build calls this): chapters then
    load the pickle instead of reading, validating and deriving the file again each."""
    df, warnings = prepare(path, cb, crosswalk, weight, user_missing, small=True)
    target = prepared_path(path)
    empty = df.attrs.get("empty_columns", [])
    stored = {"frame": df, "warnings": warnings, "sha256": content_hash(path), "empty": empty, "weight": weight or None}
    pd.to_pickle(stored, target)
    return target


def evaluation_key(min_base: int, public: bool, weight: str | None) -> tuple:
    """What a registry evaluation depends on besides the data: the disclosure rules and the weight."""
    return (int(min_base), bool(public), weight or None)


def write_evaluated(prepared: Path, min_base: int, public: bool = False, weight: str | None = None) -> None:
    """Evaluate the whole findings registry once on a prepared data file and store it with the
    frame (the build calls this after :func:`write_prepared`): every chapter's
    :meth:`Context.evaluated` then reads it instead of evaluating its sections again. The result
    is the same as the chapters' own evaluation, row for row (each registry row is computed on
    its own); a chapter run with other rules than the stored ones evaluates afresh."""
    from calaim.stats import findings

    stored = pd.read_pickle(prepared)
    weight = weight or None
    evaluated = findings.evaluate(
        stored["frame"],
        cb=codebook.load(),
        min_base=int(min_base),
        policy=DisclosurePolicy.for_release(public),
        weight=weight,
    )
    stored["evaluated"] = {"key": evaluation_key(min_base, public, weight), "frame": evaluated}
    pd.to_pickle(stored, prepared)


def setup(
    data_path: str | None = None,
    wave: str = PUBLISHED_WAVE,
    min_base: int = 30,
    cb: codebook.Codebook | None = None,
    public: bool = False,
    weight: str | None = None,
    compare_data: str | None = None,
) -> Context:
    """Load, validate and derive the chapter's data; set the plotting theme.

    ``data_path`` empty means the synthetic default. ``public`` asks for the stricter disclosure
    rules of a public release (see :mod:`calaim.stats.estimate`): the context's ``policy``, which
    ``ctx.tables`` and ``ctx.evaluated`` apply. ``calaim build --public`` injects ``public = True``
    into every notebook as a papermill parameter; nothing is read from the environment. Invalid data raise
    :class:`calaim.data.validate.DataError` listing every problem.

    ``weight`` (``calaim build --weight COLUMN`` injects it like ``public``; empty: unweighted)
    names a survey-weight column: it is validated (a finite number above 0 for every
    respondent), every share and mean made through the context (``ctx.tables``, ``ctx.evaluated``,
    claims tests given ``weight=ctx.weight``) is weighted by it, and the data box reports its range, Kish's
    design effect and the effective n.

    ``compare_data`` (``calaim build --compare-data OLD_FILE`` injects it; empty: none) is the
    previous wave's microdata, validated and derived the same way (same weight column, if any):
    scorecards then test the change between the two samples instead of comparing with the
    published numbers.
    """
    from calaim.stats import weights as survey_weights

    public = bool(public)
    weight = weight or None
    cb = cb or codebook.load()
    path = Path(data_path) if data_path else DEFAULT_DATA
    key = evaluation_key(min_base, public, weight)
    df, warnings, empty, evaluated = _load(path, cb, weight, key)
    previous, evaluated_previous = None, None
    if compare_data:
        previous_path = Path(compare_data)
        previous, prev_warnings, _, evaluated_previous = _load(previous_path, cb, weight, key)
        warnings = list(warnings) + [f"{previous_path.name}: {w}" for w in prev_warnings]
    summary = None
    if weight:
        summary = survey_weights.summarize(df.loc[df["pop_complete"].astype(bool), weight].to_numpy(float), weight)
    plots.set_theme()
    synthetic = is_synthetic(path)
    display.use_html_tables()
    display.set_data_label("synthetic" if synthetic else path.name)
    return Context(
        df=df,
        cb=cb,
        data_path=path,
        wave=str(wave),
        min_base=int(min_base),
        synthetic=synthetic,
        public=bool(public),
        warnings=warnings,
        empty=empty,
        weight=weight,
        weight_summary=summary,
        previous=previous,
        previous_path=Path(compare_data) if compare_data else None,
        _evaluated=evaluated,
        _evaluated_previous=evaluated_previous,
    )


def _load(
    path: Path, cb: codebook.Codebook, weight: str | None, key: tuple | None = None
) -> tuple[pd.DataFrame, list, list, pd.DataFrame | None]:
    """The validated, derived frame of ``path`` (from the build's prepared copy when there is
    one), its warnings, its empty columns, and the build's registry evaluation of it
    (:func:`write_evaluated`) when that was made under the same rules ``key`` (else None)."""
    cache = prepared_path(path)
    if cache.is_file():
        stored = pd.read_pickle(cache)  # written by calaim.book.build for this very file
        if stored.get("sha256") != content_hash(path):
            raise RuntimeError(f"{cache.name} does not belong to {path.name}; remove it and rebuild")
        if stored.get("weight") != weight:
            raise RuntimeError(f"{cache.name} was prepared with weight {stored.get('weight')!r}, not {weight!r}")
        ev = stored.get("evaluated")
        evaluated = ev["frame"] if ev and key is not None and tuple(ev["key"]) == key else None
        return stored["frame"], stored["warnings"], list(stored.get("empty", [])), evaluated
    df, warnings = prepare(path, cb, weight=weight, small=True)
    # one block per dtype: derive assembles its columns piecewise, and a fragmented frame makes
    # pandas warn (into the chapter's output) on every later insert or assign
    df = df.copy()
    return df, warnings, list(df.attrs.get("empty_columns", [])), None
