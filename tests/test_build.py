"""Generated pages, the build driver and the command line."""

import shutil
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from calaim import ROOT, cli
from calaim.book import build, pages
from calaim.data import codebook


@pytest.fixture(scope="module")
def cb():
    return codebook.load()


# ---------------------------------------------------------------------------- pages
def test_data_dictionary_names_every_item_and_population(cb):
    md = pages.data_dictionary_md(cb)
    for name in cb.items:
        assert f"`{name}`" in md, name
    for name in cb.populations:
        assert f"`{name}`" in md, name
    assert md.startswith("(data-dictionary)=\n# Data dictionary")


def test_data_dictionary_lists_codes_rows_and_options(cb):
    md = pages.data_dictionary_md(cb)
    goal = cb.item("goal")
    for key in goal.parts:
        assert f"`goal_{key}`" in md
    assert "`support__rates`" in md  # multi-select option from a shared option set
    assert "| 97 | Not applicable | left out of the base |" in md


def test_data_dictionary_has_every_county_with_region_and_model(cb):
    md = pages.data_dictionary_md(cb)
    for key, county in cb.counties.items():
        row = f"| {county['label']} | `county__{key}` | {cb.regions[county['region']]} | "
        assert row in md, key
    assert "| Two-Plan | 14 |" in md
    assert "| Rural North | 22 |" in md
    assert "DHCS" in md and "Table A6" in md


def test_every_item_lands_in_a_named_part(cb):
    keys = {item.name: pages.item_section(cb, item) for item in cb.items.values()}
    assert set(keys.values()) <= set(pages.SECTIONS)
    assert keys["disposition"] == "profile"
    assert keys["served"] == "s1"
    assert keys["partner"] == "s2"
    assert keys["info_source"] == "s3"
    assert keys["ecm_decline_rate"] == "s4"
    assert keys["hdp_poc"] == "s5"


def test_markdown_table_cells_are_escaped():
    assert pages._esc("a | b") == "a \\| b"
    assert pages._esc("$5 *or* <x>") == "\\$5 \\*or\\* \\<x\\>"


REGISTRY = pd.DataFrame(
    {
        "id": ["fig3_access", "tA1_fqhc", "fig9_mean"],
        "figure": ["Fig 3", "Table A1", "Fig 9"],
        "description": ["Access better", "FQHC share of completes", "Mean satisfaction"],
        "published": ["52", "4", "5.9"],
        "inconsistency": ["", "n = 140 of 1,196 is 12%, not 4%", None],
    }
)


def test_inconsistencies_page_lists_only_flagged_rows():
    md = pages.findings_inconsistencies_md(REGISTRY)
    assert "`tA1_fqhc`" in md and "12%, not 4%" in md
    assert "fig3_access" not in md and "fig9_mean" not in md
    assert "1 of the 3 published numbers" in md


def test_inconsistencies_page_without_registry_or_flags():
    assert "No registry" in pages.findings_inconsistencies_md(None)
    clean = REGISTRY.assign(inconsistency="")
    assert "None of the 3" in pages.findings_inconsistencies_md(clean)
    assert "`inconsistency`" in pages.findings_inconsistencies_md(REGISTRY.drop(columns="inconsistency"))


def test_min_base_default_matches_tables():
    tables = pytest.importorskip("calaim.stats.tables")
    assert build.DEFAULT_MIN_BASE == tables.DEFAULT_MIN_BASE


def test_scrub_removes_times_and_paths():
    nb = nbformat.v4.new_notebook()
    nb.metadata["papermill"] = {"start_time": "2024-01-01T00:00:00", "input_path": "/abs/x.ipynb"}
    cell = nbformat.v4.new_code_cell("1")
    cell.metadata["papermill"] = {"duration": 0.1}
    cell.metadata["execution"] = {"iopub.status.busy": "2024-01-01T00:00:00"}
    cell.metadata["tags"] = ["parameters"]
    nb.cells.append(cell)
    build.scrub_notebook(nb)
    assert "papermill" not in nb.metadata
    assert dict(nb.cells[0].metadata) == {"tags": ["parameters"]}


