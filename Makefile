# The two commands of the README: `make demo` and `make test` (both set up .venv when needed).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
export GX_ANALYTICS_ENABLED := false
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: demo test bench setup clean

$(BIN)/finops: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev,spark]"
	touch $(BIN)/finops

setup: $(BIN)/finops

demo: setup
	mkdir -p $(DAGSTER_HOME)
	$(BIN)/finops demo --dir finops-demo

# The report tests render the pages in Debian's headless Chromium, the Spark tests need Java 17 (both installed here
# when missing; needs root).
test: setup
	mkdir -p $(DAGSTER_HOME)
	command -v chromium >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium fonts-liberation; }
	command -v java >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y openjdk-17-jre-headless; }
	$(BIN)/pytest -q -n 2 --dist loadfile   # two workers; a test file stays on one (its module fixtures are built once)

bench: setup
	$(BIN)/python benchmarks/nightly.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) finops-demo finops-data .dagster_home dbt_project/target
