"""Stage ``validate``: the whole configuration checked, and every entry built, before any other stage runs.

    python -m stages.validate

Every other stage depends on a file this stage writes, the digest of the code its kind runs
(``data/records/code/<kind>.json``, ``stages/digests.py``), so ``dvc repro``, ``dvc exp run`` and a targeted ``dvc
repro <stage>`` run it first: a bad ``params.yaml`` or ``conf/`` file stops them with one line naming the file and
key, before any other command runs or writes. (``dvc repro -s``, which runs one stage alone, skips it; each stage
checks its own names and values again.)

Checked here:
- every key of params.yaml is one the study knows; the seeds (at most ``MAX_SEEDS``), the lists, the label
  budgets (ending with ``all``: the every-label cells are what ``stats`` and the report hold each budget
  against; ``[all]`` alone is a study without a few-label part), the statistics' resamples, the device;
- every file of ``conf/datasets/`` and ``conf/autoencoders/``, active or not;
- every entry of ``features`` and ``classifiers``: its ``_target_`` a scikit-learn estimator of the right kind,
  checked before anything it defines is called, its arguments ones it takes; the active ones, and each active
  autoencoder on each active dataset, built, so that their own constraints check every value; inputs that name
  no feature set, and cycles of inputs;
- memory: each active autoencoder's training on each active dataset, and each network classifier's on each
  active feature set's width, refused when it needs more than this machine has;
- every classifier whose entry says ``unlabelled: true`` fitted once on a small set with unlabelled samples, so
  that one that would take the label -1 for a class (a supervised classifier) is refused; the fit is stopped
  after ``TRIAL_SECONDS`` (an iteration count of 10^9 would never return).

A digest changes only when the code of its kind does: a change of params re-runs this stage but, by itself,
nothing downstream. The conf/ files are params of the stages that read them (``extract``, ``train``), which
re-run when one changes and check their own entry; this stage checks every conf/ file whenever it runs.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from aestudy.core.checks import UNLABELLED
from aestudy.core.errors import StudyError, shown
from aestudy.core.io import write_json
from aestudy.core.memory import check_memory
from aestudy.data.budgets import ALL
from aestudy.data.datasets import DatasetSpec
from study import conf, layout, params_yaml
from study.catalogue import CODE_WIDTH, STUDY_ARGUMENTS, Entry, scores_of
from study.cli import run_stage, stage_args
from study.design import Design, feature_width, headline_specs, read_design
from study.digests import DIGESTS, digest

TRIAL_SECONDS = 20.0  # a trial fit on 64 points takes well under a second with the study's settings


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    """The block stopped with an error naming ``what`` once it has run ``seconds`` (SIGALRM: the main thread, on
    Unix; Python code is interrupted, a single C call only when it returns)."""
    if not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, frame: object) -> None:
        raise StudyError(f"{what}: a trial fit on 64 points ran past {seconds:.0f} s; an iteration count "
                         "(n_init, max_iter, min_iter...) is too large for the study's fits")

    before = signal.signal(signal.SIGALRM, stop)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, before)


def check_unlabelled(entry: Entry, overrides: dict) -> None:
    """A classifier declared to use unlabelled images, fitted on two separated clusters of which two images
    each are labelled: it must predict the two labels, never -1. The fit runs under ``TRIAL_SECONDS``: its
    iteration counts are the entry's, and ``n_init: 1e9`` would never return."""
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(0, 0.1, (32, 2)), rng.normal(5, 0.1, (32, 2))]).astype(np.float32)
    y = np.full(64, UNLABELLED)
    y[[0, 1]], y[[32, 33]] = 0, 1
    try:
        with deadline(TRIAL_SECONDS, entry.key):
            model = entry.build(seed=0, **overrides).fit(x, y)
            predicted = set(np.asarray(model.predict(x)).tolist())
    except StudyError:
        raise
    except ValueError as error:
        raise StudyError(f"{entry.key}: unlabelled: true, but it cannot be fitted on unlabelled samples ({error})"
                         .replace("\n", " ")) from None
    if UNLABELLED in set(np.asarray(getattr(model, "classes_", [])).tolist()) | predicted:
        raise StudyError(f"{entry.key}: unlabelled: true, but it takes the label -1 of unlabelled samples for a "
                         "class: it is a supervised classifier (leave unlabelled out)")


