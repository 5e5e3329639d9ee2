"""Stage ``classify``: one classifier on one feature set of one dataset, at every label budget.

    python -m stages.classify --dataset=mnist --features=ae --classifier=mlp

The classifier is an entry of ``classifiers`` in params.yaml, built-in or a user's: every one runs here the same
way. Each of its scores (``scores``: argument overrides; by default the entry's name) is fitted and scored on
the whole test split:
- at the budget ``all`` (when ``label_budgets.labels_per_class`` ends with it): on every training label, under
  each replicate seed when the result depends on one (the features or the classifier take the seed), once
  otherwise;
- at each other budget: on each label draw of each seed (``labels``; the classifier's ``draws``: the first of
  them). A classifier sees the draw's labelled images and their labels alone, or, when its entry says
  ``unlabelled: true``, every training image with the label -1 (scikit-learn's convention) for those without
  one: only the draw's labels, never another.
The features were fitted on every training image without labels (``encode``). This stage reads the training
split's labels only for the budget ``all``.

Writes ``data/classify/<dataset>/<features>/<classifier>/``: ``all.npz`` (or ``all-seed-<seed>.npz``: a row of
test predictions per score), ``budgets-seed-<seed>.npz`` (``<score>-<k>``: a row per draw), ``record.json``
(accuracies, the seconds of every fit and predict, what each fitted estimator reports: iterations, epochs,
unreached images; with every label, the confusion matrix; the stage's wall seconds). Its live log, the plots
``data/live/classify/<dataset>/<features>/<classifier>/plots/metrics/``: each budget's accuracy as it is scored
(``budgets/<score>-seed-<seed>``, step: labels per class), with every label (``every_label/``), and for an
estimator that trains by epochs, each full-label fit's epochs (``<score>-<run>/``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from numbers import Number
from pathlib import Path
from typing import Any

import numpy as np

from aestudy.core.checks import UNLABELLED
from aestudy.core.errors import StudyError
from aestudy.core.io import read_npz, write_json, write_npz
from aestudy.core.runtime import stopwatch
from aestudy.data.budgets import draw_seed
from aestudy.evaluation.confusion import confusion_matrix
from study import layout, params_yaml
from study.params_yaml import name_list
from study.catalogue import Entry, scores_of
from study.cli import run_stage, stage_args, wall_seconds
from study.design import read_entry
from study.live import epoch_callback, live_log, log_step
from study.records import BudgetScore, ClassifyRecord, EveryLabelScore, Fit

# What a fitted estimator reports of its fit, recorded where it has it.
FIT_ATTRIBUTES = ("n_iter_", "best_epoch_", "epochs_run_", "epochs_planned_", "val_accuracy_", "unreached_",
                  "mbo_iter_", "n_pseudo_")


def fit_and_predict(entry: Entry, overrides: dict, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    **build: Any) -> tuple[np.ndarray, Fit]:
    """One fit and prediction: the test predictions, and the record of it (seconds, what the estimator says)."""
    model = entry.build(**build, **overrides)
    with stopwatch() as watch, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            predicted = np.asarray(model.fit(x_train, y_train).predict(x_test))
        except ValueError as error:
            raise StudyError(f"{entry.key}: {type(model).__name__} failed on these features ({error})"
                             .replace("\n", " ")) from None
    if predicted.shape != (len(x_test),):
        raise StudyError(f"{entry.key}: predict returned shape {predicted.shape}, expected ({len(x_test)},)")
    reported: dict[str, Any] = {}
    for name in FIT_ATTRIBUTES:
        value = getattr(model, name, None)
        if isinstance(value, Number):
            reported[name.rstrip("_")] = value.item() if hasattr(value, "item") else value
    warned = sorted({type(w.message).__name__ for w in caught})
    if warned:  # e.g. the linear probe stopping at max_iter: the setting's choice, recorded, not printed per fit
        reported["warnings"] = warned
    return predicted.astype(np.int64), Fit(watch.seconds, reported)


@dataclass
class Job:
    """One classify stage's fits: the entry and its scores, the test labels, the live log, and what it has
    recorded (``every_label``, ``budgets``: a ``ClassifyRecord``'s) and will write (``outputs``: every array is
    written once every fit has run)."""

    entry: Entry
    device: str
    test_labels: np.ndarray
    live: Any
    where: str
    folder: Path  # the stage's output folder (``study.layout.classify_dir``)
    outputs: dict[Path, dict[str, np.ndarray]] = field(default_factory=dict)
    every_label: dict[str, dict[str, EveryLabelScore]] = field(default_factory=dict)
    budgets: dict[int, dict[int, dict[str, BudgetScore]]] = field(default_factory=dict)

    @property
    def scores(self) -> dict[str, dict]:
        """The entry's scores: each name with its argument overrides."""
        return scores_of(self.entry)

    def fit_every_label(self, seed: int | None, x_train: np.ndarray, train_labels: np.ndarray,
                        x_test: np.ndarray) -> None:
        """Each score fitted on every training label (one run: ``seed``, or seed-free)."""
        run = layout.run_name(seed)
        path = layout.every_label_predictions(self.folder, run)
        self.outputs[path], self.every_label[run] = {}, {}
        for score, overrides in self.scores.items():
            logs = {"epoch_callback": epoch_callback(self.live, f"{score}-{run}/")} \
                if self.entry.takes("epoch_callback") else {}
            predicted, fit = fit_and_predict(self.entry, overrides | logs, x_train, train_labels, x_test, seed=seed,
                                             device=self.device)
            self.outputs[path][score] = predicted
            scored = EveryLabelScore(int((predicted == self.test_labels).sum()), len(self.test_labels), fit,
                                     tuple(map(tuple, confusion_matrix(self.test_labels, predicted).tolist())))
            self.every_label[run][score] = scored
            log_step(self.live, 0, {f"every_label/{score}-{run}": scored.accuracy})
            print(f"{self.where} {score} every label{'' if seed is None else f', seed {seed}'}: accuracy "
                  f"{scored.accuracy:.4f} in {fit.seconds:.1f}s")

    def fit_budget(self, seed: int, k: int, draws: int, x_train: np.ndarray, x_test: np.ndarray, indices: np.ndarray,
               labels: np.ndarray, arrays: dict[str, list[np.ndarray]]) -> None:
        """Each score fitted on the first ``draws`` labelled sets of ``k`` per class (with the unlabelled images,
        labelled -1, for an ``unlabelled`` entry); its predictions appended to ``arrays``."""
        fits: dict[str, list[Fit]] = {score: [] for score in self.scores}
        for draw in range(draws):
            if self.entry.extras.get("unlabelled", False):
                y = np.full(len(x_train), UNLABELLED, dtype=np.int64)
                y[indices[draw]] = labels[draw]
                inputs = (x_train, y)
            else:
                inputs = (x_train[indices[draw]], labels[draw])
            for score, overrides in self.scores.items():
                predicted, fit = fit_and_predict(self.entry, overrides, *inputs, x_test, seed=draw_seed(seed, draw),
                                                 device=self.device)
                arrays.setdefault(f"{score}-{k}", []).append(predicted)
                fits[score].append(fit)
        summary = {score: BudgetScore(float(np.mean(np.stack(arrays[f"{score}-{k}"]) == self.test_labels)),
                                      tuple(by_draw)) for score, by_draw in fits.items()}
        self.budgets.setdefault(seed, {})[k] = summary
        log_step(self.live, k, {f"budgets/{score}-{layout.seed_dir(seed)}": s.accuracy for score, s in summary.items()})
        print(f"{self.where} seed {seed}, {k:>5} labels per class: " + ", ".join(
            f"{score} {s.accuracy:.4f}" for score, s in summary.items())
            + f" (mean of {draws} draws, {sum(f.seconds for by_draw in fits.values() for f in by_draw):.1f}s)")


