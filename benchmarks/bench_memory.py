"""Peak memory of validating and preparing a large file (``make bench``): prints figures, asserts nothing.

Makes a CSV of about 1,000,000 completes (the default synthetic file's rows repeated with new
ids, screen-outs included: about 2.17 million rows) in a temporary folder, then measures the
peak resident memory (RSS) of

1. ``python -m calaim.cli validate FILE``;
2. the build's data step, :func:`calaim.book.build.prepare_data` (read, validate, derive and
   store the prepared frame for the chapters),

each in a fresh process, and then

3. a whole ``calaim build --no-cache --data FILE``: every process of it (the build, its
   notebook workers and the chapters' kernels) sampled every quarter second, reporting the
   largest process's peak and the peak sum over all of them. The sum overstates what the
   machine holds: a forked kernel shares its worker's imported modules.

The budget of issue 14 is 2 GB for any one process.

Usage: ``python benchmarks/bench_memory.py [--completes 1000000] [--file PATH] [--no-build]``
(``--file`` measures an existing file instead of making one; it is never modified).
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_MB = 2048


def repeat_rows(source: Path, target: Path, completes: int) -> tuple[int, int]:
    """Write ``source``'s rows again and again, ids renumbered 1.., until ``completes``
    completed interviews (``disposition == 1``) are written. Returns (rows, completes)."""
    with source.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:]
    id_pos, disp_pos = header.index("resp_id"), header.index("disposition")
    parts = []
    for row in body:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row[:id_pos] + ["\x00"] + row[id_pos + 1 :])
        parts.append(buf.getvalue().split("\x00"))
    is_complete = [row[disp_pos].strip() == "1" for row in body]
    n_rows = n_done = 0
    with target.open("w", encoding="utf-8", newline="") as out:
        csv.writer(out, lineterminator="\n").writerow(header)
        while n_done < completes:
            chunk = []
            for (before, after), done in zip(parts, is_complete, strict=True):
                if n_done >= completes:
                    break
                n_rows += 1
                n_done += done
                chunk.append(f"{before}{n_rows}{after}")
            out.write("".join(chunk))
    return n_rows, n_done


def peak_rss_mb(code: str, *args: str) -> tuple[float, float, int]:
    """(peak RSS in MB, seconds, exit status) of ``python -c CODE ARGS`` in a fresh process,
    measured by a wrapper whose only child it is (RUSAGE_CHILDREN is that child's peak)."""
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "r = subprocess.run([sys.executable, '-c', sys.argv[1], *sys.argv[2:]], stdout=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, r.returncode)"
    )
    out = subprocess.run([sys.executable, "-c", wrapper, code, *args], capture_output=True, text=True, check=True)
    kb, secs, rc = out.stdout.split()[-3:]
    return int(kb) / 1024, float(secs), int(rc)  # Linux reports KB


def sampled_peaks(cmd: list[str], log: Path, every: float = 0.25) -> tuple[list[tuple[float, str]], float, float, int]:
    """Run ``cmd`` (its output into ``log``); sample the RSS of it and of every process below it.
    Returns (each process's peak in MB with its name, largest first; the peak of their sum in MB;
    seconds; exit status)."""
    import psutil

    t0 = time.perf_counter()
    with log.open("wb") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    peaks: dict[int, tuple[int, str]] = {}
    tree = 0
    while proc.poll() is None:
        try:
            members = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        total = 0
        for p in members:
            try:
                rss, name = p.memory_info().rss, p.name()
            except psutil.Error:
                continue
            total += rss
            peaks[p.pid] = (max(rss, peaks.get(p.pid, (0, ""))[0]), name)
        tree = max(tree, total)
        time.sleep(every)
    proc.wait()
    ranked = sorted(((rss / 2**20, name) for rss, name in peaks.values()), reverse=True)
    return ranked, tree / 2**20, time.perf_counter() - t0, proc.returncode


VALIDATE = "import sys; from calaim.cli import main; sys.exit(main(['validate', sys.argv[1]]))"
PREPARE = "import sys; from pathlib import Path; from calaim.book import build; build.prepare_data(Path(sys.argv[1]))"


def main(argv=None) -> int:
    from calaim.book import build, chapter

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--completes", type=int, default=1_000_000, help="completed interviews (default 1,000,000)")
    ap.add_argument("--file", type=Path, default=None, help="measure this file instead of making one")
    ap.add_argument("--no-build", action="store_true", help="skip the whole build (several minutes on 1M completes)")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="calaim-bench-mem-") as tmp:
        tmp = Path(tmp)
        if args.file:
            data = tmp / args.file.name
            shutil.copy2(args.file, data)  # prepare_data writes its pickle next to the file
            what = f"{args.file.name}"
        else:
            data = tmp / "calaim_repeated.csv"
            t0 = time.perf_counter()
            n_rows, n_done = repeat_rows(build.default_data_path(), data, args.completes)
            what = f"{n_done:,} completes ({n_rows:,} rows, the default file's rows repeated)"
            print(f"made {what} in {time.perf_counter() - t0:.0f}s")
        for label, code in (("calaim validate", VALIDATE), ("prepare_data (read, validate, derive, store)", PREPARE)):
            mb, secs, rc = peak_rss_mb(code, str(data))
            status = "" if rc == 0 else f", exit status {rc}"
            verdict = "within" if mb <= BUDGET_MB else "OVER"
            print(
                f"peak memory (RSS): {label} on {what}: {mb:,.0f} MB "
                f"({verdict} the {BUDGET_MB:,} MB budget; {secs:.0f}s{status})"
            )
        if not args.no_build:
            chapter.prepared_path(data).unlink(missing_ok=True)  # the build makes its own
            out = tmp / "out"
            cmd = [sys.executable, "-m", "calaim.cli", "build", "--no-cache", "--data", str(data), "--out", str(out)]
            log = tmp / "build.log"
            ranked, tree, secs, rc = sampled_peaks(cmd, log)
            status = "" if rc == 0 else f", exit status {rc}"
            top = ranked[0][0] if ranked else 0.0
            verdict = "within" if top <= BUDGET_MB else "OVER"
            print(
                f"peak memory (RSS): calaim build --no-cache on {what}: largest process {top:,.0f} MB "
                f"({verdict} the {BUDGET_MB:,} MB budget), all processes together {tree:,.0f} MB at most "
                f"({len(ranked)} processes; {secs:.0f}s{status})"
            )
            print("  largest: " + ", ".join(f"{name} {mb:,.0f} MB" for mb, name in ranked[:4]))
            if rc != 0:  # the build's own message, its last lines
                print("  the build failed:\n    " + "\n    ".join(log.read_text(errors="replace").splitlines()[-6:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
