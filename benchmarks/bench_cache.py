"""Benchmark of the execution cache and the batched mediation (``make bench``): prints figures,
asserts nothing.

1. Whole builds of the default book (``calaim.book.build.build``, the code behind ``make book``):
   cold (``use_cache=False``: every notebook executed), warm (nothing changed: every notebook
   restored from ``<out>/.cache``) and with one chapter edited (a copy of the book sources whose
   key-findings notebook gained a Markdown cell: that notebook alone is executed again).
2. The paper chapter's mediation analysis (2 exposures x 1,000 bootstrap replicates) with
   statsmodels' own loop (``engine="statsmodels"``, the reference) and with the batched
   Newton-Raphson (``engine="batched"``, what the chapter runs), in the same run.

Usage: ``python benchmarks/bench_cache.py [--jobs N] [--skip-builds]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat

from calaim import ROOT
from calaim.book import build  # neither pandas nor numpy at the top: see bench_build.main

EDITED = "key_findings.ipynb"


def timed(fn) -> tuple[float, object]:
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def edited_source(into: Path) -> Path:
    """A copy of the book sources with one Markdown cell appended to one chapter."""
    build.stage_tree(ROOT, into)
    path = into / "chapters" / EDITED
    nb = nbformat.read(path, as_version=4)
    cell = nbformat.v4.new_markdown_cell("*An edit made by the benchmark.*")
    cell["id"] = "bench-edit"
    nb.cells.append(cell)
    nbformat.write(nb, path)
    return into


def bench_builds(jobs: int | None) -> None:
    quiet = lambda _msg: None  # noqa: E731
    with tempfile.TemporaryDirectory(prefix="calaim-bench-cache-") as tmp:
        out = Path(tmp) / "out"
        t_cold, _ = timed(lambda: build.build(out=out, jobs=jobs, use_cache=False, log=quiet))
        t_warm, _ = timed(lambda: build.build(out=out, jobs=jobs, log=quiet))
        cached = []

        def log(msg: str) -> None:
            if "from cache" in msg:
                cached.append(msg.split()[-1])

        src = edited_source(Path(tmp) / "src")
        t_edit, edit = timed(lambda: build.build(out=out, source=src, jobs=jobs, log=log))
    print(f"{'build of the default book':40s} {'seconds':>8s} {'vs cold':>8s}")
    for name, t in (("cold (--no-cache)", t_cold), ("warm (nothing changed)", t_warm),
                    (f"one chapter edited ({EDITED})", t_edit)):
        print(f"{name:40s} {t:8.1f} {t / t_cold:8.2f}")
    rerun = sorted(set(edit.notebooks) - set(cached))
    print(f"    after the edit: {len(cached)} of {len(edit.notebooks)} notebooks from the cache, executed: {rerun}")


def bench_mediation() -> None:
    from calaim.book import chapter
    from calaim.stats import mediation

    data = build.default_data_path()
    df, _ = chapter.prepare(data)
    times = {}
    for engine in mediation.ENGINES:
        times[engine], _ = timed(
            lambda engine=engine: [
                mediation.mediation(df, exposure, n_rep=1000, seed=2023, engine=engine)
                for exposure in ("fte_lt50", "nonprofit")
            ]
        )
    print()
    print("mediation, 2 exposures x 1,000 bootstrap replicates on the default data:")
    for engine, t in times.items():
        print(f"    {engine:12s} {t:7.2f}s")
    if {"statsmodels", "batched"} <= times.keys():
        print(f"    batched is {times['statsmodels'] / times['batched']:.0f}x faster than statsmodels' loop")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=None)
    ap.add_argument("--skip-builds", action="store_true", help="only the mediation timing")
    args = ap.parse_args()
    if not args.skip_builds:
        bench_builds(args.jobs)
    bench_mediation()


if __name__ == "__main__":
    main()
