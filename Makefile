# The two commands a newcomer needs: `make repro` (the whole study) and `make test` (the test suite).
# Both set up .venv first when needed; `make setup` alone is idempotent and quick when nothing changed.

PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONUNBUFFERED := 1

# The smoke configuration: the bundled 8x8 digits, two small variants, few epochs, two label budgets (digits
# holds about 150 training images per class) with few draws. Same stages, other params.
SMOKE := -S 'datasets=[digits]' -S 'variants=[seed000,h32-lr1e-2]' \
         -S 'autoencoders.seed000.epochs=5' -S 'autoencoders.h32-lr1e-2.epochs=20' \
         -S 'classify.mlp.epochs=10' -S 'classify.mlp.min_steps=100' \
         -S 'classify.label_budgets.labels_per_class=[4,16,all]' -S 'classify.label_budgets.draws=3' \
         -S 'classify.label_budgets.mlp_draws=1'
# The replicate study: the first seed study (MNIST, seed000, its classifiers) under five seeds.
REPLICATES := -S 'datasets=[mnist]' -S 'variants=[seed000]' -S 'seeds=[42,0,1,2,3]'
SEED002 := h32-lr1e-1,h32-lr1e-2,h32-lr1e-3,h64-lr1e-1,h64-lr1e-2,h64-lr1e-3,h128-lr1e-1,h128-lr1e-2,h128-lr1e-3
BASE ?= main
SWEEP ?= sweeps/smoke.yaml
EXECUTOR ?= local
JOBS ?= 2

.PHONY: setup repro test smoke seed000 seed002 replicates diff smoke-baseline ci-diff bench sweep clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

repro: setup
	dvc repro

test: setup
	python -m pytest

# The whole pipeline on the smoke configuration, as an experiment named `smoke` applied to the workspace.
smoke: setup
	-@dvc exp remove smoke >/dev/null 2>&1
	dvc exp run -n smoke $(SMOKE)

# Each seed study alone, as a named experiment.
seed000: setup
	-@dvc exp remove seed000 >/dev/null 2>&1
	dvc exp run -n seed000 -S 'datasets=[mnist]' -S 'variants=[seed000]'

seed002: setup
	-@dvc exp remove seed002 >/dev/null 2>&1
	dvc exp run -n seed002 -S 'variants=[$(SEED002)]'

# The replicate study as the named experiment `replicates`. Its summary, statistics, report and params are
# copied to metrics/replicates/, where the default run does not write; the workspace then goes back to HEAD's
# run (git and the DVC cache), so the default run's committed results stay as they are.
replicates: setup
	-@dvc exp remove replicates >/dev/null 2>&1
	dvc exp run -n replicates $(REPLICATES)
	rm -rf metrics/replicates.tmp && mkdir -p metrics/replicates.tmp/stats
	cp metrics/summary.json metrics/report.md params.yaml metrics/replicates.tmp/
	cp metrics/stats/mnist.json metrics/replicates.tmp/stats/  # other datasets' files are the default run's
	git checkout HEAD -- params.yaml dvc.lock metrics && dvc checkout --quiet
	rm -rf metrics/replicates && mv metrics/replicates.tmp metrics/replicates
	@echo "replicates: results in metrics/replicates/ (experiment 'replicates' in dvc exp show)"

# Metrics and params of the workspace against BASE (a branch, tag or commit), as Markdown.
diff: setup
	@dvc metrics diff $(BASE) --md
	@dvc params diff $(BASE) --md

# Record the smoke run's summary and params as the baseline that `make ci-diff` compares against.
smoke-baseline: smoke
	mkdir -p metrics/smoke-baseline
	cp metrics/summary.json params.yaml metrics/smoke-baseline/

# In a scratch clone: commit the recorded smoke baseline, run the smoke configuration on top of it, and
# print the metric and param diff. Accuracies should not move; seconds will.
ci-diff: setup
	rm -rf .ci-diff && git clone -q . .ci-diff
	cd .ci-diff && cp ../metrics/smoke-baseline/params.yaml params.yaml \
	  && cp ../metrics/smoke-baseline/summary.json metrics/summary.json \
	  && git -c user.name=ci -c user.email=ci@localhost commit -qam "smoke baseline" \
	  && git tag smoke-baseline \
	  && dvc exp run $(SMOKE) >smoke.log 2>&1 || { cat smoke.log; exit 1; }
	@echo "Smoke run against its committed baseline (metrics/smoke-baseline/):"
	@cd .ci-diff && dvc metrics diff smoke-baseline --md && dvc params diff smoke-baseline --md
	rm -rf .ci-diff

bench: setup
	python -m aestudy.bench

# A sweep file's experiments, each in its own clone of HEAD, on local processes or Dask; then pulled here.
# WORKDIR: where jobs clone; CACHE: a DVC cache every worker reaches (README, "Sweeps on several machines").
sweep: setup
	python -m aestudy.sweep $(SWEEP) --executor $(EXECUTOR) --jobs $(JOBS) $(if $(SCHEDULER),--scheduler $(SCHEDULER)) \
	  $(if $(WORKDIR),--workdir $(WORKDIR)) $(if $(CACHE),--cache $(CACHE))

clean-venv:
	rm -rf $(VENV)
