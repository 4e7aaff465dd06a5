# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint mutation bench-export bench-scale bench-cli bench-latency install clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found; set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/accsync run

test: $(STAMP)
	$(BIN)/ruff check accsync_pipeline accsync_pipeline_tests
	$(BIN)/ruff format --check accsync_pipeline accsync_pipeline_tests
	$(BIN)/mypy
	$(BIN)/pytest $(PYTEST_ARGS)

# Mutation testing of the pure rules ([tool.mutmut] in pyproject.toml); not part of `make test`.
# Prints killed / total per module and any survivor the tests' README does not explain.
# mutmut's progress line redraws itself thousands of times: it goes to a log, the score to the screen.
mutation: $(VENV)/.mutation-installed
	@mkdir -p mutants
	$(BIN)/mutmut run --max-children 2 >mutants/run.log 2>&1 || { tail -n 30 mutants/run.log; exit 1; }
	$(BIN)/python -m accsync_pipeline_tests.mutation_score

$(VENV)/.mutation-installed: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[test,mutation]'
	@touch $@

bench-export: $(STAMP)
	$(BIN)/python -m accsync_pipeline.bench.export

# 1,000 orgs and a million records in PostgreSQL (ACCSYNC_BENCH_URL, a database of its own:
# its accsync tables are emptied). BENCH_ARGS=--reuse keeps the data set, --small runs in seconds.
bench-scale: $(STAMP)
	$(BIN)/python -m accsync_pipeline.bench.scale $(BENCH_ARGS)

# Start time of the read commands (median of several runs each) next to `python -c pass`.
bench-cli: $(STAMP)
	$(BIN)/python -m accsync_pipeline.bench.cli $(BENCH_ARGS)

# Sync Now click and approval → run started → first record posted → finished, median and p95,
# on `accsync run`'s stack in a temporary directory. BENCH_ARGS=--runs 5 for a quicker pass.
bench-latency: $(STAMP)
	$(BIN)/python -m accsync_pipeline.bench.latency $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .accsync
