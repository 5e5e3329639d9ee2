"""Stage ``codes``: one grid variant's codes, and the cheap classifiers scored on them.

    python -m stages.codes --dataset mnist --variant seed000 --seed 42

Encodes the training and test images with the trained autoencoder into
``data/codes/<dataset>/seed-<seed>/<variant>.npz``, then scores, on the codes:
- for the selection, 1-NN of the validation split against the rest of the training split (``knn1_val``),
  written with the code's size and the encoding time to ``data/records/codes/<dataset>/seed-<seed>/<variant>.json``;
- for the per-variant table, 1-NN, 3-NN and the nearest centroid on the test split, fitted on the whole
  training split, written to ``data/records/variants/<dataset>/seed-<seed>/<variant>.json``, and the same on
  PCA of the code's dimension (fitted on the training pixels) for the paired comparison: both sets of test
  predictions go to ``data/variant-predictions/<dataset>/seed-<seed>/<variant>.npz`` (``1nn``, ``3nn``,
  ``ncc``, ``pca_1nn``, ``pca_3nn``, ``pca_ncc``), which the stats stage reads.
The ``select`` stage reads only the first file: no test score can reach the selection.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from aestudy.atomic import write_json, write_npz
from aestudy.autoencoder import load_model
from aestudy.datasets import flat, load_prepared, prepared_path, train_val_split
from aestudy.features import PCAFeatures
from aestudy.knn import KNNClassifier
from aestudy.ncc import NearestCentroidClassifier
from aestudy.runtime import resolve_device, stopwatch
from stages import params as P
from stages.cli import run_stage, seed_dir, stage_args


def accuracy(predicted: np.ndarray, labels: np.ndarray) -> float:
    return float((predicted == labels).mean())


def test_predictions(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, block_size: int, device: str
                     ) -> dict[str, np.ndarray]:
    """1-NN, 3-NN (one exact search) and nearest-centroid predictions of ``test``, fitted on ``train``."""
    knn = KNNClassifier(3, block_size, device).fit(train, train_labels)
    _, neighbours = knn.kneighbors(test)
    return {"1nn": knn.predict_from_neighbors(neighbours, 1), "3nn": knn.predict_from_neighbors(neighbours, 3),
            "ncc": NearestCentroidClassifier().fit(train, train_labels).predict(test)}


def main() -> None:
    args = stage_args("stages.codes", __doc__, ("params", "prepared", "models", "codes", "code-metrics",
                                                "variant-metrics", "variant-predictions"),
                      dataset=True, variant=True, seed=True)
    params = P.load_params(args.params)
    seed = P.seed_of(params, args.seed)
    block_size, device_name = P.knn_settings(params)
    device = resolve_device(device_name)
    val_fraction = P.val_fraction(params)
    train, test = load_prepared(prepared_path(args.prepared, args.dataset))
    P.check_knn_block(block_size, len(train.labels))
    where = Path(args.dataset) / seed_dir(seed)
    encoder = load_model(args.models / where / f"{args.variant}.pt")
    code_dim = encoder.autoencoder_config().code_dim

    with stopwatch() as total:
        with stopwatch() as encoding:
            codes_train, codes_test = encoder.transform(flat(train.images)), encoder.transform(flat(test.images))
        fit_idx, val_idx = train_val_split(len(train.labels), val_fraction, seed)
        knn1 = KNNClassifier(1, block_size, str(device)).fit(codes_train[fit_idx], train.labels[fit_idx])
        knn1_val = accuracy(knn1.predict(codes_train[val_idx]), train.labels[val_idx])

        predicted = test_predictions(codes_train, train.labels, codes_test, block_size, str(device))
    test_scores = {score: accuracy(p, test.labels) for score, p in predicted.items()}
    pca = PCAFeatures(code_dim)
    pca_train = pca.fit_transform(flat(train.images))
    pca_predicted = test_predictions(pca_train, train.labels, pca.transform(flat(test.images)), block_size,
                                     str(device))

    write_npz(args.codes / where / f"{args.variant}.npz", train=codes_train, test=codes_test)
    write_npz(args.variant_predictions / where / f"{args.variant}.npz",
              **predicted, **{f"pca_{score}": p for score, p in pca_predicted.items()})
    common = {"dataset": args.dataset, "variant": args.variant, "seed": seed, "code_dim": code_dim}
    write_json(args.variant_metrics / where / f"{args.variant}.json", {**common, **test_scores})
    write_json(args.code_metrics / where / f"{args.variant}.json",
               {**common, "encode_seconds": encoding.seconds, "seconds": total.seconds, "knn1_val": knn1_val})
    print(f"{args.dataset}/{args.variant} seed {seed}: {code_dim}-d codes in {encoding.seconds:.2f}s, "
          f"validation 1-NN {knn1_val:.4f}")


if __name__ == "__main__":
    run_stage(main)
