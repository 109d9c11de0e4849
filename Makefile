# Quick start:  make demo   (set up, simulate a province, run the monthly job)
#               make test   (set up, run the whole test suite; what CI runs)
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup demo test bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $@

demo: setup
	PATH="$(abspath $(BIN)):$$PATH" bash scripts/demo.sh

test: setup
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

bench: setup
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) demo riskgrade-data .pytest_cache
