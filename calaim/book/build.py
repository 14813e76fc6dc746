"""Build the book: stage, generate pages, execute notebooks, run jupyter-book, publish.

``calaim build`` (and ``make book``) call :func:`build`. The steps, each named in the console
output and in any error:

1. **stage**: copy ``_config.yml``, ``_toc.yml`` and ``chapters/`` into a fresh staging
   directory next to the output (``<out>/.staging-html``); the work tree is never written to;
2. **data**: resolve the data file (the synthetic default unless ``--data`` is given), check it
   with :func:`calaim.data.io.load`, copy it into the staging tree and write the site-wide data
   banner (synthetic, or the file's name) into the staged ``_config.yml`` (:mod:`calaim.book.banner`);
3. **pages**: write the generated reference pages (data dictionary, inconsistencies) into the
   staged ``chapters/``;
4. **notebooks**: execute every staged ``chapters/*.ipynb`` with papermill, injecting
   ``data_path``, ``wave`` and ``min_base`` (and ``public = True`` for ``--public``,
   ``weight = "COLUMN"`` for ``--weight COLUMN``, ``compare_data`` for ``--compare-data OLD``),
   then strip run times and paths from the results and fold their code
   (:mod:`calaim.book.folding`: ``hide-input`` except on teaching cells, parameter cells removed);
5. **jupyter-book**: ``jupyter-book build`` on the staged tree with ``-W -n --keep-going``
   (any warning fails the build);
6. **privacy**: search every text file of the new HTML for the respondent ids of the data
   (:mod:`calaim.book.privacy`); any id found fails the build;
7. **publish**: swap the new HTML into ``<out>/html``; the previous book is replaced only when
   every step above succeeded.

I/O lives here (and in :mod:`calaim.data.io`); everything the pages show is computed by pure
functions elsewhere in the package.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from calaim import DATA_DIR, ROOT
from calaim.book.banner import stage_banner
from calaim.book.folding import fold_tree
from calaim.book.safety import LOCK_NAME as LOCK_NAME  # re-exported: the lock's file name
from calaim.book.safety import (  # crash safety: errors, atomic publish, lock, signals
    BuildError,
    BuildInterrupted,
    BuildLock,
    Log,
    _die_with_parent,
    _hide_paths,
    _show,
    _stderr,
    check_data_file,
    check_out,
    kill_children,
    problem_lines,
    publish,
    stop_on_signals,
)
from calaim.book.safety import has_book as has_book  # re-exported: is there a published book?

DEFAULT_OUT = Path("_build")
DEFAULT_WAVE = "2023"
DEFAULT_MIN_BASE = 30  # same default as calaim.stats.tables (tests keep the two in step)
DATA_SUFFIXES = (".csv", ".parquet", ".sav", ".dta")
REGISTRY_PATH = DATA_DIR / "published" / "findings.csv"

# What the staged book is made of; optional entries are copied when present.
BOOK_FILES = ("_config.yml", "_toc.yml")
BOOK_DIRS = ("chapters",)
OPTIONAL_BOOK_ENTRIES = ("_static", "references.bib")
STAGE_DATA_DIR = "_data"  # data file copied here inside the staging tree

# Fixed environment for reproducible output (Sphinx honours SOURCE_DATE_EPOCH for dates).
_REPRO_ENV = {"SOURCE_DATE_EPOCH": "0", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}
#: the environment of every chapter's kernel: one thread per BLAS / OpenMP library. The build
#: runs a notebook per core already; a second BLAS thread per kernel only spins waiting for work
#: and takes the core from the other notebook (a third of some chapters' CPU time on 2 cores)
KERNEL_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


@dataclass(frozen=True)
class BuildResult:
    html: Path
    notebooks: tuple[str, ...]
    data: Path | None


# ---------------------------------------------------------------------------- data
def default_out(data: str | Path | None) -> Path:
    """``_build`` for the default data; ``_build/<file stem>`` for a user's file, so that a
    book built on other data never replaces the default book."""
    return DEFAULT_OUT if not data else DEFAULT_OUT / Path(data).stem


def default_data_path() -> Path | None:
    """The embedded (synthetic) default data file, or None when there is none yet.

    That is :data:`calaim.synth.DEFAULT_PATH` when the file exists; otherwise the first
    supported file in ``data/synthetic/`` in name order.
    """
    try:
        from calaim import synth  # lazy: the generator is optional for building
    except ImportError:
        synth = None
    named = getattr(synth, "DEFAULT_PATH", None)
    if named and Path(named).is_file():
        return Path(named)
    folder = DATA_DIR / "synthetic"
    if not folder.is_dir():
        return None
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in DATA_SUFFIXES)
    return files[0] if files else None


def check_data(path: Path) -> None:
    """Load ``path`` with :func:`calaim.data.io.load`; raise BuildError listing every problem."""
    from calaim.data import io as calaim_io

    try:
        calaim_io.load(path)
    except Exception as exc:  # noqa: BLE001 - every reader error becomes a build error
        raise BuildError("data", "\n".join(problem_lines(exc)) or repr(exc)) from exc


def prepare_data(
    staged: Path, crosswalk: Path | None = None, weight: str | None = None, user_missing: str = "answer"
) -> Path:
    """Read, validate and derive the staged data file once, for every chapter to load
    (:func:`calaim.book.chapter.write_prepared`); raise BuildError listing every problem.
    ``weight`` names the survey-weight column (validated with the file); ``user_missing`` says
    what a declared-missing code that the codebook lists as an answer becomes."""
    from calaim.book import chapter

    try:
        return chapter.write_prepared(staged, crosswalk=crosswalk, weight=weight, user_missing=user_missing)
    except Exception as exc:  # noqa: BLE001 - every reader error becomes a build error
        raise BuildError("data", "\n".join(problem_lines(exc)) or repr(exc)) from exc


SCORECARD = "scorecard.ipynb"
SCORECARD_TITLE = "# Reproduction scorecard"


def scorecard_title(wave: str, compare_data: bool) -> str:
    """The scorecard page's title: a reproduction on the published wave, a change table on any other."""
    from calaim.book.chapter import PUBLISHED_WAVE

    if compare_data:
        return "# Change since the previous wave"
    return SCORECARD_TITLE if str(wave) == PUBLISHED_WAVE else f"# Change since {PUBLISHED_WAVE}"


