# Two commands do all the set-up on a fresh machine:
#   make test   install, start what the tests need, run every test
#   make local  rehearse the dev stack on this machine (MariaDB for RDS, moto for AWS)
# The virtualenv is installed from requirements-dev.lock (exact versions, with hashes);
# `make lock` recompiles it from requirements-dev.in, requirements.txt and handler/requirements.txt.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

LOCK := requirements-dev.lock
# `make lock LOCK_ARGS=--upgrade` moves every pin to the newest version the ranges allow;
# `LOCK_ARGS='--upgrade-package ruff'` moves one.
LOCK_ARGS ?=

.PHONY: test unit local lint services wheelhouse bench bench-docs dist lock clean mutate

# A new lock gets a new virtualenv, so what is installed is exactly what the lock says.
$(STAMP): $(LOCK)
	@echo "make: a new $(VENV) with the $$(grep -c '==' $(LOCK)) pinned packages of $(LOCK) (a few minutes the first time)"
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --progress-bar off --require-hashes -r $(LOCK)
	touch $(STAMP)

lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) $(LOCK_ARGS) requirements-dev.in

services:
	@echo "make: the services the tests run (MariaDB, nftables, iproute2), installed from Debian when missing"
	bash scripts/install-services.sh

# The wheels the tests install, downloaded once: the suite then runs offline.
wheelhouse: $(STAMP)
	$(PY) tests/wheelhouse.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) scripts/gen_docs.py --check

test: $(STAMP) services wheelhouse lint
	$(PY) -m pytest

# The fast tier alone: no MariaDB, moto, rehearsal, namespaces or pip (under a minute on two cores).
unit: $(STAMP) wheelhouse
	$(PY) -m pytest -m "not integration"

# Mutation testing, not part of CI (slow): mutmut makes one small mistake at a time in the pure modules
# (components/model, components/checks; the runtime's budget, credentials, sns, migration_runner: see
# [tool.mutmut] in pyproject.toml), runs the fast tests that reach it, then prints the score per module and
# every mutant no test caught. `make mutate MODULES='vpclambda_runtime.*'` runs the matching modules only;
# `make mutate SAMPLE=300 MODULES='components.*'` a random sample of their mutants (score and 95 % interval).
# Results are kept in mutants/ (a later run re-tests only the mutated modules that changed); mutmut does not
# refresh its copy of the other files there: `rm -rf mutants` after changing them, and to start over.
MODULES ?=
SAMPLE ?=
SEED ?= 0
mutate: $(STAMP) wheelhouse
ifeq ($(SAMPLE),)
	$(VENV)/bin/mutmut run $(foreach m,$(MODULES),'$(m).*')
	$(PY) scripts/mutation_report.py $(foreach m,$(MODULES),'$(m)')
else
	$(PY) scripts/mutation_sample.py --size $(SAMPLE) --seed $(SEED) $(foreach m,$(MODULES),'$(m)')
	$(PY) scripts/mutation_report.py --sample $(foreach m,$(MODULES),'$(m)')
endif

local: $(STAMP) services
	$(PY) -m components.local $(ARGS)

# Prints the figures; only `make bench-docs` records them in docs/performance.md.
bench: $(STAMP) services
	$(PY) bench/run.py

bench-docs: $(STAMP) services
	$(PY) bench/run.py --write-docs

# The release's wheel and sdist, into dist/ (`python -m build`: the sdist, then the wheel built from it).
dist: $(STAMP)
	rm -rf dist
	$(PY) -m build --outdir dist .

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache dist
