# Two commands on a fresh machine:
#   make demo   set up, then run the function code against the local Azure emulator
#   make test   set up, then lint, scan the infra (checkov) and run the test suite: exactly what CI runs
#   make lock   after editing requirements*.in: recompile the pinned locks (requirements*.txt)
#   make try    the local emulator with the demo landing zone, and the exports that point the CLI at it
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CHECKOV := .venv-checkov/bin/checkov

.PHONY: demo try test lint bench checkov setup clean lock lock-upgrade

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -e .   # the `paas-hardener` console script
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(PY) -m demo

# Serves until Ctrl-C; paste the printed exports into another shell and run .venv/bin/paas-hardener.
try: setup
	$(PY) -m localdev.try_cli

# The same steps as .ci/run, so that a green `make test` means a green CI (checkov included:
# tests/infra/test_bicep.py checks its parser too, and skips that check without .venv-checkov).
test: setup lint checkov
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

bench: setup
	$(PY) benchmarks/bench_events.py
	$(PY) benchmarks/bench_exposure.py
	$(PY) benchmarks/bench_burst.py
	$(PY) benchmarks/bench_multiprocess.py
	$(PY) benchmarks/bench_latency.py
	$(PY) benchmarks/bench_revert.py
	$(PY) benchmarks/simulate.py
	$(PY) benchmarks/soak.py

# checkov pins its own Bicep parser, so it lives in a venv of its own (pinned: requirements-checkov.txt).
$(CHECKOV): requirements-checkov.txt
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet -r requirements-checkov.txt
	touch $@

checkov: $(CHECKOV)
	$(CHECKOV) --directory infra --framework bicep --skip-download --quiet --compact

# The locks: requirements.txt is what the deployment installs (Flex Consumption builds with
# Oryx, which installs requirements.txt) and what the tests run; requirements-dev.txt adds the
# test tools with the same runtime pins. Edit the *.in files, never the *.txt, then `make lock`
# (keeps every pin that still satisfies the .in files; `make lock-upgrade` moves to the newest).
# Python 3.11 is the deployed runtime (infra/main.bicep functionAppRuntimeVersion).
LOCK := $(PY) -m uv pip compile --universal --python-version 3.11 --custom-compile-command "make lock" --quiet
lock: $(VENV)/.installed
	$(LOCK) $(LOCK_FLAGS) requirements.in -o requirements.txt
	$(LOCK) $(LOCK_FLAGS) requirements-dev.in -c requirements.txt -o requirements-dev.txt
	$(LOCK) $(LOCK_FLAGS) requirements-checkov.in -o requirements-checkov.txt

lock-upgrade:
	$(MAKE) lock LOCK_FLAGS=--upgrade

clean:
	rm -rf $(VENV) .venv-checkov node_modules .pytest_cache .hypothesis
