# ictaudit — `make help` lists the targets. Everything runs inside .venv, built from requirements.lock.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
YEAR ?= 2017
CYCLE ?= data/raw/$(YEAR)
OUT ?= outputs/$(YEAR)
export GX_ANALYTICS_ENABLED := false
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help setup system test lint report lab bench lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): requirements.lock pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m ipykernel install --prefix $(VENV) --name ictaudit --display-name "Python (ictaudit)" >/dev/null
	@touch $@

setup: $(STAMP) ## create .venv with the locked dependencies and the ictaudit kernel

system: ## install LibreOffice and Chromium (apt-get, as root) if missing
	@bash scripts/install-system.sh

test: setup system ## set up, then run the whole test suite
	$(PY) -m pytest -q

lint: setup ## ruff over the library and tests
	$(VENV)/bin/ruff check lib tests

report: setup system ## run the whole annual audit on the bundled sample year (YEAR=2017)
	$(VENV)/bin/ictaudit run --cycle $(CYCLE) --out $(OUT) --scored data/scored/$(YEAR)
	@echo "workbook: $(OUT)/report.xlsx · pages: $(OUT)/agencies/ · audit record: $(OUT)/manifest.json"

lab: setup ## open JupyterLab on the notebooks with the project's kernel
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: setup system ## slow benchmarks (not part of make test)
	$(PY) benchmarks/run.py

lock: ## re-resolve dependencies and rewrite requirements.lock (needs the package registry)
	rm -rf /tmp/ictaudit-lock && $(PYTHON) -m venv /tmp/ictaudit-lock
	/tmp/ictaudit-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions installed by \`make\` (pip install -r requirements.lock). Regenerate with \`make lock\`."; \
	  /tmp/ictaudit-lock/bin/pip freeze --exclude-editable | sort -f; } > requirements.lock

clean: ## remove the virtual environment and build products
	rm -rf $(VENV) data/scored/*/ outputs/*/ .pytest_cache
