# make demo: the book's section 3.2 experiment.  make test: the test suite.
# Each sets up .venv on first use: torch==2.13.0 first (the CPU build), then linearnet.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $@

demo: $(BIN)/.installed
	$(BIN)/linearnet train

test: $(BIN)/.installed
	$(BIN)/python -m pytest -q

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_sgd.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
