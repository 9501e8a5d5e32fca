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

.PHONY: test unit local lint services wheelhouse bench lock clean

# A new lock gets a new virtualenv, so what is installed is exactly what the lock says.
$(STAMP): $(LOCK)
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --require-hashes -r $(LOCK)
	touch $(STAMP)

lock: $(STAMP)
	$(VENV)/bin/pip-compile --quiet --generate-hashes --allow-unsafe --strip-extras --no-emit-index-url \
		--no-emit-find-links --output-file $(LOCK) $(LOCK_ARGS) requirements-dev.in

services:
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

# The fast tier alone: no MariaDB, moto, rehearsal, namespaces or pip (under a minute).
unit: $(STAMP) wheelhouse
	$(PY) -m pytest -m "not integration"

local: $(STAMP) services
	$(PY) -m localrun $(ARGS)

bench: $(STAMP) services
	$(PY) bench/run.py --write-docs

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache
