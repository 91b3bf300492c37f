# One entry point for everything: `make demo`, `make test`, `make lint`, `make bench`.
# `demo` and `test` create .venv and install what they need when it is missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install browser axe demo test lint format bench clean

install: $(STAMP)

# torch first, pinned: a looser requirement may pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[dev,ray]'
	@touch $(STAMP)

# Chromium from Debian's packages, for the browser tests and the demo's screenshots.
browser:
	@if [ ! -x /usr/bin/chromium ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		elif command -v sudo >/dev/null; then \
			sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "chromium is missing and cannot be installed here: browser tests will be skipped"; \
		fi; \
	fi

# axe-core from npm, pinned, for the accessibility checks the browser tests run.
AXE_VERSION := 4.14.1
AXE := $(VENV)/npm/node_modules/axe-core/axe.min.js
axe: $(AXE)

$(AXE):
	@if command -v npm >/dev/null; then \
		npm install --silent --no-audit --no-fund --prefix $(VENV)/npm axe-core@$(AXE_VERSION); \
	else \
		echo "npm is missing: the accessibility checks will be skipped"; \
	fi

demo: $(STAMP) browser
	HF_HUB_OFFLINE=1 $(BIN)/labeler demo --screenshots

test: $(STAMP) browser axe
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(STAMP)
	$(BIN)/python benchmarks/measurement.py
	$(BIN)/python benchmarks/tactics.py
	$(BIN)/python benchmarks/site_scale.py
	$(BIN)/python benchmarks/scan_scale.py

clean:
	rm -rf build .pytest_cache .ruff_cache