def check_autoencoders(params: dict, active: list[DatasetSpec], seed: int, device: str) -> tuple[dict, list[int]]:
    """Every ``conf/autoencoders`` entry (each writes every setting), and each active variant built for each
    active dataset with its training memory checked: the entries by name, and the active variants' code sizes."""
    autoencoders = {name: conf.autoencoder(name).check() for name in conf.conf_names("autoencoders")}
    for entry in autoencoders.values():  # the validation carve-out is train.val_fraction, the study's
        conf.check_written(entry, STUDY_ARGUMENTS | {"val_fraction"})
    code_dims = []
    for name in conf.variants(params):
        for spec in active:
            autoencoder, config = conf.built_autoencoder(autoencoders[name], seed=seed, device=device,
                                                      image_shape=spec.image_shape)
            check_memory(autoencoder.training_bytes(spec.values_per_image),
                         f"{autoencoders[name].key}: training on {spec.name}")
        code_dims.append(config.code_dim)
    return autoencoders, code_dims


def check_entries(params: dict, design: Design, active: list[DatasetSpec], code_dims: list[int], seed: int,
                  device: str) -> None:
    """Every entry of ``features`` and ``classifiers`` (each writes every setting), and the active ones built:
    each feature set's steps, each classifier's scores with their training memory on every active feature set,
    and an ``unlabelled`` classifier's use of the unlabelled images."""
    for catalogue in (design.features, design.classifiers):
        for entry in catalogue.entries.values():
            conf.check_written(entry.check())
    context = {CODE_WIDTH: max(code_dims)}
    for name in design.active_features:
        for step in design.features.chain(name):
            step.build(seed=seed, device=device, context=context)
    for name in design.active_classifiers:
        entry = design.classifiers[name]
        params_yaml.label_draws(params, entry)
        for overrides in scores_of(entry).values():
            model = entry.build(seed=seed, device=device, **overrides)
            if hasattr(model, "training_bytes"):
                for spec in active:
                    for features in design.active_features:
                        width = feature_width(design, features, spec.values_per_image, code_dims)
                        check_memory(model.training_bytes(width), f"{entry.key}: training on {features} features "
                                                                  f"of {spec.name} ({width} columns)")
            if entry.extras.get("unlabelled"):
                check_unlabelled(entry, overrides)


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.validate", __doc__, ("params", "code"),
                      flags={"check": "check everything, write nothing"})
    params = params_yaml.load_params(args.params)  # the study-level values checked (params_yaml.check_study)
    if not params_yaml.label_budgets(params)[1]:
        raise StudyError(f"params.yaml: label_budgets.labels_per_class must end with `{ALL}` (every label: the "
                         f"cells each budget is held against), got {shown(params['label_budgets']['labels_per_class'])}")
    seed, device = params_yaml.seeds(params)[0], params_yaml.device(params)
    specs = {name: conf.dataset_spec(name) for name in conf.conf_names("datasets")}
    active = [specs[name] for name in conf.datasets(params)]
    autoencoders, code_dims = check_autoencoders(params, active, seed, device)
    design = read_design(params)
    params_yaml.check_stage_names(params)
    headline_specs(params, design)
    check_entries(params, design, active, code_dims, seed, device)
    if args.check:
        print(f"params.yaml and conf/ checked: {len(active)} datasets, {len(conf.variants(params))} variants, "
              f"{len(design.active_features)} feature sets, {len(design.active_classifiers)} classifiers")
        return
    # Every entry's module, active or not: switching an entry on or off in `compare` must not change the digest of
    # the other entries' stages (it would re-run every encode or classify stage).
    targets = {"train": {autoencoders[v].target.__module__ for v in conf.variants(params)},
               "encode": {step.target.__module__ for f in design.features.entries for step in design.features.chain(f)},
               "classify": {entry.target.__module__ for entry in design.classifiers.entries.values()}}
    for name, kinds in DIGESTS.items():
        write_json(layout.code_digest(args.code, name), digest([f"stages.{kind}" for kind in kinds] +
                                                          sorted(m for kind in kinds for m in targets.get(kind, ()))))


if __name__ == "__main__":
    run_stage(main)
