"""The linear probe: multinomial logistic regression on standardised features.

Representation learning's first evaluation of frozen features: a linear classifier can use only what the
features make linearly separable, where k-NN uses their distances and the MLP learns its own features.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import Interval

from aestudy.core.checks import MAX_ITERATIONS, fit_inputs, predict_inputs


class LinearProbeClassifier(ClassifierMixin, BaseEstimator):
    """Each feature centred and scaled to unit variance on ``fit``'s data (a constant one is only centred), then
    scikit-learn's ``LogisticRegression``: multinomial, L2 penalty of strength ``1 / C``, fitted by L-BFGS with
    at most ``max_iter`` iterations to gradient tolerance ``tol``.

    Standardising puts raw pixels and codes of any scale on one footing, so that one ``C`` serves every
    feature set; without it, L-BFGS on 0..255 pixels needs many more iterations for the same fit. The defaults
    are the study's, checked on the validation split (docs/performance.md).

    Examples
    --------
    >>> from aestudy.classifiers.linear import LinearProbeClassifier
    >>> from sklearn.datasets import load_digits
    >>> from aestudy.features.pixels import RawPixels
    >>> X, y = load_digits(return_X_y=True)
    >>> pixels = RawPixels().fit_transform(X * 255 / 16)  # 8 x 8 images, 0-16, as 0-255 pixels scaled to [0, 1]
    >>> probe = LinearProbeClassifier().fit(pixels[:1500], y[:1500])
    >>> round(probe.score(pixels[1500:], y[1500:]), 4), probe.n_iter_
    (0.9091, 33)
    """

    _parameter_constraints: ClassVar[dict] = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, MAX_ITERATIONS, closed="both")],
        "tol": [Interval(Real, 0, None, closed="neither")],
    }

    def __init__(self, C: float = 1.0, max_iter: int = 100, tol: float = 1e-4) -> None:
        self.C, self.max_iter, self.tol = C, max_iter, tol

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y) -> LinearProbeClassifier:
        """Standardise the features and fit the multinomial logistic regression.

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
        x, encoded = fit_inputs(self, X, y)
        x = x.astype(np.float64)
        self.mean_ = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale_ = np.where(scale > 0, scale, 1.0)
        self.logistic_ = LogisticRegression(C=self.C, max_iter=self.max_iter, tol=self.tol)
        self.logistic_.fit((x - self.mean_) / self.scale_, encoded)
        self.n_iter_ = int(self.logistic_.n_iter_.max())
        return self

    def decision_function(self, X) -> np.ndarray:
        """The logistic regression's scores, a column per class of ``classes_`` (one column for two classes)."""
        x = predict_inputs(self, X).astype(np.float64)
        return self.logistic_.decision_function((x - self.mean_) / self.scale_)

    def predict_proba(self, X) -> np.ndarray:
        """The probe's class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries, n_classes)
            Each class's probability, columns in the order of ``classes_``.
        """
        x = predict_inputs(self, X).astype(np.float64)
        return self.logistic_.predict_proba((x - self.mean_) / self.scale_)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries,)
            One of ``classes_`` per row.
        """
        probabilities = self.predict_proba(X)  # checks that the probe is fitted
        return self.classes_[probabilities.argmax(axis=1)]
