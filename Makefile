# The two commands of the README's Quick start. Each creates .venv if it is missing.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-slow lint bench docs notebooks clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

DEMO_STAMP := $(VENV)/.installed-base

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test,dask,notebooks,docs]"
	touch $(STAMP) $(DEMO_STAMP)

# the demo needs only the base package (no test, Dask or notebook extras)
$(DEMO_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)  ## predict <C_l> on the embedded defaults, write cl.csv + plot into ./cr-anisotropy-out/
	$(BIN)/cr-anisotropy predict

test: $(STAMP)  ## lint and the default test suite (slow tests excluded)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

test-slow: $(STAMP)  ## only the long runs
	$(BIN)/python -m pytest -m slow

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)  ## throughput benchmarks, reported as ratios (never asserted)
	for script in benchmarks/*.py; do $(BIN)/python $$script || exit 1; done

docs: $(STAMP)  ## the documentation site -> docs/_build/html (warnings are errors)
	$(BIN)/python -m sphinx -b html -W --keep-going -q docs docs/_build/html

notebooks: $(STAMP)  ## write the paired .ipynb from the notebooks/NN_*.py sources (jupytext, outputs kept)
	$(BIN)/jupytext --sync notebooks/[0-9][0-9]_*.py

clean:
	rm -rf $(VENV) cr-anisotropy-out cr-anisotropy-fit .pytest_cache docs/_build docs/api/generated
