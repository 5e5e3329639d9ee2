"""Stage ``stats``: every accuracy of one dataset with its interval, and the paired comparisons of features.

    python -m stages.stats --dataset mnist

From the test predictions of every (features, classifier) combination, declared ones included, and every
replicate seed:
- each accuracy's 95% interval: Wilson's for one run; with several seeds, the mean over seeds with a
  bootstrap interval over seeds and test images;
- for each classifier, ae - raw, ae - pca and pca - raw (and for each declared feature set X, X - raw and
  ae - X) on the same test images: the difference in points,
  its 95% bootstrap interval (``stats.resamples`` resamples drawn with ``stats.seed``, shared by every
  comparison), the exact two-sided McNemar p-value of each seed, and the verdict: ``A beats B`` only when
  the interval excludes 0, else ``tie within noise``;
- under ``label_budgets``, for each budget of ``classify.label_budgets`` (``labels_per_class``, ``n_labelled``):
  ``cells`` (features -> score -> accuracy, ci95, std, n_draws) over the label draws of every seed, the
  bootstrap resampling the draws and the test images, and ``comparisons`` (score -> ae - raw, ae - pca,
  pca - raw, paired on the same labelled sets and test images, each draw's McNemar p under ``by_seed``);
  the budget ``all`` repeats the full-label cells and comparisons of the built-in features and classifiers;
- under ``variants``, for every variant of the grid, its codes' 1-NN, 3-NN and nearest-centroid accuracies
  and those of PCA of the same dimension, with their intervals, and the paired comparison code - PCA for
  each of the three (the ``codes`` stage's test predictions: descriptive, never used to choose).
Writes ``metrics/stats/<dataset>.json``.
"""

from __future__ import annotations

import functools

import numpy as np

from aestudy.atomic import read_npz, write_json
from aestudy.budgets import ALL
from aestudy.datasets import load_prepared, prepared_path
from aestudy.stats import CONFIDENCE, Resamples, accuracy_cell, paired_comparison
from aestudy.study import CLASSIFIERS, COMPARISONS, FEATURES, depends_on_seed
from stages import params as P
from stages.cli import combination, run_stage, seed_dir, stage_args

VARIANT_SCORES = ("1nn", "3nn", "ncc")  # what the codes stage scores every variant with


