# The two commands a newcomer needs: `make repro` (the whole study) and `make test` (the test suite).
# Both set up .venv first when needed; `make setup` alone is idempotent and quick when nothing changed.

SHELL := /bin/bash
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)
export PYTHONUNBUFFERED := 1

# The smoke configuration: every stage kind on the bundled 8x8 digits, two small variants, few epochs, two label
# budgets (digits holds about 150 training images per class) with few draws, PCA, the codes and UMAP of the codes
# under k-NN and the graph classifiers (the other entries take the same stages). Under 2 minutes in a fresh clone.
SMOKE := -S 'datasets=[digits]' -S 'variants=[seed000,h32-lr1e-2]' \
         -S 'conf/autoencoders/seed000.yaml:epochs=5' -S 'conf/autoencoders/h32-lr1e-2.yaml:epochs=20' \
         -S 'compare.features=[pca,ae,ae+umap]' -S 'compare.classifiers=[knn,graph]' \
         -S 'compare.pairs=[ae vs pca,ae+umap vs ae,spreading vs knn1]' \
         -S 'label_budgets.labels_per_class=[4,16,all]' -S 'label_budgets.draws=3'
# The replicate study: the first seed study (MNIST, seed000, its classifiers) under five seeds.
REPLICATES := -S 'datasets=[mnist]' -S 'variants=[seed000]' -S 'seeds=[42,0,1,2,3]'
BASE ?= main
SWEEP ?= sweeps/smoke.yaml
EXECUTOR ?= local
JOBS ?= 2
# The variables a user sets that recipes hand to commands are exported and read by the shell as "$$NAME": one word,
# never parsed again (spelled $(NAME) in a recipe, `BASE='x;touch f'` would run its payload).
export BASE SWEEP EXECUTOR JOBS SCHEDULER WORKDIR CACHE SLURM STAGE CI_TOLERANCE CALDER
# BASE must name a commit of this repository; `base` is then its id, else one line and exit 2 (so that a value such
# as `HEAD --out /tmp/x` or one starting with `-` never reaches a command as its options).
CHECK_BASE = base=$$(git rev-parse --verify --quiet --end-of-options "$$BASE^{commit}") \
  || { echo "error: BASE=$$BASE is not a branch, tag or commit of this repository" >&2; exit 2; }

.PHONY: setup repro stage test test-fast smoke exps seed000 seed002 calder replicates diff pr-report smoke-baseline ci-diff bench \
        sweep push pull dag plots-page readme clean-venv

setup: $(STAMP)

$(STAMP): requirements.txt
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(VENV)/bin/python -m tools.warm
	touch $@

# `validate` first, outside DVC: DVC expands every stage matrix before it runs any stage, which takes minutes for a
# seeds list of thousands; this refuses such a file in seconds. (It writes nothing; `dvc repro` validates again.)
# Then dvc.lock loses the entries of stages params.yaml no longer makes (tools/lock.py): DVC keeps them, and rewrites
# the whole file after every stage it runs.
repro: setup
	python -m stages.validate --check
	python -m tools.lock
	dvc repro

# One stage alone (`dvc repro -s`), after `validate` has checked params.yaml and conf/: DVC removes a stage's outputs
# before it runs its command, and `-s` skips `validate`, so a name such as `../../conf` would have DVC delete a
# folder outside the stage's own (docs/hostile-input.md). STAGE: a stage name, e.g. classify@mnist-pca-knn.
stage: setup
	@test -n "$$STAGE" || { echo "error: give STAGE=<stage name> (dvc stage list names them)" >&2; exit 2; }
	@python -m stages.validate --check >/dev/null && dvc repro -s "$$STAGE"

# The whole suite (what CI runs); `make test-fast` leaves out the tests that run DVC and stage processes.
test: setup
	python -m pytest

test-fast: setup
	python -m pytest -m "not slow"

# The whole pipeline on the smoke configuration, as a temporary experiment named `smoke`: the workspace stays as
# it was; the results are in `dvc exp show` and printed below.
# The configuration's stages are new to dvc.lock, so DVC warns, for each of their outputs, that it has nothing to
# check out into the temporary copy: those lines are left out.
smoke: setup
	@dvc exp remove smoke >/dev/null 2>&1 || true
	@set -o pipefail; dvc exp run --temp -n smoke $(SMOKE) 2>&1 | grep --line-buffered -v '^WARNING: No file hash info found'
	@python -m tools.exps smoke

# The headline metrics of the workspace, the last commit and every experiment, within 120 columns, and where each
# experiment's report is. Every entry's accuracies at every budget, an experiment a column:
# `python -m tools.exps --all` (metrics/scores.json).
exps: setup
	@python -m tools.exps

# Each seed study alone, as a named experiment, and nothing the study added later, its published table printed
# beside ours (tools/seed_study.py holds the overrides). seed-000: its autoencoder on MNIST, then 1-NN, 3-NN, the
# nearest centroid and the MLP on raw pixels and on the codes, with every label; it fails when a number leaves its
# tolerance of the seed's table (CI runs it). seed-002: its nine-variant grid on both datasets, ranked by test BCE.
seed000: setup
	python -m tools.seed_study seed000

seed002: setup
	python -m tools.seed_study seed002