def retitle_scorecard(stage: Path, wave: str, compare_data: bool) -> None:
    """On a later wave the staged scorecard is titled as what it shows, a change table (its first
    heading, hence the page title and the navigation entry). The committed notebook is untouched."""
    import nbformat

    path = stage / "chapters" / SCORECARD
    title = scorecard_title(wave, compare_data)
    if title == SCORECARD_TITLE or not path.is_file():
        return
    nb = nbformat.read(path, as_version=4)
    first = next((c for c in nb.cells if c.cell_type == "markdown"), None)
    if first is None or not first.source.startswith(SCORECARD_TITLE + "\n"):
        return
    first.source = title + first.source[len(SCORECARD_TITLE):]
    nbformat.write(nb, path)


# ---------------------------------------------------------------------------- steps
def stage_tree(source: Path, stage: Path) -> None:
    """Create a fresh staging tree holding the book sources."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "_build", "*.pyc")
    for name in BOOK_FILES:
        src = source / name
        if not src.is_file():
            raise BuildError("stage", f"missing {name} in {source.name or source}")
        shutil.copy2(src, stage / name)
    for name in BOOK_DIRS:
        src = source / name
        if not src.is_dir():
            raise BuildError("stage", f"missing {name}/ in {source.name or source}")
        shutil.copytree(src, stage / name, ignore=ignore)
    for name in OPTIONAL_BOOK_ENTRIES:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, stage / name, ignore=ignore)
        elif src.is_file():
            shutil.copy2(src, stage / name)


def stage_data(data: Path, stage: Path, subfolder: str = "") -> str:
    """Copy the data file into the staging tree; return its path as the notebooks see it.

    Notebooks run with their own folder (``chapters/``) as working directory, so the returned
    path is relative (``../_data/<file>``): no absolute path of this machine reaches the pages.
    ``subfolder`` keeps a second file (the previous wave's) apart from the first.
    """
    target_dir = stage / STAGE_DATA_DIR / subfolder if subfolder else stage / STAGE_DATA_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / data.name
    if data.is_dir():
        shutil.copytree(data, target)
    else:
        shutil.copy2(data, target)
    return f"../{STAGE_DATA_DIR}/{subfolder + '/' if subfolder else ''}{data.name}"


def read_registry(path: Path) -> Any:
    """The registry of published findings as strings, or None when there is no file."""
    if not path.is_file():
        return None
    import pandas as pd

    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_pages(stage: Path, registry_path: Path = REGISTRY_PATH) -> list[Path]:
    """Write the generated reference pages into ``<stage>/chapters``."""
    from calaim.book import pages
    from calaim.data import codebook

    cb = codebook.load()
    chapters = stage / "chapters"
    chapters.mkdir(exist_ok=True)
    written = []
    target = chapters / "data_dictionary.md"
    target.write_text(pages.data_dictionary_md(cb), encoding="utf-8")
    written.append(target)
    target = chapters / "inconsistencies.md"
    target.write_text(pages.findings_inconsistencies_md(read_registry(registry_path)), encoding="utf-8")
    written.append(target)
    return written


#: Kernel start-up options: the kernel's own log (a warning that it talks to papermill over local
#: TCP, a line when papermill stops it) is noise in the build output; cell errors still reach
#: the build through the notebook's outputs.
KERNEL_QUIET = ["--IPKernelApp.log_level=CRITICAL"]


def scrub_notebook(nb: Any) -> Any:
    """Remove run times, durations and paths that papermill and nbclient record, and give the
    injected-parameters cell a fixed id instead of papermill's random one. When papermill
    injected parameters, the notebook's own defaults cell is hidden from the book (the injected
    cell, which papermill does not tag itself, shows the values actually used)."""
    nb.metadata.pop("papermill", None)
    tags_of = [cell.metadata.get("tags", []) for cell in nb.cells]
    if any("injected-parameters" in t for t in tags_of):
        for cell, tags in zip(nb.cells, tags_of, strict=True):
            if "parameters" in tags and "remove-cell" not in tags:
                cell.metadata["tags"] = [*tags, "remove-cell"]
            if "injected-parameters" in tags and "id" in cell:
                cell["id"] = "injected-parameters"  # papermill gives it a random id on every run
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        cell.metadata.pop("ExecuteTime", None)
    return nb


def toc_files(root: Path) -> list[str]:
    """Every entry the table of contents lists (``file`` values, the root first), as written."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8")) or {}
    files: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(str(node["file"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(toc)
    if "root" in toc:
        files.insert(0, str(toc["root"]))
    return files


def toc_notebooks(root: Path) -> list[Path]:
    """The notebooks the table of contents lists (only those are executed and published)."""
    files = toc_files(root)
    found = []
    for f in files:
        path = root / (f if f.endswith(".ipynb") else f + ".ipynb")
        if path.is_file():
            found.append(path)
    return sorted(set(found))


def _set_env(env: Mapping[str, str]) -> None:
    """Worker initializer: environment variables for the kernels the worker starts; the worker
    dies with the build (even after kill -9) and leaves SIGINT to the build, which stops it;
    then it imports what the kernels need, once (:func:`calaim.book.forkkernel.install`)."""
    import signal

    from calaim.book import forkkernel

    os.environ.update(env)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent()
    forkkernel.install()


def notebook_pool(jobs: int, env: Mapping[str, str] | None = None):
    """The processes that execute notebooks (:func:`_execute_one`), ``jobs`` of them. They are
    new interpreters (``spawn``), not copies of the build: a worker sets :data:`KERNEL_ENV` and
    ``env``, then imports pandas and the rest once, as a kernel would, and forks each notebook's
    kernel from that state (:mod:`calaim.book.forkkernel`)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    return ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_set_env,
        initargs=({**KERNEL_ENV, **(env or {})},),
    )


def _pool_size(jobs: int | None, n: int) -> int:
    """Workers for ``n`` notebooks: ``jobs`` (default: one per core), never more than ``n``."""
    return max(1, min(jobs or os.cpu_count() or 1, n))


def _longest_first(notebooks: list[Path]) -> list[Path]:
    """``notebooks`` in the order a pool should take them: longest first, so that no long chapter
    starts last while the other workers sit idle. A notebook's size (its committed outputs,
    figures above all) stands in for its run time."""
    return sorted(notebooks, key=lambda nb: (-nb.stat().st_size, nb.name))


@contextlib.contextmanager
def running_pool(jobs: int, env: Mapping[str, str] | None = None):
    """:func:`notebook_pool` for a ``with`` block: on leaving it normally, wait for the workers;
    when interrupted (or failing), do not wait for queued notebooks but kill the workers and
    their kernels at once."""
    pool = notebook_pool(jobs, env)
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        kill_children()
        raise
    pool.shutdown(wait=True)


def _papermill(nb_path: Path, out_path: Path, params: Mapping[str, Any] | None = None) -> None:
    """Execute ``nb_path`` into ``out_path`` with papermill, as every notebook of the book is run
    (in its own folder, quiet kernel, no save after each cell), then scrub volatile metadata from
    ``out_path``. In a pool worker (:func:`notebook_pool`, whose initializer installs
    :mod:`calaim.book.forkkernel`), its kernel is forked when it can be."""
    import nbformat
    import papermill as pm

    pm.execute_notebook(
        str(nb_path),
        str(out_path),
        parameters=dict(params) if params else None,
        cwd=str(nb_path.parent),
        progress_bar=False,
        log_output=False,
        request_save_on_cell_execute=False,
        extra_arguments=KERNEL_QUIET,
    )
    nbformat.write(scrub_notebook(nbformat.read(out_path, as_version=4)), out_path)


def _execute_one(nb_path: Path, params: Mapping[str, Any]) -> str | None:
    """Run one notebook in place (:func:`_papermill`). Runs in a worker process (papermill
    changes the working directory, which threads would share); returns None on success or a
    one-line description of the failure (exceptions may not pickle)."""
    try:
        _papermill(nb_path, nb_path, params)
    except Exception as exc:  # noqa: BLE001 - PapermillExecutionError and kernel failures
        return describe_failure(nb_path, exc)
    return None


def describe_failure(nb_path: Path, exc: BaseException) -> str:
    """'chapter X, cell N: ErrorName: message' from a papermill error (or any exception)."""
    cell = getattr(exc, "exec_count", None) or getattr(exc, "cell_index", None)
    where = f"{nb_path.name}, cell {cell}" if cell is not None else nb_path.name
    return f"{where}: {_error_text(exc)}"


#: what a person should know when a chapter ended without an error of its own
_DIED = {
    "DeadKernelError": "the chapter's kernel was killed, most often for lack of memory",
    "BrokenProcessPool": "a notebook worker was killed, most often for lack of memory",
}


def _error_text(exc: BaseException) -> str:
    """'ErrorName: message' of a papermill error (the kernel's exception) or of any exception."""
    name = getattr(exc, "ename", type(exc).__name__)
    hint = f" ({_DIED[name]})" if name in _DIED else ""
    return f"{name}: {getattr(exc, 'evalue', exc)}{hint}"


def execute_notebooks(
    stage: Path,
    params: Mapping[str, Any],
    jobs: int | None = None,
    log: Log = None,
    env: Mapping[str, str] | None = None,
    cache: Any = None,
) -> list[Path]:
    """Execute every ``<stage>/chapters/*.ipynb`` in place with papermill, ``jobs`` at a time.

    ``params`` (``data_path``, ``wave``, ``min_base``) are injected after each notebook's
    ``parameters`` cell. Progress is shown per notebook (a line as each finishes) and overall (a
    tqdm bar). ``env`` adds environment variables for the kernels (the worker processes' own
    environment, which papermill's kernels inherit). Works with zero notebooks. If any notebook
    fails, the others still finish, then BuildError names every failing chapter with its cell and
    error; the executed copies stay in the staging tree for inspection. With ``cache`` (a
    :class:`calaim.book.cache.NotebookCache`) a notebook whose key is stored is restored instead of
    executed ("from cache"), and every notebook executed successfully is stored.
    """
    from concurrent.futures import as_completed

    from tqdm.auto import tqdm

    log = log or _stderr
    notebooks = toc_notebooks(stage)
    if not notebooks:
        return []
    keys = {nb: cache.key(nb) for nb in notebooks} if cache is not None else {}
    to_run = [nb for nb in notebooks if not (cache is not None and cache.restore(nb, keys[nb]))]
    for nb in notebooks:
        if nb not in to_run:
            log(f"        from cache  {nb.name}")
    if not to_run:
        return notebooks
    to_run = _longest_first(to_run)
    failures: list[str] = []
    with running_pool(_pool_size(jobs, len(to_run)), env) as pool:
        with tqdm(total=len(to_run), desc="chapters", unit="nb", file=sys.stderr) as bar:
            futures = {pool.submit(_execute_one, nb, params): nb for nb in to_run}
            for fut in as_completed(futures):
                nb = futures[fut]
                exc = fut.exception()
                failure = describe_failure(nb, exc) if exc is not None else fut.result()
                if failure is None:
                    if cache is not None:
                        cache.store(nb, keys[nb])
                    bar.write(f"        executed    {nb.name}", file=sys.stderr)
                else:
                    failures.append(failure)
                    bar.write(f"        FAILED  {failure}", file=sys.stderr)
                bar.update(1)
    if failures:
        raise BuildError("notebooks", "\n".join(sorted(failures)))
    return notebooks


def jupyter_book_command() -> list[str]:
    """How to call jupyter-book with the interpreter running this code."""
    script = Path(sys.executable).with_name("jupyter-book")
    if script.exists():
        return [str(script)]
    found = shutil.which("jupyter-book")
    if found:
        return [found]
    return [sys.executable, "-c", "from jupyter_book.cli.main import main; main()"]


def run_jupyter_book(stage: Path, log: Log = _stderr) -> Path:
    """``jupyter-book build`` with warnings as errors; return the HTML directory."""
    builddir = stage / "_jb"
    cmd = [
        *jupyter_book_command(),
        "build",
        str(stage),
        "--path-output",
        str(builddir),
        "-W",
        "-n",
        "--keep-going",
        "-q",
    ]
    env = {**os.environ, **_REPRO_ENV}
    proc = subprocess.run(
        cmd,
        cwd=stage,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    html = builddir / "_build" / "html"
    if proc.returncode != 0:
        # On success the log only points into the staging tree, which is about to go; on
        # failure it holds the warnings and errors, so show it.
        log(proc.stdout.rstrip())
        raise BuildError("jupyter-book", f"jupyter-book build exited with status {proc.returncode} (see the log above)")
    if not (html / "index.html").is_file():
        raise BuildError("jupyter-book", f"no index.html in {html.relative_to(stage)}")
    return html


# ---------------------------------------------------------------------------- driver
def build(
    data: str | Path | None = None,
    wave: str = DEFAULT_WAVE,
    min_base: int = DEFAULT_MIN_BASE,
    out: str | Path = DEFAULT_OUT,
    source: str | Path = ROOT,
    registry: str | Path = REGISTRY_PATH,
    log: Log = _stderr,
    jobs: int | None = None,
    public: bool = False,
    use_cache: bool = True,
    crosswalk: str | Path | None = None,
    weight: str | None = None,
    compare_data: str | Path | None = None,
    user_missing: str = "answer",
    compare_crosswalk: str | Path | None = None,
) -> BuildResult:
    """Build the book into ``<out>/html``. Raises BuildError; the old ``<out>/html`` then stays.

    ``public`` applies the public-release disclosure rules (no count below
    :data:`calaim.stats.tables.PUBLIC_MIN_COUNT`) in every chapter. ``weight`` names a survey-weight
    column of the data: it is validated with the file and every chapter weights its shares and
    means by it. Executed notebooks are
    cached under ``<out>/.cache`` (:mod:`calaim.book.cache`); ``use_cache=False`` executes them
    all (and refreshes the cache). ``crosswalk`` (a map, :mod:`calaim.data.crosswalk`) is applied
    to the data before validation. ``compare_data`` is the previous wave's microdata (in the
    codebook's column names, or mapped by ``compare_crosswalk``): it is validated and staged like
    the data, and every scorecard then tests the change between the two samples. ``user_missing``
    ("answer" or "missing") says what a declared-missing SPSS / Stata code that the codebook lists
    as an answer becomes, in both files.

    One build per output folder (:class:`BuildLock`). SIGINT / SIGTERM raise
    :class:`BuildInterrupted` after the workers and kernels are killed and the staging folder
    (with its data copy) is removed. After any other failure the staged pages stay for
    inspection, but the data copy is removed."""
    out = Path(out).absolute()
    check_out(out)
    stage = out / STAGE_NAME
    with BuildLock(out, log), stop_on_signals():
        try:
            return _build_steps(
                data, wave, min_base, out, source, registry, log, jobs, public, use_cache,
                crosswalk=crosswalk, weight=weight, compare_data=compare_data,
                user_missing=user_missing, compare_crosswalk=compare_crosswalk,
            )
        except BuildInterrupted:
            kill_children()
            shutil.rmtree(stage, ignore_errors=True)
            raise
        except BaseException as exc:
            kill_children()
            shutil.rmtree(stage / STAGE_DATA_DIR, ignore_errors=True)  # no stray copy of the data
            if isinstance(exc, BuildError) and exc.step == "data":
                shutil.rmtree(stage, ignore_errors=True)
                raise BuildError(exc.step, _hide_paths(exc.message, stage, out)) from exc
            if isinstance(exc, OSError):
                raise BuildError("io", f"{exc.strerror or exc} ({Path(exc.filename or '').name})") from exc
            raise


STAGE_NAME = ".staging-html"


def _build_steps(
    data, wave, min_base, out: Path, source, registry, log: Log, jobs, public, use_cache=True, crosswalk=None,
    weight=None, compare_data=None, user_missing="answer", compare_crosswalk=None,
) -> BuildResult:
    """The seven steps of :func:`build`, run under its lock."""
    source = Path(source).resolve()
    stage = out / STAGE_NAME
    steps = 7

    log(f"[1/{steps}] stage: copying the book sources into {_show(stage)}")
    stage_tree(source, stage)

    retitle_scorecard(stage, wave, bool(compare_data))

    log(f"[2/{steps}] data")
    if compare_crosswalk and not compare_data:
        raise BuildError("data", "--compare-crosswalk maps the --compare-data file: give --compare-data too")
    notebooks = toc_notebooks(stage)
    # the name as given (a symlink's own name, not its target's): validate and build agree
    data_path = Path(data).expanduser().absolute() if data else default_data_path()
    if data and not data_path.exists():
        raise BuildError("data", f"no such file: {Path(data).name}")
    nb_data, prepared, nb_compare, prepared_old = "", None, "", None
    if data_path is not None and data_path.exists():
        log(f"        using {data_path.name}" + ("" if data else " (default, synthetic)"))
        check_data_file(data_path)
        nb_data = stage_data(data_path, stage)
        stage_banner(stage, data_path)
        xw = Path(crosswalk).expanduser().absolute() if crosswalk else None
        prepared = prepare_data(
            stage / STAGE_DATA_DIR / data_path.name, xw, weight=weight or None, user_missing=user_missing
        )
        if compare_data:
            old = Path(compare_data).expanduser().absolute()
            if not old.exists():
                raise BuildError("data", f"no such file (--compare-data): {Path(compare_data).name}")
            log(f"        comparing with {old.name} (previous wave's microdata)")
            check_data_file(old)
            nb_compare = stage_data(old, stage, subfolder="previous")
            old_xw = Path(compare_crosswalk).expanduser().absolute() if compare_crosswalk else None
            prepared_old = prepare_data(
                stage / STAGE_DATA_DIR / "previous" / old.name, old_xw, weight=weight or None, user_missing=user_missing
            )
    elif notebooks:
        raise BuildError("data", "no data file given and no default data set in data/synthetic/")
    else:
        log("        no data file yet; the book has no notebooks that need one")
        stage_banner(stage, None)

    if prepared is not None:
        from calaim.book import chapter

        log("        evaluating the findings registry once for every chapter")
        for path in (prepared, prepared_old):
            if path is not None:
                chapter.write_evaluated(path, min_base, public=public, weight=weight or None)

    log(f"[3/{steps}] pages: data dictionary and inconsistencies")
    write_pages(stage, Path(registry))

    log(f"[4/{steps}] notebooks: {len(notebooks)} to execute")
    params = {"data_path": nb_data, "wave": str(wave), "min_base": int(min_base)}
    if public:
        params["public"] = True
    if weight:
        params["weight"] = str(weight)
    if nb_compare:
        params["compare_data"] = nb_compare
    from calaim.book.cache import CACHE_DIR, NotebookCache, build_key, file_digest

    xw_env = {"crosswalk": file_digest(Path(crosswalk))} if crosswalk else {}
    if nb_compare:
        xw_env["compare_data"] = file_digest(Path(compare_data).expanduser().absolute())
    if nb_compare and compare_crosswalk:
        xw_env["compare_crosswalk"] = file_digest(Path(compare_crosswalk))
    if user_missing != "answer":
        xw_env["user_missing"] = str(user_missing)
    cache = NotebookCache(out / CACHE_DIR, build_key(data_path, params, xw_env), read=use_cache)
    try:
        executed = execute_notebooks(stage, params, jobs=jobs, log=log, cache=cache)
    except BuildInterrupted:
        raise
    except BuildError as exc:
        kept = keep_failed(stage, out)
        raise BuildError(exc.step, f"{exc.message}\nexecuted notebooks kept for inspection in {_show(kept)}") from exc

    folded = fold_tree(stage / "chapters")
    shares = [r.share for r in folded.values() if r.code_cells]
    if shares:
        log(f"        code folded: at least {min(shares):.0%} of the code cells of every chapter")

    log(f"[5/{steps}] jupyter-book build (warnings are errors)")
    html = run_jupyter_book(stage, log=log)

    ids = respondent_ids(prepared) + respondent_ids(prepared_old)
    log(f"[6/{steps}] privacy: searching the pages for {len(ids):,} respondent ids")
    check_privacy(html, ids)
    check_records(html, prepared, stage)
    check_records(html, prepared_old, stage)

    log(f"[7/{steps}] publish: {_show(out / 'html')}")
    final = publish(html, out)
    shutil.rmtree(stage, ignore_errors=True)
    shutil.rmtree(out / "failed", ignore_errors=True)
    return BuildResult(html=final, notebooks=tuple(p.name for p in executed), data=data_path)


def respondent_ids(prepared: Path | None) -> list[str]:
    """The searchable respondent ids (:func:`calaim.book.privacy.searchable`) of the prepared data."""
    if prepared is None or not Path(prepared).is_file():
        return []
    import pandas as pd

    from calaim.book import privacy
    from calaim.data import codebook

    return privacy.ids_of(pd.read_pickle(prepared)["frame"], codebook.load().id_column)


def check_privacy(html: Path, ids: list[str]) -> None:
    """Raise BuildError naming the files of ``html`` that show a respondent id (the first ten, each with a line)."""
    from calaim.book import privacy

    hits = privacy.scan(html, ids)
    if hits:
        by_file: dict[str, list] = {}
        for h in hits:
            by_file.setdefault(h.file, []).append(h)
        shown = "\n".join(
            f"  {f}: {len({h.id for h in hs})} id(s), first {hs[0].id!r} at line {hs[0].line}"
            for f, hs in list(by_file.items())[:10]
        ) + (f"\n  ... and {len(by_file) - 10} more files" if len(by_file) > 10 else "")
        raise BuildError(
            "privacy",
            f"{len({h.id for h in hits}):,} respondent id(s) appear in {len({h.file for h in hits})} file(s) of "
            "the book: "
            f"a chapter shows respondent-level rows. The book was not published; the pages are kept in "
            f"{_show(html)} for inspection.\n{shown}",
        )


def check_records(html: Path, prepared: Path | None, stage: Path | None = None) -> None:
    """Raise BuildError when a table of the book (or of an executed notebook in ``stage``)
    holds respondent-level rows, whatever the ids look like (:func:`calaim.book.privacy.scan_records`)."""
    if prepared is None or not Path(prepared).is_file():
        return
    import pandas as pd

    from calaim.book import privacy
    from calaim.data import codebook

    cb = codebook.load()
    frame = pd.read_pickle(prepared)["frame"]
    hits = privacy.scan_records(html, frame, cb.id_column, cb)
    if stage is not None and (stage / "chapters").is_dir():
        hits += [
            privacy.RecordHit(f"chapters/{h.file}", h.table, h.columns, h.rows, h.reason)
            for h in privacy.scan_records(stage / "chapters", frame, cb.id_column, cb)
            if h.file.endswith(".ipynb")
        ]
    if hits:
        shown = "\n".join(f"  {h}" for h in hits[:10])
        more = f"\n  ... and {len(hits) - 10} more tables" if len(hits) > 10 else ""
        raise BuildError(
            "privacy",
            f"{len(hits)} table(s) of the book show respondent-level rows (a respondent's answers, or the id "
            f"column). The book was not published; the pages are kept in {_show(html)} for inspection.\n{shown}{more}",
        )


def keep_failed(stage: Path, out: Path) -> Path:
    """Copy the staged (partly executed) notebooks to ``<out>/failed`` for inspection."""
    kept = out / "failed"
    shutil.rmtree(kept, ignore_errors=True)
    kept.mkdir(parents=True)
    for nb in sorted((stage / "chapters").glob("*.ipynb")):
        shutil.copy2(nb, kept / nb.name)
    return kept



# ---------------------------------------------------------------------------- refresh
def _refresh_one(nb_path: Path) -> str | None:
    """Worker side of :func:`refresh`: execute one notebook into a hidden copy next to it and,
    when it succeeds, replace the notebook with the scrubbed copy. None or the failure."""
    tmp = nb_path.with_name(f".{nb_path.stem}.refresh.ipynb")
    try:
        _papermill(nb_path, tmp)
    except Exception as exc:  # noqa: BLE001
        return f"{nb_path.name} failed: {_error_text(exc)} (executed copy kept as {tmp.name})"
    os.replace(tmp, nb_path)
    return None


def refresh(
    notebooks: list[str | Path] | None = None, source: str | Path = ROOT, log: Log = _stderr, jobs: int | None = None
) -> list[Path]:
    """Re-execute the committed chapters in place on the default data, volatile metadata
    stripped, so that their stored outputs (checked by nbval) match the code. They run as the
    build runs them (:func:`notebook_pool`: ``jobs`` at a time, longest first, the kernels'
    environment :data:`KERNEL_ENV`).

    No parameters are injected: each notebook runs with its own defaults (``data_path = ""``
    means the synthetic default). A failing notebook raises BuildError and is left unchanged
    (the others are refreshed).
    """
    paths = [Path(p).absolute() for p in notebooks] if notebooks else toc_notebooks(Path(source))
    if not paths:
        return []
    order = _longest_first(paths)
    failures = []
    with running_pool(_pool_size(jobs, len(order))) as pool:
        for i, (nb_path, failure) in enumerate(zip(order, pool.map(_refresh_one, order), strict=True), 1):
            log(f"[{i}/{len(paths)}] {nb_path.name}" + (f": {failure}" if failure else ""))
            if failure:
                failures.append(failure)
    if failures:
        raise BuildError("refresh", "\n".join(failures))
    return paths
