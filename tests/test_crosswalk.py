"""Crosswalk (calaim.data.crosswalk): a Q-numbered vendor file, drafted map, errors in the map.

The vendor file is the synthetic default with its columns renamed Q1, Q2, ... (the position in
the file) and the codebook's variable labels and value labels written by pyreadstat, as a
vendor's SPSS export would carry them. Round trip: drafted map -> validate passes -> the same
registry estimates as the original file.
"""

from __future__ import annotations

import pandas as pd
import pytest

from calaim import cli
from calaim.data import crosswalk, io
from calaim.data.validate import DataError
from calaim.stats import findings


@pytest.fixture(scope="module")
def vendor(tmp_path_factory, base, cb):
    """(path of a Q-numbered .sav, {Q name: codebook name})."""
    names = {c: f"Q{i + 1}" for i, c in enumerate(base.columns)}
    path = tmp_path_factory.mktemp("vendor") / "wave_2024_vendor.sav"
    written = tmp_path_factory.mktemp("vendor") / "tmp.sav"
    io.write(base, written, cb)  # codebook variable and value labels
    import pyreadstat

    df, meta = pyreadstat.read_sav(str(written), apply_value_formats=False)
    pyreadstat.write_sav(
        df.rename(columns=names),
        str(path),
        column_labels=[meta.column_names_to_labels.get(c) for c in df.columns],
        variable_value_labels={names[k]: v for k, v in meta.variable_value_labels.items()},
    )
    return path, {v: k for k, v in names.items()}


def test_vendor_file_without_map_fails(vendor, cb):
    with pytest.raises(DataError):
        io.load(vendor[0], cb)


def test_draft_matches_every_column_by_label(vendor, cb, tmp_path):
    path, truth = vendor
    cols, labels, values = crosswalk.file_metadata(path)
    d = crosswalk.draft(cols, labels, values, cb)
    assert d.unmatched == ()
    assert dict(zip(d.table["source"], d.table["target"], strict=True)) == truth
    assert (d.table["confidence"] >= 0.95).all()
    assert d.table["basis"].str.startswith("variable label").all()


def test_drafted_map_validates_and_gives_the_same_estimates(vendor, cb, base, tmp_path, capsys):
    path, _ = vendor
    out = tmp_path / "map.csv"
    assert cli.main(["crosswalk", str(path), "--out", str(out)]) == 0
    assert cli.main(["validate", str(path), "--crosswalk", str(out)]) == 0
    assert "OK" in capsys.readouterr().out
    got = io.load(path, cb, crosswalk=crosswalk.load(out, cb))
    assert any("crosswalk map.csv applied" in w for w in got.attrs["warnings"])
    pd.testing.assert_frame_equal(got[list(base.columns)], base, check_dtype=False)
    reg = findings.load_registry()
    reg = reg[reg["section"] == reg["section"].iloc[0]]
    from calaim.data import recode

    a = findings.evaluate(recode.derive(base, cb), registry=reg, cb=cb)
    b = findings.evaluate(recode.derive(got[list(base.columns)], cb), registry=reg, cb=cb)
    pd.testing.assert_series_equal(a["reproduced"], b["reproduced"])


def _map(tmp_path, text):
    p = tmp_path / "m.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_map_errors_are_clear(tmp_path, cb):
    with pytest.raises(DataError, match="no such crosswalk file"):
        crosswalk.load(tmp_path / "absent.csv", cb)
    with pytest.raises(DataError, match="needs the columns 'source' and 'target'"):
        crosswalk.load(_map(tmp_path, "from,to\nQ1,resp_id\n"), cb)
    with pytest.raises(DataError, match=r"line 2: target 'org_typ' .*did you mean 'org_type'"):
        crosswalk.load(_map(tmp_path, "source,target\nQ1,org_typ\n"), cb)
    with pytest.raises(DataError, match="target 'org_type' has 2 sources: 'Q1' \\(line 2\\), 'Q2' \\(line 3\\)"):
        crosswalk.load(_map(tmp_path, "source,target\nQ1,org_type\nQ2,org_type\n"), cb)
    with pytest.raises(DataError, match="source 'Q1' is mapped to 'org_type' \\(line 2\\) and to 'role'"):
        crosswalk.load(_map(tmp_path, "source,target\nQ1,org_type\nQ1,role\n"), cb)
    xw = crosswalk.load(_map(tmp_path, "source,target\nQ9,org_type\n"), cb)
    df = pd.DataFrame({"Q1": [1]})
    with pytest.raises(DataError, match="m.csv, line 2: source column 'Q9' is not in data.csv"):
        xw.apply(df, {}, {}, "data.csv")


def test_value_recode(tmp_path, cb, base):
    """A vendor coding Yes/No as 5/6 for ecm_provider (codebook 1 = Yes, 2 = No); one recode by
    code, one by label."""
    assert cb.columns["ecm_provider"].codes[1] == "Yes"
    df = base.copy()
    df["ecm_provider"] = base["ecm_provider"].replace({1.0: 5.0, 2.0: 6.0})
    assert (df["ecm_provider"] == 5).sum() == (base["ecm_provider"] == 1).sum() > 0
    data = tmp_path / "wave.csv"
    io.write(df.rename(columns={"ecm_provider": "ECM"}), data, cb)
    with pytest.raises(DataError, match="ecm_provider"):
        io.load(data, cb, crosswalk=crosswalk.load(_map(tmp_path, "source,target\nECM,ecm_provider\n"), cb))
    m = _map(tmp_path, "source,target,source_value,target_value\nECM,ecm_provider,5,1\nECM,ecm_provider,6,No\n")
    got = io.load(data, cb, crosswalk=crosswalk.load(m, cb))
    pd.testing.assert_series_equal(got["ecm_provider"], base["ecm_provider"])


def test_draft_fuzzy_label_and_unmatched(cb):
    """A reworded label still finds its column (lower confidence); a column with nothing alike is unmatched."""
    label = cb.columns["org_type"].label
    d = crosswalk.draft(["Q5", "ZZ9"], {"Q5": label.replace("works at", "works for"), "ZZ9": "xyzzy"}, {}, cb)
    row = d.table.set_index("source").loc["Q5"]
    assert row["target"] == "org_type" and 0.6 <= row["confidence"] < 0.95
    assert row["basis"] == "similar variable label"
    assert d.unmatched == ("ZZ9",)
