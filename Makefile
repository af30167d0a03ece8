# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test lint format bench serve migrate clean

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: the product on SQLite + the ORM broker, web and workers together, until Ctrl-C
run: $(VENV)/.runtime
	DEBUG=$${DEBUG:-True} $(PY) manage.py devserver --port $(PORT)

## test: the whole suite (also what CI runs)
test: $(VENV)/.dev
	DEBUG=True $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -q -n 2 --dist loadfile

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: every benchmark in bench/, results rewritten into docs/benchmarks.md
bench: $(VENV)/.dev
	$(PY) bench/run_all.py

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate

clean:
	rm -rf $(VENV) staticfiles
