"""Nearest class centroid: the class whose mean training vector is nearest in Euclidean distance."""

from __future__ import annotations

import numpy as np

from aestudy.checks import check_features, check_labels


class NearestCentroidClassifier:
    def fit(self, x: np.ndarray, y: np.ndarray) -> NearestCentroidClassifier:
        x = check_features(x, "X")
        y = check_labels(y, len(x))
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([x[y == c].mean(axis=0, dtype=np.float64) for c in self.classes_])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = check_features(x, "X", self.centroids_.shape[1]).astype(np.float64)
        centroids = self.centroids_
        distances = (x * x).sum(1)[:, None] - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None, :]
        return self.classes_[distances.argmin(axis=1)]
