"""Stage ``report``: ``metrics/report.md``, PNG figures under ``metrics/figures/``, CSVs under ``metrics/plots/``.

    python -m stages.report

Reads the summary, the statistics, the grid and the per-variant, selection, training, classifier and few-label files
of every active dataset and seed, the selected autoencoders and the test predictions. Per dataset it draws
the first test images beside their reconstructions, the same images above the first encoding layer's
activations, every variant's validation curve, the confusion matrix of the most accurate pair (class
names on the axes) and the few-label curves; across datasets, accuracy against total time and the paired differences with their
intervals. It also writes the CSV files that ``dvc plots show`` draws: one file per dataset of every
variant's validation loss and one of its training loss, a row per (variant, epoch).

Everything is drawn into a temporary folder beside ``metrics/`` and moved into place only when every file is
written: a report that fails half-way (a corrupt curve, a model that does not load) leaves none of its
outputs behind, not even the figures drawn before the failure.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from aestudy import plots
from aestudy.atomic import parse_text_file, read_json, read_npz, write_text
from aestudy.autoencoder import load_model
from aestudy.budgets import CNN_ANCHOR
from aestudy.datasets import DatasetSpec, class_names, load_prepared, prepared_path, to_unit_float
from aestudy.reporting import render_report
from aestudy.study import CLASSIFIERS, FEATURES, Design, depends_on_seed
from stages import params as P
from stages.cli import combination, run_stage, seed_dir, stage_args

N_IMAGES = 15  # seed-000 showed the first 15 test images


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def read_curves(path: Path) -> dict[str, list[float]]:
    """The train stage's losses per epoch, by column; a malformed file is one line naming it."""
    def parse(text: str) -> dict[str, list[float]]:
        header, *rows = (line.split(",") for line in text.splitlines())
        if header != ["epoch", "train_loss", "val_loss"] or any(len(row) != len(header) for row in rows):
            raise ValueError("expected the columns epoch,train_loss,val_loss in every row")
        return {name: [float(row[i]) for row in rows] for i, name in enumerate(header)}

    return parse_text_file(path, parse, "loss-curve CSV", ValueError)


def loss_curves(args: argparse.Namespace, dataset: str, variants: list[str], seeds: list[int]) -> None:
    """PNG of every variant's validation loss, and the long-format CSVs of ``dvc plots`` (x = epoch)."""
    curves, rows = {}, {"val_loss": [], "train_loss": []}
    for seed in seeds:
        for variant in variants:
            name = variant if len(seeds) == 1 else f"{variant} seed {seed}"
            history = read_curves(args.curves / dataset / seed_dir(seed) / f"{variant}.csv")
            loss = read_json(args.train_metrics / dataset / seed_dir(seed) / f"{variant}.json")["loss"]
            for kind in rows:
                rows[kind] += [[int(epoch), name, loss, value]
                               for epoch, value in zip(history["epoch"], history[kind], strict=True)]
            curves[name] = {"epoch": history["epoch"], "val_loss": history["val_loss"], "loss": loss}
    plots.training_curves(curves, f"{dataset}: validation loss per epoch", args.figures / dataset / "curves.png")
    for kind, table in rows.items():
        folder = "validation_loss" if kind == "val_loss" else "training_loss"
        write_text(args.plots / folder / f"{dataset}.csv", csv_text(["epoch", "variant", "loss", kind], table))


