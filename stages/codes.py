"""Stage ``codes``: every variant's codes on one dataset under one seed, scored, and the selection among them.

    python -m stages.codes --dataset=mnist --seed=42

For each variant of ``variants``, with its trained autoencoder (``train``):
- its codes of the training and test images, ``<variant>.npz``;
- for the selection, 1-NN accuracy of the validation split against the rest of the training split
  (``knn1_val``), in ``records/<variant>.json`` with the code's size;
- for the per-variant table, 1-NN, 3-NN and the nearest centroid on the test split, fitted on the whole training
  split, and the same on PCA of the code's size (fitted on the training pixels, once per size):
  ``predictions/<variant>.npz`` (``knn1``, ``knn3``, ``ncc``, ``pca_knn1``, ``pca_knn3``, ``pca_ncc``), which the
  statistics read; descriptive, never used to choose;
- for the report, ``report/<variant>.npz``: the first test images, their labels, reconstructions and first-layer
  activations (one grid an image), and the variant's validation loss per epoch (from its dvclive log),
  and in the record, the variant's training record, so that what follows reads this stage's outputs alone.

Then ``selection.json``: the variant ``select.criterion`` picks (``knn1_val``, or ``val_mse``, the validation
reconstruction error). Diverged variants are passed over unless every one diverged. The selection reads the
validation split alone: no test score can reach it.

Writes everything under ``data/codes/<dataset>/seed-<seed>/``, and its seconds (each variant's encoding and
scoring, the stage's own) apart in ``data/records/seconds/codes/`` (``study.layout.codes_seconds``), so that a
re-run that makes the same codes leaves the encode stages as they were. Every output is in DVC's cache, so that the run-cache restores the stage in a fresh workspace (``dvc exp run --temp``, a clone). DVC restores a
stage with a ``cache: false`` output only while that output already lies in the workspace as it was; the grid's
metrics file, which git keeps, is written by ``report`` from these records.
"""

from __future__ import annotations

import numpy as np

from aestudy.core.io import read_json, write_json, write_npz
from aestudy.core.runtime import resolve_device
from aestudy.data.datasets import flat, load_prepared
from aestudy.features.pixels import PCAFeatures
from aestudy.models.autoencoder import load_model
from aestudy.models.selection import choose, describe, report_arrays, test_predictions
from study import conf, layout, params_yaml
from study.cli import run_stage, stage_args, wall_seconds
from study.live import read_steps
from study.records import CodesRecord, TrainRecord

REPORT_IMAGES = 15  # seed-000 showed the first 15 test images


def main() -> None:
    """Run the stage as DVC does (see the module): parse the flags, read, compute, write."""
    args = stage_args("stages.codes", __doc__, ("params", "prepared", "models", "codes", "seconds"),
                      names=("dataset",), seed=True)
    params = params_yaml.load_params(args.params)
    seed = params_yaml.seed_of(params, args.seed)
    criterion = params_yaml.selection_criterion(params)
    device = str(resolve_device(params_yaml.device(params)))
    train, test = load_prepared(layout.prepared(args.prepared, args.dataset))
    models, out = (args.models, args.dataset, seed), (args.codes, args.dataset, seed)
    pca_predictions: dict[int, dict[str, np.ndarray]] = {}  # by code size: PCA does not depend on the variant
    candidates, seconds = [], {}
    for variant in conf.variants(params):
        trained = TrainRecord.from_json(read_json(layout.model_record(*models, variant)))
        autoencoder = load_model(layout.model_file(*models, variant))
        code_dim = autoencoder.autoencoder_config().code_dim
        codes = describe(autoencoder, train.images, train.labels, test.images, device)
        if code_dim not in pca_predictions:
            pca = PCAFeatures(code_dim)
            pca_predictions[code_dim] = test_predictions(pca.fit_transform(flat(train.images)), train.labels,
                                                         pca.transform(flat(test.images)), device)
        decoded, activations = report_arrays(autoencoder, test.images[:REPORT_IMAGES])
        write_npz(layout.codes_file(*out, variant), train=codes.train, test=codes.test)
        write_npz(layout.codes_predictions(*out, variant),
                  **codes.predictions, **{f"pca_{score}": p for score, p in pca_predictions[code_dim].items()})
        write_npz(layout.codes_report(*out, variant), images=test.images[:REPORT_IMAGES],
                  labels=test.labels[:REPORT_IMAGES], reconstructions=decoded, activations=activations,
                  val_loss=np.asarray(read_steps(layout.model_curve(*models, variant, "val_loss"), "val_loss")))
        scores = {score: float((p == test.labels).mean()) for score, p in codes.predictions.items()}
        write_json(layout.codes_record(*out, variant),
                   CodesRecord(args.dataset, variant, seed, code_dim, codes.knn1_val, scores, trained).to_json())
        seconds[variant] = {"encode_seconds": codes.encode_seconds, "seconds": codes.seconds}
        candidates.append({"variant": variant, "code_dim": code_dim, "val_mse": trained.loss_of("val", "mse"),
                           "diverged": trained.diverged, "knn1_val": codes.knn1_val})
        print(f"{args.dataset}/{variant} seed {seed}: {code_dim}-d codes in {codes.encode_seconds:.2f}s, validation "
              f"1-NN {codes.knn1_val:.4f}")
    selected = choose(candidates, criterion)
    write_json(layout.selection(*out), {"dataset": args.dataset, "seed": seed, "criterion": criterion,
                                   "selected": selected["variant"], "code_dim": selected["code_dim"],
                                   "candidates": candidates})
    write_json(layout.codes_seconds(args.seconds, args.dataset, seed), {"variants": seconds,
                                                                   "wall_seconds": wall_seconds()})
    print(f"{args.dataset} seed {seed}: selected {selected['variant']} by {criterion}")


if __name__ == "__main__":
    run_stage(main)
