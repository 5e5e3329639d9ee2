"""Stage ``report``: the headline metrics, ``metrics/report.md`` and its figures, and the data ``dvc plots`` draws.

    python -m stages.report

Reads the statistics of every active dataset (``stats``), the selection, the per-variant records and the report
arrays (``codes``: the first test images, their reconstructions and activations, every variant's validation loss
per epoch from its dvclive log), and each dataset's title and class names (``extract``'s ``metrics/data/``). Writes:
- ``metrics/summary.json``: the headline metrics ``dvc exp show`` lists (``aestudy.report.headline``), chosen by
  the ``headline`` params;
- ``metrics/scores.json``: every score on every feature set at every budget, the headline's shape (its accuracy,
  interval and seconds a fit; ``aestudy.report.scores``), for ``dvc metrics diff --targets`` and ``tools.exps --all``;
- ``metrics/times.json``: each stage kind's wall seconds in the run and its count of stages, and the total;
- ``metrics/grid/<dataset>/seed-<seed>.json``: the grid of autoencoders, every variant's losses, epochs, seconds and
  divergence with its validation 1-NN and code size, from the codes stage's records (``codes`` writes only cached
  outputs, so that DVC's run-cache can restore it; this stage runs in every experiment anyway);
- ``metrics/report.md`` and ``metrics/figures/``: the report, each figure embedded with a one-line caption;
- ``metrics/results.md`` and ``metrics/answer.md``: the README's results section and its first screen's answer
  (``make readme`` puts them there), from the same numbers;
- ``metrics/plots/``: what ``dvc plots show`` draws, one file per dataset: every variant's validation loss per
  epoch, and the few-label curves (accuracy per labels per class, feature set and score).

Everything is drawn into a temporary folder beside ``metrics/`` and moved into place only when every file is
written: a report that fails half-way leaves none of its outputs behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aestudy.core.io import csv_text, read_json, read_npz, staged_folder, write_json, write_text
from aestudy.evaluation.results import DatasetStats
from aestudy.report import images, plots
from aestudy.report.anchors import CNN_ON_LABELS, FEW_LABEL_ANCHORS
from aestudy.report.costs import with_costs
from aestudy.report.figures import figure
from aestudy.report.headline import HeadlineSpec, headline
from aestudy.report.names import Names
from aestudy.report.scores import SCORES_FILE, score_metrics
from aestudy.report.style import Style, styles
from aestudy.report.tables import DatasetReport
from aestudy.report.text import ANSWER_FILE, answer, render_report, results_section
from study import conf, layout, params_yaml
from study.catalogue import scores_of, titles
from study.cli import run_stage, stage_args, wall_seconds
from study.design import Design, headline_specs, read_design
from study.seconds import Variant, read_variants

# The codes stage's 1-NN on every variant's codes and on PCA of the same size (the variants' figure).
VARIANT_SCORE = "knn1"
# A trained autoencoder's results that the grid's metrics file holds (numbers DVC compares): its losses, epochs,
# seconds, and whether it diverged (1) or not (0).
GRID_FIELDS = ("val_mse", "val_bce", "test_mse", "test_bce", "best_epoch", "epochs_run", "seconds", "diverged")


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.report", __doc__, ("params", "facts", "codes", "stats", "metrics", "grid", "seconds"))
    params = params_yaml.load_params(args.params)
    seeds, variants, design = params_yaml.seeds(params), conf.variants(params), read_design(params)
    specs = headline_specs(params, design)
    features, scores = design.active_features, list(design.scores)
    names = Names(titles(design.features, features), titles(design.classifiers, scores))
    # Each kind's styles from every entry params.yaml and conf/ hold, so that a name's style is its own.
    every_score = [s for entry in design.classifiers.entries.values() for s in scores_of(entry)]
    drawn = {"features": styles(design.features.entries), "scores": styles(every_score),
             "variants": styles(conf.conf_names("autoencoders"))}
    reports, facts, grids = [], {}, {}
    for dataset in conf.datasets(params):
        facts[dataset] = read_json(layout.facts(args.facts, dataset))
        trained = [variant for s in seeds
                   for variant in read_variants(args.codes, args.seconds, dataset, s, variants).values()]
        grids |= {(dataset, seed): grid_metrics([t for t in trained if t.codes.seed == seed]) for seed in seeds}
        reports.append(DatasetReport(dataset, facts[dataset]["title"],
                                     DatasetStats.from_json(read_json(layout.stats_file(args.stats, dataset))),
                                     read_json(layout.selection(args.codes, dataset, seeds[0])),
                                     [t.trained_row() for t in trained], names))
    with staged_folder(args.metrics) as out, staged_folder(args.grid) as grid_out:
        for (dataset, seed), grid in grids.items():
            write_json(layout.grid(grid_out, dataset, seed), grid)
        for d in reports:
            curves = validation_curves(d, args.codes, seeds, variants)
            dataset_figures(d, args.codes, seeds[0], curves, design, specs["every_label"],
                            facts[d.name]["class_names"], drawn, out)
            dataset_plots(d, curves, features, scores, out)
        paired = {d.title: [(f"{names.pair(row.a, row.b)}, {names.score(score)}", row)
                            for score in scores for row in d.stats.comparisons.get(score, [])] for d in reports}
        if any(paired.values()):
            plots.comparisons(paired, "Paired differences with every label", out / figure("comparisons"))
        points = {d.title: [{"features": f, "score": s, "accuracy": d.stats.cells[f][s].accuracy,
                             "ci95": d.stats.cells[f][s].ci95, "fit_seconds": d.stats.times[f][s].seconds}
                            for f in features for s in scores if d.stats.cells] for d in reports}
        if any(points.values()):
            plots.efficiency(points, {d.title: d.one_off_seconds(features) for d in reports}, features,
                             "Accuracy against seconds a fit, and what each feature set costs once, every label",
                             out / figure("efficiency"), names, drawn["features"])
        write_json(layout.summary(out), {
            d.name: with_costs(headline(d.stats, specs["every_label"], specs["few_labels"]), d.stats) for d in reports})
        write_json(out / SCORES_FILE, {d.name: score_metrics(d.stats) for d in reports})
        write_json(layout.stage_times(out), stage_times([d.stats.stage_seconds for d in reports]))
        write_text(layout.report_text(out), render_report(reports, features, scores, design.pairs))
        write_text(layout.results_text(out), results_section(reports, features, scores, design.pairs,
                                                            specs["every_label"], specs["few_labels"]))
        write_text(out / ANSWER_FILE, answer(reports, features, scores, specs["every_label"], specs["few_labels"]))
    print(f"wrote {layout.summary(args.metrics)}, {layout.report_text(args.metrics)} and "
          f"{layout.figures(args.metrics)}/")


def grid_metrics(variants: list[Variant]) -> dict[str, dict[str, float | int | None]]:
    """The grid's metrics under one seed, from the codes stage's records of its variants: each variant's training
    results (``GRID_FIELDS``, a flag as 0 or 1: DVC compares numbers only), validation 1-NN and code size."""
    def number(value: float | bool | None) -> float | int | None:
        return int(value) if isinstance(value, bool) else value

    rows = {v.codes.variant: (v.trained_row(), v.codes) for v in variants}
    return {name: {**{key: number(row[key]) for key in GRID_FIELDS}, "knn1_val": codes.knn1_val,
                   "code_dim": codes.code_dim} for name, (row, codes) in rows.items()}


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


def dataset_figures(d: DatasetReport, codes: Path, seed: int, curves: dict[str, dict], design: Design,
                    every_label: HeadlineSpec, class_names: list[str], drawn: dict[str, dict[str, Style]], out: Path
                    ) -> None:
    """One dataset's figures, under the report's folder ``out``: from the report arrays of the variant ``seed``
    selected, the validation curves and the statistics; ``drawn``: each kind's styles by name."""
    features, scores = design.active_features, list(design.scores)
    selected = d.selection["selected"]
    pixels, labels, decoded, activations = read_npz(layout.codes_report(codes, d.name, seed, selected), "images",
                                                    "labels", "reconstructions", "activations")
    pixels = pixels / 255.0
    images.reconstructions(pixels, decoded, labels, f"{d.title}: test images and their reconstructions by {selected}",
                           out / figure("reconstructions", d.name))
    images.activations(pixels, activations, f"{d.title}: first-layer activations of {selected}",
                       out / figure("activations", d.name))
    plots.training_curves(curves, drawn["variants"], f"{d.title}: validation loss per epoch",
                          out / figure("curves", d.name))
    stats = d.stats
    if stats.label_budgets:
        anchors = {"cnn": CNN_ON_LABELS.get(d.name, {}),
                   "few": {a.label: a.accuracy[d.name] for a in FEW_LABEL_ANCHORS if d.name in a.accuracy}}
        plots.label_budgets(stats.label_budgets, features, scores, anchors,
                            f"{d.title}: test accuracy against labels per class", out / figure("label_budgets", d.name),
                            d.names, drawn["features"])
    # The variants against the every-label headline's feature sets that are fitted, not codes (raw pixels, PCA).
    fitted = [f for f in every_label.features if f in stats.cells and not any(
        "variant" in step.extras for step in design.features.chain(f))]
    references = {d.names.feature(f): stats.cells[f][VARIANT_SCORE].accuracy for f in fitted
                  if VARIANT_SCORE in stats.cells[f]}
    rows = [{"variant": v.variant, "family": v.family, "seconds": v.training_seconds,
             "accuracy": v.cells["code"][VARIANT_SCORE].accuracy, "ci95": v.cells["code"][VARIANT_SCORE].ci95,
             "pca_accuracy": v.cells["pca"][VARIANT_SCORE].accuracy} for v in stats.variants]
    if references:
        plots.variants_vs_time({d.title: rows}, {d.title: references},
                               f"{d.title}: every variant's codes under 1-NN", out / figure("variants_vs_time", d.name))
    if stats.confusion is not None:
        best = stats.confusion
        images.confusion(np.asarray(best.matrix, dtype=np.int64), class_names,
                         f"{d.title}: {d.names.score(best.score)} on {d.names.feature(best.features)}, accuracy "
                         f"{100 * best.accuracy:.2f}%", out / figure("confusion", d.name))


