"""Reproducibility: the same inputs give the same executed notebooks, byte for byte, and the
environment is the pinned one."""

from __future__ import annotations

import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from calaim import ROOT
from calaim.book import build, chapter

LOCK = ROOT / "requirements-lock.txt"
REQUIREMENTS = ROOT / "requirements.txt"
CHEAP_CHAPTER = "key_findings"  # a real chapter that executes in a few seconds


def pins(path: Path) -> dict[str, str]:
    """Normalised name -> version of every ``name==version`` line."""
    out = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)\s*==\s*([^\s;]+)", line)
        assert m, f"{path.name}: not pinned with ==: {line!r}"
        out[re.sub(r"[-_.]+", "-", m.group(1)).lower()] = m.group(2)
    return out


# ---------------------------------------------------------------------------- notebooks
def execute_copy(root: Path) -> bytes:
    """Stage one real chapter and the default data under ``root`` and execute it as the build does."""
    (root / "chapters").mkdir(parents=True)
    shutil.copy2(ROOT / "chapters" / f"{CHEAP_CHAPTER}.ipynb", root / "chapters")
    (root / "_toc.yml").write_text(f"format: jb-book\nroot: chapters/{CHEAP_CHAPTER}\n", encoding="utf-8")
    nb_data = build.stage_data(chapter.DEFAULT_DATA, root)
    build.prepare_data(root / build.STAGE_DATA_DIR / chapter.DEFAULT_DATA.name)
    params = {"data_path": nb_data, "wave": "2023", "min_base": 30}
    done = build.execute_notebooks(root, params, jobs=1, log=lambda _: None)
    assert [p.name for p in done] == [f"{CHEAP_CHAPTER}.ipynb"]
    return (root / "chapters" / f"{CHEAP_CHAPTER}.ipynb").read_bytes()


def test_executed_notebooks_are_identical_byte_for_byte(tmp_path):
    first = execute_copy(tmp_path / "one")
    second = execute_copy(tmp_path / "two")  # another directory: no path may leak into the output
    assert first == second
    text = first.decode("utf-8")
    assert str(tmp_path) not in text and str(ROOT) not in text
    assert "start_time" not in text and '"duration"' not in text
    nb = json.loads(text)
    assert all(o.get("output_type") != "error" for c in nb["cells"] for o in c.get("outputs", []))
    injected = [c for c in nb["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "../_data/calaim_synthetic_2023.csv" in "".join(injected[0]["source"])


# ---------------------------------------------------------------------------- environment
def test_the_environment_is_the_locked_one():
    locked = pins(LOCK)
    assert len(locked) > 50
    wrong = {}
    for name, version in locked.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            wrong[name] = (version, installed)
    assert wrong == {}, f"installed versions differ from requirements-lock.txt (locked, installed): {wrong}"


def test_requirements_pins_agree_with_the_lock():
    direct, locked = pins(REQUIREMENTS), pins(LOCK)
    assert {n: v for n, v in direct.items() if locked.get(n) != v} == {}


@pytest.mark.skipif(os.environ.get("CALAIM_SLOW") != "1", reason="slow and needs PyPI: set CALAIM_SLOW=1")
def test_a_fresh_environment_resolves_to_the_lock(tmp_path):
    """In a new virtual environment, pip resolves the lock (what ``make install`` installs), and
    requirements.txt constrained by the lock, to exactly the locked versions: nothing unpinned
    is pulled in and nothing pinned is left out (pip and setuptools come with the venv)."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    listed = subprocess.run(
        [str(py), "-m", "pip", "list", "--format", "json"], capture_output=True, text=True, check=True, env=env
    )
    present = {re.sub(r"[-_.]+", "-", d["name"]).lower(): d["version"] for d in json.loads(listed.stdout)}
    locked = pins(LOCK)
    expected = {n: v for n, v in locked.items() if present.get(n) != v}
    for args in (["-r", str(LOCK)], ["-r", str(REQUIREMENTS), "-c", str(LOCK)]):
        proc = subprocess.run(
            [str(py), "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", *args],
            capture_output=True,
            text=True,
            check=True,
            env=env,
        )
        report = json.loads(proc.stdout)
        resolved = {
            re.sub(r"[-_.]+", "-", i["metadata"]["name"]).lower(): i["metadata"]["version"] for i in report["install"]
        }
        assert resolved == expected, args


def test_committed_chapters_carry_no_warnings_or_machine_paths():
    """A warning printed by a chapter lands in its committed output with the kernel's temporary
    file name (``/tmp/ipykernel_1234/...``): the output then differs from run to run and names
    this machine. None may be there."""
    import json

    from calaim import ROOT

    for nb in sorted((ROOT / "chapters").glob("*.ipynb")):
        for cell in json.loads(nb.read_text(encoding="utf-8"))["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", [])) if out.get("output_type") == "stream" else ""
                assert "ipykernel_" not in text and "Warning:" not in text, f"{nb.name}: {text[:200]}"
