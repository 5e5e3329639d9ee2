"""Stage ``stats``: every accuracy of one dataset with its interval, and the paired comparisons.

    python -m stages.stats --dataset=mnist

From the test predictions of every (features, classifier) of ``compare`` (``classify``), for every label
budget, and every variant's predictions (``codes``):
- each accuracy's 95% interval: Wilson's for one run; over several runs (replicate seeds, label draws), the
  mean with a bootstrap interval over the runs and the test images;
- each pair of ``compare.pairs``, A - B on the same test images: two feature sets under every score
  (``comparisons``), or two scores on every feature set (``score_comparisons``; a graph classifier against
  1-NN on the same features). The difference in points, its 95% bootstrap interval (``stats.resamples``
  resamples drawn with the fixed seed ``BOOTSTRAP_SEED``, shared by every comparison of the dataset), each run's exact McNemar
  p-value under ``by_seed`` (with its seed, and draw), and the verdict: ``A beats B`` only when the interval
  excludes 0, else ``tie within noise``;
- ``label_budgets``: the same per budget (``labels_per_class``, ``n_labelled``), runs = seeds x draws; the
  budget ``all`` repeats the full-label cells;
- ``variants``: every variant's codes under 1-NN, 3-NN and the centroid beside PCA of the same size, with the
  paired comparison code - PCA (descriptive: never used to choose), its family, code size and seconds;
- ``times``: each (features, score)'s seconds to fit and predict with every label, its total with the features'
  cost (an autoencoder's training included), and the seconds of its few-label fits;
- ``confusion``: the most accurate every-label cell's confusion matrix (described, not chosen by).
Writes ``metrics/stats/<dataset>.json``, a ``DatasetStats`` (``aestudy.evaluation.results``, the schema), and
``metrics/fits/<dataset>.csv``, every fit's accuracy and seconds.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.core.io import csv_text, read_json, read_npz, write_json, write_text
from aestudy.core.memory import check_memory
from aestudy.data.budgets import ALL
from aestudy.evaluation.results import (
    EMPTY_TABLE,
    Budget,
    DatasetStats,
    Times,
    VariantResult,
)
from aestudy.evaluation.stats import CONFIDENCE, Resamples
from aestudy.evaluation.tables import Runs, as_budget, best_confusion, study_table, variant_result
from study import conf, layout, params_yaml
from study.catalogue import scores_of
from study.cli import run_stage, stage_args, wall_seconds
from study.design import Design, read_design
from study.records import ClassifyRecord, EncodeRecord, EncodeRun
from study.seconds import Variant, codes_wall_seconds, labels_wall_seconds, read_variants

# The tidy table of every fit (metrics/fits/<dataset>.csv): `pd.read_csv` gives the whole study. `seed` is
# empty for a seed-free result, `draw` for a fit on every label.
FITS_COLUMNS = ["dataset", "features", "classifier", "score", "labels_per_class", "seed", "draw", "accuracy",
                "seconds"]
VARIANT_SCORES = ("knn1", "knn3", "ncc")  # what the codes stage scores every variant with
# The bootstrap's own seed: every machine draws the same resamples, so the intervals are the same everywhere.
BOOTSTRAP_SEED = 0


def upstream_seconds(args, seeds: list[int], encoded: Iterable[EncodeRecord], variants: Iterable[Variant],
                     records: Iterable[ClassifyRecord]) -> dict[str, dict[str, float]]:
    """Each stage kind's wall seconds for this dataset, and how many stages, from the records they wrote."""
    walls = {
        "extract": [read_json(layout.facts(args.facts, args.dataset))["wall_seconds"]],
        "labels": [labels_wall_seconds(args.seconds, args.dataset)],
        "train": [variant.training.wall_seconds for variant in variants],
        "codes": [codes_wall_seconds(args.seconds, args.dataset, s) for s in seeds],
        "encode": [record.wall_seconds for record in encoded],
        "classify": [record.wall_seconds for record in records],
    }
    return {kind: {"seconds": float(sum(values)), "stages": len(values)} for kind, values in walls.items()}


def made_seconds(run: EncodeRun, variants: dict[tuple[int, str], Variant]) -> float:
    """What one run of a feature set cost: its fitted steps' seconds, and for a step of codes, the variant's
    training and encoding under the run's seed."""
    seconds = run.seconds
    for step in run.steps:
        if step.variant is not None:
            variant = variants[run.seed, step.variant]
            seconds += variant.training.seconds + variant.encode_seconds
    return seconds


