"""Cluster-then-label (N2D's recipe, McConville et al., 2020): a Gaussian mixture with one component per class,
fitted on every training image without its label, each component named by the labelled images in it."""

from __future__ import annotations

from collections import OrderedDict
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from aestudy.core.checks import MAX_ITERATIONS, MAX_RESTARTS, semi_supervised_inputs
from aestudy.core.errors import StudyError
from aestudy.neighbors.graph import cached, content_key

# The mixtures of the latest training matrices: every label draw and budget of a stage fits the same rows, and the
# mixture never sees a label, so it is fitted once for them all (by content, settings and seed).
_MIXTURES: OrderedDict = OrderedDict()


class ClusterClassifier(ClassifierMixin, BaseEstimator):
    """A Gaussian mixture of as many components as classes on every training row, then each component named by
    the labelled rows it holds (their majority; a tie to the lowest class). A component that holds no labelled
    row is named by the labelled row it finds most probable. A row's class is that of its most probable
    component: test rows are scored by the fitted mixture, never fitted on.

    Parameters
    ----------
    covariance_type : {"full", "diag", "tied", "spherical"}, default="full"
        The components' covariance (N2D's: full) where the rows have at most ``max_full_dims`` dimensions.
    max_full_dims : int, default=32
        Above this many dimensions every component's covariance is diagonal: a full one on 784 pixels holds
        300000 values and its EM steps take minutes (N2D clusters 10-d UMAP layouts).
    n_init : int, default=1
        Initialisations (k-means) kept the best of, as scikit-learn's ``GaussianMixture``.
    max_iter : int, default=100
        EM iterations at most.
    tol : float, default=1e-3
        Convergence threshold of the lower bound's gain.
    random_state : int or None, default=None
        The initialisation's seed (the study passes the replicate seed).

    Attributes
    ----------
    classes_ : ndarray
        The labels, -1 left out.
    mixture_ : sklearn.mixture.GaussianMixture
        The fitted mixture.
    component_classes_ : ndarray
        Each component's class (an index into ``classes_``).
    unnamed_ : int
        How many components held no labelled row.
    n_iter_ : int
        The mixture's EM iterations.

    Examples
    --------
    A mixture on 16 principal components of 1500 images, three labelled a class:

    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from aestudy.classifiers.clusters import ClusterClassifier
    >>> from aestudy.features.pixels import PCAFeatures
    >>> X, y = load_digits(return_X_y=True)
    >>> pca = PCAFeatures(16).fit(X[:1500] * 255 / 16)
    >>> few = np.full(1500, -1)
    >>> few[::50] = y[:1500:50]
    >>> clusters = ClusterClassifier(random_state=0).fit(pca.transform(X[:1500] * 255 / 16), few)
    >>> round(clusters.score(pca.transform(X[1500:] * 255 / 16), y[1500:]), 4)
    0.7273
    """

    _parameter_constraints: ClassVar[dict] = {
        "covariance_type": [StrOptions({"full", "diag", "tied", "spherical"})],
        "max_full_dims": [Interval(Integral, 1, None, closed="left")],
        "n_init": [Interval(Integral, 1, MAX_RESTARTS, closed="both")],
        "max_iter": [Interval(Integral, 1, MAX_ITERATIONS, closed="both")],
        "tol": [Interval(Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, covariance_type: str = "full", max_full_dims: int = 32, n_init: int = 1,
                 max_iter: int = 100, tol: float = 1e-3, random_state: int | None = None) -> None:
        self.covariance_type, self.max_full_dims, self.n_init = covariance_type, max_full_dims, n_init
        self.max_iter, self.tol, self.random_state = max_iter, tol, random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y) -> ClusterClassifier:
        """Fit the mixture on every row, then name its components by the labelled rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Their labels; -1 marks an unlabelled row (scikit-learn's convention).

        Returns
        -------
        self
            The fitted estimator.
        """
        # Kept float32 when given so (the mixture is keyed by it, half the bytes to digest), widened where fitted.
        X, labelled, encoded = semi_supervised_inputs(self, X, y, dtype=(np.float64, np.float32))
        n_classes = len(self.classes_)
        if len(X) < n_classes:
            raise StudyError(f"{n_classes} components need at least {n_classes} samples, got n_samples={len(X)}")
        covariance = self.covariance_type if X.shape[1] <= self.max_full_dims else "diag"
        settings = (n_classes, covariance, self.n_init, self.max_iter, self.tol, self.random_state)
        self.mixture_ = cached(_MIXTURES, (content_key(X), settings),
                               lambda: self._mixture(X.astype(np.float64), n_classes, covariance))
        x_labelled = X[labelled].astype(np.float64)
        components = self.mixture_.predict(x_labelled)
        votes = np.zeros((n_classes, n_classes), dtype=np.int64)  # component x class
        np.add.at(votes, (components, encoded), 1)
        named = votes.sum(axis=1) > 0
        probable = self.mixture_.predict_proba(x_labelled).argmax(axis=0)  # each component's likeliest labelled row
        self.component_classes_ = np.where(named, votes.argmax(axis=1), encoded[probable])
        self.unnamed_ = int((~named).sum())
        self.n_iter_ = self.mixture_.n_iter_
        return self

    def _mixture(self, X: np.ndarray, n_components: int, covariance: str):
        """The Gaussian mixture of every row."""
        from sklearn.mixture import GaussianMixture

        return GaussianMixture(n_components, covariance_type=covariance, n_init=self.n_init, max_iter=self.max_iter,
                               tol=self.tol, random_state=self.random_state).fit(X)

    def predict(self, X) -> np.ndarray:
        """The class of each row's most probable component.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries,)
            One of ``classes_`` per row.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, order="C")
        return self.classes_[self.component_classes_[self.mixture_.predict(X)]]
