"""Nearest class centroid: the class whose mean training vector is nearest in Euclidean distance."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin

from aestudy.core.checks import fit_inputs, predict_inputs


class NearestCentroidClassifier(ClassifierMixin, BaseEstimator):
    """Each class's mean (in float64) as its centroid; a sample goes to the nearest, ties to the first class.

    Attributes
    ----------
    classes_ : ndarray
        The labels seen by ``fit``, sorted.
    centroids_ : ndarray of shape (n_classes, n_features)
        Each class's mean training row, float64, in the order of ``classes_``.

    Examples
    --------
    >>> from aestudy.classifiers.ncc import NearestCentroidClassifier
    >>> from sklearn.datasets import load_digits
    >>> from aestudy.features.pixels import RawPixels
    >>> X, y = load_digits(return_X_y=True)
    >>> pixels = RawPixels().fit_transform(X * 255 / 16)  # 8 x 8 images, 0-16, as 0-255 pixels scaled to [0, 1]
    >>> ncc = NearestCentroidClassifier().fit(pixels[:1500], y[:1500])
    >>> ncc.centroids_.shape
    (10, 64)
    >>> round(ncc.score(pixels[1500:], y[1500:]), 4)
    0.8519
    """

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
