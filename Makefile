# The README's commands: `make demo`, `make test`, `make check` (the fast tier) and `make lint` (all set up .venv
# when needed, with the versions pinned in constraints.txt).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GX_ANALYTICS_ENABLED := false
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test check unit-tests dbt-unit-tests lint lint-python lint-sql sqlfix constraints bench setup clean

# `make demo` installs finops alone; the tests, lint and the Spark engine need the dev and spark extras (`setup`).
$(BIN)/finops: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $(BIN)/finops

$(VENV)/.dev-extras: $(BIN)/finops
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev,spark]"
	touch $(VENV)/.dev-extras

setup: $(VENV)/.dev-extras

demo: $(BIN)/finops
	$(BIN)/finops demo --dir finops-demo

# The report tests render the pages in Debian's headless Chromium, the Spark tests need Java 17 (both installed here
# when missing; needs root). Two workers; a test file stays on one (its module fixtures are built once), the files
# handed out in the order tests/conftest.py collects them (the slowest first), not by their number of tests.
test: setup
	command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-liberation; }
	command -v java >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless; }
	$(BIN)/pytest -q -n 2 --dist loadfile --no-loadscope-reorder

# The fast tier, run on every change (under 90 s on 2 cores): lint, the tests that run no pipeline (marker `unit`)
# and the dbt unit tests of the cost arithmetic (parse-only DuckDB target: no data, no build), side by side.
check: setup
	$(MAKE) --no-print-directory -j 3 lint-python lint-sql unit-tests dbt-unit-tests

unit-tests: setup
	$(BIN)/pytest -q -m unit -p no:cacheprovider

dbt-unit-tests: setup
	mkdir -p dbt_project/target/unit
	cd dbt_project && FINOPS_BUILD_DB=target/unit/parse_only.duckdb $(CURDIR)/$(BIN)/dbt test \
		--select test_type:unit --profiles-dir . --target-path target/unit --quiet

# Python (ruff: pyproject.toml) and SQL (sqlfluff, dbt templater, DuckDB dialect: .sqlfluff) lint.
SQLFLUFF_ENV := FINOPS_BUILD_DB=dbt_project/target/sqlfluff/parse_only.duckdb
lint: lint-python lint-sql

lint-python: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lint-sql: setup
	mkdir -p dbt_project/target/sqlfluff
	$(SQLFLUFF_ENV) $(BIN)/sqlfluff lint --processes 2 dbt_project/models dbt_project/tests

# Rewrites the dbt SQL to the layout of .sqlfluff (review the diff).
sqlfix: setup
	mkdir -p dbt_project/target/sqlfluff
	$(SQLFLUFF_ENV) $(BIN)/sqlfluff fix --processes 2 dbt_project/models dbt_project/tests

# Rewrites constraints.txt from this .venv (run it in a fresh clone after `make setup`).
constraints: setup
	{ head -n 2 constraints.txt; $(BIN)/pip freeze --exclude-editable | grep -v '^finops'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt

bench: setup
	$(BIN)/python benchmarks/nightly.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) finops-demo finops-data .dagster_home dbt_project/target
