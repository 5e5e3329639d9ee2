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
from collections.abc import Iterable

import numpy as np

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
from study.seconds import codes_record, codes_wall_seconds, labels_wall_seconds

# The tidy table of every fit (metrics/fits/<dataset>.csv): `pd.read_csv` gives the whole study. `seed` is
# empty for a seed-free result, `draw` for a fit on every label.
FITS_COLUMNS = ["dataset", "features", "classifier", "score", "labels_per_class", "seed", "draw", "accuracy",
                "seconds"]
VARIANT_SCORES = ("knn1", "knn3", "ncc")  # what the codes stage scores every variant with
# The bootstrap's own seed: every machine draws the same resamples, so the intervals are the same everywhere.
BOOTSTRAP_SEED = 0


def upstream_seconds(args, seeds: list[int], features: list[str], variant_records: Iterable[dict],
                     records: Iterable[dict]) -> dict[str, dict[str, float]]:
    """Each stage kind's wall seconds for this dataset, and how many stages, from the records they wrote."""
    walls = {
        "extract": [read_json(layout.facts(args.facts, args.dataset))["wall_seconds"]],
        "labels": [labels_wall_seconds(args.seconds, args.dataset)],
        "train": [record["trained"]["wall_seconds"] for record in variant_records],
        "codes": [codes_wall_seconds(args.seconds, args.dataset, s) for s in seeds],
        "encode": [read_json(layout.encode_record(args.encoded, args.dataset, f))["wall_seconds"] for f in features],
        "classify": [record["wall_seconds"] for record in records],
    }
    return {kind: {"seconds": float(sum(values)), "stages": len(values)} for kind, values in walls.items()}


def made_seconds(args, run: dict) -> float:
    """What one run of a feature set cost: its fitted steps' seconds, and for a step of codes, the variant's
    training and encoding under the run's seed."""
    seconds = run["seconds"]
    for step in run["steps"]:
        if "variant" in step:
            record = codes_record(args.codes, args.seconds, args.dataset, run["seed"], step["variant"])
            seconds += record["trained"]["seconds"] + record["encode_seconds"]
    return seconds


@functools.cache
def resamples_for(n_images: int, n_rows: int, resamples: int, seed: int) -> Resamples:
    """The shared resamples for ``n_rows`` rows (seeds, or seeds x label draws), drawn once per row count."""
    return Resamples.draw(n_images, n_rows, resamples, seed)


