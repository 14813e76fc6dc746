"""Content-addressed cache of executed chapter notebooks.

A notebook's key is the SHA-256 of everything its executed output depends on:

* the notebook's own source (each cell's type, id, source and tags, and the notebook's metadata;
  never its outputs or execution counts);
* the data file's bytes (a hash of the contents, not its name, size or modification time, so a
  file rewritten in place with different values is noticed, unlike jupyter-book's cache,
  jupyter-book issue 1633);
* the ``calaim`` package's source files and the files under ``data/`` other than the data file
  (codebook, registry of published findings);
* the parameters the build injects (wave, ``min_base``, public, and any other) and the kernel
  environment it sets;
* ``requirements-lock.txt`` (the pinned environment).

An entry, ``<out>/.cache/<key>/``, holds the executed (scrubbed) notebook and the figure-data
CSVs it links to. Editing one chapter changes only that chapter's key; changing the data, the
package or the lock file changes every key. The build restores a hit by copying the stored files
into the staging tree, byte for byte, so a cached build publishes the same pages as a fresh one.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from calaim import DATA_DIR, ROOT

CACHE_DIR = ".cache"
PACKAGE_DIR = Path(__file__).resolve().parents[1]  # calaim/
LOCK_FILE = ROOT / "requirements-lock.txt"
_FIGURE_LINK = re.compile(r"figure_data/([A-Za-z0-9_.-]+\.csv)")
_FIGURE_DIR = "figure_data"


def _hash_file(h, path: Path) -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def _hash_tree(h, root: Path, files: Iterable[Path]) -> None:
    for path in sorted(files):
        h.update(path.relative_to(root).as_posix().encode() + b"\0")
        _hash_file(h, path)
        h.update(b"\0")


def file_digest(path: Path | None) -> str:
    """SHA-256 of a file's bytes (or of every file under a directory, with their names)."""
    h = hashlib.sha256()
    if path is None:
        h.update(b"<no data>")
    elif path.is_dir():
        _hash_tree(h, path, (p for p in path.rglob("*") if p.is_file()))
    else:
        _hash_file(h, path)
    return h.hexdigest()


def package_digest(package: Path = PACKAGE_DIR) -> str:
    """SHA-256 over the package's Python sources (paths and bytes)."""
    h = hashlib.sha256()
    _hash_tree(h, package, (p for p in package.rglob("*.py") if "__pycache__" not in p.parts))
    return h.hexdigest()


#: What execution writes into a notebook: left out of its key.
_CELL_RESULTS = ("outputs", "execution_count")
_NB_RESULTS = ("language_info", "papermill")


def notebook_digest(path: Path) -> str:
    """SHA-256 of a notebook without what execution writes (outputs, execution counts, the
    kernel's language_info): cell types, ids, sources and metadata (tags) all count, as each
    shows in the executed notebook."""
    nb = json.loads(path.read_text(encoding="utf-8"))
    cells = [
        {k: ("".join(v) if k == "source" else v) for k, v in c.items() if k not in _CELL_RESULTS}
        for c in nb.get("cells", [])
    ]
    meta = {k: v for k, v in nb.get("metadata", {}).items() if k not in _NB_RESULTS}
    payload = {"cells": cells, "metadata": meta, "nbformat": [nb.get("nbformat"), nb.get("nbformat_minor")]}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def build_key(
    data: Path | None,
    params: Mapping[str, Any],
    env: Mapping[str, str] | None = None,
    *,
    package: Path = PACKAGE_DIR,
    data_dir: Path = DATA_DIR,
    lock_file: Path = LOCK_FILE,
) -> str:
    """The part of every notebook's key shared by the whole build."""
    data = Path(data).resolve() if data is not None else None
    support = [p for p in Path(data_dir).rglob("*") if p.is_file() and p.resolve() != data] if data_dir else []
    support_h = hashlib.sha256()
    if support:
        _hash_tree(support_h, Path(data_dir), support)
    parts = {
        "data": file_digest(data),
        "package": package_digest(package),
        "support": support_h.hexdigest(),
        "lock": file_digest(lock_file) if lock_file and Path(lock_file).is_file() else "",
        "params": {k: params[k] for k in sorted(params)},
        "env": {k: (env or {})[k] for k in sorted(env or {})},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class NotebookCache:
    """Executed notebooks under ``root`` (``<out>/.cache``), keyed by :func:`build_key` plus the
    notebook's name and source. ``read=False`` never restores (a forced execution) but still
    stores what it executes."""

    def __init__(self, root: Path, build_key: str, read: bool = True):
        self.root = Path(root)
        self.build_key = build_key
        self.read = read

    def key(self, nb_path: Path) -> str:
        return hashlib.sha256(f"{self.build_key}\0{nb_path.name}\0{notebook_digest(nb_path)}".encode()).hexdigest()

    def _entry(self, key: str) -> Path:
        return self.root / key[:2] / key

    def restore(self, nb_path: Path, key: str) -> bool:
        """Put the cached executed notebook (and its figure CSVs) in place of ``nb_path``;
        False when there is no complete entry."""
        entry = self._entry(key)
        stored = entry / "notebook.ipynb"
        if not self.read or not stored.is_file():
            return False
        figures = sorted((entry / _FIGURE_DIR).glob("*.csv")) if (entry / _FIGURE_DIR).is_dir() else []
        shutil.copyfile(stored, nb_path)
        if figures:
            target = nb_path.parent / _FIGURE_DIR
            target.mkdir(exist_ok=True)
            for f in figures:
                shutil.copyfile(f, target / f.name)
        return True

    def store(self, nb_path: Path, key: str) -> bool:
        """Store an executed notebook and the figure CSVs it links to. Written to a temporary
        folder and renamed, so a half-written entry is never read. False (nothing stored) when
        a linked CSV is missing."""
        text = nb_path.read_text(encoding="utf-8")
        names = sorted(set(_FIGURE_LINK.findall(text)))
        source_dir = nb_path.parent / _FIGURE_DIR
        if any(not (source_dir / n).is_file() for n in names):
            return False
        entry = self._entry(key)
        if entry.is_dir():
            shutil.rmtree(entry)  # a forced re-execution replaces the entry
        tmp = entry.with_name(entry.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        (tmp / _FIGURE_DIR).mkdir(parents=True)
        shutil.copyfile(nb_path, tmp / "notebook.ipynb")
        for n in names:
            shutil.copyfile(source_dir / n, tmp / _FIGURE_DIR / n)
        tmp.rename(entry)
        return True
