"""The ``calaim`` command line: build the book, check a data file, write synthetic data.

calaim build [--data PATH] [--crosswalk MAP] [--user-missing answer|missing] [--wave LABEL] [--min-base N]
             [--public] [--weight COLUMN] [--compare-data OLD_FILE [--compare-crosswalk MAP]] [--out DIR]
             [--no-cache]
calaim validate PATH [--crosswalk MAP] [--user-missing answer|missing] [--weight COLUMN]
calaim crosswalk PATH [--out MAP.csv]
calaim rake PATH --targets TARGETS.yml --out WEIGHTED_PATH
calaim synth [--n N] [--seed S] [--out PATH]
calaim pdf [OUT] [--pdf PATH] [--no-copy] [--min-pages N]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    from calaim import __version__
    from calaim.book.build import DEFAULT_MIN_BASE, DEFAULT_OUT, DEFAULT_WAVE

    parser = argparse.ArgumentParser(
        prog="calaim",
        description="Reproduce the 2023 CalAIM implementer survey as a Jupyter Book.",
    )
    parser.add_argument("--version", action="version", version=f"calaim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="build the book into OUT/html", description="Build the book into OUT/html.")
    b.add_argument(
        "--data",
        metavar="PATH",
        help="respondent-level data (.csv, .parquet, .sav, .dta); default: the synthetic data set",
    )
    b.add_argument(
        "--wave", default=DEFAULT_WAVE, metavar="LABEL", help=f"label of the survey wave (default {DEFAULT_WAVE})"
    )
    b.add_argument(
        "--min-base",
        type=_positive_int,
        default=DEFAULT_MIN_BASE,
        metavar="N",
        help=f"suppress subgroup estimates on fewer than N respondents (default {DEFAULT_MIN_BASE})",
    )
    b.add_argument(
        "--public",
        action="store_true",
        help="public release: also suppress every count below 11 respondents (and estimates that reveal one)",
    )
    b.add_argument(
        "--weight",
        default=None,
        metavar="COLUMN",
        help="weight every share and mean by this survey-weight column of the data (need not be in the codebook)",
    )
    b.add_argument(
        "--compare-data",
        default=None,
        metavar="OLD_FILE",
        help="the previous wave's microdata (codebook column names): test every change on both samples "
        "instead of against the published 2023 numbers",
    )
    b.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help=f"output directory (default {DEFAULT_OUT}, or {DEFAULT_OUT}/<file name> with --data)",
    )
    b.add_argument(
        "--jobs", type=_positive_int, default=None, metavar="N", help="notebooks executed at once (default: cores)"
    )
    b.add_argument(
        "--no-cache",
        action="store_true",
        help="execute every notebook, ignoring the execution cache in OUT/.cache (it is still refreshed)",
    )
    _crosswalk_option(b)
    b.add_argument(
        "--compare-crosswalk",
        default=None,
        metavar="MAP",
        help="crosswalk for the --compare-data file, when its columns are not the codebook's",
    )
    _user_missing_option(b)
    b.add_argument("--source", default=None, metavar="DIR", help=argparse.SUPPRESS)  # book sources (tests)
    b.add_argument("--registry", default=None, metavar="CSV", help=argparse.SUPPRESS)  # findings registry (tests)

    v = sub.add_parser("validate", help="check a data file against the codebook", description="Check a data file.")
    v.add_argument("path", metavar="PATH", help="data file (.csv, .parquet, .sav, .dta)")
    _crosswalk_option(v)
    _user_missing_option(v)
    x = sub.add_parser(
        "crosswalk",
        help="draft a crosswalk (vendor columns -> codebook columns) for a data file",
        description="Draft a crosswalk by matching column names, variable labels and value labels to the codebook.",
    )
    x.add_argument("path", metavar="PATH", help="data file (.csv, .parquet, .sav, .dta)")
    x.add_argument("--out", default=None, metavar="MAP.csv", help="where to write the draft (default: print it)")
    v.add_argument(
        "--weight", default=None, metavar="COLUMN", help="also check this survey-weight column (finite, above 0)"
    )

    k = sub.add_parser(
        "rake",
        help="add raking weights (target margins, trimming) to a copy of a data file",
        description="Rake a data file to target margins and write it, with a weight column, to a new file.",
    )
    k.add_argument("path", metavar="PATH", help="data file (.csv, .parquet, .sav, .dta); never modified")
    k.add_argument("--targets", required=True, metavar="TARGETS.yml", help="margins, trim, population, weight_column")
    k.add_argument("--out", required=True, metavar="WEIGHTED_PATH", help="the weighted copy (a new file)")

    s = sub.add_parser("synth", help="write a synthetic data set", description="Write a synthetic data set.")
    s.add_argument("--n", type=_positive_int, default=None, help="number of respondents (default: the generator's)")
    s.add_argument("--seed", type=int, default=None, help="random seed (default: the generator's)")
    s.add_argument("--out", default=None, metavar="PATH", help="output file (default: the book's default data file)")
    r = sub.add_parser(
        "refresh",
        help="re-execute the committed chapters in place on the default data",
        description="Re-execute chapters/*.ipynb in place (default data, volatile metadata stripped) so nbval passes.",
    )
    r.add_argument("notebooks", nargs="*", metavar="NOTEBOOK", help="only these notebooks (default: all)")
    sub.add_parser(
        "pdf",
        help="print the built book (OUT/html) to one PDF, OUT/pdf/calaim-book.pdf",
        description="Print the built book to one PDF (headless Chromium, merged with pypdf).",
        add_help=False,
    )
    return parser


def _user_missing_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--user-missing",
        choices=["answer", "missing"],
        default="answer",
        help="a declared-missing SPSS/Stata code that the codebook lists as an answer (9 = Unsure): keep it as an "
        "answer (default) or treat it as missing",
    )


def _crosswalk_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--crosswalk",
        default=None,
        metavar="MAP",
        help="CSV with columns source,target (optional source_value,target_value) applied before validation",
    )


def _cmd_crosswalk(args: argparse.Namespace) -> int:
    from calaim.data import codebook, crosswalk

    path = Path(args.path)
    if not path.is_file():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 1
    cols, labels, values = crosswalk.file_metadata(path)
    result = crosswalk.draft(cols, labels, values, codebook.load())
    text = result.table.to_csv(index=False, lineterminator="\n")
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}: {len(cols) - len(result.unmatched)} of {len(cols)} columns matched")
    else:
        print(text, end="")
    if result.unmatched:
        print(f"unmatched columns ({len(result.unmatched)}): {', '.join(result.unmatched)}", file=sys.stderr)
    return 0


def _cmd_refresh(args: argparse.Namespace) -> int:
    from calaim.book import build

    try:
        done = build.refresh(args.notebooks or None)
    except build.BuildError as exc:
        print(f"refresh failed: {exc.message}", file=sys.stderr)
        return 1
    print(f"refreshed {len(done)} notebook(s)")
    return 0


def _cmd_build(args: argparse.Namespace) -> int:
    from calaim.book import build

    kwargs = {}
    if args.source:
        kwargs["source"] = args.source
    if args.registry:
        kwargs["registry"] = args.registry
    out = Path(args.out or build.default_out(args.data))
    try:
        result = build.build(
            data=args.data,
            wave=args.wave,
            min_base=args.min_base,
            out=out,
            jobs=args.jobs,
            public=args.public,
            use_cache=not args.no_cache,
            crosswalk=args.crosswalk,
            weight=args.weight,
            compare_data=args.compare_data,
            compare_crosswalk=args.compare_crosswalk,
            user_missing=args.user_missing,
            **kwargs,
        )
    except build.BuildInterrupted as exc:
        print(
            f"\nbuild {exc.message}: workers stopped, staging folder removed; {_previous(build, out)}", file=sys.stderr
        )
        return 128 + exc.signum
    except build.BuildError as exc:
        print(f"\nbuild failed at step '{exc.step}':\n{exc.message}", file=sys.stderr)
        print(_previous(build, out), file=sys.stderr)
        return 1
    print(f"book built: open {build._show(result.html / 'index.html')}")
    return 0


def _previous(build, out: Path) -> str:
    """What is at ``<out>/html`` after a failed build, said only as it is."""
    where = Path(out) / "html"  # as the user gave it
    if build.has_book(out):
        return f"the previous book in {where} was left in place"
    return f"no book was published (there is none in {where})"


def _cmd_validate(args: argparse.Namespace) -> int:
    path = Path(args.path)
    if not path.exists():
        print(f"error: no such file: {path}", file=sys.stderr)
        return 1
    from calaim.data import codebook
    from calaim.data import crosswalk as calaim_crosswalk
    from calaim.data import io as calaim_io

    try:
        cb = codebook.load()
        xw = calaim_crosswalk.load(args.crosswalk, cb) if args.crosswalk else None
        df = calaim_io.load(path, cb, crosswalk=xw, user_missing=args.user_missing, weight=args.weight, small=True)
    except Exception as exc:  # noqa: BLE001 - DataError lists every problem; anything else is one
        problems = getattr(exc, "problems", None)
        if problems:
            for problem in problems:
                print(str(problem), file=sys.stderr)  # "[error: kind] message"
            n_errors = sum(getattr(p, "severity", "error") == "error" for p in problems)
        else:
            print(f"error: {exc}", file=sys.stderr)
            n_errors = 1
        print(f"{path.name}: {n_errors} error(s); the file cannot be used as it is", file=sys.stderr)
        return 1
    warnings = list(df.attrs.get("warnings", []))
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(f"{path.name}: OK ({len(df)} rows, {df.shape[1]} columns, {len(warnings)} warning(s))")
    if args.weight:
        from calaim.stats import weights

        print(weights.summarize(df[args.weight].astype(float).to_numpy(), args.weight).sentence())
    return 0


def _cmd_rake(args: argparse.Namespace) -> int:
    import yaml

    from calaim.data import codebook, recode
    from calaim.data import io as calaim_io
    from calaim.stats import rake

    path, out, tpath = Path(args.path), Path(args.out), Path(args.targets)
    for p in (path, tpath):
        if not p.is_file():
            print(f"error: no such file: {p}", file=sys.stderr)
            return 1
    if out.exists() and out.resolve() == path.resolve():
        print(f"error: --out {out} is the input file; the input is never modified", file=sys.stderr)
        return 1
    try:
        targets = rake.parse_targets(yaml.safe_load(tpath.read_text(encoding="utf-8")), source=tpath.name)
        cb = codebook.load()
        raw = calaim_io.load(path, cb)
        if targets.weight_column in raw.columns:
            raise rake.TargetError(f"{path.name} already has a column '{targets.weight_column}'")
        result = rake.rake(recode.derive(raw, cb), targets)
    except (rake.TargetError, yaml.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - DataError lists every problem
        for problem in getattr(exc, "problems", None) or [exc]:
            print(str(problem), file=sys.stderr)
        return 1
    weighted = raw.copy()
    weighted[targets.weight_column] = result.weights
    calaim_io.write(weighted, out, cb)
    print(result.summary.sentence())
    if result.trim:
        print(f"trimmed at {result.trim:g} x the mean weight")
    table = result.margins.assign(code=result.margins["code"].map(lambda c: f"{c:g}"))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.6f}"))
    state = "converged" if result.converged else "did NOT converge (trimming or conflicting margins)"
    print(f"{state}: largest |achieved - target| = {result.max_error:.2e}")
    print(f"wrote {out} (build with: calaim build --data {out} --weight {targets.weight_column})")
    return 0


def _cmd_synth(args: argparse.Namespace) -> int:
    from calaim import synth
    from calaim.book.build import default_data_path

    out = args.out or getattr(synth, "DEFAULT_PATH", None) or default_data_path()
    if out is None:
        print("error: give --out PATH (there is no default data file yet)", file=sys.stderr)
        return 2
    kwargs = {}
    if args.n is not None:
        kwargs["n"] = args.n
    if args.seed is not None:
        kwargs["seed"] = args.seed
    written = synth.write(Path(out), **kwargs)
    print(f"wrote {written or out}")
    return 0


COMMANDS = {
    "build": _cmd_build,
    "validate": _cmd_validate,
    "synth": _cmd_synth,
    "refresh": _cmd_refresh,
    "crosswalk": _cmd_crosswalk,
    "rake": _cmd_rake,
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["pdf"]:  # its own options: calaim.book.pdf parses them
        from calaim.book import pdf

        return pdf.main(argv[1:])
    args = _parser().parse_args(argv)
    return COMMANDS[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
