"""No respondent id in the built book: calaim.book.privacy.scan, and the build's privacy step.

The synthetic data's ids (1 to 2,597) look like any other number in a page, so the build tests
run on data whose ids are distinctive tokens ("R7Q" + 6 digits), which the reader accepts as
text ids.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from conftest import make_valid_frame
from test_build import _mini_source

from calaim import cli
from calaim.book import build, privacy
from calaim.data import io


# ---------------------------------------------------------------------------- the scanner
def test_searchable_ids():
    assert privacy.searchable(range(1, 2598)) == []  # too short to tell from ordinary numbers
    assert privacy.searchable([900001, 900002.0, np.nan, None, pd.NA, " R7Q000001 ", "", "ab"]) == [
        "900001",
        "900002",
        "R7Q000001",
    ]
    assert privacy.ids_of(pd.DataFrame({"resp_id": ["R7Q000001"]}), "resp_id") == ["R7Q000001"]
    assert privacy.ids_of(pd.DataFrame({"other": [1]}), "resp_id") == []


def test_scan_finds_whole_ids_in_text_files_only(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "chapters" / "a.html").write_text(
        "<p>intro</p>\n<td>R7Q900001</td>\n<td>xR7Q900002</td> R7Q9000033 id 900004.0 52.900005 1900006\n"
        "<td>AB-123456</td> XAB-123457\n",
        encoding="utf-8",
    )
    (tmp_path / "chapters" / "b.ipynb").write_text('{"text": ["900007 rows"]}', encoding="utf-8")
    (tmp_path / "table.csv").write_text("resp_id\nR7Q900008\n", encoding="utf-8")
    (tmp_path / "app.js").write_text("var x = 'R7Q900009';", encoding="utf-8")
    (tmp_path / "image.png").write_bytes(b"R7Q900010")  # not text: not scanned
    blob = "A" * 150 + "R7Q900011" + "B" * 150  # inside an embedded image (base64)
    (tmp_path / "img.html").write_text(f'<img src="data:image/png;base64,{blob}">', encoding="utf-8")
    ids = [
        "R7Q900001",
        "R7Q900002",
        "R7Q900003",
        "900004",
        "900005",
        "900006",
        "AB-123456",
        "AB-123457",
        "900007",
        "R7Q900008",
        "R7Q900009",
        "R7Q900010",
        "R7Q900011",
        "R7Q999999",
    ]

    hits = privacy.scan(tmp_path, ids)

    assert [(h.file, h.line, h.id) for h in hits] == [
        ("app.js", 1, "R7Q900009"),
        ("chapters/a.html", 2, "R7Q900001"),
        ("chapters/a.html", 3, "900004"),  # an id printed as a float is still the id
        ("chapters/a.html", 4, "AB-123456"),
        ("chapters/b.ipynb", 1, "900007"),
        ("table.csv", 2, "R7Q900008"),
    ]
    assert str(hits[1]) == "chapters/a.html, line 2: respondent id 'R7Q900001'"
    assert privacy.scan(tmp_path, []) == []


# ---------------------------------------------------------------------------- builds
def id_data(tmp_path: Path, cb, n: int = 60) -> tuple[Path, list[str]]:
    frame = make_valid_frame(n, cb)
    ids = [f"R7Q{900001 + i}" for i in range(n)]
    path = io.write(frame.assign(resp_id=ids), tmp_path / "with_ids.csv", cb)
    return path, ids


def chapter_notebook(*code: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('data_path = ""\nwave = "none"\nmin_base = 1\npublic = False')
    params.metadata["tags"] = ["parameters"]
    setup = nbformat.v4.new_code_cell(
        "from calaim.book import chapter\n"
        "ctx = chapter.setup(data_path, wave, min_base, public=public)\n"
        "print(f'public={ctx.public} min_count={ctx.policy.min_count}')"
    )
    nb.cells = [nbformat.v4.new_markdown_cell("# A chapter"), params, setup, *map(nbformat.v4.new_code_cell, code)]
    return nb


def mini_book(tmp_path: Path, nb: nbformat.NotebookNode) -> Path:
    src = _mini_source(tmp_path)
    nbformat.write(nb, src / "chapters" / "check.ipynb")
    return src


@pytest.mark.book
def test_public_book_shows_aggregates_and_no_ids(tmp_path, cb):
    data, ids = id_data(tmp_path, cb)
    src = mini_book(
        tmp_path,
        chapter_notebook(
            "r = ctx.tables.share(ctx.df, 'familiarity', [1], population='complete')\n"
            "print(f\"very familiar: {r['value']:.1f}% of {r['base']}\")\n"
            "s = ctx.tables.share(ctx.df, 'sector_sso', [1], population='complete')\n"
            "print(f\"sso: suppressed={s['suppressed']} count={s['count']}\")",
            "ctx.tables.by_subgroups(ctx.df, 'familiarity', [1], {'sector_sso': 'SSO'})",
        ),
    )
    out = tmp_path / "out"
    lines: list[str] = []

    build.build(data=data, wave="w", min_base=1, out=out, source=src, log=lines.append, public=True)

    assert any(f"searching the pages for {len(ids)} respondent ids" in line for line in lines)
    assert privacy.scan(out / "html", ids) == []
    page = (out / "html" / "chapters" / "check.html").read_text(encoding="utf-8")
    assert "public=True min_count=11" in page  # public reached the chapter (parameter and environment)
    very = make_valid_frame(60, cb)["familiarity"].eq(1).sum()
    assert f"very familiar: {100 * very / 60:.1f}% of 60" in page
    assert "sso: suppressed=False" in page or "sso: suppressed=True count=nan" in page


@pytest.mark.book
def test_a_page_that_prints_ids_fails_the_build(tmp_path, cb, capsys):
    data, ids = id_data(tmp_path, cb)
    src = mini_book(tmp_path, chapter_notebook("ctx.df[['resp_id', 'org_type']].head()"))
    out = tmp_path / "out"
    (out / "html").mkdir(parents=True)
    (out / "html" / "index.html").write_text("previous book", encoding="utf-8")

    status = cli.main(["build", "--data", str(data), "--out", str(out), "--source", str(src), "--min-base", "1"])

    assert status == 1
    err = capsys.readouterr().err
    assert "build failed at step 'privacy'" in err
    assert "chapters/check.html" in err and "'R7Q900001'" in err
    assert (out / "html" / "index.html").read_text(encoding="utf-8") == "previous book"
    # the scanner on its own finds the same pages
    staged = out / ".staging-html" / "_jb" / "_build" / "html"
    hits = privacy.scan(staged, ids)
    assert {h.id for h in hits} == set(ids[:5])  # head(): the first five respondents
    assert "chapters/check.html" in {h.file for h in hits}


# ---------------------------------------------------------------------------- records, short ids
def short_id_frame(cb, n: int = 60) -> pd.DataFrame:
    return make_valid_frame(n, cb).assign(resp_id=range(1, n + 1))


def test_record_scan_finds_rows_with_short_ids_and_without_ids(tmp_path, cb):
    df = short_id_frame(cb)
    assert privacy.searchable(df["resp_id"]) == []  # the id scan cannot see ids 1..60
    cols = ["resp_id", "org_type", "role", "satisfaction"]
    (tmp_path / "with_id.html").write_text(df[cols].head(3).to_html(), encoding="utf-8")
    (tmp_path / "no_id.html").write_text(df[cols[1:]].iloc[10:14].to_html(index=False), encoding="utf-8")
    labelled = df[cols[1:]].head(3).assign(org_type=[cb.labels("org_type")[int(v)] for v in df["org_type"][:3]])
    (tmp_path / "labels.csv").write_text(labelled.to_csv(index=False), encoding="utf-8")
    aggregated = df.groupby("org_type")["satisfaction"].agg(["mean", "count"]).reset_index()
    (tmp_path / "aggregate.html").write_text(aggregated.to_html(), encoding="utf-8")
    two_rows = df[cols[1:]].head(2).to_html()
    (tmp_path / "two_rows.html").write_text(two_rows, encoding="utf-8")

    hits = {h.file: h for h in privacy.scan_records(tmp_path, df, "resp_id", cb)}

    assert set(hits) == {"with_id.html", "no_id.html", "labels.csv"}
    assert hits["with_id.html"].reason == "the id column" and hits["with_id.html"].rows == 3
    assert hits["no_id.html"].rows == 4 and hits["no_id.html"].columns == ("org_type", "role", "satisfaction")
    assert hits["labels.csv"].rows == 3  # label text is mapped back to codes


def test_record_scan_ignores_rows_that_are_no_respondent(tmp_path, cb):
    df = short_id_frame(cb)
    fake = df[["org_type", "role", "satisfaction"]].head(3).assign(satisfaction=[11, 12, 13])
    (tmp_path / "fake.html").write_text(fake.to_html(), encoding="utf-8")
    assert privacy.scan_records(tmp_path, df, "resp_id", cb) == []


@pytest.mark.book
def test_a_page_with_short_id_rows_fails_the_build_at_privacy(tmp_path, cb, capsys):
    data = tmp_path / "short_ids.csv"
    io.write(short_id_frame(cb), data, cb)
    src = mini_book(tmp_path, chapter_notebook("ctx.df[['resp_id', 'org_type', 'role', 'satisfaction']].head(3)"))
    out = tmp_path / "out"

    status = cli.main(["build", "--data", str(data), "--out", str(out), "--source", str(src), "--min-base", "1"])

    assert status == 1
    err = capsys.readouterr().err
    assert "build failed at step 'privacy'" in err
    assert "chapters/check.html, table 1: 3 respondent-level rows (the id column" in err
    assert "no book was published" in err
    assert not (out / "html").exists()
