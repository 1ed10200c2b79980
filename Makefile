# The two set-up commands of the README: `make run` and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.setup-done

.PHONY: run test lint unit faults package deb setup clean

$(STAMP): pyproject.toml scripts/setup.sh scripts/system-packages.txt
	VENV=$(VENV) ./scripts/setup.sh
	touch $(STAMP)

setup: $(STAMP)

## run: the agent on its embedded default: the built-in sandbox, a virtual reader and printer
run: $(STAMP)
	$(BIN)/register-agent run --sandbox

## test: linters, type checks, architecture contracts, the quick suite, the fault suite, then
## the Debian package (installed with apt: root only)
test: lint unit faults package

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

## package: builds the Debian package and installs, upgrades and purges it with apt on this
## machine (root only; tests/packaging/test_deb.py); the quick suite skips it
package: $(STAMP)
	REGISTER_AGENT_PACKAGE_TEST=1 $(BIN)/pytest -q tests/packaging

## deb: dist/register-agent_<version>_<arch>.deb (packaging/deb/build.sh: VERSION=, ARCH=arm64)
deb: $(STAMP)
	PIP=$(abspath $(BIN))/pip VERSION=$(VERSION) ARCH=$(ARCH) OUT=$(OUT) WHEELHOUSE=$(WHEELHOUSE) \
	  packaging/deb/build.sh

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache .hypothesis
