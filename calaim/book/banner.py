"""The site-wide data banner: every page of the book says, at its top, which data it shows.

Where it sits: build (data step) -> **banner** -> the staged ``_config.yml`` -> jupyter-book. The
build knows which file the chapters run on, so it writes the banner into the staged copy of
``_config.yml`` (``html.announcement``, which sphinx-book-theme shows above every page) before the
data are prepared: on the synthetic default (or any file the generator wrote) the banner says the
data are synthetic; on another file it names that file. ``make check-html`` fails on a page
without it (:mod:`calaim.book.check_html`).

:func:`banner_html` is pure; :func:`stage_banner` reads and writes the staged configuration only.
"""

from __future__ import annotations

import html
from pathlib import Path

#: the class of the banner's element, which check_html looks for on every page
BANNER_CLASS = "calaim-data-banner"


def banner_html(data_name: str | None, synthetic: bool) -> str:
    """The banner's HTML: synthetic data, the file ``data_name``, or no data at all.

    It must not start with ``http``: the theme would then fetch it from that address."""
    if data_name is None:
        kind, text = "none", "No data file: this build of the book shows no results."
    elif synthetic:
        kind, text = (
            "synthetic",
            "Synthetic data: every number in this book is computed from a generated data set made to "
            "match the published figures. It checks the code, not CalAIM; it is not survey evidence.",
        )
    else:
        kind = "file"
        text = f"Data: every number in this book is computed from the file <code>{html.escape(data_name)}</code>."
    return f'<span class="{BANNER_CLASS}" data-kind="{kind}">{text}</span>'


def stage_banner(stage: Path, data_path: Path | None) -> str:
    """Write the banner for ``data_path`` (None: no data) into ``<stage>/_config.yml``; return it."""
    import yaml

    from calaim.book.chapter import is_synthetic

    data_path = Path(data_path) if data_path is not None else None
    synthetic = data_path is not None and data_path.is_file() and is_synthetic(data_path)
    text = banner_html(data_path.name if data_path is not None else None, synthetic)
    config_path = Path(stage) / "_config.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8")) or {}
    config.setdefault("html", {})["announcement"] = text
    config_path.write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return text