class Predictions:
    """What ``classify`` wrote for one dataset, read for every (features, classifier) of the design: each
    folder's record, its test predictions as correctness, and the rows of the tidy table of fits."""

    def __init__(self, args, design: Design, test_labels: np.ndarray) -> None:
        self.args, self.design, self.test_labels = args, design, test_labels
        self.folders = {(f, c): layout.classify_dir(args.classified, args.dataset, f, c) for f in design.active_features
                        for c in design.active_classifiers}
        self.records = {key: read_json(layout.classify_record(folder)) for key, folder in self.folders.items()}
        # What each feature set cost to make, per run: with a fit's own seconds, the total a user pays.
        self.made = {f: {run: made_seconds(args, facts) for run, facts in
                         read_json(layout.encode_record(args.encoded, args.dataset, f))["runs"].items()}
                     for f in design.active_features}
        self.fits: list[list] = []

    def scores(self):
        """(features, classifier, score, folder, record) of every score of the design."""
        for (features, classifier), folder in self.folders.items():
            for score in scores_of(self.design.classifiers[classifier]):
                yield features, classifier, score, folder, self.records[features, classifier]

    def every_label(self) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs with every label, and its times (its few-label fits' included)."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            runs = list(record["all"])
            fits = [record["all"][run][score] for run in runs]
            few = [fit for budget in record["budgets"].values() for by in budget.values() for fit in by[score]["fits"]]
            made = self.made[features]
            times[features][score] = Times(
                float(np.mean([f["seconds"] for f in fits])) if fits else None,
                float(np.mean([fit["seconds"] + made[run if run in made else "all"]
                               for fit, run in zip(fits, runs, strict=True)])) if fits else None,
                len(few), float(sum(f["seconds"] for f in few)))
            rows = [read_npz(layout.every_label_predictions(folder, run), score)[0] == self.test_labels for run in runs]
            labels = [{"seed": None if run == layout.ALL_RUN else int(run.removeprefix(layout.seed_dir("")))}
                      for run in runs]
            outcomes[features, score] = (np.stack(rows), labels)
            self.fits += [[self.args.dataset, features, classifier, score, ALL, label["seed"], None,
                           float(row.mean()), record["all"][run][score]["seconds"]]
                          for row, run, label in zip(rows, runs, labels, strict=True)]
        return outcomes, times

    def budget(self, k: int, seeds: list[int]) -> tuple[dict[tuple[str, str], Runs], dict[str, dict[str, Times]]]:
        """Each (features, score)'s runs at ``k`` labels per class (seeds x draws), and its mean times."""
        outcomes, times = {}, {f: {} for f in self.design.active_features}
        for features, classifier, score, folder, record in self.scores():
            made = self.made[features]
            rows, labels, seconds = [], [], []
            for seed in seeds:
                (predicted,) = read_npz(layout.budget_predictions(folder, seed), f"{score}-{k}")
                rows.append(predicted == self.test_labels)
                labels += [{"seed": seed, "draw": d} for d in range(len(predicted))]
                fits = record["budgets"][layout.seed_dir(seed)][str(k)][score]["fits"]
                cost = made.get(layout.seed_dir(seed), made.get(layout.ALL_RUN, 0.0))
                seconds += [(fit["seconds"], fit["seconds"] + cost) for fit in fits]
                self.fits += [[self.args.dataset, features, classifier, score, k, seed, draw, float(correct.mean()),
                               fit["seconds"]] for draw, (correct, fit) in enumerate(zip(rows[-1], fits, strict=True))]
            outcomes[features, score] = (np.concatenate(rows), labels)
            fit_seconds, total_seconds = zip(*seconds, strict=True)
            times[features][score] = Times(float(np.mean(fit_seconds)), float(np.mean(total_seconds)))
        return outcomes, times


def variant_results(args, variants: list[str], seeds: list[int], records: dict[tuple[int, str], dict],
                    test_labels: np.ndarray, bootstrap) -> list[VariantResult]:
    """Every variant's codes against PCA of the same size, from the codes stage's predictions and records."""
    keys = (*VARIANT_SCORES, *(f"pca_{score}" for score in VARIANT_SCORES))

    def predictions(seed: int, variant: str) -> dict[str, np.ndarray]:
        arrays = read_npz(layout.codes_predictions(args.codes, args.dataset, seed, variant), *keys)
        return dict(zip(keys, arrays, strict=True))

    return [variant_result(variant, [predictions(s, variant) for s in seeds],
                           [records[s, variant] for s in seeds], seeds, VARIANT_SCORES, test_labels, bootstrap)
            for variant in variants]


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
    predictions = Predictions(args, design, test_labels)
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
    variants = conf.variants(params)
    variant_records = {(s, v): codes_record(args.codes, args.seconds, args.dataset, s, v)
                       for s in seeds for v in variants}
    variant_table = variant_results(args, variants, seeds, variant_records, test_labels, bootstrap)
    for budget in label_budgets:
        print(f"{args.dataset} {budget.labels_per_class} labels per class: " + "; ".join(
            f"{score} {row.a} - {row.b} {row.difference_pt:+.2f} pt ({row.verdict})"
            for score, rows in budget.comparisons.items() for row in rows[:1]))
    write_text(layout.fits_table(args.fits, args.dataset), csv_text(FITS_COLUMNS, predictions.fits))
    stage_seconds = upstream_seconds(args, seeds, features, variant_records.values(), predictions.records.values())
    stage_seconds["stats"] = {"seconds": wall_seconds(), "stages": 1}
    stats = DatasetStats(full.cells, full.comparisons, full.score_comparisons, dataset=args.dataset, n_test=n_test,
                         seeds=tuple(seeds), confidence=CONFIDENCE, resamples=resamples,
                         bootstrap_seed=BOOTSTRAP_SEED, times=times, label_budgets=tuple(label_budgets),
                         variants=tuple(variant_table), stage_seconds=stage_seconds,
                         confusion=best_confusion(full, lambda f, score: next(iter(
                             predictions.records[f, design.scores[score]]["all"].values()))[score]))
    write_json(layout.stats_file(args.stats, args.dataset), stats.to_json())


if __name__ == "__main__":
    run_stage(main)
