"""The questionnaire as data.

``data/codebook.yml`` describes every item the report or the paper uses: its type, its
response codes and labels, who was asked it, and which figure or table it feeds. This module
reads that file and expands each item into the data columns it occupies:

* ``single``, ``scale``, ``count`` and ``id`` items occupy one column named after the item;
* ``grid`` items occupy one column per row, ``<item>_<row>``, all sharing the item's codes;
* ``multi`` (select-all) items occupy one 0/1 column per option, ``<item>__<option>``.

Nothing here reads respondent data; see :mod:`calaim.data.io` and :mod:`calaim.data.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from calaim import DATA_DIR

DEFAULT_PATH = DATA_DIR / "codebook.yml"

ITEM_TYPES = {"id", "single", "scale", "count", "grid", "multi"}
BINARY_CODES = {0: "Not selected", 1: "Selected"}


class CodebookError(ValueError):
    """The codebook file itself is malformed."""


@dataclass(frozen=True)
class Column:
    """One column of a respondent-level data file."""

    name: str
    item: str
    kind: str  # id | single | binary | scale | count
    label: str
    asked: str
    required: bool = False
    codes: dict[int, str] = field(default_factory=dict)
    not_applicable: tuple[int, ...] = ()
    min: float | None = None
    max: float | None = None
    part: str | None = None  # grid row or multi option key

    @property
    def is_categorical(self) -> bool:
        return self.kind in {"single", "binary"}

    def code_label(self, code: int) -> str:
        return self.codes[int(code)]


@dataclass(frozen=True)
class Item:
    """One survey question as the report uses it (possibly several columns)."""

    name: str
    type: str
    label: str
    asked: str
    required: bool
    figures: tuple[str, ...]
    codes: dict[int, str]
    not_applicable: tuple[int, ...]
    parts: dict[str, str]  # grid rows or multi options, key -> label
    min: float | None = None
    max: float | None = None
    anchors: dict[int, str] = field(default_factory=dict)

    def column_name(self, part: str | None = None) -> str:
        if self.type == "grid":
            return f"{self.name}_{part}"
        if self.type == "multi":
            return f"{self.name}__{part}"
        return self.name

    @property
    def columns(self) -> list[Column]:
        if self.type in {"grid", "multi"}:
            kind = "single" if self.type == "grid" else "binary"
            codes = self.codes if self.type == "grid" else dict(BINARY_CODES)
            return [
                Column(
                    name=self.column_name(key),
                    item=self.name,
                    kind=kind,
                    label=f"{self.label}: {text}",
                    asked=self.asked,
                    required=self.required,
                    codes=codes,
                    not_applicable=self.not_applicable if self.type == "grid" else (),
                    part=key,
                )
                for key, text in self.parts.items()
            ]
        return [
            Column(
                name=self.name,
                item=self.name,
                kind=self.type,
                label=self.label,
                asked=self.asked,
                required=self.required,
                codes=self.codes,
                not_applicable=self.not_applicable,
                min=self.min,
                max=self.max,
            )
        ]


@dataclass(frozen=True)
class Population:
    name: str
    label: str
    query: str
    published_n: int | None = None


class Codebook:
    """Parsed ``codebook.yml``: items, columns, populations and geography."""

    def __init__(self, raw: dict[str, Any], source: str = "<dict>"):
        self.source = source
        self.raw = raw
        self.title: str = raw.get("title", "")
        self.id_column: str = raw.get("id", "resp_id")
        self.scales: dict[str, dict] = raw.get("scales", {})
        self.option_sets: dict[str, dict[str, str]] = raw.get("option_sets", {})
        self.counties: dict[str, dict[str, str]] = raw.get("counties", {})
        self.regions: dict[str, str] = raw.get("regions", {})
        self.plan_models: dict[str, str] = raw.get("plan_models", {})
        self.populations: dict[str, Population] = {
            name: Population(name=name, **spec) for name, spec in raw.get("populations", {}).items()
        }
        self.items: dict[str, Item] = {}
        for spec in raw.get("items", []):
            item = self._parse_item(spec)
            if item.name in self.items:
                raise CodebookError(f"{source}: item {item.name!r} is defined twice")
            self.items[item.name] = item
        self.columns: dict[str, Column] = {}
        for item in self.items.values():
            for col in item.columns:
                if col.name in self.columns:
                    raise CodebookError(f"{source}: column {col.name!r} is produced twice")
                self.columns[col.name] = col
        self._check()

    # ------------------------------------------------------------------ parsing
    def _parse_item(self, spec: dict[str, Any]) -> Item:
        name = spec.get("name")
        where = f"{self.source}: item {name!r}"
        if not name:
            raise CodebookError(f"{self.source}: an item has no name: {spec}")
        typ = spec.get("type")
        if typ not in ITEM_TYPES:
            raise CodebookError(f"{where}: unknown type {typ!r} (expected one of {sorted(ITEM_TYPES)})")
        codes: dict[int, str] = {}
        not_applicable: tuple[int, ...] = ()
        if "scale" in spec:
            scale = self.scales.get(spec["scale"])
            if scale is None:
                raise CodebookError(f"{where}: unknown scale {spec['scale']!r}")
            codes = {int(k): str(v) for k, v in scale["codes"].items()}
            not_applicable = tuple(int(c) for c in scale.get("not_applicable", []))
        if "codes" in spec:
            codes = {int(k): str(v) for k, v in spec["codes"].items()}
            not_applicable = tuple(int(c) for c in spec.get("not_applicable", []))
        parts: dict[str, str] = {}
        if typ == "grid":
            parts = dict(spec.get("rows") or {})
        elif typ == "multi":
            source = spec.get("options_from")
            if source == "counties":
                parts = {k: v["label"] for k, v in self.counties.items()}
            elif source:
                if source not in self.option_sets:
                    raise CodebookError(f"{where}: unknown option set {source!r}")
                parts = dict(self.option_sets[source])
            else:
                parts = dict(spec.get("options") or {})
            parts.update(spec.get("extra_options") or {})
        if typ in {"grid", "multi"} and not parts:
            raise CodebookError(f"{where}: a {typ} item needs rows or options")
        if typ in {"single", "grid"} and not codes:
            raise CodebookError(f"{where}: a {typ} item needs codes or a scale")
        if typ in {"scale", "count"} and ("min" not in spec or "max" not in spec):
            raise CodebookError(f"{where}: a {typ} item needs min and max")
        return Item(
            name=name,
            type=typ,
            label=str(spec.get("label", name)),
            asked=str(spec.get("asked", "everyone")),
            required=bool(spec.get("required", False)),
            figures=tuple(str(f) for f in spec.get("figures", [])),
            codes=codes,
            not_applicable=not_applicable,
            parts=parts,
            min=spec.get("min"),
            max=spec.get("max"),
            anchors={int(k): str(v) for k, v in (spec.get("anchors") or {}).items()},
        )

    def _check(self) -> None:
        for item in self.items.values():
            if item.asked not in self.populations:
                raise CodebookError(f"{self.source}: item {item.name!r} is asked of unknown population {item.asked!r}")
        for key, county in self.counties.items():
            if county.get("region") not in self.regions:
                raise CodebookError(f"{self.source}: county {key!r} has unknown region {county.get('region')!r}")
            if county.get("model") not in self.plan_models:
                raise CodebookError(f"{self.source}: county {key!r} has unknown plan model {county.get('model')!r}")

    # ------------------------------------------------------------------ look-ups
    def item(self, name: str) -> Item:
        try:
            return self.items[name]
        except KeyError:
            raise KeyError(f"no item {name!r} in the codebook") from None

    def column(self, name: str) -> Column:
        try:
            return self.columns[name]
        except KeyError:
            raise KeyError(f"no column {name!r} in the codebook") from None

    def columns_of(self, item: str) -> list[str]:
        return [c.name for c in self.item(item).columns]

    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    def labels(self, column: str) -> dict[int, str]:
        """Code -> label for a categorical column."""
        return dict(self.column(column).codes)

    def data_dictionary(self) -> pd.DataFrame:
        """One row per item: what a reader of the data dictionary page needs."""
        rows = []
        for item in self.items.values():
            if item.type in {"single", "grid"}:
                responses = "; ".join(f"{k} = {v}" for k, v in item.codes.items())
            elif item.type == "multi":
                responses = "0 = not selected; 1 = selected"
            elif item.type in {"scale", "count"}:
                responses = f"{item.min:g} to {item.max:g}"
                if item.anchors:
                    responses += " (" + "; ".join(f"{k} = {v}" for k, v in item.anchors.items()) + ")"
            else:
                responses = "identifier"
            rows.append(
                {
                    "item": item.name,
                    "type": item.type,
                    "label": item.label,
                    "columns": len(item.columns),
                    "responses": responses,
                    "asked of": self.populations[item.asked].label,
                    "used in": ", ".join(item.figures),
                    "required": "yes" if item.required else "",
                }
            )
        return pd.DataFrame(rows)


#: PyYAML's safe loader, on libyaml when PyYAML was built with it (the same documents, about ten
#: times faster: the codebook is read by the build and by every chapter's kernel)
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@lru_cache(maxsize=8)
def _load_cached(path: str) -> Codebook:
    p = Path(path)
    try:
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=SAFE_LOADER)  # noqa: S506 - a safe loader
    except FileNotFoundError:
        raise CodebookError(f"codebook file not found: {p}") from None
    except yaml.YAMLError as exc:
        raise CodebookError(f"{p}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise CodebookError(f"{p}: expected a mapping at the top level")
    return Codebook(raw, source=p.name)


def load(path: str | Path | None = None) -> Codebook:
    """Load (and cache) a codebook; the default is ``data/codebook.yml``."""
    return _load_cached(str(Path(path) if path else DEFAULT_PATH))
