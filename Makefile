# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done

.PHONY: run test lint unit faults setup clean

$(STAMP): pyproject.toml scripts/setup.sh scripts/system-packages.txt
	VENV=$(VENV) ./scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

## run: the agent on its embedded default: the built-in sandbox, a virtual reader and printer
run: $(STAMP)
	$(BIN)/register-agent run --sandbox

## test: linters, type checks, architecture contracts, the quick suite, then the fault suite
test: lint unit faults

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture

## unit: the quick suite (everything not marked `faults`)
unit: $(STAMP)
	$(BIN)/pytest -q -m "not faults"

## faults: the fault-injection suite, with its figures at the end of the log
faults: $(STAMP)
	$(BIN)/pytest -q -m faults

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
