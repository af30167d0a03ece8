# Two commands do everything on a fresh machine with Python 3.11: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000

.PHONY: run test test-postgres lint format bench bench-postgres serve migrate clean screenshots

$(VENV)/.runtime: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev: $(VENV)/.runtime requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

## run: the product on SQLite + the ORM broker, web and workers together, until Ctrl-C
run: $(VENV)/.runtime .env
	DEBUG=$${DEBUG:-True} ALLOW_PRIVATE_DESTINATIONS=$${ALLOW_PRIVATE_DESTINATIONS:-True} $(PY) manage.py devserver --port $(PORT)

## .env: written once by `make run` (never overwritten), so that `manage.py` commands run in
## another terminal (drf_create_token, createsuperuser...) use the same development settings
.env:
	printf '# Written by the first `make run`: development settings for manage.py commands.\n# Production sets its own environment (docs/deploy.md), which takes precedence.\nDEBUG=True\n' > $@

## test: lint, migrations in step with the models, and the whole suite (also what CI runs)
test: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=True $(PY) manage.py makemigrations --check --dry-run
	$(PY) -m pytest -q -n 2 --dist loadfile

## test-postgres: the suite again on PostgreSQL + Redis (DATABASE_URL=postgres://..., REDIS_URL);
## .ci/run starts throwaway ones on 127.0.0.1 and calls this
test-postgres: $(VENV)/.dev
	@case "$$DATABASE_URL" in postgres://*|postgresql://*|pgsql://*) ;; \
	  *) echo "test-postgres: set DATABASE_URL=postgres://... (and REDIS_URL=redis://...)" >&2; exit 2;; esac
	$(PY) -m pytest -q -n 2 --dist loadfile

## screenshots: the browser tests, writing their pictures into docs/screenshots (a plain
## test run writes them to a temporary folder, leaving the committed ones alone)
screenshots: $(VENV)/.dev
	SCREENSHOT_DIR=docs/screenshots $(PY) -m pytest -q tests/e2e

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

## bench: every benchmark in bench/, each one's section rewritten in docs/benchmarks.md
## (each on SQLite, and on PostgreSQL + Redis too when DATABASE_URL names one: see
## bench-postgres). BENCH="pull webhooks" runs only those; BENCH_ARGS=--long adds the
## 10-minute sustained run.
bench: $(VENV)/.dev
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } \
	  || { echo "make bench: wrk is missing (apt-get install wrk)" >&2; exit 1; }
	$(PY) bench/run_all.py $(BENCH_ARGS) $(BENCH)

## bench-postgres: `make bench` beside a throwaway PostgreSQL and Redis (as .ci/run starts them)
bench-postgres: $(VENV)/.dev
	@for package in postgresql redis-server; do dpkg -s $$package >/dev/null 2>&1 || missing="$$missing $$package"; done; \
	  [ -z "$$missing" ] || { [ "$$(id -u)" = 0 ] && apt-get install -y -qq$$missing >/dev/null; } \
	  || { echo "make bench-postgres: install$$missing first" >&2; exit 1; }
	.ci/with-services $(MAKE) bench

## serve: production serving, DEBUG off: gunicorn (WEB_CONCURRENCY processes, default
## 2 x cores + 1, on BIND, default 127.0.0.1:$(PORT)) and the qcluster workers, until Ctrl-C.
## Needs SECRET_KEY and FIELD_ENCRYPTION_KEY (migrate stops at once without them); see docs/deploy.md for running each tier on its own.
serve: $(VENV)/.runtime
	DEBUG=False $(PY) manage.py migrate --noinput
	DEBUG=False $(PY) manage.py collectstatic --noinput --verbosity 0
	DEBUG=False $(PY) manage.py check --deploy
# exec: make signals the command itself, not a shell that would die and leave it running.
	DEBUG=False PORT=$(PORT) exec $(PY) manage.py serve

migrate: $(VENV)/.runtime
	$(PY) manage.py migrate

clean:
	rm -rf $(VENV) staticfiles
