"""UMAP as a feature set: umap-learn's algorithm, its neighbours from the study's exact search.

``UMAPFeatures.fit`` finds every training row's ``n_neighbors`` nearest rows (itself first) with
``aestudy.neighbors.exact`` and hands them to ``umap.UMAP`` as its precomputed k-NN graph; ``transform`` maps
new rows into the fitted embedding with umap-learn's own transform, their neighbours among the training rows
from the same exact search. Nothing else of umap-learn's changes: the fuzzy simplicial set, the spectral
initialisation and the optimisation of the layout are its own. Its approximate search (NN-descent) is not
used, so the embedding does not depend on it and costs no NN-descent time.

With ``random_state`` set, umap-learn optimises the layout in one thread, deterministically; the study sets it
to the replicate seed. The defaults are those of the clustering use of UMAP (McInnes et al.) that N2D builds on:
15 neighbours (umap-learn's default), packed clusters (``min_dist`` 0, where umap-learn's default, 0.1, is for
visualisation) and 10 dimensions (its default, 2, is for a plot).
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from aestudy.core.checks import MAX_ITERATIONS
from aestudy.core.runtime import resolve_device
from aestudy.neighbors.exact import ExactKNNIndex, auto_block_size


class ExactSearch:
    """The exact index in the shape umap-learn asks of its search index when it transforms new rows."""

    _angular_trees = False  # read by umap-learn's transform: Euclidean, not angular, trees

    def __init__(self, index: ExactKNNIndex) -> None:
        self.index = index

    def query(self, X: np.ndarray, k: int, epsilon: float | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(indices, distances) of each row's k nearest training rows, nearest first; ``epsilon`` (the slack of
        an approximate search) is not needed."""
        d2, indices = self.index.search(np.ascontiguousarray(X, dtype=np.float32), k, auto_block_size(self.index))
        return indices, np.sqrt(d2).astype(np.float32)

    def rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``query`` of the index's own rows, by its self-join."""
        d2, indices = self.index.search_rows(k)
        return indices, np.sqrt(d2).astype(np.float32)


class UMAPFeatures(TransformerMixin, BaseEstimator):
    """umap-learn's UMAP on exact neighbours (see the module).

    Parameters
    ----------
    n_neighbors : int, default=15
        Each row's neighbours in the high-dimensional graph (itself included, as umap-learn counts them).
    min_dist : float, default=0.0
        How tightly the embedding may pack points (0: clusters as tight as the layout makes them).
    n_components : int, default=10
        The embedding's dimension.
    n_epochs : int or None, default=None
        Epochs of the layout's optimisation (None: umap-learn's default, 200 for large data).
    random_state : int or None, default=None
        Seeds the layout; set, it also makes the optimisation single-threaded and deterministic.
    device : str, default="cpu"
        Where the neighbour search runs (``cpu``, ``cuda[:N]`` or ``auto``); UMAP itself runs on the CPU.

    Attributes
    ----------
    umap_ : umap.UMAP
        The fitted UMAP.
    embedding_ : ndarray of shape (n_samples, n_components)
        The training rows' embedding.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> images = np.rint(X * 255 / 16).astype(np.uint8)  # 8 x 8 digits, 0-16, as 0-255 pixels
    >>> from aestudy.classifiers.knn import KNNClassifier
    >>> from aestudy.features.manifold import UMAPFeatures
    >>> umap = UMAPFeatures(n_components=2, random_state=0).fit(images[:1500])
    >>> train, test = umap.transform(images[:1500]), umap.transform(images[1500:])
    >>> test.shape
    (297, 2)
    >>> round(KNNClassifier().fit(train, y[:1500]).score(test, y[1500:]), 4)
    0.9259
    """

    _parameter_constraints: ClassVar[dict] = {
        "n_neighbors": [Interval(Integral, 2, None, closed="left")],
        "min_dist": [Interval(Real, 0, None, closed="left")],
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "n_epochs": [Interval(Integral, 1, MAX_ITERATIONS, closed="both"), None],
        "random_state": [Interval(Integral, 0, 2**32 - 1, closed="both"), None],
        "device": [str],
    }

    def __init__(self, n_neighbors: int = 15, *, min_dist: float = 0.0, n_components: int = 10,
                 n_epochs: int | None = None, random_state: int | None = None, device: str = "cpu") -> None:
        self.n_neighbors, self.min_dist, self.n_components = n_neighbors, min_dist, n_components
        self.n_epochs, self.random_state, self.device = n_epochs, random_state, device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> UMAPFeatures:
        """Fit UMAP's layout of the training rows, their neighbours from the study's exact search.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
            The fitted estimator.
        """
        import umap

        X = validate_data(self, X, dtype=np.float32, order="C")
        if len(X) <= self.n_neighbors:
            raise ValueError(f"n_neighbors={self.n_neighbors} needs more than {self.n_neighbors} samples, "
                             f"got n_samples={len(X)}")
        if len(X) <= self.n_components + 1:  # the spectral initialisation's eigenproblem needs more rows
            raise ValueError(f"n_components={self.n_components} needs more than {self.n_components + 1} samples, "
                             f"got n_samples={len(X)}")
        search = ExactSearch(ExactKNNIndex(X, resolve_device(self.device)))
        indices, distances = search.rows(self.n_neighbors)
        self.umap_ = umap.UMAP(n_neighbors=self.n_neighbors, min_dist=self.min_dist, n_components=self.n_components,
                               n_epochs=self.n_epochs, random_state=self.random_state,
                               n_jobs=1 if self.random_state is not None else -1,
                               precomputed_knn=(indices, distances, search))
        with warnings.catch_warnings():
            # umap-learn warns that a search index other than its own cannot transform; ExactSearch can.
            warnings.filterwarnings("ignore", message="precomputed_knn\\[2\\]")
            self.embedding_ = self.umap_.fit_transform(X).astype(np.float32)
        return self

    def transform(self, X) -> np.ndarray:
        """Embed new rows into the fitted layout.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries, n_components)
            The embedding, float32.
        """
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float32, order="C")
        return np.asarray(self.umap_.transform(X), dtype=np.float32)

    def fit_transform(self, X, y=None) -> np.ndarray:
        """Fit, and return the training rows' own layout (not a re-embedding of them).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        ndarray of shape (n_samples, n_components)
            The training rows' embedding.
        """
        return self.fit(X, y).embedding_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float32"]
        tags.non_deterministic = self.random_state is None
        return tags