# The graph classifiers held to Calder et al.'s published trials (tools/calder.py, docs/calder/): the paper's VAE
# trained on all 70000 images of MNIST and of Fashion-MNIST, the 10-NN graph over them, 100 label draws at 1 to 5
# labels a class, transductive as published, then the study's inductive rule; the tables in metrics/calder/.
# CALDER passes options, split into words and nothing more (CALDER='--labels-per-class 4 --draws 20').
calder: setup
	set -f; python -m tools.calder --inductive $$CALDER

# The replicate study as the named experiment `replicates`; its headline, statistics, report and params are copied
# from the experiment to metrics/replicates/, where the default run does not write.
replicates: setup
	@dvc exp remove replicates >/dev/null 2>&1 || true
	dvc exp run --temp -n replicates $(REPLICATES)
	python -m tools.exps replicates --copy metrics/replicates --files metrics/summary.json metrics/report.md \
	  metrics/stats/mnist.json params.yaml

# Metrics and params of the workspace against BASE (a branch, tag or commit), as Markdown.
diff: setup
	@$(CHECK_BASE); dvc metrics diff "$$BASE" --md && dvc params diff "$$BASE" --md

# What a change does to the study against BASE: params, metrics (seconds aside) and the figures side by side, as
# the Markdown a pull request's comment holds (pr-report/report.md, its images in pr-report/figures/).
pr-report: setup
	@$(CHECK_BASE); python -m tools.pr_report --base "$$BASE"

# Record the smoke run as the baseline that `make ci-diff` compares against: what this machine kind computes
# (params.yaml and conf/ as the smoke overrides leave them, and its metrics).
smoke-baseline: smoke
	rm -rf metrics/smoke-baseline
	python -m tools.exps smoke --copy metrics/smoke-baseline --files params.yaml $(SMOKE_FILES)

# In a scratch clone: BASE with BASE's recorded smoke baseline committed on it (the grid's metrics are the report's
# whole folder, so BASE's grids of the default datasets go: the smoke run's report writes the digits' alone), then
# the smoke configuration run on this commit's own params (the overrides on top), and the pull-request report
# between the two. An unchanged commit diffs to nothing: the smoke run is deterministic on this machine kind. The
# gate: it fails (after writing the report, which says so) when a headline accuracy or paired difference moves by
# more than CI_TOLERANCE points (digits' test split holds 360 images: one image is 0.28 points; another CPU kind
# may move a few).
CI_TOLERANCE := 1.0
SMOKE_FILES := conf/autoencoders/seed000.yaml conf/autoencoders/h32-lr1e-2.yaml metrics/summary.json \
               metrics/scores.json metrics/grid/digits/seed-42.json metrics/times.json
ci-diff: setup
	@$(CHECK_BASE); rm -rf .ci-diff && git clone -q . .ci-diff \
	  && cd .ci-diff && git checkout -q "$$base" -b smoke-baseline && git rm -rq metrics/grid \
	  && for f in params.yaml $(SMOKE_FILES); do mkdir -p "$$(dirname "$$f")" \
	       && git show "$$base:metrics/smoke-baseline/$${f#metrics/}" > "$$f"; done \
	  && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm "smoke baseline of $$base" \
	  && git checkout -q - && { dvc exp run $(SMOKE) >smoke.log 2>&1 || { cat smoke.log; exit 1; }; } \
	  && git add -A && git -c user.name=ci -c user.email=ci@localhost commit -qm "smoke run"
	@echo "The smoke run of this commit against the baseline recorded on $$BASE (metrics/smoke-baseline/):"
	@cd .ci-diff && python -m tools.pr_report --base smoke-baseline --head HEAD --out ../pr-report --no-figures \
	  --tolerance "$$CI_TOLERANCE"; status=$$?; rm -rf .ci-diff; exit $$status

bench: setup
	python -m tools.bench

# A sweep file's experiments, each in its own clone of HEAD, on local processes, Dask, or Dask workers started as
# SLURM batch jobs (EXECUTOR=slurm; SLURM: a YAML file of dask-jobqueue SLURMCluster options); then pulled here.
# WORKDIR: where jobs clone; CACHE: a DVC cache every worker reaches (docs/experiments.md, "Sweeps on several
# machines").
sweep: setup
	python -m tools.sweep "$$SWEEP" --executor "$$EXECUTOR" --jobs "$$JOBS" $(if $(SCHEDULER),--scheduler "$$SCHEDULER") \
	  $(if $(WORKDIR),--workdir "$$WORKDIR") $(if $(CACHE),--cache "$$CACHE") $(if $(SLURM),--slurm "$$SLURM")

# The outputs and DVC's run-cache to and from the shared remote `storage` (set its URL once:
# dvc remote modify --local storage url <url>; docs/experiments.md, "A shared remote").
push: setup
	@python -m tools.remote push

pull: setup
	@python -m tools.remote pull

# The README's results section from the committed run's metrics/results.md (the report stage renders it).
readme: setup
	python -m tools.readme

# The `dvc plots show` page's template with the Vega libraries inside it (committed; rebuild to change versions).
plots-page: setup
	python -m tools.plots_page

# The pipeline's stage kinds as a Mermaid diagram (the README's).
dag: setup
	@python -m tools.dag

clean-venv:
	rm -rf $(VENV)
