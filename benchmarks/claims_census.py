"""Count the verdicts of every chapter's claims on a data file (a measuring tool, not a test).

Each chapter that tests claims (``calaim.stats.claims.Claims``) is executed on the data file
with papermill into a temporary directory, with one extra cell appended that writes
``claims.frame()`` as JSON; the verdicts ("yes", "direction only", "no", "not tested") are
counted per chapter and overall. The committed notebooks are not touched.

    /work/wt/py benchmarks/claims_census.py [--data PATH] [--out census.csv] [chapters ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DUMP = """
import json as _json
_f = claims.frame() if "claims" in dir() else None
with open({path!r}, "w") as _h:
    _json.dump([] if _f is None else _f[["claim", "where", "p", "p (Holm)", "direction_ok", "expect", "supported",
               "estimate (a vs b)"]].to_dict("records"), _h, default=str)
"""


def chapters_with_claims() -> list[Path]:
    return sorted(p for p in (ROOT / "chapters").glob("*.ipynb") if "Claims()" in p.read_text())


def census(data: str | Path, notebooks: list[Path] | None = None) -> pd.DataFrame:
    """One row per claim: chapter, claim, where, p, Holm p, direction_ok, expect, supported."""
    import nbformat
    import papermill as pm

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for nb_path in notebooks or chapters_with_claims():
            nb = nbformat.read(nb_path, as_version=4)
            out_json = Path(tmp) / f"{nb_path.stem}.json"
            nb.cells.append(nbformat.v4.new_code_cell(DUMP.format(path=str(out_json))))
            src = Path(tmp) / nb_path.name
            nbformat.write(nb, src)
            print(f"executing {nb_path.name}", file=sys.stderr, flush=True)
            pm.execute_notebook(
                str(src),
                str(Path(tmp) / f"out_{nb_path.name}"),
                parameters={"data_path": str(Path(data).resolve())},
                cwd=str(nb_path.parent),
                progress_bar=False,
                log_output=False,
                extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
            )
            for r in json.loads(out_json.read_text()):
                rows.append({"chapter": nb_path.stem, **r})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    from calaim import synth

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(synth.DEFAULT_PATH))
    ap.add_argument("--out", default=None, help="write the per-claim table as CSV")
    ap.add_argument("notebooks", nargs="*")
    args = ap.parse_args(argv)
    t = census(args.data, [Path(p).resolve() for p in args.notebooks] or None)
    if args.out:
        t.to_csv(args.out, index=False)
    counts = pd.crosstab(t["chapter"], t["supported"], margins=True, margins_name="all")
    print(counts.to_string())
    bad = t[t["supported"] != "yes"]
    for _, r in bad.iterrows():
        print(f"[{r['supported']}] {r['chapter']}: {r['claim']} ({r['where']}; {r['estimate (a vs b)']}; p={r['p']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