@functools.cache
def resamples_for(n_images: int, n_rows: int, resamples: int, seed: int) -> Resamples:
    """The shared resamples for ``n_rows`` rows (seeds, or seeds x label draws), drawn once per row count."""
    return Resamples.draw(n_images, n_rows, resamples, seed)


class Predictions:
    """What ``classify`` wrote for one dataset, read for every (features, classifier) of the design: each
    folder's record, its test predictions as correctness, and the rows of the tidy table of fits."""

    def __init__(self, args, design: Design, test_labels: np.ndarray, encoded: dict[str, EncodeRecord],
                 variants: dict[tuple[int, str], Variant]) -> None:
        self.args, self.design, self.test_labels = args, design, test_labels
        self.folders = {(f, c): layout.classify_dir(args.classified, args.dataset, f, c) for f in design.active_features
                        for c in design.active_classifiers}
        self.records = {key: ClassifyRecord.from_json(read_json(layout.classify_record(folder)))
                        for key, folder in self.folders.items()}
        # What each feature set cost to make, per run: with a fit's own seconds, the total a user pays.
        self.made = {f: {name: made_seconds(run, variants) for name, run in encoded[f].runs.items()}
                     for f in design.active_features}
        self.fits: list[list] = []

    def scores(self) -> Iterator[tuple[str, str, str, Path, ClassifyRecord]]:
        """(features, classifier, score, folder, record) of every score of the design."""
        for (features, classifier), folder in self.folders.items():
            for score in scores_of(self.design.classifiers[classifier]):
                yield features, classifier, score, folder, self.records[features, classifier]

    def first_confusion(self, features: str, score: str) -> tuple[float, list[list[int]]]:
        """The accuracy and confusion matrix of ``score``'s first every-label run on ``features``."""
        fit = next(iter(self.records[features, self.design.scores[score]].every_label.values()))[score]
        return fit.accuracy, [list(row) for row in fit.confusion]

    def every_label(self) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs with every label, and its times (its few-label fits' included)."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            runs = list(record.every_label)
            fits = [record.every_label[run][score].fit for run in runs]
            few = [fit for by_k in record.budgets.values() for by in by_k.values() for fit in by[score].fits]
            made = self.made[features]
            times[features][score] = Times(
                float(np.mean([f.seconds for f in fits])) if fits else None,
                float(np.mean([fit.seconds + made[run if run in made else layout.ALL_RUN]
                               for fit, run in zip(fits, runs, strict=True)])) if fits else None,
                len(few), float(sum(f.seconds for f in few)))
            rows = [read_npz(layout.every_label_predictions(folder, run), score)[0] == self.test_labels for run in runs]
            labels = [{"seed": None if run == layout.ALL_RUN else int(run.removeprefix(layout.seed_dir("")))}
                      for run in runs]
            outcomes[features, score] = (np.stack(rows), labels)
            self.fits += [[self.args.dataset, features, classifier, score, ALL, label["seed"], None,
                           float(row.mean()), fit.seconds]
                          for row, fit, label in zip(rows, fits, labels, strict=True)]
        return outcomes, times

    def budget(self, k: int, seeds: list[int]) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs at ``k`` labels per class (seeds x draws), and its mean times."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            made = self.made[features]
            rows, labels, seconds = [], [], []
            for seed in seeds:
                path = layout.budget_predictions(folder, seed)
                (predicted,) = read_npz(path, f"{score}-{k}")
                fits = record.budget(seed, k, score).fits
                if len(predicted) != len(fits):
                    raise StudyError(f"{path}: {score}-{k} holds {len(predicted)} draws' predictions where its record "
                                     f"holds {len(fits)}; run the classify stage again (dvc repro)")
                rows.append(predicted == self.test_labels)
                labels += [{"seed": seed, "draw": d} for d in range(len(fits))]
                cost = made.get(layout.seed_dir(seed), made.get(layout.ALL_RUN, 0.0))
                seconds += [(fit.seconds, fit.seconds + cost) for fit in fits]
                self.fits += [[self.args.dataset, features, classifier, score, k, seed, draw, float(correct.mean()),
                               fit.seconds] for draw, (correct, fit) in enumerate(zip(rows[-1], fits, strict=True))]
            outcomes[features, score] = (np.concatenate(rows), labels)
            fit_seconds, total_seconds = zip(*seconds, strict=True)
            times[features][score] = Times(float(np.mean(fit_seconds)), float(np.mean(total_seconds)))
        return outcomes, times


def variant_results(args, names: list[str], seeds: list[int], variants: dict[tuple[int, str], Variant],
                    test_labels: np.ndarray, bootstrap) -> list[VariantResult]:
    """Every variant's codes against PCA of the same size, from the codes stage's predictions and records."""
    keys = (*VARIANT_SCORES, *(f"pca_{score}" for score in VARIANT_SCORES))

    def predictions(seed: int, name: str) -> dict[str, np.ndarray]:
        arrays = read_npz(layout.codes_predictions(args.codes, args.dataset, seed, name), *keys)
        return dict(zip(keys, arrays, strict=True))

    results = []
    for name in names:
        by_seed = [variants[s, name] for s in seeds]
        trained = by_seed[0].codes.trained
        results.append(variant_result(
            name, [predictions(s, name) for s in seeds], seeds, VARIANT_SCORES, test_labels, bootstrap,
            family=trained.family, code_dim=trained.code_dim,
            training_seconds=float(np.mean([v.training.seconds for v in by_seed])),
            scoring_seconds=float(np.mean([v.seconds for v in by_seed])),
            diverged=any(v.codes.trained.diverged for v in by_seed)))
    return results


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.stats", __doc__, ("params", "prepared", "facts", "labelled", "codes", "encoded",
                                                "classified", "stats", "fits", "seconds"), names=("dataset",))
    params = params_yaml.load_params(args.params)
    seeds, design, resamples = params_yaml.seeds(params), read_design(params), params_yaml.resamples(params)
    budgets, with_all = params_yaml.label_budgets(params)
    test_labels, train_labels = read_npz(layout.prepared(args.prepared, args.dataset), "test_labels", "train_labels")
    n_test = len(test_labels)
    check_memory(Resamples.bytes_needed(n_test, resamples), f"params.yaml: stats.resamples: {resamples} resamples "
                                                            f"of {n_test} test images")
    bootstrap = functools.partial(resamples_for, n_test, resamples=resamples, seed=BOOTSTRAP_SEED)
    features, scores = design.active_features, list(design.scores)
    variants = {(s, name): variant for s in seeds for name, variant in
                read_variants(args.codes, args.seconds, args.dataset, s, conf.variants(params)).items()}
    encoded = {f: EncodeRecord.from_json(read_json(layout.encode_record(args.encoded, args.dataset, f)))
               for f in features}
    predictions = Predictions(args, design, test_labels, encoded, variants)
    outcomes, times = predictions.every_label()
    full = study_table(outcomes, features, scores, design.pairs, bootstrap) if with_all else EMPTY_TABLE
    label_budgets = []
    for k in budgets:
        budget_outcomes, budget_times = predictions.budget(k, seeds)
        # The labelled sets' size, from the labels stage's indices: the statistics read no training label.
        (n_labelled,) = {read_npz(layout.labelled(args.labelled, args.dataset, s), f"indices-{k}")[0].shape[1]
                         for s in seeds}
        table = study_table(budget_outcomes, features, scores, design.pairs, bootstrap, by_draws=True)
        label_budgets.append(Budget(table.cells, table.comparisons, table.score_comparisons, labels_per_class=k,
                                    n_labelled=int(n_labelled), times=budget_times))
    if with_all:
        label_budgets.append(as_budget(full, times, len(train_labels), ALL))
    variant_table = variant_results(args, conf.variants(params), seeds, variants, test_labels, bootstrap)
    for budget in label_budgets:
        print(f"{args.dataset} {budget.labels_per_class} labels per class: " + "; ".join(
            f"{score} {row.a} - {row.b} {row.difference_pt:+.2f} pt ({row.verdict})"
            for score, rows in budget.comparisons.items() for row in rows[:1]))
    write_text(layout.fits_table(args.fits, args.dataset), csv_text(FITS_COLUMNS, predictions.fits))
    stage_seconds = upstream_seconds(args, seeds, encoded.values(), variants.values(), predictions.records.values())
    stage_seconds["stats"] = {"seconds": wall_seconds(), "stages": 1}
    stats = DatasetStats(full.cells, full.comparisons, full.score_comparisons, dataset=args.dataset, n_test=n_test,
                         seeds=tuple(seeds), confidence=CONFIDENCE, resamples=resamples,
                         bootstrap_seed=BOOTSTRAP_SEED, times=times, label_budgets=tuple(label_budgets),
                         variants=tuple(variant_table), stage_seconds=stage_seconds,
                         confusion=best_confusion(full, predictions.first_confusion))
    write_json(layout.stats_file(args.stats, args.dataset), stats.to_json())


if __name__ == "__main__":
    run_stage(main)