def main() -> None:
    args = stage_args("stages.stats", __doc__, ("params", "prepared", "predictions", "variant-predictions", "stats"),
                      dataset=True, labelled="data/labelled", budget_predictions="data/budget-predictions")
    params = P.load_params(args.params)
    seeds = P.seeds(params)
    design = P.design(params)
    resamples, bootstrap_seed = P.stats_settings(params)
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))

    def correct(features: str, score: str) -> np.ndarray:
        """(seeds or 1, test images): whether each prediction is right, a row per seed the result depends on."""
        classifier = design.classifier_of(score)
        runs = seeds if depends_on_seed(features, classifier) else [None]
        return np.stack([read_npz(args.predictions / args.dataset / f"{combination(features, classifier, s)}.npz",
                                  score)[0] == test.labels for s in runs])

    @functools.cache
    def bootstrap(n_rows: int) -> Resamples:
        """The shared resamples for ``n_rows`` rows (seeds, or seeds x label draws), drawn once per row count."""
        return Resamples.draw(len(test.labels), n_rows, resamples, bootstrap_seed)

    draws = bootstrap(len(seeds))

    def compare(a: np.ndarray, b: np.ndarray, names: tuple[str, str], row_labels: list[dict]) -> dict:
        """A - B on the same test images (``paired_comparison``), each row's McNemar entry under ``by_seed``
        labelled with what the row is (its seed, and its label draw in the few-label study)."""
        result = paired_comparison(a, b, bootstrap(len(a)), names)
        for row, labels in zip(result["by_seed"], row_labels, strict=True):
            row.update(labels)
        return {"a": names[0], "b": names[1], **result}

    def seed_rows(row_seeds: list[int | None]) -> list[dict]:
        return [{"seed": s} for s in row_seeds]

    outcomes = {(f, s): correct(f, s) for f in design.features for s in design.scores}
    cells = {f: {s: accuracy_cell(outcomes[f, s], draws) for s in design.scores} for f in design.features}
    comparisons = {}
    for score in design.scores:
        comparisons[score] = []
        for a, b in design.comparisons:
            seeded = any(depends_on_seed(f, design.classifier_of(score)) for f in (a, b))
            result = compare(outcomes[a, score], outcomes[b, score], (a, b), seed_rows(seeds if seeded else [None]))
            comparisons[score].append(result)
            print(f"{args.dataset} {score} {a} - {b}: {result['difference_pt']:+.2f} pt "
                  f"[{result['ci95_pt'][0]:+.2f}, {result['ci95_pt'][1]:+.2f}], p = {result['mcnemar_p']:.3g}: "
                  f"{result['verdict']}")
    variants = []
    for variant in P.variants(params):
        keys = (*VARIANT_SCORES, *(f"pca_{score}" for score in VARIANT_SCORES))
        runs = [dict(zip(keys, read_npz(args.variant_predictions / args.dataset / seed_dir(s) / f"{variant}.npz",
                                        *keys), strict=True)) for s in seeds]
        code = {score: np.stack([run[score] == test.labels for run in runs]) for score in VARIANT_SCORES}
        # PCA is fitted on every training image whatever the seed: one row, as for the seed-free features.
        pca = {score: runs[0][f"pca_{score}"][None] == test.labels for score in VARIANT_SCORES}
        variants.append({"variant": variant,
                         "cells": {"code": {s: accuracy_cell(code[s], draws) for s in VARIANT_SCORES},
                                   "pca": {s: accuracy_cell(pca[s], draws) for s in VARIANT_SCORES}},
                         "comparisons": {s: compare(code[s], pca[s], (variant, "pca"), seed_rows(seeds))
                                         for s in VARIANT_SCORES}})
    budgets, with_all = P.label_budgets(params)

    def by_draws(cell: dict) -> dict:
        """An accuracy cell of the few-label study, whose rows are label draws: ``n_seeds`` named ``n_draws``."""
        return {**{key: value for key, value in cell.items() if key != "n_seeds"}, "n_draws": cell["n_seeds"]}

    label_budgets = []
    for k in budgets:
        budget_outcomes, runs = {}, {}
        for features in FEATURES:
            for classifier, scores in CLASSIFIERS.items():
                files = [args.budget_predictions / args.dataset / seed_dir(s) / f"{features}-{classifier}.npz"
                         for s in seeds]
                for score in scores:
                    rows = [read_npz(path, f"{score}-{k}")[0] for path in files]
                    runs[score] = [{"seed": s, "draw": d} for s, r in zip(seeds, rows, strict=True)
                                   for d in range(len(r))]
                    budget_outcomes[features, score] = np.concatenate(rows) == test.labels
        # The labelled sets' size, from the labels stage's indices: the statistics read no training label.
        (n_labelled,) = {read_npz(args.labelled / args.dataset / f"{seed_dir(s)}.npz", f"indices-{k}")[0].shape[1]
                         for s in seeds}
        label_budgets.append({
            "labels_per_class": k, "n_labelled": int(n_labelled),
            "cells": {f: {score: by_draws(accuracy_cell(budget_outcomes[f, score], bootstrap(len(runs[score]))))
                          for score in runs} for f in FEATURES},
            "comparisons": {score: [compare(budget_outcomes[a, score], budget_outcomes[b, score], (a, b), runs[score])
                                    for a, b in COMPARISONS] for score in runs}})
    if with_all:
        built_in = [score for scores in CLASSIFIERS.values() for score in scores]
        label_budgets.append({
            "labels_per_class": ALL, "n_labelled": len(train.labels),
            "cells": {f: {score: by_draws(cells[f][score]) for score in built_in} for f in FEATURES},
            "comparisons": {score: [row for row in comparisons[score] if (row["a"], row["b"]) in COMPARISONS]
                            for score in built_in}})
    for entry in label_budgets:
        print(f"{args.dataset} {entry['labels_per_class']} labels per class: " + "; ".join(
            f"{score} ae - raw {row['difference_pt']:+.2f} pt ({row['verdict']})"
            for score, rows in entry["comparisons"].items() for row in rows[:1]))
    write_json(args.stats / f"{args.dataset}.json", {
        "dataset": args.dataset, "n_test": len(test.labels), "seeds": seeds, "confidence": CONFIDENCE,
        "resamples": resamples, "bootstrap_seed": bootstrap_seed, "cells": cells, "comparisons": comparisons,
        "label_budgets": label_budgets, "variants": variants})


if __name__ == "__main__":
    run_stage(main)
