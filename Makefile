# 农险遴选与补贴管理系统 — the two commands a new user needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
TEST_DATABASE_URL ?= postgresql://postgres@127.0.0.1:5432/test
export TEST_DATABASE_URL
export FLASK_APP := wsgi
PYTEST_WORKERS ?= 2

MIGRATION_DATABASE_URL ?= $(DATABASE_URL)

.PHONY: run serve test test-postgres test-sqlite test-browser lint translations i18n-update bench mutation clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.run-installed: requirements.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt | $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(VENV)/.run-installed $@

translations: $(VENV)/.run-installed
	@$(PY) tools/i18n.py compile

## run: install, migrate, load demo data into an empty database, serve on http://127.0.0.1:5000
run: $(VENV)/.run-installed translations
	$(PY) -m flask db upgrade heads
	$(PY) -m flask demo-data --if-empty
	$(PY) -m flask run --host 127.0.0.1 --port 5000

## serve: production: migrations first (as MIGRATION_DATABASE_URL, the schema's owner; default DATABASE_URL), then
## gunicorn (gunicorn.conf.py: workers, threads, graceful stop). Needs DATABASE_URL and REDIS_URL; docs/deploy.md
serve: $(VENV)/.run-installed translations
	@test -n "$(DATABASE_URL)" || (echo "make serve: set DATABASE_URL (PostgreSQL; docs/deploy.md)" >&2; exit 2)
	DATABASE_URL="$(MIGRATION_DATABASE_URL)" $(PY) -m flask db upgrade heads
	exec $(VENV)/bin/gunicorn -c gunicorn.conf.py

## test: the whole suite on PostgreSQL, then again on SQLite (browser journeys once)
test: $(VENV)/.dev-installed translations
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q
	TEST_DB=sqlite $(PY) -m pytest -n $(PYTEST_WORKERS) -q -m "not browser and not postgres" --ignore=tests/optimization

test-postgres: $(VENV)/.dev-installed translations
	$(PY) -m pytest -n $(PYTEST_WORKERS) -q

test-sqlite: $(VENV)/.dev-installed translations
	TEST_DB=sqlite $(PY) -m pytest -n $(PYTEST_WORKERS) -q -m "not postgres"

test-browser: $(VENV)/.dev-installed translations
	$(PY) -m pytest -q -m browser

lint: $(VENV)/.dev-installed
	$(VENV)/bin/ruff check .

## i18n-update: extract new strings into both catalogues (then translate the English ones)
i18n-update: $(VENV)/.dev-installed
	$(PY) tools/i18n.py update
	-$(PY) tools/i18n.py missing

## mutation: mutmut over the rule modules, each against its own tests (slow: minutes a module; not in `make test`
## nor CI). One module: make mutation MODULES=reference/codes.py; the list: .venv/bin/python tools/mutation.py --list
MODULES ?=
mutation: $(VENV)/.dev-installed translations
	nice -n 19 $(PY) tools/mutation.py --max-children 1 $(MODULES)

bench: $(VENV)/.dev-installed
	$(PY) -m bench.allocation.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache mutants
