"""Crash safety of the build: its errors, the atomic publish of ``<out>/html`` (a versioned
folder behind a symlink swapped in one rename), one build per output folder (:class:`BuildLock`,
a pid file held with ``flock``), and clean interruption (SIGINT / SIGTERM stop the workers and
kernels, which run in the build's process group and die with it).

Place in the flow: calaim.book.build runs its steps inside these guards; nothing here
computes or shows a number.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], None]


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def problem_lines(exc: BaseException) -> list[str]:
    """Human-readable problems carried by a reader/validator exception."""
    problems = getattr(exc, "problems", None) or getattr(exc, "errors", None)
    if problems and not isinstance(problems, str):
        return [str(p) for p in problems]
    return [str(exc)] if str(exc) else []


class BuildError(RuntimeError):
    """One step of the build failed; ``step`` names it."""

    def __init__(self, step: str, message: str):
        super().__init__(f"{step}: {message}")
        self.step = step
        self.message = message


def publish(html: Path, out: Path) -> Path:
    """Make ``html`` the book at ``<out>/html`` in one atomic step.

    ``<out>/html`` is a symlink to a versioned folder ``<out>/.html-<n>``. The new pages are
    moved to the next version, a new symlink is made beside the old one and renamed over it
    (``os.replace``, one ``rename(2)``): a crash at any instant leaves ``<out>/html`` pointing at
    the complete old book or the complete new one. A legacy real folder at ``<out>/html`` is
    swapped with the new symlink by ``renameat2(RENAME_EXCHANGE)`` where the system has it
    (Linux), else by two renames. Older versions are deleted afterwards."""
    out.mkdir(parents=True, exist_ok=True)
    final = out / "html"
    version = out / f"{VERSION_PREFIX}{_next_version(out)}"
    try:
        html.rename(version)
        link = out / f".html-link-{os.getpid()}"
        link.unlink(missing_ok=True)
        os.symlink(version.name, link)  # relative: the folder can be moved or mounted elsewhere
        if final.is_dir() and not final.is_symlink():
            old = link
            if not _exchange(link, final):  # legacy folder: keep the old book until the swap
                old = out / f".html-old-{os.getpid()}"
                final.rename(old)
                os.replace(link, final)
            shutil.rmtree(old, ignore_errors=True)  # the legacy folder, now under the other name
        else:
            os.replace(link, final)
    except OSError as exc:
        raise BuildError("publish", f"could not move the new book into place: {exc.strerror or exc}") from exc
    remove_old_versions(out)
    return final


VERSION_PREFIX = ".html-"


def _next_version(out: Path) -> int:
    numbers = [
        int(p.name[len(VERSION_PREFIX) :])
        for p in out.glob(VERSION_PREFIX + "*")
        if p.name[len(VERSION_PREFIX) :].isdigit()
    ]
    return max(numbers, default=0) + 1


def current_version(out: Path) -> Path | None:
    """The versioned folder ``<out>/html`` points at (None for no book or a legacy folder)."""
    final = out / "html"
    if final.is_symlink():
        return (out / os.readlink(final)).resolve()
    return None


def remove_old_versions(out: Path) -> None:
    """Delete every ``.html-*`` folder or link of ``out`` except the one ``<out>/html`` points at."""
    keep = current_version(out)
    for p in out.glob(VERSION_PREFIX + "*"):
        if keep is not None and p.resolve() == keep:
            continue
        if p.is_symlink() or p.is_file():
            p.unlink(missing_ok=True)
        else:
            shutil.rmtree(p, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    """Atomically swap two names with Linux's renameat2(RENAME_EXCHANGE); False where unsupported."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    ok = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0
    return ok


def has_book(out: Path) -> bool:
    """Whether ``<out>/html`` holds a book (an ``index.html``)."""
    return (Path(out) / "html" / "index.html").is_file()




# ---------------------------------------------------------------------------- reliability
# One build per output folder (a lock), an output folder that can be written, a data file
# that is a regular file, and a build that stops cleanly on SIGINT / SIGTERM: its pool
# workers, their kernels and jupyter-book die with it and the staging folder is removed.
LOCK_NAME = ".build.lock"


