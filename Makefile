# calaim-book: build, test and tidy. GNU make.
#
#   make book                     build the book on the default (synthetic) data -> _build/html
#   make book DATA=path/file.sav  build it on your own data (.csv .parquet .sav .dta)
#   make book CROSSWALK=map.csv   rename a vendor file's columns first (draft one: calaim crosswalk FILE --out map.csv)
#   make book PUBLIC=1            a public release: counts below 11 suppressed too
#   make book WEIGHT=column       weight shares and means by a survey-weight column of the data
#   make book USER_MISSING=missing  treat SPSS/Stata declared-missing codes as missing even where the codebook lists them
#   make book DATA=new.sav COMPARE_DATA=old.sav   test change against the previous wave's microdata
#                                  (COMPARE_CROSSWALK=map.csv: the old file's own crosswalk)
#   make test                     unit tests, then nbval on the committed chapter notebooks
#   make check-html               open every page of the built book in headless Chromium (OUT=dir: that book)
#   make serve                    serve the built book on http://127.0.0.1:8000/ (PORT=n; OUT=dir: that book)
#   make pdf                      the whole book as one PDF: _build/pdf/calaim-book.pdf (builds the book if missing)
#
# Both install what they need into .venv first (from requirements-lock.txt).

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
.DELETE_ON_ERROR:

