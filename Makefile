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

## test: linters, type checks, architecture contracts, the quick suite, then the fault suite
## and the Debian package (installed with apt: root only) side by side, each one's log whole
## when it ends. The package tier never runs beside the quick suite: it creates the
## `register-agent` user and installs udev rules, which the quick suite's doctor and unit
## tests must not see.
test: lint unit
	$(MAKE) --no-print-directory -j2 --output-sync=target faults package

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/vulture

## unit: the quick suite (everything not marked `faults`), its test files shared out to two
## processes (a file's tests stay together: they share their module's agent or browser)
unit: $(STAMP)
	$(BIN)/pytest -q -m "not faults" -n 2 --dist loadfile

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