def validation_curves(d: DatasetReport, codes: Path, seeds: list[int], variants: list[str]) -> dict[str, dict]:
    """Every variant's validation loss per epoch under every seed, from the codes stage's report arrays."""
    curves = {}
    for seed in seeds:
        for variant in variants:
            name = variant if len(seeds) == 1 else f"{variant} seed {seed}"
            (losses,) = read_npz(layout.codes_report(codes, d.name, seed, variant), "val_loss")
            loss = next(r["loss"] for r in d.grid if r["variant"] == variant and r["seed"] == seed)
            curves[name] = {"epoch": list(range(1, len(losses) + 1)), "val_loss": losses.tolist(), "loss": loss}
    return curves


def dataset_plots(d: DatasetReport, curves: dict[str, dict], features: list[str], scores: list[str], out: Path
                  ) -> None:
    """One dataset's files for ``dvc plots``: the validation loss per epoch, and the few-label curves."""
    rows = [[epoch, name, curve["loss"], value] for name, curve in curves.items()
            for epoch, value in zip(curve["epoch"], curve["val_loss"], strict=True)]
    write_text(layout.plot_table(out, d.name, "validation_loss"),
               csv_text(["epoch", "variant", "loss", "val_loss"], rows))
    if d.stats.label_budgets:  # named by titles, as the report names them; with each cell's 95% interval
        write_text(layout.plot_table(out, d.name, "label_budgets"), csv_text(
            ["labels_per_class", "features", "classifier", "accuracy", "ci_low", "ci_high"],
            [[b.labels_per_class, d.names.feature(f), d.names.score(s), *(round(100 * v, 2) for v in (
                b.cells[f][s].accuracy, *b.cells[f][s].ci95))]
             for b in d.stats.label_budgets if b.few for f in features for s in scores]))


if __name__ == "__main__":
    run_stage(main)
