# Every target sets itself up from the lock. uv.lock pins every Python dependency, direct and
# transitive, runtime and test tools, with hashes; .uv/ holds a hash-pinned uv (installed with
# pip), and uv syncs .venv from the lock and nothing else. `make lock` is the one deliberate way
# to upgrade anything.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV := .uv/bin/uv
export UV_PROJECT_ENVIRONMENT := $(abspath $(VENV))
export UV_PYTHON := $(PY)
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: run test lint docs bench year clean venv runtime package browser lock

$(UV): tools/uv-requirements.txt
	rm -rf .uv
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --require-hashes \
		--target .uv -r tools/uv-requirements.txt

# What the watchdog needs at run time, nothing more (make run). --inexact leaves the test
# tools of an earlier `make test` in place rather than uninstalling them.
runtime: $(UV)
	$(UV) sync --locked --no-dev --inexact --quiet

# Runtime and test tools, exactly as locked: anything else in .venv is removed.
venv: $(UV)
	$(UV) sync --locked --quiet

# `make run`: the demo (KEEP=1 keeps its board up afterwards, until Ctrl-C); CONFIG=FILE: run.
run: runtime
	$(BIN)/releasewatch $(if $(CONFIG),run --config $(CONFIG),demo$(if $(KEEP), --keep-serving))

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# The documentation site (docs/, mkdocs.yml) into build/site; --strict fails on a broken link or
# anchor. `docs` must stay .PHONY: the docs/ folder would otherwise make it look up to date.
docs: venv
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site

# The browser tests (tests/browser) drive Debian's Chromium with Playwright's driver (from the
# playwright wheel; never `playwright install`, which downloads a browser). As root (CI) the
# package is installed when missing; otherwise this stops and says what to install.
CHROMIUM := /usr/bin/chromium

browser:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "make: installing Debian's chromium for the browser tests"; \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -q --no-install-recommends chromium fonts-liberation; } || \
		{ echo "make: apt-get could not install chromium (see above); the browser tests" \
			"need it at $(CHROMIUM)" >&2; exit 1; }; \
	else \
		echo "make: the browser tests need Chromium at $(CHROMIUM). Install it:" >&2; \
		echo "    sudo apt-get install --no-install-recommends chromium fonts-liberation" >&2; \
		exit 1; \
	fi
	@test -x $(CHROMIUM) || { echo "make: $(CHROMIUM) still missing after apt-get" >&2; exit 1; }

# Every check, in parallel (pytest-xdist): one worker more than the cores, because some tests
# wait on real time (a board refreshing itself, a calendar trickling) and leave a core idle.
# Tests go out two at a time (--dist load --maxschedchunk 2), in collection order, and
# tests/conftest.py puts the ones marked slow first: the long ones start at once, spread over the
# workers, and the short ones fill the gaps. (xdist's default first hands each worker a quarter
# of the suite in one block: all the slow tests on one worker.)
WORKERS ?= $(shell echo $$(( $$(nproc) + 1 )))
test: lint browser
	$(BIN)/python -m pytest -n $(WORKERS) --dist load --maxschedchunk 2

# Re-resolve (UPGRADE=1 takes the newest allowed versions; PACKAGE=name upgrades just one),
# then regenerate the Lambda layer's pins (shared/requirements.txt) from the new lock.
lock: $(UV)
	$(UV) lock $(if $(UPGRADE),--upgrade) $(if $(PACKAGE),--upgrade-package $(PACKAGE))
	$(PY) tools/layer_requirements.py --uv $(UV) --write

# The Lambda layer (build/package/layer/python) and both functions, as `sam build` makes them,
# for the template's python3.13 on arm64, without Docker or a Python 3.13; prints the sizes
# against Lambda's 250 MB limit (exit 1 when over).
package: runtime
	$(BIN)/python tools/package.py --out build/package

bench: venv
	$(BIN)/python -m tests.bench

# A simulated year (3,200 releases, 300 due in one minute) through the local watchdog and the AWS
# poller on moto: detection, requests per host, memory, verdict accuracy, the cost a month.
# YEAR_ARGS="--scale 0.1" (or --days N) for a smaller one; --help for the rest.
year: venv
	$(BIN)/python -m tools.simyear $(YEAR_ARGS)

clean:
	rm -rf $(VENV) .uv build *.egg-info shared/*.egg-info
