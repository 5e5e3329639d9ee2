"""Stage ``codes``: every variant's codes on one dataset under one seed, scored, and the selection among them.

    python -m stages.codes --dataset=mnist --seed=42

For each variant of ``variants``, with its trained autoencoder (``train``):
- its codes of the training and test images, ``<variant>.npz``;
- for the selection, 1-NN accuracy of the validation split against the rest of the training split
  (``knn1_val``), in ``records/<variant>.json`` with the code's size and the encoding's seconds;
- for the per-variant table, 1-NN, 3-NN and the nearest centroid on the test split, fitted on the whole training
  split, and the same on PCA of the code's size (fitted on the training pixels, once per size):
  ``predictions/<variant>.npz`` (``knn1``, ``knn3``, ``ncc``, ``pca_knn1``, ``pca_knn3``, ``pca_ncc``), which the
  statistics read; descriptive, never used to choose;
- for the report, ``report/<variant>.npz``: the first test images, their labels, reconstructions and first-layer
  activations, and the variant's validation loss per epoch (from its dvclive log),
  and in the record, the variant's training record, so that what follows reads this stage's outputs alone.

Then ``selection.json``: the variant ``select.criterion`` picks (``knn1_val``, or ``val_mse``, the validation
reconstruction error). Diverged variants are passed over unless every one diverged. The selection reads the
validation split alone: no test score can reach it.

Writes everything under ``data/codes/<dataset>/seed-<seed>/``, and the grid's results, every variant's losses,
epochs, seconds and divergence with its validation 1-NN, to ``metrics/grid/<dataset>/seed-<seed>.json``, a
metrics file of ``dvc metrics diff`` and ``dvc exp show``.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from aestudy.classifiers.knn import KNNClassifier
from aestudy.classifiers.ncc import NearestCentroidClassifier
from aestudy.core.io import parse_text_file, read_json, write_json, write_npz
from aestudy.core.runtime import resolve_device, stopwatch
from aestudy.data.datasets import flat, load_prepared, prepared_path, to_unit_float, train_val_split
from aestudy.features.pixels import PCAFeatures
from aestudy.models.autoencoder import load_model
from stages import conf as C
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args, wall_seconds

REPORT_IMAGES = 15  # seed-000 showed the first 15 test images
# A trained autoencoder's results that the grid's metrics file holds (numbers DVC compares): its losses, epochs,
# seconds, and whether it diverged (1) or not (0).
GRID_FIELDS = ("val_mse", "val_bce", "test_mse", "test_bce", "best_epoch", "epochs_run", "seconds", "diverged")


def test_predictions(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, device: str
                     ) -> dict[str, np.ndarray]:
    """1-NN, 3-NN (one exact search) and nearest-centroid predictions of ``test``, fitted on ``train``."""
    knn = KNNClassifier(3, device=device).fit(train, train_labels)
    _, neighbours = knn.kneighbors(test)
    return {"knn1": knn.predict_from_neighbors(neighbours, 1), "knn3": knn.predict_from_neighbors(neighbours, 3),
            "ncc": NearestCentroidClassifier().fit(train, train_labels).predict(test)}


def _number(value: float | bool | None) -> float | int | None:
    """A record's value as a metric: a flag as 0 or 1 (DVC compares numbers only)."""
    return int(value) if isinstance(value, bool) else value


def choose(candidates: list[dict], criterion: str) -> dict:
    """The best candidate; ties go to the lower validation MSE, then to the earlier variant."""
    pool = [c for c in candidates if not c["diverged"]] or candidates

    def val_mse(candidate: dict) -> float:
        return math.inf if candidate["val_mse"] is None else candidate["val_mse"]

    if criterion == "knn1_val":
        return max(pool, key=lambda c: (c["knn1_val"], -val_mse(c)))
    return min(pool, key=val_mse)


def read_steps(path: Path, field: str) -> list[float]:
    """One metric per step, as dvclive logged it (``step<TAB><field>`` rows); a malformed file is one line."""
    def parse(text: str) -> list[float]:
        header, *rows = (line.split("\t") for line in text.splitlines())
        if header[-1] != field or any(len(row) != len(header) for row in rows):
            raise ValueError(f"expected a column {field} in every row")
        return [float(row[-1]) for row in rows]

    return parse_text_file(path, parse, "dvclive TSV", ValueError)


