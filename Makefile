# Atelier: `make run` serves the studio, `make test` runs every check and test.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8501

.PHONY: run test lint format typecheck unit browser engine bench clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	touch $@

run: $(VENV)/.installed
	$(PY) -m streamlit run app.py --server.port $(PORT) --server.address 0.0.0.0

engine: $(VENV)/.installed
	$(PY) -m services.offline --port 8765

lint: $(VENV)/.installed
	$(PY) -m ruff format --check .
	$(PY) -m ruff check .

typecheck: $(VENV)/.installed
	$(PY) -m mypy

format: $(VENV)/.installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

unit: $(VENV)/.installed
	$(PY) -m pytest --ignore=tests/browser

browser: $(VENV)/.installed
	$(PY) -m pytest tests/browser

test: lint typecheck $(VENV)/.installed
	$(PY) -m pytest

bench: $(VENV)/.installed
	$(PY) scripts/bench_batch.py
	$(PY) scripts/bench_effects.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