# ---------------------------------------------------------------------------- the book
def _mini_source(tmp_path: Path, toc_extra: str = "") -> Path:
    """The real _config.yml and intro plus one tiny parameterized notebook."""
    src = tmp_path / "src"
    (src / "chapters").mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", src / "_config.yml")
    shutil.copy2(ROOT / "chapters" / "intro.md", src / "chapters" / "intro.md")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('data_path = ""\nwave = "none"\nmin_base = 1')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Parameter check\n\nA notebook that reads the data it is given."),
        params,
        nbformat.v4.new_code_cell(
            "import pandas as pd\n"
            "df = pd.read_csv(data_path)\n"
            "print(f'{len(df)} rows, wave {wave}, min_base {min_base}')"
        ),
    ]
    nbformat.write(nb, src / "chapters" / "check.ipynb")
    (src / "_toc.yml").write_text(
        "format: jb-book\nroot: chapters/intro\nchapters:\n"
        "  - file: chapters/check\n  - file: chapters/data_dictionary\n  - file: chapters/inconsistencies\n"
        + toc_extra,
        encoding="utf-8",
    )
    return src


@pytest.mark.book
def test_book_builds_end_to_end(tmp_path, monkeypatch):
    src = _mini_source(tmp_path)
    data = tmp_path / "tiny.csv"
    data.write_text("resp_id,x\n1,2\n2,3\n3,4\n", encoding="utf-8")
    monkeypatch.setattr(build, "prepare_data", lambda *args, **kwargs: None)  # tiny.csv is not a survey file
    registry = tmp_path / "findings.csv"
    REGISTRY.to_csv(registry, index=False)
    out = tmp_path / "out"
    (out / "html").mkdir(parents=True)
    (out / "html" / "stale.txt").write_text("old book", encoding="utf-8")

    result = build.build(data=data, wave="test-wave", min_base=7, out=out, source=src, registry=registry)

    html = out / "html"
    assert result.html == html
    assert result.notebooks == ("check.ipynb",)
    assert (html / "index.html").is_file()
    assert not (html / "stale.txt").exists()  # the old book was replaced
    assert not (out / ".staging-html").exists()
    dictionary = (html / "chapters" / "data_dictionary.html").read_text(encoding="utf-8")
    assert "disposition" in dictionary and "Alameda" in dictionary
    assert "12%, not 4%" in (html / "chapters" / "inconsistencies.html").read_text(encoding="utf-8")
    check = (html / "chapters" / "check.html").read_text(encoding="utf-8")
    assert "3 rows, wave test-wave, min_base 7" in check
    assert "chapters/intro.html" in (html / "index.html").read_text(encoding="utf-8")
    assert "The default data in this book are SYNTHETIC" in (html / "chapters" / "intro.html").read_text(
        encoding="utf-8"
    )
    # nothing in the book points at this machine's directories
    for page in html.rglob("*"):
        if page.suffix in {".html", ".js", ".ipynb", ".md", ".txt"}:
            text = page.read_text(encoding="utf-8", errors="replace")
            assert str(tmp_path) not in text, page
            assert str(ROOT) not in text, page
            assert "start_time" not in text, page


@pytest.mark.book
def test_failing_build_keeps_previous_book(tmp_path, capsys):
    src = _mini_source(tmp_path, toc_extra="  - file: chapters/no_such_page\n")
    (src / "chapters" / "check.ipynb").unlink()
    (src / "_toc.yml").write_text(
        (src / "_toc.yml").read_text(encoding="utf-8").replace("  - file: chapters/check\n", ""), encoding="utf-8"
    )
    out = tmp_path / "out"
    (out / "html").mkdir(parents=True)
    (out / "html" / "index.html").write_text("previous book", encoding="utf-8")

    status = cli.main(["build", "--source", str(src), "--out", str(out), "--registry", str(tmp_path / "none.csv")])

    assert status != 0
    assert (out / "html" / "index.html").read_text(encoding="utf-8") == "previous book"
    err = capsys.readouterr().err
    assert "build failed at step 'jupyter-book'" in err


def test_build_fails_cleanly_on_missing_data(tmp_path, capsys):
    status = cli.main(["build", "--data", str(tmp_path / "absent.sav"), "--out", str(tmp_path / "out")])
    assert status == 1
    assert "build failed at step 'data'" in capsys.readouterr().err
    assert not (tmp_path / "out" / "html").exists()


def test_cli_rejects_bad_arguments():
    with pytest.raises(SystemExit) as exc:
        cli.main(["build", "--min-base", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit):
        cli.main([])


def test_validate_reports_a_missing_file(tmp_path, capsys):
    assert cli.main(["validate", str(tmp_path / "absent.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_validate_passes_a_good_file_and_lists_problems_of_a_bad_one(tmp_path, valid_frame, capsys):
    pytest.importorskip("calaim.data.io")
    good = tmp_path / "good.csv"
    valid_frame.to_csv(good, index=False)
    assert cli.main(["validate", str(good)]) == 0
    assert "good.csv: OK (20 rows" in capsys.readouterr().out

    bad = valid_frame.copy()
    bad.loc[0, "org_type"] = 99
    bad.loc[1, "role"] = 42
    path = tmp_path / "bad.csv"
    bad.to_csv(path, index=False)
    assert cli.main(["validate", str(path)]) == 1
    err = capsys.readouterr().err
    assert "org_type" in err and "role" in err
    assert "bad.csv: 2 error(s)" in err


def test_compare_data_is_staged_apart_and_passed_to_every_notebook(tmp_path, monkeypatch):
    """``--compare-data OLD``: the old file is validated, copied to ``_data/previous/`` (so a file
    of the same name cannot overwrite the data) and injected as ``compare_data``."""
    src = _mini_source(tmp_path)
    data, old = tmp_path / "wave.csv", tmp_path / "old" / "wave.csv"
    old.parent.mkdir()
    data.write_text("resp_id,x\n1,2\n2,3\n", encoding="utf-8")
    old.write_text("resp_id,x\n1,5\n", encoding="utf-8")
    prepared = []
    monkeypatch.setattr(build, "prepare_data", lambda path, *a, **k: prepared.append(Path(path)))
    seen = {}

    class Stop(Exception):
        pass

    def capture(stage, params, **kwargs):
        seen["params"] = dict(params)
        seen["old"] = (stage / build.STAGE_DATA_DIR / "previous" / "wave.csv").read_text(encoding="utf-8")
        raise Stop

    monkeypatch.setattr(build, "execute_notebooks", capture)
    with pytest.raises(Stop):
        build.build(data=data, out=tmp_path / "out", source=src, compare_data=old, wave="2024")
    assert seen["params"]["compare_data"] == f"../{build.STAGE_DATA_DIR}/previous/wave.csv"
    assert seen["old"] == "resp_id,x\n1,5\n"
    assert [p.parent.name for p in prepared] == [build.STAGE_DATA_DIR, "previous"]
    with pytest.raises(build.BuildError, match="compare-data"):
        build.build(data=data, out=tmp_path / "out", source=src, compare_data=tmp_path / "nope.csv")


def test_user_missing_and_compare_crosswalk_reach_data_preparation(tmp_path, monkeypatch):
    """``--user-missing`` applies to both files; ``--compare-crosswalk`` maps only the old one."""
    src = _mini_source(tmp_path)
    data, old, xw = tmp_path / "wave.csv", tmp_path / "old.csv", tmp_path / "old_map.csv"
    data.write_text("resp_id,x\n1,2\n2,3\n", encoding="utf-8")
    old.write_text("resp_id,x\n1,5\n", encoding="utf-8")
    xw.write_text("source,target\nx,x\n", encoding="utf-8")
    calls = []
    monkeypatch.setattr(
        build, "prepare_data", lambda path, crosswalk=None, **k: calls.append((Path(path).name, crosswalk, k))
    )

    class Stop(Exception):
        pass

    def capture(stage, params, **kwargs):
        raise Stop

    monkeypatch.setattr(build, "execute_notebooks", capture)
    with pytest.raises(Stop):
        build.build(
            data=data, out=tmp_path / "out", source=src, compare_data=old, compare_crosswalk=xw,
            user_missing="missing", wave="2024",
        )
    (name_new, xw_new, kw_new), (name_old, xw_old, kw_old) = calls
    assert (name_new, xw_new, name_old, xw_old) == ("wave.csv", None, "old.csv", xw.absolute())
    assert kw_new["user_missing"] == kw_old["user_missing"] == "missing"
    with pytest.raises(build.BuildError, match="compare-crosswalk"):
        build.build(data=data, out=tmp_path / "out", source=src, compare_crosswalk=xw)


def test_cli_build_accepts_user_missing_and_compare_crosswalk(monkeypatch, tmp_path):
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        raise build.BuildError("data", "stop here")

    monkeypatch.setattr(build, "build", fake)
    rc = cli.main([
        "build", "--out", str(tmp_path / "o"), "--user-missing", "missing",
        "--compare-data", "old.csv", "--compare-crosswalk", "m.csv",
    ])
    assert rc == 1
    assert (seen["user_missing"], seen["compare_data"], seen["compare_crosswalk"]) == ("missing", "old.csv", "m.csv")
    with pytest.raises(SystemExit):
        cli.main(["build", "--user-missing", "maybe"])


def test_scorecard_is_titled_as_a_change_table_on_a_later_wave(tmp_path):
    import nbformat

    def staged_title(wave, compare):
        stage = tmp_path / f"stage-{wave}-{compare}"
        (stage / "chapters").mkdir(parents=True)
        shutil.copy2(ROOT / "chapters" / build.SCORECARD, stage / "chapters" / build.SCORECARD)
        build.retitle_scorecard(stage, wave, compare)
        nb = nbformat.read(stage / "chapters" / build.SCORECARD, as_version=4)
        return next(c for c in nb.cells if c.cell_type == "markdown").source.splitlines()[0]

    before = (ROOT / "chapters" / build.SCORECARD).read_bytes()
    assert staged_title("2023", False) == "# Reproduction scorecard"
    assert staged_title("2024", False) == "# Change since 2023"
    assert staged_title("2024", True) == "# Change since the previous wave"
    assert (ROOT / "chapters" / build.SCORECARD).read_bytes() == before


@pytest.mark.book
def test_refresh_reexecutes_in_place_and_leaves_a_failing_notebook_unchanged(tmp_path):
    def notebook(name, code):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(code)]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, tmp_path / name)
        return tmp_path / name

    good, bad = notebook("good.ipynb", "print(6 * 7)"), notebook("bad.ipynb", "1 / 0")
    before = bad.read_bytes()
    with pytest.raises(build.BuildError, match="bad.ipynb failed: ZeroDivisionError"):
        build.refresh([good, bad], log=lambda _m: None)
    outputs = nbformat.read(good, as_version=4).cells[0].outputs
    assert [o["text"] for o in outputs] == ["42\n"]
    assert "papermill" not in nbformat.read(good, as_version=4).metadata  # scrubbed
    assert bad.read_bytes() == before
    assert (tmp_path / ".bad.refresh.ipynb").is_file()  # the failed run, kept to look at
    assert not (tmp_path / ".good.refresh.ipynb").exists()


def test_a_killed_kernel_is_reported_with_its_likely_cause():
    from concurrent.futures.process import BrokenProcessPool

    from nbclient.exceptions import DeadKernelError

    died = build.describe_failure(Path("paper_sso.ipynb"), DeadKernelError("Kernel died"))
    assert died == (
        "paper_sso.ipynb: DeadKernelError: Kernel died (the chapter's kernel was killed, most often for lack of memory)"
    )
    assert "lack of memory" in build.describe_failure(Path("s1.ipynb"), BrokenProcessPool("terminated abruptly"))
    assert build.describe_failure(Path("s1.ipynb"), ValueError("bad")) == "s1.ipynb: ValueError: bad"
