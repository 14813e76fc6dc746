"""Kernels forked from a warm worker (calaim.book.forkkernel) behave as fresh ones: the same
executed notebook, output for output, as a kernel started by Popen; only the imports differ."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import pytest

from calaim.book import build, forkkernel

pytestmark = pytest.mark.skipif(not forkkernel.enabled(), reason="forked kernels need Linux")

PROBE = "import sys\nprint('statsmodels.api' in sys.modules)"  # before the notebook imports anything
CELLS = [
    "import os, sys\n"
    "print(os.path.basename(sys.argv[0]), sys.path, os.environ.get('CALAIM_PROBE'))\n"
    "print(os.getsid(0) == os.getpid(), os.environ.get('JPY_PARENT_PID') == str(os.getppid()))",
    "import pandas as pd\n"
    "print({k: pd.get_option(k) for k in ('display.max_columns', 'display.width', 'display.max_rows')})\n"
    "pd.DataFrame({f'a rather long column name {i}': [i * 1.5] for i in range(14)})",
    "%matplotlib inline\nimport matplotlib\nprint(matplotlib.get_backend(), matplotlib.rcParams['figure.dpi'])",
    "import numpy as np\nnp.random.default_rng(7).normal(size=3).round(6).tolist()",
]


def _worker(fork: str) -> None:
    os.environ["CALAIM_FORK_KERNELS"] = fork
    build._set_env({"CALAIM_PROBE": "probe"})  # what the build's workers do


def _run(tmp: Path, fork: str) -> list:
    folder = tmp / f"fork{fork}"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in (PROBE, *CELLS)]
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i}"
    path = folder / "probe.ipynb"
    nbformat.write(nb, path)
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(1, mp_context=spawn, initializer=_worker, initargs=(fork,)) as pool:
        assert pool.submit(build._execute_one, path, {}).result() is None
    return [c.get("outputs", []) for c in nbformat.read(path, as_version=4).cells]


def test_a_forked_kernel_gives_the_outputs_of_a_fresh_one(tmp_path):
    forked, fresh = _run(tmp_path, "1"), _run(tmp_path, "0")
    # the one intended difference: the forked kernel has the heavy modules loaded already
    assert forked[0][0]["text"].strip() == "True" and fresh[0][0]["text"].strip() == "False"
    assert forked[1:] == fresh[1:]
    argv_path_env, session = forked[1][0]["text"].splitlines()
    assert argv_path_env.startswith("ipykernel_launcher.py [") and argv_path_env.endswith("] probe")
    assert session == "True True"  # a session of its own; JPY_PARENT_PID is its worker
    assert "display.max_columns': 20" in forked[2][0]["text"]  # as pandas sets it under a kernel


def test_a_worker_that_inherited_pandas_starts_kernels_the_usual_way(tmp_path):
    """A worker forked from a process that had imported pandas (this test process) would fork
    kernels whose pandas prints like a terminal's: it declines and launches them by Popen."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("fork")) as pool:
        assert pool.submit(forkkernel.install).result() is False


def test_only_this_interpreters_ipykernel_is_forked():
    import sys

    assert forkkernel.is_this_ipykernel([sys.executable, "-m", "ipykernel_launcher", "-f", "c.json"])
    assert not forkkernel.is_this_ipykernel([sys.executable, "-m", "other_kernel", "-f", "c.json"])
    assert not forkkernel.is_this_ipykernel(["/usr/bin/env", "-m", "ipykernel_launcher"])


def test_the_scripts_that_run_builds_leave_their_workers_free_to_fork():
    """A spawned notebook worker imports the main script again (as ``__mp_main__``); a script
    that imports pandas at its top would make every worker start plain kernels. The CLI and the
    benchmarks that build books import neither pandas nor numpy before their main runs."""
    import subprocess
    import sys

    from calaim import ROOT

    probe = (
        "import importlib.util, sys\n"
        "for f in sys.argv[1:]:\n"
        "    spec = importlib.util.spec_from_file_location('__mp_main__', f)\n"
        "    spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "import calaim.cli\n"
        "print(sorted({'pandas', 'numpy'} & set(sys.modules)))\n"
    )
    scripts = [str(ROOT / "benchmarks" / n) for n in ("bench_build.py", "bench_cache.py")]
    out = subprocess.run([sys.executable, "-c", probe, *scripts], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"