def dataset_figures(args: argparse.Namespace, spec: DatasetSpec, entry: dict, seeds: list[int], design: Design
                    ) -> None:
    dataset = spec.name
    out = args.figures / dataset
    _, test = load_prepared(prepared_path(args.prepared, dataset))
    variant = entry["autoencoder"]["variant"]  # the first seed's selection
    autoencoder = load_model(args.models / dataset / seed_dir(seeds[0]) / f"{variant}.pt")
    model, config = autoencoder.model_, autoencoder.autoencoder_config()
    images = test.images[:N_IMAGES]
    side = images.shape[1:]
    with torch.no_grad():
        pixels = torch.from_numpy(to_unit_float(images))
        decoded = torch.sigmoid(model(pixels)).numpy().reshape(-1, *side)
        first_layer = model.first_layer(pixels).numpy()
    name = f"{dataset}, {variant} ({config.family}, {'-'.join(map(str, config.hidden))})"
    plots.reconstructions(images / 255.0, decoded, test.labels[:N_IMAGES], f"Test images and reconstructions: {name}",
                          out / "reconstructions.png")
    plots.activations(images / 255.0, plots.activation_grids(first_layer),
                      f"First encoding layer's activations: {name}", out / "activations.png")

    feature, score = max(((f, s) for f in design.features for s in design.scores),
                         key=lambda fs: entry[fs[0]][fs[1]]["accuracy"])
    classifier = design.classifier_of(score)
    seed = seeds[0] if depends_on_seed(feature, classifier) else None
    (predicted,) = read_npz(args.predictions / dataset / f"{combination(feature, classifier, seed)}.npz", score)
    labels = test.labels
    names = class_names(spec, int(max(labels.max(), predicted.max())) + 1)
    matrix = np.zeros((len(names), len(names)), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    run = "" if seed is None or len(seeds) == 1 else f", seed {seed}"
    plots.confusion(matrix, names, f"{dataset}: {score} on {feature} features{run}, accuracy "
                                   f"{np.mean(predicted == labels):.4f}", out / "confusion.png")
    pairs = [[names[a], names[p]] for a, p in zip(labels.tolist(), predicted.tolist(), strict=True)]
    write_text(args.plots / "confusion" / f"{dataset}.csv", csv_text(["actual", "predicted"], pairs))


def variant_rows(args: argparse.Namespace, dataset: str, stats: dict, seeds: list[int]) -> list[dict]:
    """Per variant: its family, code size and training seconds (mean over seeds), and its stats entry."""
    rows = []
    for entry in stats["variants"]:
        trained = [read_json(args.train_metrics / dataset / seed_dir(s) / f"{entry['variant']}.json") for s in seeds]
        rows.append({**entry, "family": trained[0]["family"], "code_dim": trained[0]["code_dim"],
                     "seconds": sum(t["seconds"] for t in trained) / len(trained),
                     "diverged": any(t["diverged"] for t in trained)})
    return rows


def time_spent(args: argparse.Namespace, dataset: str, variants: list[str], seeds: list[int], design: Design
               ) -> dict[str, float]:
    """Seconds of each kind of work on one dataset, summed over every stage that did it."""
    where = [(seed_dir(s), v) for s in seeds for v in variants]
    times = {
        f"autoencoder training ({len(where)} models)":
            sum(read_json(args.train_metrics / dataset / s / f"{v}.json")["seconds"] for s, v in where),
        "encoding and scoring every variant's codes":
            sum(read_json(args.code_metrics / dataset / s / f"{v}.json")["seconds"] for s, v in where),
        **{f"{features} features": read_json(args.feature_metrics / dataset / f"{features}.json")["seconds"]
           for features in design.features if features != "ae"},
    }
    for classifier, scores in design.classifiers.items():
        runs = [(f, s) for f in design.features for s in (seeds if depends_on_seed(f, classifier) else [None])]
        times[f"{classifier} ({len(runs)} fits)"] = sum(
            read_json(args.classify_metrics / dataset / f"{combination(f, classifier, s)}.json")["scores"][scores[0]]
            ["seconds"] for f, s in runs)
    for classifier in CLASSIFIERS:
        records = [read_json(args.budget_metrics / dataset / seed_dir(s) / f"{f}-{classifier}.json")
                   for f in FEATURES for s in seeds]
        fits = [seconds for record in records for budget in record["budgets"] for seconds in budget["seconds"]]
        times[f"{classifier}, few labels ({len(fits)} fits)"] = sum(fits)
    times["total"] = sum(times.values())
    return times


@contextmanager
def staged(folder: Path) -> Iterator[Path]:
    """A temporary folder beside ``folder`` whose files move into ``folder`` if the block succeeds; else it
    goes, with everything written to it."""
    folder.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.report-"))
    try:
        yield stage
        for path in sorted(p for p in stage.rglob("*") if p.is_file()):
            target = folder / path.relative_to(stage)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def main() -> None:
    args = stage_args("stages.report", __doc__, ("params", "prepared", "models", "predictions", "train-metrics",
                                                 "curves", "code-metrics", "selection", "feature-metrics",
                                                 "classify-metrics", "stats"), metrics="metrics",
                      budget_metrics="data/records/budgets")
    params = P.load_params(args.params)
    datasets, variants, seeds, design = P.datasets(params), P.variants(params), P.seeds(params), P.design(params)
    summary = read_json(args.metrics / "summary.json")
    grid = read_json(args.metrics / "grid.json")
    stats = {d: read_json(args.stats / f"{d}.json") for d in datasets}
    selections = {d: read_json(args.selection / d / f"{seed_dir(seeds[0])}.json") for d in datasets}
    per_variant = {d: variant_rows(args, d, stats[d], seeds) for d in datasets}
    times = {d: time_spent(args, d, variants, seeds, design) for d in datasets}
    device = read_json(args.classify_metrics / datasets[0] / f"{combination('raw', 'knn', None)}.json")["device"]
    with staged(args.metrics) as out:
        args.plots, args.figures = out / "plots", out / "figures"
        for dataset in datasets:
            dataset_figures(args, P.dataset_spec(params, dataset), summary[dataset], seeds, design)
            loss_curves(args, dataset, variants, seeds)
            plots.label_budgets(stats[dataset], CNN_ANCHOR.get(dataset, {}),
                                f"{dataset}: test accuracy against labelled images", args.figures / dataset /
                                "label_budgets.png")
        plots.accuracy_vs_time(summary, args.figures / "accuracy_vs_time.png")
        plots.comparisons(stats, args.figures / "comparisons.png")
        plots.variants_vs_time(per_variant, summary, args.figures / "variants_vs_time.png")
        rows = [[d, f, s, summary[d][f][s]["accuracy"], summary[d][f][s]["total_seconds"]]
                for d in datasets for f in design.features for s in design.scores]
        write_text(args.plots / "accuracy_vs_time.csv",
                   csv_text(["dataset", "features", "classifier", "accuracy", "total_seconds"], rows))
        write_text(out / "report.md", render_report(summary, stats, grid, per_variant, selections, times, device))
    print(f"wrote {args.metrics / 'report.md'}, {args.metrics / 'figures'}/ and {args.metrics / 'plots'}/")


if __name__ == "__main__":
    run_stage(main)
