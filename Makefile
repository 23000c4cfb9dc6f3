# The two commands of the README: `make demo` and `make test`. Both work on a fresh
# machine with Python 3.11+ and make; everything else is installed into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test lab bench clean-data help

help:
	@echo "make demo   build the demo data, run the daily report and the photo_popularity pipeline (SQLite + DuckDB + files, no server)"
	@echo "make test   install dev extras, check the import layers, make sure PostgreSQL/MariaDB/Chromium are there, run pytest"
	@echo "make lab    start JupyterLab in this environment"
	@echo "make bench  run the benchmarks in bench/"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Reinstall only when pyproject.toml changes, so a second `make demo` takes seconds.
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(PIP) install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

demo: $(VENV)/.installed
	$(BIN)/workbench demo
	$(BIN)/workbench sync app.users app.photos app.likes app.comments --incremental-by updated_at
	@$(MAKE) --no-print-directory reports/.demo-grid
	$(BIN)/workbench pipeline run photo_popularity -p day $$(date -u +%F) --jobs 2
	@echo "demo data: data/ (README there); reports: reports/index.html; notebooks: make lab"

# The daily report on the demo's last seven days (its log ends yesterday, the last whole
# day), re-run only when the demo data or the notebook changed since the last successful
# grid (Make compares the files' times).
reports/.demo-grid: data/.demo.json notebooks/daily_report.ipynb
	$(BIN)/workbench run daily_report --grid day=$$(date -u -d '7 days ago' +%F)..$$(date -u -d '1 day ago' +%F) --jobs 2
	@touch $@

# Apache Airflow in a venv of its own (its pins clash with ours), for the test that imports
# the DAG `workbench pipeline airflow` writes. Not installable here: that one test skips.
AIRFLOW := .venv-airflow
$(AIRFLOW)/.installed:
	@$(PYTHON) -m venv $(AIRFLOW) && $(AIRFLOW)/bin/python -m pip install --quiet --disable-pip-version-check \
		'apache-airflow==3.3.2' && touch $@ || { rm -rf $(AIRFLOW); \
		echo "make: Apache Airflow could not be installed; the Airflow DAG import test will skip"; }

test: $(VENV)/.installed-dev $(AIRFLOW)/.installed
	$(BIN)/lint-imports --no-cache
	bash scripts/services.sh
	AIRFLOW_PYTHON=$(CURDIR)/$(AIRFLOW)/bin/python $(BIN)/python -m pytest -q

lab: $(VENV)/.installed
	$(BIN)/jupyter lab --notebook-dir=notebooks

bench: $(VENV)/.installed-dev
	bash scripts/services.sh
	$(BIN)/python bench/fetch.py

clean-data:
	rm -rf data/app.db data/warehouse.duckdb data/lake data/.demo.json reports
