# Quorum: `make run` serves the demo, `make test` runs the whole suite.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
export PYTHONUNBUFFERED := 1

.PHONY: install run test test-fast bench lint clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@

install: $(VENV)/.installed ## the venv and dependencies only

run: install ## migrate, load the demo once, serve on PORT with a Celery worker; Ctrl-C stops both
	$(BIN)/python manage.py migrate --noinput -v0
	$(BIN)/python manage.py load_demo
	$(BIN)/python manage.py collectstatic --noinput -v0
	@echo ""
	@echo "  Quorum is starting at http://127.0.0.1:$(PORT)/"
	@echo ""
	@BIN=$(BIN) PORT=$(PORT) ./scripts/serve.sh

PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/quorum

test: install ## the whole suite: unit and browser tests on SQLite, then the queue and concurrency tests on PostgreSQL
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not pg_only"
	DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -n 2 --dist loadgroup -m "postgres or pg_only"

test-fast: install
	$(BIN)/python -m pytest -x -m "not e2e"

bench: install ## every benchmark under bench/; results land in bench/results/*.json
	@for m in $$(ls bench/*.py | grep -v -e __init__ -e peer_ | sed 's#/#.#; s#\.py$$##'); do \
		echo "== $$m"; $(BIN)/python -m $$m || exit 1; done

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

clean:
	rm -rf var staticfiles .pytest_cache
