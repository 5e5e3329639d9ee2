"""Stage ``report``: the headline metrics, ``metrics/report.md`` and its figures, and the data ``dvc plots`` draws.

    python -m stages.report

Reads the statistics of every active dataset (``stats``), the selection, the per-variant records and the report
arrays (``codes``: the first test images, their reconstructions and activations, every variant's validation loss
per epoch from its dvclive log), the confusion matrix of the most accurate classifier (``classify``), and each
dataset's title and class names (``extract``'s ``metrics/data/``). Writes:
- ``metrics/summary.json``: the headline metrics ``dvc exp show`` lists (``aestudy.report.headline``), chosen by
  the ``headline`` params;
- ``metrics/times.json``: each stage kind's wall seconds in the run and its count of stages, and the total;
- ``metrics/report.md`` and ``metrics/figures/``: the report, each figure embedded with a one-line caption;
- ``metrics/results.md``: the README's results section (``make readme`` puts it there), from the same numbers;
- ``metrics/plots/``: what ``dvc plots show`` draws, one file per dataset: every variant's validation loss per
  epoch, and the few-label curves (accuracy per labels per class, feature set and score).

Everything is drawn into a temporary folder beside ``metrics/`` and moved into place only when every file is
written: a report that fails half-way leaves none of its outputs behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aestudy.core.io import csv_text, read_json, read_npz, staged_folder, write_json, write_text
from aestudy.data.budgets import ALL
from aestudy.report import plots
from aestudy.report.anchors import CNN_ON_LABELS, FEW_LABEL_ANCHORS
from aestudy.report.headline import headline
from aestudy.report.names import feature_name, pair_name, score_name
from aestudy.report.text import DatasetReport, render_report, results_section
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args, wall_seconds


def main() -> None:
    args = stage_args("stages.report", __doc__, ("params", "codes", "classified", "stats"),
                      metrics="metrics", facts="metrics/data")
    params = P.load_params(args.params)
    seeds, variants, design = P.seeds(params), P.variants(params), P.design(params)
    specs = P.headline(params, design)
    features, scores = design.active_features, list(design.scores)
    reports, facts = [], {}
    for dataset in P.datasets(params):
        facts[dataset] = read_json(args.facts / f"{dataset}.json")
        records = [read_json(args.codes / dataset / seed_dir(s) / "records" / f"{v}.json") for s in seeds for v in variants]
        reports.append(DatasetReport(dataset, facts[dataset]["title"], read_json(args.stats / f"{dataset}.json"),
                                     read_json(args.codes / dataset / seed_dir(seeds[0]) / "selection.json"),
                                     [r["trained"] for r in records]))
    with staged_folder(args.metrics) as out:
        figures = out / "figures"
        for d in reports:
            dataset_figures(args, d, seeds, variants, design, facts[d.name]["class_names"], figures / d.name,
                            out / "plots")
        paired = {d.title: [{**row, "label": f"{pair_name(row['a'], row['b'])}, {score_name(score)}"}
                            for score in scores for row in d.stats["comparisons"].get(score, [])] for d in reports}
        if any(paired.values()):
            plots.comparisons(paired, "Paired differences with every label", figures / "comparisons.png")
        points = {d.title: [{"features": f, "score": s, "accuracy": d.stats["cells"][f][s]["accuracy"],
                             "ci95": d.stats["cells"][f][s]["ci95"], "seconds": d.stats["times"][f][s]["total_seconds"]}
                            for f in features for s in scores if d.stats["cells"]] for d in reports}
        if any(points.values()):
            plots.accuracy_vs_time(points, features, scores, "Accuracy against total seconds, every label",
                                   figures / "accuracy_vs_time.png")
        write_json(out / "summary.json", {d.name: headline(d.stats, specs["every_label"], specs["few_labels"])
                                          for d in reports})
        write_json(out / "times.json", stage_times([d.stats["stage_seconds"] for d in reports]))
        write_text(out / "report.md", render_report(reports, features, scores, design.pairs))
        write_text(out / "results.md", results_section(reports, features, scores))
    print(f"wrote {args.metrics / 'summary.json'}, {args.metrics / 'report.md'} and {args.metrics / 'figures'}/")


def stage_times(per_dataset: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Each stage kind's wall seconds and stage count over the datasets, the report's own included, and the
    total: where the run's time went (``dvc metrics diff`` compares it; ``validate`` is left out)."""
    kinds: dict[str, dict[str, float]] = {}
    for dataset in per_dataset:
        for kind, spent in dataset.items():
            total = kinds.setdefault(kind, {"seconds": 0.0, "stages": 0})
            total["seconds"] += spent["seconds"]
            total["stages"] += spent["stages"]
    kinds["report"] = {"seconds": wall_seconds(), "stages": 1}
    rounded = {kind: {"seconds": round(t["seconds"], 2), "stages": t["stages"]} for kind, t in kinds.items()}
    return rounded | {"total": {"seconds": round(sum(t["seconds"] for t in kinds.values()), 2),
                                "stages": sum(t["stages"] for t in kinds.values())}}


