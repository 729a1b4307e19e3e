# Two commands on a fresh machine:
#   make demo   set up, then run the function code against the local Azure emulator
#   make test   set up, then run the test suite (what CI runs)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .venv-checkov/bin/checkov

.PHONY: demo test lint bench checkov setup clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(PY) -m demo

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) benchmarks/bench_events.py
	$(PY) benchmarks/bench_exposure.py

# checkov pins its own Bicep parser, so it lives in a venv of its own.
$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet checkov

checkov: $(CHECKOV)
	$(CHECKOV) --directory infra --framework bicep --skip-download --quiet --compact

clean:
	rm -rf $(VENV) .venv-checkov node_modules .pytest_cache .hypothesis
