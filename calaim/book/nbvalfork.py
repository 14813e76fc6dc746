"""pytest plugin for the nbval run of ``make test``: kernels forked from the warm test worker.

Place in the flow: tests -> **nbval** over the committed chapters (``pytest -p
calaim.book.nbvalfork --nbval ...``). nbval starts one kernel per notebook through jupyter_client,
so the same kernel provisioner the build uses (:mod:`calaim.book.forkkernel`) applies: each
pytest worker imports pandas, statsmodels and the rest once, under a kernel's surroundings, and
every notebook's kernel is forked from it instead of importing them again. Outputs are those of
a fresh kernel (``tests/test_forkkernel.py``); ``CALAIM_FORK_KERNELS=0`` turns it off.

Only processes that run notebooks install it: the xdist workers, or pytest itself without
xdist, and only when ``--nbval`` (or ``--nbval-lax``) is given.
"""

from __future__ import annotations


def pytest_configure(config) -> None:
    option = config.option
    if not (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)):
        return
    distributed = bool(getattr(option, "numprocesses", None)) and not hasattr(config, "workerinput")
    if distributed:  # the xdist controller runs no notebook
        return
    from calaim.book import forkkernel

    forkkernel.install()
