# smarter-obs developer commands. `make help` lists them.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help venv test bench lint demo demo-clean clean plan-dashboards publish-dashboards

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | expand -t 22

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	URLLIB3_NO_OVERRIDE=1 $(BIN)/pip install --quiet --no-binary urllib3-future -e '.[dev]'
	touch $(STAMP)

venv: $(STAMP)  ## Create .venv and install smarter-obs with every extra and the test tools

demo: $(STAMP)  ## SmarterOS end to end on embedded engines (.smarter-obs/), then build/preview/index.html
	$(BIN)/smarter-obs demo $(DEMO_ARGS)

demo-clean:  ## Remove the demo's stores (.smarter-obs/) and its page (build/preview/)
	rm -rf .smarter-obs build/preview

test: $(STAMP)  ## Run the whole test suite (starts embedded ClickHouse, PostgreSQL and a mock Kafka itself)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

plan-dashboards: $(STAMP)  ## Show what publish-dashboards would change (exit 2 when something would)
	$(BIN)/smarter-obs plan $(PUBLISH_ARGS)

publish-dashboards: $(STAMP)  ## Validate, build and publish the dashboards to Grafana and Metabase (GRAFANA_*, METABASE_*)
	$(BIN)/smarter-obs publish $(PUBLISH_ARGS)

bench: $(STAMP)  ## Run the benchmarks in bench/ and print numbers against in-run baselines
	$(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)  ## ruff check (incl. import order, complexity, banned imports) and ruff format --check
	$(BIN)/ruff check smarter_obs collectors tests bench
	$(BIN)/ruff format --check smarter_obs collectors tests bench

clean:  ## Remove the virtual environment and embedded stores
	rm -rf $(VENV) .smarter-obs .pytest_cache
