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
  cost (an autoencoder's training included), and the seconds of its few-label fits.
Writes ``metrics/stats/<dataset>.json``.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from aestudy.core.io import csv_text, read_json, read_npz, write_json, write_text
from aestudy.core.memory import check_memory
from aestudy.data.budgets import ALL
from aestudy.data.datasets import prepared_path
from aestudy.evaluation.stats import CONFIDENCE, Resamples, accuracy_cell, paired_comparison
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args, wall_seconds

# The tidy table of every fit (metrics/fits/<dataset>.csv): `pd.read_csv` gives the whole study. `seed` is
# empty for a seed-free result, `draw` for a fit on every label.
FITS_COLUMNS = ["dataset", "features", "classifier", "score", "labels_per_class", "seed", "draw", "accuracy",
                "seconds"]
VARIANT_SCORES = ("knn1", "knn3", "ncc")  # what the codes stage scores every variant with
# The bootstrap's own seed: every machine draws the same resamples, so the intervals are the same everywhere.
BOOTSTRAP_SEED = 0


def upstream_seconds(args, seeds: list[int], variants: list[str], features: list[str], records
                     ) -> dict[str, dict[str, float]]:
    """Each stage kind's wall seconds for this dataset, and how many stages, from the records they wrote."""
    codes = [args.codes / args.dataset / seed_dir(s) for s in seeds]
    walls = {
        "extract": [read_json(args.facts / f"{args.dataset}.json")["wall_seconds"]],
        "labels": [read_json(args.labelled / args.dataset / "record.json")["wall_seconds"]],
        "train": [read_json(folder / "records" / f"{v}.json")["trained"]["wall_seconds"]
                  for folder in codes for v in variants],
        "codes": [read_json(folder / "selection.json")["wall_seconds"] for folder in codes],
        "encode": [read_json(args.encoded / args.dataset / f"{f}.json")["wall_seconds"] for f in features],
        "classify": [record["wall_seconds"] for record in records],
    }
    return {kind: {"seconds": float(sum(values)), "stages": len(values)} for kind, values in walls.items()}


@functools.cache
def resamples_for(n_images: int, n_rows: int, resamples: int, seed: int) -> Resamples:
    """The shared resamples for ``n_rows`` rows (seeds, or seeds x label draws), drawn once per row count."""
    return Resamples.draw(n_images, n_rows, resamples, seed)


def main() -> None:
    args = stage_args("stages.stats", __doc__, ("params", "prepared", "labelled", "codes", "encoded", "classified",
                                                "stats"), names=("dataset",), facts="metrics/data", fits="metrics/fits")
    params = P.load_params(args.params)
    seeds = P.seeds(params)
    design = P.design(params)
    resamples = P.resamples(params)
    budgets, with_all = P.label_budgets(params)
    (test_labels,) = read_npz(prepared_path(args.prepared, args.dataset), "test_labels")
    n_test = len(test_labels)
    check_memory(Resamples.bytes_needed(n_test, resamples), f"params.yaml: stats.resamples: {resamples} resamples "
                                                            f"of {n_test} test images")
    feature_pairs = [p for p in design.pairs if p[0] in design.active_features]
    score_pairs = [p for p in design.pairs if p[0] in design.scores]

    def bootstrap(n_rows: int) -> Resamples:
        return resamples_for(n_test, n_rows, resamples, BOOTSTRAP_SEED)

    def compare(a: np.ndarray, b: np.ndarray, names: tuple[str, str], rows_a: list[dict], rows_b: list[dict]) -> dict:
        """A - B on the same test images, on the runs both have: a single run (a seed-free result) pairs with
        every run of the other side; otherwise the runs both hold, in order (a classifier with fewer draws pairs
        with the first ones)."""
        if len(a) == 1 and len(b) == 1:  # the row of the side that has a seed, if either has
            rows = rows_a if rows_a[0].get("seed") is not None else rows_b
        elif len(b) == 1:
            b, rows = np.repeat(b, len(a), axis=0), rows_a
        elif len(a) == 1:
            a, rows = np.repeat(a, len(b), axis=0), rows_b
        else:
            rows = [row for row in rows_a if row in rows_b]
            a = a[[rows_a.index(row) for row in rows]]
            b = b[[rows_b.index(row) for row in rows]]
        result = paired_comparison(a, b, bootstrap(len(a)), names)
        for row, labels in zip(result["by_seed"], rows, strict=True):
            row.update(labels)
        return {"a": names[0], "b": names[1], **result}

    def table(outcomes: dict[tuple[str, str], tuple[np.ndarray, list[dict]]], by_draws: bool) -> dict[str, Any]:
        """Cells and comparisons of one budget, from each (features, score)'s correctness and its run labels."""
        def cell(features: str, score: str) -> dict:
            correct = outcomes[features, score][0]
            result = accuracy_cell(correct, bootstrap(len(correct)))
            return ({**{k: v for k, v in result.items() if k != "n_seeds"}, "n_draws": result["n_seeds"]}
                    if by_draws else result)

        return {
            "cells": {f: {s: cell(f, s) for s in design.scores} for f in design.active_features},
            "comparisons": {s: [compare(*outcomes[a, s][:1], *outcomes[b, s][:1], (a, b), outcomes[a, s][1],
                                        outcomes[b, s][1]) for a, b in feature_pairs] for s in design.scores},
            "score_comparisons": {f: [compare(*outcomes[f, a][:1], *outcomes[f, b][:1], (a, b), outcomes[f, a][1],
                                              outcomes[f, b][1]) for a, b in score_pairs]
                                  for f in design.active_features}}

    classified = {(f, c): args.classified / args.dataset / f / c for f in design.active_features
                  for c in design.active_classifiers}
    outcomes, times = {}, {f: {} for f in design.active_features}
    # What each feature set cost to make, per run: with a fit's own seconds, the total a user pays for a result.
    feature_seconds = {f: {run: facts["seconds"] for run, facts in
                           read_json(args.encoded / args.dataset / f"{f}.json")["runs"].items()}
                       for f in design.active_features}
    classify_records = {key: read_json(folder / "record.json") for key, folder in classified.items()}
    fits_table: list[list] = []  # every fit: dataset, features, classifier, score, labels per class, seed, draw, ...
    for (features, classifier), folder in classified.items():
        record = classify_records[features, classifier]
        runs = list(record["all"])
        made = feature_seconds[features]
        for score in P.scores_of(design.classifiers[classifier]):
            fits = [record["all"][run][score] for run in runs]
            few = [fit for budget in record["budgets"].values() for scores in budget.values()
                   for fit in scores[score]["fits"]]
            times[features][score] = {
                "seconds": float(np.mean([f["seconds"] for f in fits])) if fits else None,
                "total_seconds": float(np.mean([fit["seconds"] + made[run if run in made else "all"]
                                                for fit, run in zip(fits, runs, strict=True)])) if fits else None,
                "few_label_fits": len(few), "few_label_seconds": float(sum(f["seconds"] for f in few))}
        for score in P.scores_of(design.classifiers[classifier]):
            rows = [read_npz(folder / f"{ALL}{'' if run == 'all' else '-' + run}.npz", score)[0] == test_labels
                    for run in runs]
            outcomes[features, score] = (np.stack(rows), [{"seed": None if run == "all" else int(run[5:])}
                                                          for run in runs])
            fits_table += [[args.dataset, features, classifier, score, ALL, label["seed"], None, float(row.mean()),
                            record["all"][run][score]["seconds"]]
                           for row, run, label in zip(rows, runs, outcomes[features, score][1], strict=True)]
    full = table(outcomes, by_draws=False) if with_all else {"cells": {}, "comparisons": {}, "score_comparisons": {}}
    label_budgets = []
    for k in budgets:
        budget_outcomes = {}
        budget_times: dict[str, dict[str, dict]] = {f: {} for f in design.active_features}
        for (features, classifier), folder in classified.items():
            made = feature_seconds[features]
            for score in P.scores_of(design.classifiers[classifier]):
                rows, labels, seconds = [], [], []
                for seed in seeds:
                    (predicted,) = read_npz(folder / f"budgets-{seed_dir(seed)}.npz", f"{score}-{k}")
                    rows.append(predicted == test_labels)
                    labels += [{"seed": seed, "draw": d} for d in range(len(predicted))]
                    fits = classify_records[features, classifier]["budgets"][seed_dir(seed)][str(k)][score]["fits"]
                    cost = made.get(seed_dir(seed), made.get("all", 0.0))
                    seconds += [(fit["seconds"], fit["seconds"] + cost) for fit in fits]
                    fits_table += [[args.dataset, features, classifier, score, k, seed, draw, float(correct.mean()),
                                    fit["seconds"]] for draw, (correct, fit) in enumerate(zip(rows[-1], fits,
                                                                                              strict=True))]
                budget_outcomes[features, score] = (np.concatenate(rows), labels)
                fit_seconds, total_seconds = zip(*seconds, strict=True)
                budget_times[features][score] = {"seconds": float(np.mean(fit_seconds)),
                                                 "total_seconds": float(np.mean(total_seconds))}
        # The labelled sets' size, from the labels stage's indices: the statistics read no training label.
        (n_labelled,) = {read_npz(args.labelled / args.dataset / f"{seed_dir(s)}.npz", f"indices-{k}")[0].shape[1]
                         for s in seeds}
        label_budgets.append({"labels_per_class": k, "n_labelled": int(n_labelled),
                              **table(budget_outcomes, by_draws=True), "times": budget_times})
    if with_all:
        (n_train,) = read_npz(prepared_path(args.prepared, args.dataset), "train_labels")[0].shape
        label_budgets.append({"labels_per_class": ALL, "n_labelled": n_train,
                              "cells": {f: {s: {**{k: v for k, v in c.items() if k != "n_seeds"}, "n_draws": c["n_seeds"]}
                                            for s, c in scores.items()} for f, scores in full["cells"].items()},
                              "comparisons": full["comparisons"], "score_comparisons": full["score_comparisons"],
                              "times": {f: {s: {k: t[k] for k in ("seconds", "total_seconds")} for s, t in by.items()}
                                        for f, by in times.items()}})
    variants = []
    for variant in P.variants(params):
        keys = (*VARIANT_SCORES, *(f"pca_{score}" for score in VARIANT_SCORES))
        runs = [dict(zip(keys, read_npz(args.codes / args.dataset / seed_dir(s) / "predictions" / f"{variant}.npz",
                                        *keys), strict=True)) for s in seeds]
        rows = [{"seed": s} for s in seeds]
        code = {score: np.stack([run[score] == test_labels for run in runs]) for score in VARIANT_SCORES}
        # PCA is fitted on every training image whatever the seed: one row, as for the seed-free results.
        pca = {score: runs[0][f"pca_{score}"][None] == test_labels for score in VARIANT_SCORES}
        records = [read_json(args.codes / args.dataset / seed_dir(s) / "records" / f"{variant}.json") for s in seeds]
        trained = [r["trained"] for r in records]
        variants.append({"variant": variant, "family": trained[0]["family"], "code_dim": trained[0]["code_dim"],
                         "training_seconds": float(np.mean([t["seconds"] for t in trained])),
                         "scoring_seconds": float(np.mean([r["seconds"] for r in records])),
                         "diverged": any(t["diverged"] for t in trained),
                         "cells": {"code": {s: accuracy_cell(code[s], bootstrap(len(seeds))) for s in VARIANT_SCORES},
                                   "pca": {s: accuracy_cell(pca[s], bootstrap(1)) for s in VARIANT_SCORES}},
                         "comparisons": {s: compare(code[s], pca[s], (variant, "pca"), rows, [{"seed": None}])
                                         for s in VARIANT_SCORES}})
    for entry in label_budgets:
        print(f"{args.dataset} {entry['labels_per_class']} labels per class: " + "; ".join(
            f"{score} {row['a']} - {row['b']} {row['difference_pt']:+.2f} pt ({row['verdict']})"
            for score, rows in entry["comparisons"].items() for row in rows[:1]))
    write_text(args.fits / f"{args.dataset}.csv", csv_text(FITS_COLUMNS, fits_table))
    stage_seconds = upstream_seconds(args, seeds, P.variants(params), design.active_features,
                                     classify_records.values())
    stage_seconds["stats"] = {"seconds": wall_seconds(), "stages": 1}
    write_json(args.stats / f"{args.dataset}.json", {
        "dataset": args.dataset, "n_test": n_test, "seeds": seeds, "confidence": CONFIDENCE, "resamples": resamples,
        "bootstrap_seed": BOOTSTRAP_SEED, **full, "times": times, "label_budgets": label_budgets, "variants": variants,
        "stage_seconds": stage_seconds})


if __name__ == "__main__":
    run_stage(main)
