# autolearn developer commands. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PYTEST_ARGS ?= -m "not slow"

.PHONY: install run test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: the CPU build on this machine's disk (never let pip pick a newer one)
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[dev,torch,nas,postgres,examples]'
	touch $(STAMP)

install: $(STAMP)

# Main job on the embedded default: a quickstart study in ./autolearn.db (re-run to resume).
run: install
	$(BIN)/python examples/quickstart.py --storage sqlite:///autolearn.db

# Full test suite, with a throwaway PostgreSQL server on loopback for the storage tests.
test: install
	bash scripts/with_postgres.sh $(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-all:
	$(MAKE) test PYTEST_ARGS=

lint: install
	$(BIN)/ruff check autolearn tests benchmarks examples

bench: install
	$(BIN)/python -m pip install -q -e '.[bench]'
	$(BIN)/python -m benchmarks list

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
