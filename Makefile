# ictaudit — `make help` lists the targets. Everything runs inside .venv, built from requirements.lock.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
LAB_VENV := .venv-lab
LAB_STAMP := $(LAB_VENV)/.installed
YEAR ?= 2017
CYCLE ?= data/raw/$(YEAR)
OUT ?= outputs/$(YEAR)
export GX_ANALYTICS_ENABLED := false
export PYTHONHASHSEED := 0

.DEFAULT_GOAL := help
.PHONY: help setup system test test-fast lint report sample-years lab bench lock clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

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

test: setup system ## set up, then run the whole test suite (what CI runs)
	$(PY) -m pytest -q

test-fast: setup ## the quick loop: every test but the slow, LibreOffice and Chromium ones
	$(PY) -m pytest -q -m "not slow and not libreoffice and not chromium"

lint: setup ## ruff over the library and tests
	$(VENV)/bin/ruff check lib tests

report: setup system ## run the whole annual audit on the bundled sample year (YEAR=2017)
	$(VENV)/bin/ictaudit run --cycle $(CYCLE) --out $(OUT) --scored data/scored/$(YEAR)
	@echo "workbook: $(OUT)/report.xlsx · pages: $(OUT)/agencies/ · audit record: $(OUT)/manifest.json"

SAMPLE_WORK := .sample-years
sample-years: setup ## regenerate the bundled sample years: 2016 and 2017 from the generator, 2017's previous/ from a run of 2016
	$(VENV)/bin/ictaudit sample --year 2016 --seed 2016 --out data/raw/2016
	rm -rf $(SAMPLE_WORK)
	$(VENV)/bin/ictaudit run --cycle data/raw/2016 --out $(SAMPLE_WORK)/out --scored $(SAMPLE_WORK)/scored --quiet
	$(VENV)/bin/ictaudit sample --year 2017 --seed 2017 --out data/raw/2017 --link-previous $(SAMPLE_WORK)/out
	rm -rf $(SAMPLE_WORK)

# JupyterLab lives in an environment of its own, so the run and the tests never import what it brings
# (jsonschema's IRI format checks: ~0.9 s more per process, docs/performance.md); its kernel is .venv's
$(LAB_STAMP): requirements-lab.lock
	@command -v $(PYTHON) >/dev/null || { echo "need $(PYTHON) on PATH"; exit 1; }
	$(PYTHON) -m venv $(LAB_VENV)
	$(LAB_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements-lab.lock
	@touch $@

lab: setup $(LAB_STAMP) ## open JupyterLab (its own environment, .venv-lab) on the notebooks with the project's kernel
	JUPYTER_PATH=$(CURDIR)/$(VENV)/share/jupyter $(LAB_VENV)/bin/jupyter lab --notebook-dir=notebooks

bench: setup system ## slow benchmarks (not part of make test)
	$(PY) benchmarks/run.py

lock: ## re-resolve dependencies and rewrite requirements.lock and requirements-lab.lock (needs the package registry)
	rm -rf /tmp/ictaudit-lock /tmp/ictaudit-lock-lab
	$(PYTHON) -m venv /tmp/ictaudit-lock && $(PYTHON) -m venv /tmp/ictaudit-lock-lab
	/tmp/ictaudit-lock/bin/pip install --quiet --upgrade setuptools
	/tmp/ictaudit-lock/bin/pip install --quiet -e '.[dev]'
	{ echo "# Exact versions installed by \`make\` (pip install -r requirements.lock). Regenerate with \`make lock\`."; \
	  /tmp/ictaudit-lock/bin/pip freeze --all --exclude-editable --exclude pip | sort -f; } > requirements.lock
	/tmp/ictaudit-lock-lab/bin/pip install --quiet -c requirements.lock \
	  $$($(PYTHON) -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["project"]["optional-dependencies"]["lab"])')
	{ echo "# Exact versions of JupyterLab's own environment (.venv-lab, \`make lab\`). Regenerate with \`make lock\`."; \
	  /tmp/ictaudit-lock-lab/bin/pip freeze --exclude pip --exclude setuptools | sort -f; } > requirements-lab.lock

clean: ## remove the virtual environments and build products
	rm -rf $(VENV) $(LAB_VENV) data/scored/*/ outputs/*/ .pytest_cache
