# Two commands do all the set-up on a fresh machine:
#   make test   install, start what the tests need, run every test
#   make local  rehearse the dev stack on this machine (MariaDB for RDS, moto for AWS)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: test local lint services bench clean

$(STAMP): requirements.txt requirements-dev.txt handler/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet -r requirements-dev.txt -r handler/requirements.txt
	touch $(STAMP)

services:
	bash scripts/install-services.sh

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy
	$(PY) scripts/gen_docs.py --check

test: $(STAMP) services lint
	$(PY) -m pytest

local: $(STAMP) services
	$(PY) -m localrun $(ARGS)

bench: $(STAMP) services
	$(PY) bench/run.py --write-readme

clean:
	rm -rf $(VENV) .build .pytest_cache .ruff_cache
