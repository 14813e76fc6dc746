"""The content-addressed execution cache (calaim.book.cache) and its use by the build."""

import os
from pathlib import Path

import nbformat
import pytest

from calaim.book import build
from calaim.book.cache import NotebookCache, build_key, notebook_digest, package_digest

PARAMS = {"data_path": "../_data/d.csv", "wave": "2023", "min_base": 30}


def _key(data, params=PARAMS, env=None, **kw):
    kw.setdefault("data_dir", None)
    return build_key(data, params, env, **kw)


def test_key_follows_the_data_bytes_not_name_size_or_mtime(tmp_path):
    """jupyter-book issue 1633: a data file rewritten in place (same name, same size) must count."""
    data = tmp_path / "d.csv"
    data.write_bytes(b"resp_id,x\n1,2\n2,3\n")
    before = _key(data)
    os.utime(data, (1, 1))  # only the modification time changes
    assert _key(data) == before
    data.write_bytes(b"resp_id,x\n1,2\n2,4\n")  # same name, same size, different bytes
    assert data.stat().st_size == len(b"resp_id,x\n1,2\n2,3\n")
    assert _key(data) != before


def test_key_follows_parameters_environment_package_and_lock(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(b"a\n1\n")
    base = _key(data)
    assert _key(data, {**PARAMS, "min_base": 50}) != base
    assert _key(data, {**PARAMS, "public": True}) != base
    assert _key(data, env={"CALAIM_PUBLIC": "1"}) != base
    assert _key(data, {k: PARAMS[k] for k in reversed(PARAMS)}) == base  # order does not matter
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "m.py").write_text("x = 1\n")
    lock = tmp_path / "lock.txt"
    lock.write_text("numpy==2.0\n")
    k1 = _key(data, package=pkg, lock_file=lock)
    (pkg / "m.py").write_text("x = 2\n")
    k2 = _key(data, package=pkg, lock_file=lock)
    lock.write_text("numpy==2.1\n")
    assert len({k1, k2, _key(data, package=pkg, lock_file=lock)}) == 3
    assert package_digest(pkg) != package_digest(tmp_path / "empty")


def test_notebook_digest_ignores_outputs_but_not_sources(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("print(1)")]
    path = tmp_path / "a.ipynb"
    nbformat.write(nb, path)
    before = notebook_digest(path)
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="1\n")]
    nb.cells[0].execution_count = 3
    nbformat.write(nb, path)
    assert notebook_digest(path) == before
    nb.cells[0].source = "print(2)"
    nbformat.write(nb, path)
    edited = notebook_digest(path)
    assert edited != before
    nb.cells[0].metadata["tags"] = ["hide-input"]  # changes the page, so it counts
    nbformat.write(nb, path)
    assert notebook_digest(path) != edited


# ---------------------------------------------------------------------------- with kernels
def _chapter(name: str, extra: str = "") -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell('data_path = ""\nwave = "none"\nmin_base = 1')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [
        params,
        nbformat.v4.new_code_cell(
            "import pathlib\nimport pandas as pd\n"
            "df = pd.read_csv(data_path)\n"
            "pathlib.Path('figure_data').mkdir(exist_ok=True)\n"
            f"df.describe().to_csv('figure_data/{name}.csv')\n"
            f"print('[data](figure_data/{name}.csv)', int(df['x'].sum()), wave, min_base{extra})"
        ),
    ]
    for i, cell in enumerate(nb.cells):
        cell.id = f"{name}-{i}"  # fixed ids: new_code_cell draws random ones
    return nb


def _stage(tmp_path: Path, data: bytes, edit: str = "") -> Path:
    stage = tmp_path / "stage"
    if stage.exists():
        import shutil

        shutil.rmtree(stage)
    (stage / "chapters").mkdir(parents=True)
    (stage / "_data").mkdir()
    (stage / "_data" / "d.csv").write_bytes(data)
    (stage / "_toc.yml").write_text(
        "format: jb-book\nroot: chapters/a\nchapters:\n  - file: chapters/b\n", encoding="utf-8"
    )
    nbformat.write(_chapter("a"), stage / "chapters" / "a.ipynb")
    nbformat.write(_chapter("b", edit), stage / "chapters" / "b.ipynb")
    return stage


def _run(stage, cache, capsys):
    logged = []
    build.execute_notebooks(stage, PARAMS, jobs=1, log=logged.append, cache=cache)
    err = capsys.readouterr().err
    executed = sorted(n for n in ("a.ipynb", "b.ipynb") if f"executed    {n}" in err)
    cached = sorted(n for n in ("a.ipynb", "b.ipynb") if any(f"from cache  {n}" in line for line in logged))
    outputs = {p.relative_to(stage).as_posix(): p.read_bytes() for p in (stage / "chapters").rglob("*") if p.is_file()}
    return executed, cached, outputs


@pytest.mark.book
def test_cache_reexecutes_only_what_changed_and_gives_the_same_bytes(tmp_path, capsys):
    root = tmp_path / "cache"
    data1 = b"resp_id,x\n1,2\n2,3\n"
    data2 = b"resp_id,x\n1,2\n2,5\n"  # same size, different bytes

    def cache_for(data: bytes, read=True):
        path = tmp_path / "d.csv"
        path.write_bytes(data)
        return NotebookCache(root, build_key(path, PARAMS, data_dir=None), read=read)

    executed, cached, cold = _run(_stage(tmp_path, data1), cache_for(data1), capsys)
    assert executed == ["a.ipynb", "b.ipynb"] and cached == []
    assert b"[data](figure_data/a.csv) 5 2023 30" in cold["chapters/a.ipynb"]

    executed, cached, warm = _run(_stage(tmp_path, data1), cache_for(data1), capsys)
    assert executed == [] and cached == ["a.ipynb", "b.ipynb"]
    assert warm == cold  # byte for byte: notebooks and their figure CSVs

    executed, cached, fresh = _run(_stage(tmp_path, data1), cache_for(data1, read=False), capsys)  # --no-cache
    assert executed == ["a.ipynb", "b.ipynb"] and fresh == cold

    executed, cached, _ = _run(_stage(tmp_path, data1, edit=", 'edited'"), cache_for(data1), capsys)
    assert executed == ["b.ipynb"] and cached == ["a.ipynb"]  # one chapter edited: only it runs

    executed, cached, changed = _run(_stage(tmp_path, data2), cache_for(data2), capsys)
    assert executed == ["a.ipynb", "b.ipynb"] and cached == []  # the jupyter-book 1633 case
    assert b"[data](figure_data/a.csv) 7 2023 30" in changed["chapters/a.ipynb"]