def dataset_figures(args, d: DatasetReport, seeds: list[int], variants: list[str], design: P.Design,
                    names: list[str], out: Path, plots_dir: Path) -> None:
    """One dataset's figures, and its files for ``dvc plots``."""
    features, scores = design.active_features, list(design.scores)
    selected = d.selection["selected"]
    images, labels, decoded, first_layer = read_npz(
        args.codes / d.name / seed_dir(seeds[0]) / "report" / f"{selected}.npz", "images", "labels",
        "reconstructions", "first_layer")
    images = images / 255.0
    plots.reconstructions(images, decoded, labels, f"{d.title}: test images and their reconstructions by {selected}",
                          out / "reconstructions.png")
    plots.activations(images, first_layer, f"{d.title}: first-layer activations of {selected}", out / "activations.png")
    curves, rows = {}, []
    for seed in seeds:
        for variant in variants:
            name = variant if len(seeds) == 1 else f"{variant} seed {seed}"
            (losses,) = read_npz(args.codes / d.name / seed_dir(seed) / "report" / f"{variant}.npz", "val_loss")
            losses = losses.tolist()
            loss = next(r["loss"] for r in d.grid if r["variant"] == variant and r["seed"] == seed)
            curves[name] = {"epoch": list(range(1, len(losses) + 1)), "val_loss": losses, "loss": loss}
            rows += [[epoch, name, loss, value] for epoch, value in enumerate(losses, 1)]
    plots.training_curves(curves, f"{d.title}: validation loss per epoch", out / "curves.png")
    write_text(plots_dir / "validation_loss" / f"{d.name}.csv", csv_text(["epoch", "variant", "loss", "val_loss"], rows))
    budgets = d.stats["label_budgets"]
    if budgets:
        anchors = {"cnn": CNN_ON_LABELS.get(d.name, {}),
                   "few": {a.label: a.accuracy[d.name] for a in FEW_LABEL_ANCHORS if d.name in a.accuracy}}
        plots.label_budgets(budgets, features, scores, anchors, f"{d.title}: test accuracy against labels per class",
                            out / "label_budgets.png")
        write_text(plots_dir / "label_budgets" / f"{d.name}.csv", csv_text(
            ["labels_per_class", "features", "classifier", "accuracy"],
            [[b["labels_per_class"], f, s, round(100 * b["cells"][f][s]["accuracy"], 2)]
             for b in budgets if b["labels_per_class"] != ALL for f in features for s in scores]))
    stats = d.stats
    references = {"raw pixels": stats["cells"]["raw"]["knn1"]["accuracy"],
                  f"PCA-{d.selection['code_dim']}": stats["cells"]["pca"]["knn1"]["accuracy"]} \
        if {"raw", "pca"} <= set(stats["cells"]) and "knn1" in scores else {}
    rows = [{"variant": v["variant"], "family": v["family"], "seconds": v["training_seconds"],
             "accuracy": v["cells"]["code"]["knn1"]["accuracy"], "ci95": v["cells"]["code"]["knn1"]["ci95"],
             "pca_accuracy": v["cells"]["pca"]["knn1"]["accuracy"]} for v in stats["variants"]]
    if references:
        plots.variants_vs_time({d.title: rows}, {d.title: references},
                               f"{d.title}: every variant's codes under 1-NN", out / "variants_vs_time.png")
    if stats["cells"]:
        best_f, best_s = max(((f, s) for f in features for s in scores), key=lambda fs: stats["cells"][fs[0]][fs[1]]["accuracy"])
        classifier = design.scores[best_s]
        runs = read_json(args.classified / d.name / best_f / classifier / "record.json")["all"]
        fit = next(iter(runs.values()))[best_s]  # the first seed's, where it has several
        matrix = np.asarray(fit["confusion"], dtype=np.int64)
        names = names + [str(c) for c in range(len(names), len(matrix))]
        plots.confusion(matrix, names, f"{d.title}: {score_name(best_s)} on {feature_name(best_f)}, accuracy "
                                       f"{100 * fit['accuracy']:.2f}%", out / "confusion.png")


if __name__ == "__main__":
    run_stage(main)