def every_label_runs(with_all: bool, seeded: bool, seeds: list[int]) -> list[int | None]:
    """The runs with every label: none when the budgets leave out ``all``; one per replicate seed when the result
    depends on the seed (its features or its classifier); else one seed-free run."""
    if not with_all:
        return []
    return list(seeds) if seeded else [None]


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.classify", __doc__, ("params", "prepared", "labelled", "feature-sets", "classified",
                                                   "live"), names=("dataset", "features", "classifier"))
    params = params_yaml.load_params(args.params)
    for name, listing in (("features", "compare.features"), ("classifier", "compare.classifiers")):
        active = name_list(params, listing)
        if getattr(args, name) not in active:
            raise StudyError(f"--{name} {getattr(args, name)}: not one of {listing} ({', '.join(active)})")
    entry = read_entry(params, "classifiers", args.classifier)
    budgets, with_all = params_yaml.label_budgets(params)
    draws, seeds = params_yaml.label_draws(params, entry), params_yaml.seeds(params)
    feature_files = (args.feature_sets, args.dataset, args.features)
    features_seeded = not layout.feature_file(*feature_files, None).exists()
    seeded = features_seeded or entry.seeded

    def features(seed: int | None) -> tuple[np.ndarray, np.ndarray]:
        return read_npz(layout.feature_file(*feature_files, seed if features_seeded else None), "train", "test")

    train_labels, test_labels = read_npz(layout.prepared(args.prepared, args.dataset), "train_labels", "test_labels")
    # The stage's live log: the per-epoch curves of each full-label fit of a classifier that trains by epochs,
    # and each budget's accuracy as it is scored (step: labels per class). The device is resolved by the
    # estimators that take one: the others never load torch.
    with live_log(layout.classify_live(args.live, args.dataset, args.features, args.classifier)) as live:
        job = Job(entry, params_yaml.device(params), test_labels, live,
                  f"{args.dataset} {args.features} {args.classifier}",
                  layout.classify_dir(args.classified, args.dataset, args.features, args.classifier))
        for seed in every_label_runs(with_all, seeded, seeds):
            x_train, x_test = features(seed)
            job.fit_every_label(seed, x_train, train_labels, x_test)
        for seed in seeds if budgets else []:
            x_train, x_test = features(seed)
            labelled = layout.labelled(args.labelled, args.dataset, seed)
            arrays: dict[str, list[np.ndarray]] = {}
            for k in budgets:
                indices, labels = read_npz(labelled, f"indices-{k}", f"labels-{k}")
                if len(indices) < draws:
                    raise StudyError(f"{labelled}: holds {len(indices)} draws, fewer than {draws}; run the labels "
                                     "stage first (dvc repro)")
                job.fit_budget(seed, k, draws, x_train, x_test, indices, labels, arrays)
            job.outputs[layout.budget_predictions(job.folder, seed)] = {key: np.stack(rows)
                                                                        for key, rows in arrays.items()}
    for path, predictions in job.outputs.items():
        write_npz(path, **predictions)
    write_json(layout.classify_record(job.folder), ClassifyRecord(
        args.dataset, args.features, args.classifier, entry.path, seeded, entry.extras.get("unlabelled", False),
        tuple(scores_of(entry)), job.every_label, job.budgets, wall_seconds()).to_json())


if __name__ == "__main__":
    run_stage(main)
