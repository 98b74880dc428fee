# Two entry points for a fresh machine with Python 3.11+:
#   make run   -> set up .venv and start the dashboard
#   make test  -> set up .venv and run every test
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	@# Bring the "All trials" store up to date first (only changed records are read); the app
	@# would build it on first use anyway, so a failure here does not stop the dashboard.
	-$(BIN)/python -m dashboard build data
	$(BIN)/streamlit run dashboard/app.py

test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/ruff check dashboard tests bench
	$(BIN)/ruff format --check dashboard tests bench

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .pytest_cache
