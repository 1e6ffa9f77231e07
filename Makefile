# make demo: the book's section 3.2 experiment.   make test: lint, types and the test suite (what CI runs).
# Each sets up .venv on first use: torch==2.13.0 first (the CPU build), then linearnet with its extras.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
SOURCES := src tests benchmarks

.PHONY: demo test test-all lint fmt typecheck bench clean

$(BIN)/.installed: pyproject.toml
	@echo "setting up $(VENV): torch 2.13.0 (CPU build), then linearnet and its test tools (about 1.9 GB, 1-2 minutes)"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --progress-bar off torch==2.13.0
	@echo "torch installed; now linearnet[test,bench]"
	$(BIN)/python -m pip install --quiet --progress-bar off -e '.[test,bench]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/linearnet train

# lint, format check, types, then the tests (slow ones left out) with a per-test timeout and a coverage floor
test: lint typecheck
	$(BIN)/python -m pytest -m "not slow"

# everything, the slow tests (large files) included
test-all: lint typecheck
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check $(SOURCES)
	$(BIN)/ruff format --check $(SOURCES)

typecheck: $(BIN)/.installed
	$(BIN)/mypy

fmt: $(BIN)/.installed
	$(BIN)/ruff check --fix $(SOURCES)
	$(BIN)/ruff format $(SOURCES)

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_sgd.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .mypy_cache .ruff_cache .coverage
