"""The build evaluates the findings registry once (chapter.write_evaluated) and every chapter
reads that evaluation instead of evaluating its own sections again. It must give exactly what a
chapter computes for itself, and must not be used under other disclosure rules or weights."""

from __future__ import annotations

import shutil

import pandas as pd

from calaim.book import build, chapter


def _staged(tmp_path):
    data = build.default_data_path()
    copy = tmp_path / data.name
    shutil.copy2(data, copy)
    return copy, chapter.write_prepared(copy)


def _own_evaluation(path, **kwargs):
    """What a chapter computes without a stored evaluation (evaluating section by section)."""
    ctx = chapter.setup(str(path), **kwargs)
    ctx._evaluated = None
    sections = list(dict.fromkeys(ctx.evaluated()["section"]))
    parts = [ctx.evaluated([s]) for s in sections]  # the chapters' own order of work
    return ctx.evaluated(), parts


def test_stored_evaluation_equals_the_chapters_own(tmp_path):
    path, prepared = _staged(tmp_path)
    chapter.write_evaluated(prepared, 30)
    ctx = chapter.setup(str(path))
    assert ctx._evaluated is not None  # read from the build's copy
    shared = ctx.evaluated()
    own, parts = _own_evaluation(path)
    pd.testing.assert_frame_equal(shared, own)
    for part in parts:
        section = part["section"].iloc[0]
        pd.testing.assert_frame_equal(ctx.evaluated([section]), part)


def test_stored_evaluation_is_ignored_under_other_rules(tmp_path):
    path, prepared = _staged(tmp_path)
    chapter.write_evaluated(prepared, 30)
    assert chapter.setup(str(path), min_base=50)._evaluated is None
    assert chapter.setup(str(path), public=True)._evaluated is None
    chapter.write_evaluated(prepared, 30, public=True)
    ctx = chapter.setup(str(path), public=True)
    assert ctx._evaluated is not None
    own, _ = _own_evaluation(path, public=True)
    pd.testing.assert_frame_equal(ctx.evaluated(), own)
