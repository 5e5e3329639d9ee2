# The two commands a newcomer needs: `make repro` (the whole study) and `make test`.
# Both set up .venv first when needed; `make setup` alone is idempotent and quick when nothing changed.

PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export PYTHONUNBUFFERED := 1

.PHONY: setup repro test smoke clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

repro: setup
	dvc repro

test: setup
	python -m pytest

clean-venv:
	rm -rf $(VENV)
