"""The codebook against the facts the 2023 report publishes about its questionnaire and geography."""

from collections import Counter

import pytest
import yaml

from calaim.data import codebook
from calaim.data.codebook import Codebook, CodebookError


@pytest.fixture(scope="module")
def cb() -> Codebook:
    return codebook.load()


def test_codebook_loads(cb):
    assert cb.items and cb.columns and cb.populations
    assert cb.id_column in cb.columns


def test_every_item_is_asked_of_a_known_population(cb):
    unknown = {item.name: item.asked for item in cb.items.values() if item.asked not in cb.populations}
    assert unknown == {}


def test_columns_are_unique(cb):
    names = [col.name for item in cb.items.values() for col in item.columns]
    dupes = [name for name, n in Counter(names).items() if n > 1]
    assert dupes == []
    assert len(names) == len(cb.columns)


def test_there_are_58_counties_each_with_a_known_region_and_model(cb):
    assert len(cb.counties) == 58
    for key, county in cb.counties.items():
        assert county["region"] in cb.regions, key
        assert county["model"] in cb.plan_models, key
        assert county.get("label"), key


def test_2023_plan_model_counts(cb):
    counts = Counter(c["model"] for c in cb.counties.values())
    assert counts == {"cohs": 22, "two_plan": 14, "gmc": 2, "regional": 18, "imperial": 1, "san_benito": 1}


# Table A6 of the report lists the counties of each region.
TABLE_A6 = {
    "bay_area": 9,
    "rural_north": 22,
    "greater_sacramento": 4,
    "central_coast": 6,
    "central_valley": 9,
    "los_angeles": 1,
    "san_diego_orange": 2,
    "inland_empire": 5,
}


def test_table_a6_region_membership(cb):
    counts = Counter(c["region"] for c in cb.counties.values())
    assert dict(counts) == TABLE_A6
    assert set(cb.regions) == set(TABLE_A6)


def test_table_a6_named_counties(cb):
    by_label = {c["label"]: c["region"] for c in cb.counties.values()}
    assert by_label["Los Angeles"] == "los_angeles"
    assert by_label["San Benito"] == "central_coast"
    assert by_label["Imperial"] == "inland_empire"
    assert by_label["Sacramento"] == "greater_sacramento"
    assert {k for k, v in by_label.items() if v == "san_diego_orange"} == {"Orange", "San Diego"}


def _minimal(items):
    return {
        "populations": {"everyone": {"label": "Everyone", "query": "resp_id == resp_id"}},
        "items": items,
    }


@pytest.mark.parametrize(
    "bad_item",
    [
        {"name": "q_badtype", "type": "likert", "asked": "everyone"},
        {"name": "q_nocodes", "type": "single", "asked": "everyone"},
        {"name": "q_noscale", "type": "grid", "scale": "missing_scale", "rows": {"a": "A"}, "asked": "everyone"},
        {"name": "q_norows", "type": "grid", "codes": {1: "Yes"}, "asked": "everyone"},
        {"name": "q_norange", "type": "scale", "asked": "everyone"},
        {"name": "q_nobody", "type": "single", "codes": {1: "Yes"}, "asked": "martians"},
    ],
)
def test_malformed_item_raises_codebook_error_naming_it(bad_item):
    raw = _minimal([{"name": "resp_id", "type": "id", "asked": "everyone"}, bad_item])
    with pytest.raises(CodebookError, match=bad_item["name"]):
        Codebook(raw)


def test_duplicate_item_is_an_error():
    item = {"name": "q_twice", "type": "single", "codes": {1: "Yes"}, "asked": "everyone"}
    with pytest.raises(CodebookError, match="q_twice"):
        Codebook(_minimal([item, dict(item)]))


def test_missing_file_is_a_codebook_error(tmp_path):
    with pytest.raises(CodebookError, match="not found"):
        codebook.load(tmp_path / "nope.yml")


def test_the_fast_loader_reads_the_codebook_as_the_pure_python_one():
    text = codebook.DEFAULT_PATH.read_text(encoding="utf-8")
    assert yaml.load(text, Loader=codebook.SAFE_LOADER) == yaml.safe_load(text)  # noqa: S506 - a safe loader
