# Every target sets itself up: .venv is (re)built when missing or when pyproject.toml changed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean venv package

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/releasewatch $(if $(CONFIG),run --config $(CONFIG),demo)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint
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
