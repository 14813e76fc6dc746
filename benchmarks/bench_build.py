"""Benchmark of the book build (``make bench``): prints figures, asserts nothing.

Measures, on this machine:

1. the default book: notebook execution (papermill, parallel) and the HTML build, separately;
2. the same with 100 times the respondents (synthetic, generated here);
3. a floor for the execution: the same chapters' code cells run one after another in this
   single Python process, with no kernels and no papermill.

Usage: ``python benchmarks/bench_build.py [--scale 100] [--jobs N]``
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from calaim import ROOT
from calaim.book import build  # imports neither pandas nor numpy: see main()


def timed_build(data: Path | None, out: Path, jobs: int | None) -> dict[str, float]:
    """Run the build step by step, timing execution and jupyter-book separately."""
    stage = out / ".staging-html"
    t = {}
    t0 = time.perf_counter()
    build.stage_tree(ROOT, stage)
    data = data or build.default_data_path()
    nb_data = build.stage_data(data, stage)
    prepared = build.prepare_data(stage / build.STAGE_DATA_DIR / data.name)
    from calaim.book import chapter

    chapter.write_evaluated(prepared, 30)  # as the build does: the registry once for every chapter
    build.write_pages(stage)
    t["prepare (stage, validate, pages)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        build.execute_notebooks(stage, {"data_path": nb_data, "wave": "2023", "min_base": 30}, jobs=jobs)
    t["execute notebooks (papermill)"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    html = build.run_jupyter_book(stage, log=lambda _msg: None)
    t["jupyter-book HTML"] = time.perf_counter() - t0
    build.publish(html, out)
    shutil.rmtree(stage, ignore_errors=True)
    return t


def peak_rss_mb(*args: str) -> float:
    """Peak resident memory (MB) of ``python -m calaim.cli ARGS`` (measured in a wrapper process
    whose only child is the command, so RUSAGE_CHILDREN is that command's peak)."""
    import subprocess

    wrapper = (
        "import resource, subprocess, sys\n"
        "subprocess.run([sys.executable, '-m', 'calaim.cli', *sys.argv[1:]], stdout=subprocess.DEVNULL, check=False)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, *args], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1]) / 1024  # Linux reports KB


def floor(data: Path) -> float:
    """Execute every chapter's code cells in this process (no kernel), the parameters set.
    Like the build, the data are read, validated and derived once beforehand (not timed)."""
    import matplotlib
    import nbformat

    from calaim.book import chapter

    chapter.write_prepared(data)

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    notebooks = build.toc_notebooks(ROOT)
    t0 = time.perf_counter()
    for nb_path in notebooks:
        nb = nbformat.read(nb_path, as_version=4)
        ns: dict = {"__name__": "__bench__", "display": lambda *a, **k: None}
        cwd = os.getcwd()
        os.chdir(nb_path.parent)
        try:
            for cell in nb.cells:
                if cell.cell_type != "code":
                    continue
                src = "\n".join(line for line in cell.source.splitlines() if not line.lstrip().startswith(("%", "!")))
                if "parameters" in cell.metadata.get("tags", []):
                    src += f"\ndata_path = {str(data)!r}"
                with contextlib.redirect_stdout(io.StringIO()):
                    exec(compile(src, f"{nb_path.name}", "exec"), ns)  # noqa: S102 - our own notebooks
                plt.close("all")
        finally:
            os.chdir(cwd)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    # pandas and the generator are imported here, not at the top: the build's notebook workers
    # import the main script again (multiprocessing's spawn), and a worker that holds pandas
    # already starts plain kernels instead of forked ones (calaim.book.forkkernel.install)
    from calaim import synth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=int, default=100, help="respondent multiplier for the large run (default 100)")
    ap.add_argument("--jobs", type=int, default=None, help="notebooks at once (default: cores)")
    args = ap.parse_args(argv)
    cores = os.cpu_count()
    print(f"calaim-book build benchmark: {cores} cores, {len(build.toc_notebooks(ROOT))} chapter notebooks")
    with tempfile.TemporaryDirectory(prefix="calaim-bench-") as tmp:
        tmp = Path(tmp)
        rows = []
        t = timed_build(None, tmp / "x1", args.jobs)
        rows.append(("1x (1,196 completes)", t))
        t0 = time.perf_counter()
        big = synth.write(tmp / f"calaim_synthetic_x{args.scale}.csv", n=synth.DEFAULT_N * args.scale)
        t_gen = time.perf_counter() - t0
        rss_validate = peak_rss_mb("validate", str(big))
        t = timed_build(big, tmp / f"x{args.scale}", args.jobs)
        rows.append((f"{args.scale}x ({synth.DEFAULT_N * args.scale:,} completes)", t))
        default_copy = tmp / build.default_data_path().name
        shutil.copy2(build.default_data_path(), default_copy)
        f1 = floor(default_copy)
        fbig = floor(big)
    print()
    print(f"{'data':32s} {'prepare':>9s} {'execute':>9s} {'html':>9s} {'total':>9s}")
    for name, t in rows:
        vals = list(t.values())
        print(f"{name:32s} " + " ".join(f"{v:8.1f}s" for v in vals) + f" {sum(vals):8.1f}s")
    print()
    print(f"generating the {args.scale}x synthetic file: {t_gen:.1f}s")
    print(f"peak memory (RSS): calaim validate on the {args.scale}x file {rss_validate:,.0f} MB")
    import resource

    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (RSS) of this process (stages, validates and prepares both files): {peak_self:,.0f} MB")
    print(f"execution floor (same code, one process, no kernels): 1x {f1:.1f}s, {args.scale}x {fbig:.1f}s")
    e1 = rows[0][1]["execute notebooks (papermill)"]
    eb = rows[1][1]["execute notebooks (papermill)"]
    print(f"execution {args.scale}x / 1x: {eb / e1:.2f}; papermill overhead over the floor at 1x: {e1 - f1:.1f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
