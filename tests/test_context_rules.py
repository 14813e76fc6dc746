"""The estimation rules (min_base, disclosure policy, weight) belong to the chapter context, not
to module state: two contexts in one process keep their own rules, ``ctx.tables`` is
:mod:`calaim.stats.tables` with the context's rules filled in, and no library module keeps a
mutable rule at module level. Numbers are worked out by hand on small frames."""

from __future__ import annotations

import ast
import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from calaim.book import chapter
from calaim.stats import claims, findings, tables
from calaim.stats.estimate import DisclosurePolicy

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def base_ctx():
    return chapter.setup("", "2023", 30)


def small_frame() -> pd.DataFrame:
    """40 completes: x = 1 for the first 5 (5 of 40 = 12.5%), weight 3 for them and 1 for the rest."""
    n = 40
    return pd.DataFrame(
        {
            "pop_complete": [True] * n,
            "x": [1.0] * 5 + [0.0] * 35,
            "y": [float(i % 4) for i in range(n)],
            "w": [3.0] * 5 + [1.0] * 35,
            "g": [i % 2 == 0 for i in range(n)],
        }
    )


def test_two_contexts_in_one_process_suppress_differently(base_ctx):
    """A public and a non-public context side by side: 5 of 40 is a count below 11, hidden by the
    public one only, whichever was made last and in whatever order they are used."""
    public = dataclasses.replace(base_ctx, public=True)
    plain = dataclasses.replace(base_ctx, public=False)
    f = small_frame()
    for _ in range(2):  # interleaved twice: nothing one context does reaches the other
        shown = plain.tables.share(f, "x", [1])
        hidden = public.tables.share(f, "x", [1])
        assert not shown["suppressed"] and shown["value"] == 12.5 and shown["count"] == 5
        assert hidden["suppressed"] and math.isnan(hidden["value"]) and math.isnan(hidden["count"])
        assert hidden["base"] == shown["base"] == 40
        assert plain.tables.suppress_count(5) == 5 and math.isnan(public.tables.suppress_count(5))
    assert plain.policy == DisclosurePolicy(0) and public.policy == DisclosurePolicy(tables.PUBLIC_MIN_COUNT)
    # the module functions themselves follow only what they are given
    assert not tables.share(f, "x", [1], min_base=30)["suppressed"]
    assert tables.share(f, "x", [1], min_base=30, policy=public.policy)["suppressed"]


def test_two_setups_keep_their_own_policy(tmp_path, cb, valid_frame):
    """chapter.setup sets nothing module-wide: a second setup with public=False leaves the first
    (public) context public, and the registry evaluations follow each context's own policy."""
    from calaim.data import io

    path = io.write(valid_frame, tmp_path / "survey.csv", cb)
    first = chapter.setup(str(path), cb=cb, public=True, min_base=1)
    second = chapter.setup(str(path), cb=cb, public=False, min_base=1)
    assert first.policy.public and not second.policy.public
    f = small_frame()
    assert first.tables.share(f, "x", [1])["suppressed"] and not second.tables.share(f, "x", [1])["suppressed"]
    a, b = first.evaluated(), second.evaluated()
    assert len(a) == len(b) == len(findings.load_registry())
    tiny = ((b["base"] > 0) & (b["base"] < tables.PUBLIC_MIN_COUNT)).fillna(False).astype(bool)
    assert tiny.sum() > 5  # the small fixture has small subgroups, so the two policies must differ
    assert a.loc[tiny, "suppressed"].all() and a.loc[tiny, "base"].isna().all()
    assert not b.loc[tiny & (b["statistic"].isin(["share", "mean", "count"])), "suppressed"].any()


def test_ctx_tables_fills_in_min_base_policy_and_weight(base_ctx):
    f = small_frame()
    ctx = dataclasses.replace(base_ctx, min_base=30, public=False, weight="w")
    r = ctx.tables
    assert r == tables.Rules(30, DisclosurePolicy(0), "w")
    # weighted share by hand: weight 3 x 5 = 15 of 15 + 35 = 50 -> 30%
    assert r.share(f, "x", [1])["value"] == pytest.approx(30.0)
    assert r.share(f, "x", [1]) == tables.share(f, "x", [1], min_base=30, weight="w")
    assert tables.share(f, "x", [1])["value"] == 12.5  # the module default: unweighted
    # a call's own min_base overrides the context's: subgroup g holds 20 (3 with x = 1)
    assert r.share(f, "x", [1], "complete", "g")["suppressed"]
    low = r.share(f, "x", [1], "complete", "g", min_base=10)
    assert not low["suppressed"] and low["base"] == 20
    assert low["value"] == pytest.approx(100 * 9 / (9 + 17))  # 3 x 3 of 3 x 3 + 17 x 1
    m = r.mean(f, "y")
    assert m["value"] == pytest.approx(np.average(f["y"], weights=f["w"]))
    np.testing.assert_array_equal(r.weights_of(f, f["g"]), f.loc[f["g"], "w"].to_numpy())
    assert dataclasses.replace(ctx, weight=None).tables.weights_of(f) is None
    for name, rows in (
        ("distribution", r.distribution(f, "x", {0: "no", 1: "yes"})),
        ("grid", r.grid(f, {"x": "X"}, {"yes": [1]})),
        ("by_subgroups", r.by_subgroups(f, "x", [1], {"g": "G"})),
        ("means_by_subgroups", r.means_by_subgroups(f, "y", {"g": "G"})),
    ):
        assert "effective_n" in rows, name  # weighted: every table carries Kish's effective n
    d = r.distribution(f, "x", {0: "no", 1: "yes"}).set_index("response")
    assert d.loc["yes", "value"] == pytest.approx(30.0) and d.loc["no", "value"] == pytest.approx(70.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.weight = None  # type: ignore[misc]


def test_claims_take_the_weight_explicitly():
    f = small_frame()
    a, b = f["g"], ~f["g"]
    plain = claims.compare_shares(f, "x", [1], a, b, min_base=10)
    weighted = claims.compare_shares(f, "x", [1], a, b, min_base=10, weight="w")
    assert plain["test"] != weighted["test"] and "weighted" in weighted["test"]
    assert claims.compare_shares(f, "x", [1], a, b, min_base=10) == plain  # nothing was left behind


def _globals(path: Path) -> list[str]:
    """The ``global`` statements of one source file (a function rebinding module state)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.name}:{n.lineno}: global {', '.join(n.names)}" for n in ast.walk(tree) if isinstance(n, ast.Global)]


def test_no_library_module_keeps_mutable_rules():
    offenders = [hit for p in sorted((ROOT / "calaim").rglob("*.py")) for hit in _globals(p)]
    assert offenders == []
    for name in ("set_policy", "set_weight", "policy", "weight", "_policy", "_weight"):
        assert not hasattr(tables, name), name
    # what tables keeps at module level is constants and functions: no list, dict or set to mutate
    mutable = [
        k
        for k, v in vars(tables).items()
        if not k.startswith("__") and isinstance(v, (list, dict, set, pd.DataFrame, np.ndarray))
    ]
    assert mutable == []
