"""The autoencoder grid's selection on the validation split, and the scores that describe each variant.

``choose`` picks by ``knn1_val`` (1-NN accuracy of the validation split against the rest of the training split)
or ``val_mse``; no test image can reach it. ``describe`` gives one variant's codes, validation 1-NN and the test
predictions of the per-variant table (1-NN, 3-NN, the nearest centroid: descriptive, never used to choose);
``report_arrays`` what the report draws of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from aestudy.classifiers.knn import KNNClassifier
from aestudy.classifiers.ncc import NearestCentroidClassifier
from aestudy.core.errors import StudyError
from aestudy.core.runtime import stopwatch
from aestudy.data.datasets import flat, to_unit_float
from aestudy.models.autoencoder import AutoencoderFeatures


def test_predictions(train: np.ndarray, train_labels: np.ndarray, test: np.ndarray, device: str
                     ) -> dict[str, np.ndarray]:
    """1-NN, 3-NN (one exact search) and nearest-centroid predictions of ``test``, fitted on ``train``."""
    knn = KNNClassifier(3, device=device).fit(train, train_labels)
    _, neighbours = knn.kneighbors(test)
    return {"knn1": knn.predict_from_neighbors(neighbours, 1), "knn3": knn.predict_from_neighbors(neighbours, 3),
            "ncc": NearestCentroidClassifier().fit(train, train_labels).predict(test)}


def choose(candidates: list[dict], criterion: str) -> dict:
    """The best candidate; ties go to the lower validation MSE, then to the earlier variant."""
    pool = [c for c in candidates if not c["diverged"]] or candidates

    def val_mse(candidate: dict) -> float:
        return math.inf if candidate["val_mse"] is None else candidate["val_mse"]

    if criterion == "knn1_val":
        return max(pool, key=lambda c: (c["knn1_val"], -val_mse(c)))
    return min(pool, key=val_mse)


@dataclass
class VariantCodes:
    """One variant's codes of both splits, its validation 1-NN, its test predictions and their seconds."""

    train: np.ndarray
    test: np.ndarray
    knn1_val: float
    predictions: dict[str, np.ndarray]
    encode_seconds: float  # encoding both splits
    seconds: float  # encoding, the validation 1-NN and the test scores


def describe(autoencoder: AutoencoderFeatures, train_images: np.ndarray, train_labels: np.ndarray,
             test_images: np.ndarray, device: str) -> VariantCodes:
    """Encode both splits; score the rows the autoencoder held out in training (``validation_split``) by 1-NN
    against the rows it trained on (for ``choose``), and the test split by ``test_predictions`` fitted on every
    training image (for the per-variant table). ``train_images`` are the images it was fitted on."""
    fit_idx, val_idx = autoencoder.validation_split()
    if autoencoder.n_samples_fit_ != len(train_images):
        raise StudyError(f"the autoencoder was fitted on {autoencoder.n_samples_fit_} images, these are "
                         f"{len(train_images)}: its validation rows are not theirs")
    with stopwatch() as total:
        with stopwatch() as encoding:
            codes_train = autoencoder.transform(flat(train_images))
            codes_test = autoencoder.transform(flat(test_images))
        knn1 = KNNClassifier(1, device=device).fit(codes_train[fit_idx], train_labels[fit_idx])
        knn1_val = float((knn1.predict(codes_train[val_idx]) == train_labels[val_idx]).mean())
        predicted = test_predictions(codes_train, train_labels, codes_test, device)
    return VariantCodes(codes_train, codes_test, knn1_val, predicted, encoding.seconds, total.seconds)


def report_arrays(autoencoder: AutoencoderFeatures, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reconstructions of ``images`` (uint8, N x H x W or N x C x H x W), in [0, 1] and the images' shape, and
    each image's first-layer activations as one grid (``activation_grids``)."""
    with torch.no_grad():
        pixels = torch.from_numpy(to_unit_float(images))
        decoded = torch.sigmoid(autoencoder.model_(pixels)).numpy().reshape(-1, *images.shape[1:])
        return decoded, activation_grids(autoencoder.model_.first_layer(pixels))


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of the squarest grid holding n cells (128 -> 8 x 16; a prime such as 1021 -> 32 x 32,
    three cells left empty): never a strip."""
    columns = math.ceil(math.sqrt(n))
    for c in range(columns, min(2 * columns, n) + 1):
        if n % c == 0:
            return n // c, c
    return math.ceil(n / columns), columns


def activation_grids(first_layer: torch.Tensor) -> np.ndarray:
    """Each image's first-layer activations as one 2-D grid, laid out by torchvision's ``make_grid`` in the
    squarest grid (``grid_shape``): a dense layer's units one value a cell, a convolution's channel maps one map a
    cell with a line between maps; NaN in the lines and the empty cells (drawn as the background)."""
    from torchvision.utils import make_grid

    dense = first_layer.ndim == 2
    tiles = first_layer[:, :, None, None, None] if dense else first_layer[:, :, None]  # N x cells x 1 x h x w
    _, columns = grid_shape(tiles.shape[1])
    grids = [make_grid(cells, nrow=columns, padding=0 if dense else 1, pad_value=math.nan)[0] for cells in tiles]
    return torch.stack(grids).numpy()
