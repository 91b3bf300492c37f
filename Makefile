# One entry point for everything: `make demo`, `make test`, `make lint`, `make bench`.
# `demo` and `test` create .venv and install what they need when it is missing.

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: install browser axe demo test lint format golden bench mutants clean gpu-wheels

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

# One pytest-xdist worker per CPU, a test file per unit of work, the costly files first
# (tests/conftest.py says why); `python -m pytest` alone runs the suite in one process.
TEST_WORKERS := -n logical --dist loadfile --no-loadscope-reorder

test: $(STAMP) browser axe
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(TEST_WORKERS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Accept a change to what visitors get: rewrite tests/golden/pages/ (the index, a model page,
# a task page, the compare page and a badge of the fixed test catalog) from today's code.
golden: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python -m tests.golden_pages --update

bench: $(STAMP)
	$(BIN)/python benchmarks/measurement.py
	$(BIN)/python benchmarks/tactics.py
	$(BIN)/python benchmarks/site_scale.py
	$(BIN)/python benchmarks/scan_scale.py
	$(BIN)/python benchmarks/reliability.py
	$(BIN)/python benchmarks/stability.py
	$(BIN)/python benchmarks/contention.py

# Mutation testing of the modules a label rests on (docs/mutants.md); not part of `test`.
# Installs mutmut (the `mutants` extra), then writes build/bench/mutants.json.
mutants: $(STAMP)
	$(PIP) -e '.[mutants]'
	HF_HUB_OFFLINE=1 $(BIN)/python benchmarks/mutants.py

# Wheels that the GPU machine's image (Python 3.12, no network) lacks, into the ignored .whl/
# folder that travels with the device tool's `carry`: docs/methodology.md, "The GPU suite".
GPU_WHEELS := duckdb==2.0.0 apscheduler==3.11.3 tzlocal==5.4.5 torchao==0.18.0 zeus==0.16.0
GPU_PLATFORMS := manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_24_x86_64 \
	manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64

gpu-wheels:
	@mkdir -p .whl
	$(PYTHON) -m pip download --quiet --disable-pip-version-check --no-deps \
		--only-binary=:all: --python-version 3.12 --implementation cp \
		$(addprefix --platform ,$(GPU_PLATFORMS)) -d .whl $(GPU_WHEELS)
	@ls -1 .whl && du -ch .whl/*.whl | tail -n 1

clean:
	rm -rf build mutants .pytest_cache .ruff_cache