def main() -> None:
    args = stage_args("stages.codes", __doc__, ("params", "prepared", "models", "codes"), names=("dataset",),
                      seed=True, grid="metrics/grid")
    params = P.load_params(args.params)
    seed = P.seed_of(params, args.seed)
    criterion = P.selection_criterion(params)
    device = str(resolve_device(P.device(params)))
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    fit_idx, val_idx = train_val_split(len(train.labels), P.val_fraction(params), seed)
    models = args.models / args.dataset / seed_dir(seed)
    out = args.codes / args.dataset / seed_dir(seed)
    pca_predictions: dict[int, dict[str, np.ndarray]] = {}  # by code size: PCA does not depend on the variant
    candidates, grid = [], {}
    for variant in C.variants(params):
        trained = read_json(models / variant / "record.json")
        autoencoder = load_model(models / variant / "model.pt")
        code_dim = autoencoder.autoencoder_config().code_dim
        with stopwatch() as total:
            with stopwatch() as encoding:
                codes_train, codes_test = autoencoder.transform(flat(train.images)), autoencoder.transform(flat(test.images))
            knn1 = KNNClassifier(1, device=device).fit(codes_train[fit_idx], train.labels[fit_idx])
            knn1_val = float((knn1.predict(codes_train[val_idx]) == train.labels[val_idx]).mean())
            predicted = test_predictions(codes_train, train.labels, codes_test, device)
        if code_dim not in pca_predictions:
            pca = PCAFeatures(code_dim)
            pca_predictions[code_dim] = test_predictions(pca.fit_transform(flat(train.images)), train.labels,
                                                         pca.transform(flat(test.images)), device)
        with torch.no_grad():
            pixels = torch.from_numpy(to_unit_float(test.images[:REPORT_IMAGES]))
            decoded = torch.sigmoid(autoencoder.model_(pixels)).numpy().reshape(-1, *test.images.shape[1:])
            first_layer = autoencoder.model_.first_layer(pixels).numpy()
        write_npz(out / f"{variant}.npz", train=codes_train, test=codes_test)
        write_npz(out / "predictions" / f"{variant}.npz",
                  **predicted, **{f"pca_{score}": p for score, p in pca_predictions[code_dim].items()})
        write_npz(out / "report" / f"{variant}.npz", images=test.images[:REPORT_IMAGES],
                  labels=test.labels[:REPORT_IMAGES], reconstructions=decoded, first_layer=first_layer,
                  val_loss=np.asarray(read_steps(models / variant / "live" / "plots" / "metrics" / "val_loss.tsv",
                                                 "val_loss")))
        scores = {score: float((p == test.labels).mean()) for score, p in predicted.items()}
        write_json(out / "records" / f"{variant}.json",
                   {"dataset": args.dataset, "variant": variant, "seed": seed, "code_dim": code_dim,
                    "encode_seconds": encoding.seconds, "seconds": total.seconds, "knn1_val": knn1_val, **scores,
                    "trained": trained})
        grid[variant] = {**{name: _number(trained[name]) for name in GRID_FIELDS}, "knn1_val": knn1_val,
                         "code_dim": code_dim}
        candidates.append({"variant": variant, "code_dim": code_dim, "val_mse": trained["val_mse"],
                           "diverged": trained["diverged"], "knn1_val": knn1_val})
        print(f"{args.dataset}/{variant} seed {seed}: {code_dim}-d codes in {encoding.seconds:.2f}s, validation "
              f"1-NN {knn1_val:.4f}")
    selected = choose(candidates, criterion)
    write_json(args.grid / args.dataset / f"{seed_dir(seed)}.json", grid)
    write_json(out / "selection.json", {"dataset": args.dataset, "seed": seed, "criterion": criterion,
                                        "selected": selected["variant"], "code_dim": selected["code_dim"],
                                        "candidates": candidates, "wall_seconds": wall_seconds()})
    print(f"{args.dataset} seed {seed}: selected {selected['variant']} by {criterion}")


if __name__ == "__main__":
    run_stage(main)