PYTHON_BOOT ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV        ?= .venv
PY          := $(VENV)/bin/python
STAMP       := $(VENV)/.calaim-installed
OUT         ?=
JOBS        ?=
DATA        ?=
WAVE        ?=
MIN_BASE    ?=
PUBLIC      ?=
CROSSWALK   ?=
WEIGHT      ?=
COMPARE_DATA ?=
COMPARE_CROSSWALK ?=
USER_MISSING ?=
PORT        ?= 8000
NOTEBOOKS   := $(sort $(wildcard chapters/*.ipynb))
# one BLAS / OpenMP thread per process, as the book's kernels run (calaim.book.build.KERNEL_ENV):
# the tests already run one process per core
ONE_THREAD  := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

BUILD_ARGS :=
ifneq ($(strip $(OUT)),)
BUILD_ARGS += --out $(OUT)
endif
ifneq ($(strip $(JOBS)),)
BUILD_ARGS += --jobs $(JOBS)
endif
ifneq ($(strip $(DATA)),)
BUILD_ARGS += --data $(DATA)
endif
ifneq ($(strip $(WAVE)),)
BUILD_ARGS += --wave $(WAVE)
endif
ifneq ($(strip $(MIN_BASE)),)
BUILD_ARGS += --min-base $(MIN_BASE)
endif
ifneq ($(strip $(CROSSWALK)),)
BUILD_ARGS += --crosswalk $(CROSSWALK)
endif
ifneq ($(strip $(WEIGHT)),)
BUILD_ARGS += --weight $(WEIGHT)
endif
ifneq ($(strip $(COMPARE_DATA)),)
BUILD_ARGS += --compare-data $(COMPARE_DATA)
endif
ifneq ($(strip $(COMPARE_CROSSWALK)),)
BUILD_ARGS += --compare-crosswalk $(COMPARE_CROSSWALK)
endif
ifneq ($(strip $(USER_MISSING)),)
BUILD_ARGS += --user-missing $(USER_MISSING)
endif
ifneq ($(filter-out 0 no false,$(strip $(PUBLIC))),)
BUILD_ARGS += --public
endif

# Keep caches and matplotlib's font cache out of the work tree and quiet.
export PYTHONDONTWRITEBYTECODE := 1
export MPLBACKEND := Agg
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help venv install book check-html serve pdf test bench refresh clean lock

help:  ## list the targets
	@echo "calaim-book targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | awk -F'\t' '{printf "  make %-10s %s\n", $$1, $$2}'
	@echo "variables: DATA=path (book data), CROSSWALK=map.csv, WAVE=label, MIN_BASE=n, PUBLIC=1 (counts < 11 suppressed), WEIGHT=column, COMPARE_DATA=old file, COMPARE_CROSSWALK=map.csv, USER_MISSING=answer|missing, OUT=dir (default _build, or _build/<file> with DATA), JOBS=n"

venv: $(STAMP)  ## create .venv and install the pinned environment (instant when up to date)

install: $(STAMP)  ## same as venv

$(STAMP): requirements-lock.txt requirements.txt pyproject.toml
	@test -n "$(PYTHON_BOOT)" || { echo "error: python3.11 (or python3) not found on PATH" >&2; exit 1; }
	@$(PYTHON_BOOT) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "error: Python >= 3.11 is needed, found " + sys.version.split()[0])'
	@test -x $(PY) || { echo "creating $(VENV) with $(PYTHON_BOOT)"; $(PYTHON_BOOT) -m venv $(VENV); }
	$(PY) -m pip install --quiet -r requirements-lock.txt
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $@

book: $(STAMP)  ## build the book into _build/html (DATA=path to use your own data)
	$(PY) -m calaim.cli build $(BUILD_ARGS)

# The book that check-html opens: $(OUT)/html, else _build/html; screenshots go next to it.
CHECK_OUT := $(if $(strip $(OUT)),$(OUT),_build)

check-html: $(STAMP)  ## check the built book in headless Chromium: images, links, JS errors, empty figures
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	  echo "check-html: installing Debian's chromium and chromium-driver"; \
	  if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; \
	  else echo "error: chromium is missing; as root: apt-get install chromium chromium-driver" >&2; exit 1; fi; \
	  $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends chromium chromium-driver; \
	fi
	$(PY) -m calaim.book.check_html $(CHECK_OUT)/html --screenshots $(CHECK_OUT)/screenshots

# Search excerpts need http:// (a file:// page may not fetch the pages it quotes), hence a local server.
serve:  ## serve the built book on http://127.0.0.1:$(PORT)/ (PORT=n, OUT=dir); Ctrl-C stops it
	@test -f $(CHECK_OUT)/html/index.html || { echo "error: no book in $(CHECK_OUT)/html: run make book first" >&2; exit 1; }
	@echo "serving $(CHECK_OUT)/html on http://127.0.0.1:$(PORT)/ (Ctrl-C stops it)"
	$(PYTHON_BOOT) -m http.server $(PORT) --bind 127.0.0.1 --directory $(CHECK_OUT)/html

# The PDF is printed from the built HTML (build it first when it is missing) by headless Chromium.
pdf: $(STAMP)  ## the whole book as one PDF: $(OUT or _build)/pdf/calaim-book.pdf, linked from the front page
	@test -f $(CHECK_OUT)/html/index.html || $(MAKE) book
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { echo "error: make pdf needs chromium and chromedriver (make check-html installs them)" >&2; exit 1; }
	$(PY) -m calaim.cli pdf $(CHECK_OUT)

# TEST_JOBS: pytest-xdist workers (default: one per core); files stay whole on one worker
# (--dist loadfile), so module fixtures are built once and a notebook's cells run in order.
TEST_JOBS ?= auto
test: $(STAMP)  ## lint (ruff), the unit tests, then nbval on the committed notebooks
	$(PY) -m ruff check .
	$(ONE_THREAD) $(PY) -m pytest -p no:cacheprovider -n $(TEST_JOBS) --dist loadfile tests
ifneq ($(NOTEBOOKS),)
	$(ONE_THREAD) $(PY) -m pytest -p no:cacheprovider -p calaim.book.nbvalfork -n $(TEST_JOBS) --dist loadfile --nbval --nbval-current-env $(NOTEBOOKS)
else
	@echo "nbval: no committed chapters/*.ipynb yet, nothing to check"
endif

bench: $(STAMP)  ## time the build: execution vs HTML, 1x vs 100x data, a no-kernel floor; peak RSS on 1M completes
	$(PY) benchmarks/bench_build.py
	$(PY) benchmarks/bench_cache.py
	$(PY) benchmarks/bench_synth.py
	$(PY) benchmarks/bench_memory.py

refresh: $(STAMP)  ## re-execute the committed chapters on the default data (after changing code)
	$(PY) -m calaim.cli refresh

clean:  ## remove the built book and caches (keeps .venv)
	rm -rf _build $(OUT) .pytest_cache .ruff_cache
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

lock:  ## regenerate requirements-lock.txt from requirements.txt in a scratch venv
	rm -rf .venv-lock
	$(PYTHON_BOOT) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -r requirements.txt
	{ echo "# Full, pinned environment of calaim-book (pip freeze of a working .venv, minus the project)."; \
	  echo "# Installed by \`make install\`; regenerate with \`make lock\`. Human-edited pins live in requirements.txt."; \
	  .venv-lock/bin/python -m pip freeze --all --exclude-editable | grep -v -E '^(pip|setuptools)=='; } > requirements-lock.txt
	rm -rf .venv-lock
