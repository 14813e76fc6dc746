"""Faults of the build (issue 14): one build per output folder, atomic publish, clean interruption."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from test_build import _mini_source

from calaim import ROOT
from calaim.book import build, forkkernel


# ---------------------------------------------------------------------------- lock
def test_second_build_refuses_while_the_first_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with build.BuildLock(out):
        assert (out / build.LOCK_NAME).read_text().strip() == str(os.getpid())
        with pytest.raises(build.BuildError) as err:
            build.build(out=out, source=tmp_path / "nowhere")
    assert err.value.step == "lock" and f"pid {os.getpid()}" in err.value.message
    assert not (out / build.LOCK_NAME).exists()  # released and removed


def test_stale_lock_of_a_killed_build_is_cleared(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    code = (
        "import pathlib, time\nfrom calaim.book import build\n"
        f"with build.BuildLock(pathlib.Path({str(out)!r})):\n    time.sleep(60)"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)})
    for _ in range(100):
        if (out / build.LOCK_NAME).exists() and (out / build.LOCK_NAME).read_text().strip():
            break
        time.sleep(0.1)
    with pytest.raises(build.BuildError, match=f"pid {holder.pid}"):
        build.BuildLock(out).__enter__()
    holder.kill()  # kill -9: the lock file stays, its flock goes
    holder.wait()
    assert (out / build.LOCK_NAME).exists()
    lines: list[str] = []
    with build.BuildLock(out, log=lines.append):
        pass
    assert lines == [f"        cleared a stale lock of build pid {holder.pid}, which is no longer running"]


# ---------------------------------------------------------------------------- publish
def _pages(folder: Path, text: str) -> Path:
    folder.mkdir(parents=True)
    (folder / "index.html").write_text(text, encoding="utf-8")
    return folder


def test_publish_swaps_a_symlink_and_keeps_one_version(tmp_path):
    out = tmp_path / "out"
    _pages(out / "html", "legacy folder")  # a book published by the old two-rename code
    build.publish(_pages(tmp_path / "new1", "one"), out)
    assert (out / "html").is_symlink() and (out / "html" / "index.html").read_text() == "one"
    build.publish(_pages(tmp_path / "new2", "two"), out)
    assert (out / "html" / "index.html").read_text() == "two"
    assert sorted(p.name for p in out.iterdir()) == [".html-2", "html"]


def test_a_crash_during_publish_leaves_the_old_book(tmp_path, monkeypatch):
    out = tmp_path / "out"
    build.publish(_pages(tmp_path / "new1", "old book"), out)

    def crash(*args):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(build.os, "replace", crash)  # the one rename that switches books
    with pytest.raises(build.BuildError, match="publish"):
        build.publish(_pages(tmp_path / "new2", "new book"), out)
    assert (out / "html" / "index.html").read_text() == "old book"
    assert build.has_book(out)


# ---------------------------------------------------------------------------- interruption
def _descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _is_kernel(p: psutil.Process) -> bool:
    """A chapter kernel: started as ``python -m ipykernel_launcher`` or forked from its worker
    (then named ``ipykernel``, see :mod:`calaim.book.forkkernel`)."""
    try:
        return p.name() == forkkernel.KERNEL_NAME or "ipykernel" in " ".join(p.cmdline())
    except psutil.Error:  # gone, or a zombie, meanwhile
        return False


def _slow_build(tmp_path: Path, flag: Path) -> tuple[subprocess.Popen, Path, list[psutil.Process]]:
    """A build whose one notebook sleeps while ``flag`` exists; returned once its kernel runs."""
    src = _mini_source(tmp_path)
    slow = src / "chapters" / "check.ipynb"
    code = f"import os, time; time.sleep(120 if os.path.exists({str(flag)!r}) else 0)\\n"
    slow.write_text(slow.read_text(encoding="utf-8").replace('"source": [', f'"source": ["{code}", ', 1))
    flag.write_text("sleep", encoding="utf-8")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "calaim.cli", "build", "--source", str(src), "--out", str(out), "--jobs", "1"]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    deadline = time.time() + 120
    while time.time() < deadline and not any(_is_kernel(p) for p in _descendants(proc.pid)):
        time.sleep(0.2)
    children = _descendants(proc.pid)
    assert children, "the build started no worker"
    return proc, out, children


@pytest.mark.book
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_the_build_cleanly(tmp_path, sig):
    proc, out, children = _slow_build(tmp_path, tmp_path / "sleep.flag")
    t0 = time.perf_counter()
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=30)
    assert time.perf_counter() - t0 < 5
    assert proc.returncode == 128 + sig, err
    assert "Traceback" not in err
    assert f"build stopped by {signal.Signals(sig).name}" in err
    gone, alive = psutil.wait_procs(children, timeout=3)
    assert not alive, [p.cmdline() for p in alive]
    assert not (out / ".staging-html").exists()
    assert not (out / build.LOCK_NAME).exists()


@pytest.mark.book
def test_after_kill_9_workers_die_and_the_next_build_succeeds(tmp_path):
    flag = tmp_path / "sleep.flag"
    proc, out, children = _slow_build(tmp_path, flag)
    proc.kill()
    proc.communicate(timeout=30)
    gone, alive = psutil.wait_procs(children, timeout=10)  # workers: PDEATHSIG; kernels: their parent poller
    assert not alive, [p.cmdline() for p in alive]
    assert (out / ".staging-html").exists()  # left behind by the killed build
    flag.unlink()
    src = (
        tmp_path / "src"
        if (tmp_path / "src").is_dir()
        else next(p for p in tmp_path.iterdir() if (p / "_toc.yml").exists())
    )
    result = build.build(out=out, source=src, log=lambda _m: None)
    assert (result.html / "index.html").is_file()
    assert not (out / ".staging-html").exists()
