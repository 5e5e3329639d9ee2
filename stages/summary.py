"""Stage ``summary``: the headline metrics of every active dataset in ``metrics/summary.json``.

    python -m stages.summary

This is the file ``dvc exp show`` and ``dvc metrics diff`` read. Per dataset: the selected autoencoder,
then for each feature set (raw, pca, ae, then the declared ones) and score (1nn, 3nn, ncc, mlp, then each
declared classifier's, under its name) the test accuracy with its 95%
interval (``ci95``), the classifier's seconds (fit plus predict) and the total seconds (feature cost
included). With several replicate seeds every number is the mean over the seeds, ``std`` their standard
deviation and ``n_seeds`` their number (``std`` is null for a single run: raw and PCA under k-NN and the
centroid run once whatever the seeds, since they do not depend on them). Under ``label_budgets``, each budget
of the few-label study (labels per class) with the accuracy, 95% interval and number of label draws of every
(features, score): ``dvc exp show --keep 'mnist.label_budgets.16.(raw|ae).1nn.accuracy'``.
"""

from __future__ import annotations

import numpy as np

from aestudy.atomic import read_json, write_json
from aestudy.budgets import ALL
from aestudy.study import Design, depends_on_seed
from stages import params as P
from stages.cli import combination, feature_file, run_stage, seed_dir, stage_args


def cost(args, dataset: str, features: str, seed: int | None) -> float:
    """What a feature set cost to make (see ``stages.encode``); ae's depends on the seed, raw's and pca's not."""
    path = feature_file(args.feature_metrics, dataset, features, seed if features == "ae" else None)
    return read_json(path.with_suffix(".json"))["seconds"]


def dataset_summary(args, dataset: str, seeds: list[int], design: Design) -> dict:
    selections = [read_json(args.selection / dataset / f"{seed_dir(s)}.json") for s in seeds]
    trained = [read_json(args.train_metrics / dataset / seed_dir(s) / f"{sel['selected']}.json")
               for s, sel in zip(seeds, selections, strict=True)]
    autoencoder = {"variant": selections[0]["selected"], "code_dim": selections[0]["code_dim"],
                   **{key: float(np.mean([t[key] for t in trained])) for key in ("val_mse", "test_mse", "seconds")}}
    if len(seeds) > 1:
        autoencoder["selected_by_seed"] = {str(s): sel["selected"]
                                           for s, sel in zip(seeds, selections, strict=True)}
    stats_file = read_json(args.stats / f"{dataset}.json")
    stats = stats_file["cells"]
    entry = {"autoencoder": autoencoder}
    for features in design.features:
        entry[features] = {}
        for score in design.scores:
            classifier = design.classifier_of(score)
            runs = seeds if depends_on_seed(features, classifier) else [None]
            seconds = [read_json(args.classify_metrics / dataset / f"{combination(features, classifier, s)}.json")
                       ["scores"][score]["seconds"] for s in runs]
            totals = [cost(args, dataset, features, s) + t for s, t in zip(runs, seconds, strict=True)]
            cell = stats[features][score]
            entry[features][score] = {
                "accuracy": cell["accuracy"],
                "seconds": float(np.mean(seconds)),
                "total_seconds": float(np.mean(totals)),
                "ci95": cell["ci95"], "std": cell["std"], "n_seeds": cell["n_seeds"]}
    # The few-label curves' points, for `dvc exp show` (the budget of every label is the tables above).
    entry["label_budgets"] = {
        str(budget["labels_per_class"]): {features: {score: {key: cell[key] for key in ("accuracy", "ci95", "n_draws")}
                                                     for score, cell in scores.items()}
                                          for features, scores in budget["cells"].items()}
        for budget in stats_file["label_budgets"] if budget["labels_per_class"] != ALL}
    return entry


def main() -> None:
    args = stage_args("stages.summary", __doc__, ("params", "selection", "train-metrics", "feature-metrics",
                                                  "classify-metrics", "stats"),
                      out="metrics/summary.json")
    params = P.load_params(args.params)
    seeds = P.seeds(params)
    design = P.design(params)
    write_json(args.out, {dataset: dataset_summary(args, dataset, seeds, design) for dataset in P.datasets(params)})


if __name__ == "__main__":
    run_stage(main)