class BuildInterrupted(BuildError):
    """The build received SIGINT or SIGTERM."""

    def __init__(self, signum: int):

        self.signum = signum
        name = signal.Signals(signum).name
        super().__init__("interrupted", f"stopped by {name}")


def check_out(out: Path) -> None:
    """Create ``out`` if needed; a BuildError (no traceback) when it is a file or not writable."""
    shown = _show(out)
    if out.exists() and not out.is_dir():
        raise BuildError("output", f"{shown} is a file, not a folder: give --out a folder (new or existing)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BuildError("output", f"cannot create the output folder {shown}: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BuildError("output", f"the output folder {shown} is not writable: give --out a folder you can write to")


class BuildLock:
    """``<out>/.build.lock``: an exclusive ``flock`` holding the builder's pid.

    The kernel releases a flock when its holder dies (even by kill -9), so a lock file whose
    flock can be taken is stale: it is taken over (and said so). A second live build refuses
    with the holder's pid. The file is removed on release; a taker checks that the file it
    locked is still the one at the path (a release may have removed it in between)."""

    def __init__(self, out: Path, log: Log = _stderr):
        self.path = out / LOCK_NAME
        self.log = log
        self.fd: int | None = None

    def __enter__(self) -> BuildLock:
        import fcntl

        for _ in range(10):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode("ascii", "replace").strip() or "unknown"
                os.close(fd)
                raise BuildError(
                    "lock",
                    f"another build (pid {holder}) is writing into {_show(self.path.parent)}; wait for it to finish, "
                    "or build into another folder with --out",
                ) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(self.path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # released and removed between our open and our flock: try again
                os.close(fd)
                continue
            stale = os.read(fd, 64).decode("ascii", "replace").strip()
            if stale and stale != str(os.getpid()):
                self.log(f"        cleared a stale lock of build pid {stale}, which is no longer running")
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            self.fd = fd
            return self
        raise BuildError("lock", f"could not take the lock {LOCK_NAME} in {_show(self.path.parent)}")

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            self.path.unlink(missing_ok=True)
            os.close(self.fd)  # closing releases the flock
            self.fd = None


def kill_children() -> None:
    """Kill every descendant of this process (pool workers, their kernels, jupyter-book).

    Kernels run in their own session (jupyter_client starts them so), so a process-group kill
    would miss them; walking the process tree does not. The one process spared is
    multiprocessing's resource tracker (started with ``spawn`` workers): it must outlive them to
    release their semaphores, and it exits by itself when this process does."""
    from multiprocessing import resource_tracker

    import psutil

    tracker = getattr(resource_tracker._resource_tracker, "_pid", None)
    try:
        children = [p for p in psutil.Process().children(recursive=True) if p.pid != tracker]
    except psutil.Error:
        return
    for child in children:
        with contextlib.suppress(psutil.Error):
            child.kill()
    psutil.wait_procs(children, timeout=3)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this (worker) process when the build dies, even by kill -9. Its
    kernel then exits by itself (ipykernel polls its parent, ``JPY_PARENT_PID``)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT and SIGTERM raise :class:`BuildInterrupted` in the main thread while the build runs
    (workers ignore SIGINT, so a Ctrl-C reaches only the build, which then stops them)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, _frame):
        raise BuildInterrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def check_data_file(path: Path) -> None:
    """A BuildError unless ``path`` is a regular file (:func:`calaim.data.io.check_regular`): a
    named pipe, or a link to /dev/zero, would block or never end when copied."""
    from calaim.data import io as calaim_io

    try:
        calaim_io.check_regular(path)
    except Exception as exc:  # noqa: BLE001 - a DataError
        raise BuildError("data", "\n".join(problem_lines(exc))) from None


def _hide_paths(text: str, *paths: Path) -> str:
    """``text`` with the given folders (staging, output) removed, so messages name files only."""
    for p in paths:
        for form in {str(p), str(p.resolve())}:
            text = text.replace(form + os.sep, "").replace(form, ".")
    return text




def _show(path: Path) -> str:
    """A path relative to the current directory when possible (shorter console lines)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
