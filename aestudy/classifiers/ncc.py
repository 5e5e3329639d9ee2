"""Nearest class centroid: the class whose mean training vector is nearest in Euclidean distance."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from aestudy.core.checks import fit_inputs, predict_inputs


class NearestCentroidClassifier(ClassifierMixin, BaseEstimator):
    """Each class's mean (in float64) as its centroid; a sample goes to the nearest, ties to the first class."""

    def fit(self, X, y) -> NearestCentroidClassifier:
        """Each class's mean row (its centroid).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self
            The fitted estimator.
        """
        X, encoded = fit_inputs(self, X, y)
        self.centroids_ = np.stack([X[encoded == c].mean(axis=0, dtype=np.float64)
                                    for c in range(len(self.classes_))])
        return self

    def predict(self, X) -> np.ndarray:
        """The class of the nearest centroid (Euclidean) of each row.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries,)
            One of ``classes_`` per row.
        """
        x = predict_inputs(self, X).astype(np.float64)
        centroids = self.centroids_
        distances = (x * x).sum(1)[:, None] - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None, :]
        return self.classes_[distances.argmin(axis=1)]
