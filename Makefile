# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done

.PHONY: run test lint unit setup clean

$(STAMP): pyproject.toml scripts/setup.sh
	VENV=$(VENV) ./scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

## run: the agent on its embedded default: the built-in sandbox, a virtual reader and printer
run: $(STAMP)
	$(BIN)/register-agent run --sandbox

## test: linters, type checks, architecture contracts, then the test suite
test: lint unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

unit: $(STAMP)
	$(BIN)/pytest -q

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
