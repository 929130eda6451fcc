# Every target sets itself up: .venv is (re)built when missing or when pyproject.toml changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv package browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

# `make run`: the demo (KEEP=1 keeps its board up afterwards, until Ctrl-C); CONFIG=FILE: run.
run: $(STAMP)
	$(BIN)/releasewatch $(if $(CONFIG),run --config $(CONFIG),demo$(if $(KEEP), --keep-serving))

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

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

test: lint browser
	$(BIN)/python -m pytest

# The Lambda layer (build/package/layer/python) and both functions, as `sam build` makes them,
# for the template's python3.13 on arm64, without Docker or a Python 3.13; prints the sizes
# against Lambda's 250 MB limit (exit 1 when over).
package: $(STAMP)
	$(BIN)/python tools/package.py --out build/package

bench: $(STAMP)
	$(BIN)/python -m tests.bench

clean:
	rm -rf $(VENV) build *.egg-info shared/*.egg-info
