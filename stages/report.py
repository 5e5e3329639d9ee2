"""Stage ``report``: ``metrics/report.md``, PNG figures under ``metrics/figures/``, CSVs under ``metrics/plots/``.

    python -m stages.report

Reads ``metrics/summary.json``, ``metrics/grid.json``, the per-variant, selection and classify files of
every active dataset, the selected autoencoders and the test predictions. Per dataset it draws the
first test images beside their reconstructions, the same images above the first encoding layer's
activations, every variant's validation curve and the confusion matrix of the most accurate pair; across
datasets, accuracy against total time. It also writes the CSV files that `dvc plots` draws.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path

import numpy as np
import torch

from stages import params as P
from stages import plots
from stages.atomic import read_json, write_text
from stages.autoencoder import load_model
from stages.cli import stage_args
from stages.datasets import load_prepared, prepared_path
from stages.errors import run_stage
from stages.reporting import CLASSIFIERS, FEATURES, render_report
from stages.runtime import to_unit_float

N_IMAGES = 15  # seed-000 showed the first 15 test images


def csv_text(header: list[str], rows: list[list]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


def read_curve(folder: Path, name: str) -> list[float]:
    lines = (folder / "plots" / "metrics" / f"{name}.tsv").read_text().splitlines()[1:]
    return [float(line.split("\t")[1]) for line in lines]


def dataset_figures(dataset: str, summary: dict, args: argparse.Namespace, variants: list[str]) -> None:
    out = args.figures / dataset
    entry = summary[dataset]
    _, test = load_prepared(prepared_path(args.prepared, dataset))
    model, config = load_model(args.models / dataset / f"{entry['autoencoder']['variant']}.pt")
    images = test.images[:N_IMAGES]
    side = images.shape[1:]
    with torch.no_grad():
        pixels = torch.from_numpy(to_unit_float(images))
        decoded = torch.sigmoid(model(pixels)).numpy().reshape(-1, *side)
        first_layer = model.encoder[1](model.encoder[0](pixels)).numpy()
    name = f"{dataset}, {entry['autoencoder']['variant']} ({'-'.join(map(str, config.hidden))})"
    plots.reconstructions(images / 255.0, decoded, test.labels[:N_IMAGES], f"Test images and reconstructions: {name}",
                          out / "reconstructions.png")
    plots.activations(images / 255.0, first_layer, f"First encoding layer's activations: {name}",
                      out / "activations.png")

    curves = {}
    for variant in variants:
        folder = args.metrics / "curves" / dataset / variant
        val = read_curve(folder, "val_loss")
        curves[variant] = {"epoch": list(range(1, len(val) + 1)), "val_loss": val,
                           "loss": read_json(args.train_metrics / dataset / f"{variant}.json")["loss"]}
    plots.training_curves(curves, f"{dataset}: validation loss per epoch", out / "curves.png")

    with np.load(args.predictions / f"{dataset}.npz") as predictions:
        labels = predictions["labels"]
        feature, classifier = max(((f, c) for f in FEATURES for c in CLASSIFIERS),
                                  key=lambda fc: entry[fc[0]][fc[1]]["accuracy"])
        predicted = predictions[f"{feature}__{classifier}"]
    n_classes = int(max(labels.max(), predicted.max())) + 1
    matrix = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(matrix, (labels, predicted), 1)
    plots.confusion(matrix, f"{dataset}: {classifier} on {feature} features, accuracy "
                            f"{entry[feature][classifier]['accuracy']:.4f}", out / "confusion.png")
    pairs = list(zip(labels.tolist(), predicted.tolist()))
    write_text(args.plots / "confusion" / f"{dataset}.csv", csv_text(["actual", "predicted"], pairs))


def main() -> None:
    args = stage_args("stages.report", __doc__, ("params", "prepared", "models", "predictions"), metrics="metrics")
    args.train_metrics = args.metrics / "train"
    args.plots = args.metrics / "plots"
    args.figures = args.metrics / "figures"
    params = P.load_params(args.params)
    datasets, variants = P.datasets(params), P.variants(params)
    summary = read_json(args.metrics / "summary.json")
    grid = read_json(args.metrics / "grid.json")
    per_variant = {d: read_json(args.metrics / "variants" / f"{d}.json")["variants"] for d in datasets}
    selections = {d: read_json(args.metrics / "select" / f"{d}.json") for d in datasets}
    device = read_json(args.metrics / "classify" / f"{datasets[0]}.json")["device"]
    for dataset in datasets:
        dataset_figures(dataset, summary, args, variants)
    plots.accuracy_vs_time(summary, args.figures / "accuracy_vs_time.png")
    rows = [[d, f, c, summary[d][f][c]["accuracy"], summary[d][f][c]["total_seconds"]]
            for d in datasets for f in FEATURES for c in CLASSIFIERS]
    write_text(args.plots / "accuracy_vs_time.csv",
               csv_text(["dataset", "features", "classifier", "accuracy", "total_seconds"], rows))
    write_text(args.metrics / "report.md", render_report(summary, grid, per_variant, selections, device))
    print(f"wrote {args.metrics / 'report.md'}, {args.figures}/ and {args.plots}/")


if __name__ == "__main__":
    run_stage(main)
