"""Kernels forked from a warm worker, so that a notebook does not pay for Python's imports.

Place in the flow: book build -> **execute notebooks** (papermill, one kernel per chapter).

A fresh kernel starts a new interpreter and imports pandas, scipy, statsmodels, matplotlib,
seaborn and :mod:`calaim` again: about 3 s of CPU per notebook on the 2-core machine, more than
most chapters' own code. A build worker instead imports them once (:func:`warm`) and starts each
kernel by ``os.fork``: the child is the kernel jupyter_client asked for (the same ipykernel
command line, connection file, working directory and environment) with the modules already in
memory. It is registered as a jupyter_client *kernel provisioner* (:func:`install`), the plugin
point that decides how a kernel process is launched; the ZMQ channels, papermill and nbclient are
unchanged.

What the child shares with its worker, and why outputs do not change:

* imported modules and their import-time state only. The worker runs no notebook code, draws no
  figure and sets no option before forking, and each kernel is forked from that clean state, so
  no chapter sees another's ``pd.set_option``, rcParams or globals;
* the random state of :mod:`random` and numpy: every chapter seeds what it draws;
* the worker's signal dispositions, as a kernel started by ``Popen`` inherits them.

Like ``Popen(start_new_session=True)`` the kernel gets a session of its own; it is also asked to
die with its worker (``PR_SET_PDEATHSIG``), which dies with the build. Anything that is not a
plain ipykernel of this interpreter (another kernel, another Python) is launched by the usual
``Popen``. ``CALAIM_FORK_KERNELS=0`` in the build's environment turns forking off.
"""

from __future__ import annotations

import functools
import importlib
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

from jupyter_client.provisioning import KernelProvisionerFactory, LocalProvisioner

PROVISIONER_NAME = "calaim-fork"
#: the process name a forked kernel takes (``ps -o comm``, ``top``, psutil's ``name()``): its
#: command line is still its worker's, since a fork does not exec
KERNEL_NAME = "ipykernel"

#: what a chapter kernel imports anyway: imported once per worker, before any kernel is forked
WARM_MODULES = (
    "numpy",
    "pandas",
    "scipy.stats",
    "statsmodels.api",
    "statsmodels.formula.api",
    "matplotlib",
    "matplotlib.pyplot",
    "seaborn",
    "IPython",
    "ipykernel.kernelapp",
    "matplotlib_inline.backend_inline",
    "calaim.book.chapter",
    "calaim.book.display",
    "calaim.book.plots",
    "calaim.stats.claims",
    "calaim.stats.models",
    "calaim.stats.mediation",
)


class _KernelShell:
    """What ``get_ipython()`` returns inside a kernel, as far as import-time checks look."""

    kernel = True


def warm(modules: tuple[str, ...] = WARM_MODULES) -> None:
    """Import ``modules`` into this process (a module that is not installed is skipped), as
    they would be imported inside a kernel: some libraries look at their surroundings once, at
    import (pandas sets ``display.max_columns`` to 20 under a kernel, to 0, "fit the terminal",
    in a plain interpreter), so ``get_ipython()`` answers as a kernel's shell while they load."""
    import builtins

    had = hasattr(builtins, "get_ipython")
    if not had:
        builtins.get_ipython = _KernelShell  # type: ignore[attr-defined]
    try:
        for name in modules:
            try:
                importlib.import_module(name)
            except ImportError:
                continue
    finally:
        if not had:
            del builtins.get_ipython  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=1)
def _fresh_path() -> tuple[str, ...]:
    """``sys.path`` of a new interpreter as ipykernel_launcher leaves it (without the entry of
    the script or working directory, which the launcher removes); asked once per worker."""
    import json

    out = subprocess.run(
        [sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
        capture_output=True, text=True, check=True,
    )
    return tuple(json.loads(out.stdout))


def enabled() -> bool:
    """Whether kernels are forked: on Linux (fork and PR_SET_PDEATHSIG), unless
    ``CALAIM_FORK_KERNELS=0``."""
    return sys.platform.startswith("linux") and os.environ.get("CALAIM_FORK_KERNELS", "1") != "0"


def install() -> bool:
    """Make forked kernels the default launch of this process's jupyter_client (idempotent),
    after warming the imports. Returns whether forking is on."""
    if not enabled():
        return False
    factory = KernelProvisionerFactory.instance()
    if factory.default_provisioner_name != PROVISIONER_NAME:
        from importlib.metadata import EntryPoint

        if "pandas" in sys.modules:
            # imported outside a kernel's surroundings (a worker forked from a process that had
            # loaded it): its display defaults are a terminal's, so a forked kernel would print
            # tables differently from a fresh one. Start kernels the usual way instead.
            return False

        warm()
        _fresh_path()
        factory.provisioners[PROVISIONER_NAME] = EntryPoint(
            name=PROVISIONER_NAME, value=f"{__name__}:ForkProvisioner", group="jupyter_client.kernel_provisioners"
        )
        factory.default_provisioner_name = PROVISIONER_NAME
    return True


def is_this_ipykernel(cmd: list[str]) -> bool:
    """``cmd`` starts ipykernel with this very interpreter (``python -m ipykernel_launcher ...``)."""
    if len(cmd) < 3 or cmd[1:3] != ["-m", "ipykernel_launcher"]:
        return False
    import shutil

    exe = shutil.which(cmd[0]) or cmd[0]
    return os.path.realpath(exe) == os.path.realpath(sys.executable)


class ForkedKernel:
    """The part of ``subprocess.Popen``'s interface that :class:`LocalProvisioner` uses, for a
    kernel this process forked."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(str(self.pid), timeout)
            time.sleep(0.02)
        return self.returncode  # type: ignore[return-value]

    def send_signal(self, signum: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, signum)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkProvisioner(LocalProvisioner):
    """:class:`LocalProvisioner` whose kernels are forked from this (warm) process."""

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        if not is_this_ipykernel(cmd):
            return await super().launch_kernel(cmd, **kwargs)
        scrubbed = LocalProvisioner._scrub_kwargs(kwargs)
        env = dict(scrubbed.get("env") or os.environ)
        cwd = scrubbed.get("cwd")
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:  # the kernel
            _run_kernel(cmd, env, cwd)
        self.process = ForkedKernel(pid)
        self.pid = pid
        self.pgid = pid  # the child's own session (os.setsid)
        self.cwd = kwargs.get("cwd", pathlib.Path.cwd())
        return self.connection_info


def _run_kernel(cmd: list[str], env: dict[str, str], cwd: str | None) -> None:
    """In the forked child: become the kernel ``cmd`` describes; never returns."""
    code = 1
    try:
        os.setsid()
        parent = os.getppid()
        if sys.platform.startswith("linux"):
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
            libc.prctl(15, ctypes.c_char_p(KERNEL_NAME.encode()))  # PR_SET_NAME: what ps and top show
            if os.getppid() != parent:  # the worker died while we forked
                os._exit(1)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.close(devnull)
        if cwd:
            os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env)
        os.environ["JPY_PARENT_PID"] = str(parent)
        sys.path[:] = list(_fresh_path())
        import asyncio

        asyncio.set_event_loop(asyncio.new_event_loop())  # never the worker's loop
        import importlib.util

        from ipykernel import kernelapp

        sys.argv = [importlib.util.find_spec("ipykernel_launcher").origin, *cmd[3:]]
        kernelapp.launch_new_instance(argv=cmd[3:])
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    except BaseException:  # noqa: BLE001 - report, then leave without the worker's cleanup
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)
