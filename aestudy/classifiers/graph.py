"""Graph-based semi-supervised classifiers: labels spread over a k-NN graph of every training image.

``fit(X, y)`` takes every training image, the unlabelled ones labelled -1 (scikit-learn's convention): the
graph's nodes are all of them, so the images without labels carry the labels along the data's manifold.

- The graph: each training image linked to its ``n_neighbors`` nearest (the exact search of
  ``aestudy.neighbors.exact``), weighted ``exp(-4 d^2 / d_k^2)`` with ``d_k`` the image's distance to its k-th
  neighbour (Calder et al.'s self-tuning Gaussian), made symmetric ``(W + W^T) / 2``. The graph of one training
  matrix is built once and kept while that array lives, so the fits of every label draw and budget on it share
  it.
- ``method="spreading"``: label spreading (Zhou, Bousquet, Lal, Weston and Schoelkopf, 2004): ``F = (I - alpha
  S)^-1 Y`` with ``S = D^-1/2 W D^-1/2``, solved by conjugate gradients.
- ``method="poisson"``: Poisson learning (Calder, Cook, Thorpe and Slepcev, ICML 2020): the iteration
  ``u <- u + D^-1 (b - L u)`` of the paper's Algorithm 1, with the source ``b`` the labelled images' one-hot
  labels less their mean, run until the random walk from the labelled images has mixed: at least ``min_iter``,
  at most ``max_iter`` iterations, stopping once the walk is within 1/n of its limit at every node (the
  ``graphlearning`` package's rule and defaults). Its limit on a connected graph is the stationary distribution
  ``D 1 / sum(D)``, as there; on a graph of several connected components (UMAP's clusters) the walk keeps the
  share of its mass that started in each component, so its limit is that share spread as the stationary
  distribution within the component. Against the global distribution, which it can never reach, the rule
  would never stop before ``max_iter``.
- ``priors``: the class-size step of Poisson-MBO (Calder et al., 2020; ``graphlearning``'s volume label
  projection), for either method. The scores are scaled to [0, 1] and each class's are multiplied by a weight,
  the weights moved (step 0.1, the first held at 1) until the shares of the unlabelled training images that each
  class takes match the priors to within ``PRIOR_TOLERANCE`` (or ``PRIOR_STEPS`` steps): a class the
  propagation favours gives way to one it starves. ``"labelled"`` estimates the priors from the labelled images
  (uniform for the class-balanced label budgets); a list gives them, one per class in ``classes_`` order. Only the
  unlabelled training images enter it: no test image, and the labelled images keep their labels.
- A training image's label is its class of largest (weighted) score. An image the propagation never reaches (in a
  connected component of the graph that holds no labelled image, where every score is 0) takes the label of
  its nearest labelled image instead: never a silent class 0.
- Test images never enter the graph (inductive): each takes the vote of its ``n_neighbors`` nearest training
  images' labels, weighted by the same kernel (the induction of Bengio, Delalleau and Le Roux, 2006, on the
  propagated labels); ``predict_proba`` gives those weighted shares. The test images' neighbours are kept with
  the graph too, for as long as their array lives.

The products with the graph run in torch (sparse CSR: deterministic whatever the thread count, and 1.9 ms against
scipy's 4 ms for ten float64 columns on MNIST's graph, on 2 cores); Poisson learning's in float32.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from scipy import sparse
from scipy.sparse import csgraph
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from aestudy.core.catalogue import UNLABELLED
from aestudy.core.errors import StudyError, shown
from aestudy.core.runtime import resolve_device
from aestudy.neighbors.exact import ExactKNNIndex, auto_block_size

METHODS = ("spreading", "poisson")
# The class-size step (graphlearning's volume label projection): its step, tolerance on the shares, and most steps.
PRIOR_RATE = 0.1
PRIOR_TOLERANCE = 1e-3
PRIOR_STEPS = 10_000


@dataclass
class Graph:
    """The k-NN graph of one training matrix, and what its fits share."""

    index: ExactKNNIndex
    weights: sparse.csr_matrix  # symmetric, zero diagonal
    degree: np.ndarray
    components: np.ndarray  # each node's connected component
    # The neighbours of the latest query arrays (test images), by content and k (``content_key``).
    queries: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = field(default_factory=OrderedDict)
    # The latest propagations' scores, by method, settings and labelled images: two scores of one entry that
    # differ only in their class-size step (``priors``) share the propagation.
    scores: OrderedDict[tuple, tuple[np.ndarray, int]] = field(default_factory=OrderedDict)

    def operator(self, left: np.ndarray | None = None, right: np.ndarray | None = None,
                 dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """diag(left) W diag(right) as a torch CSR matrix of ``dtype``; None leaves that side as it is."""
        w = self.weights
        if left is not None:
            w = sparse.diags(left) @ w
        if right is not None:
            w = w @ sparse.diags(right)
        w = w.tocsr()
        with warnings.catch_warnings():  # torch's notice that its sparse CSR support is in beta, at every call
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta", category=UserWarning)
            return torch.sparse_csr_tensor(torch.from_numpy(w.indptr.astype(np.int64)),
                                           torch.from_numpy(w.indices.astype(np.int64)),
                                           torch.from_numpy(w.data).to(dtype), size=w.shape, check_invariants=False)

    def neighbours(self, x: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(squared distances, indices) of the k nearest training rows of each row of ``x``, found once for the
        same rows and k (the latest ``CACHE_SIZE`` kept)."""
        return cached(self.queries, (content_key(x), k), lambda: self.index.search(x, k, auto_block_size(self.index)))


# The graphs of the latest training matrices, by their content (a digest of the bytes, the shape and dtype), k and
# device: the same rows fitted again (each score of an entry, each label draw) reuse the graph, however the array
# was made; a changed array is a new key. Digesting 60000 x 64 float32 takes about 20 ms against the graph's 6 s.
_GRAPHS: OrderedDict[tuple, Graph] = OrderedDict()
CACHE_SIZE = 2  # graphs, and each graph's query results


def content_key(x: np.ndarray) -> tuple:
    """What identifies an array's content: a digest of its bytes, its shape and its dtype."""
    return hashlib.blake2b(np.ascontiguousarray(x).data, digest_size=16).digest(), x.shape, x.dtype.str


def cached(cache: OrderedDict, key: tuple, make):
    """``cache[key]``, made by ``make()`` when absent; the cache keeps its latest ``CACHE_SIZE`` entries."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    cache[key] = value = make()
    while len(cache) > CACHE_SIZE:
        cache.popitem(last=False)
    return value


def kernel(distances: np.ndarray) -> np.ndarray:
    """Calder's self-tuning Gaussian of each row's distances (nearest first): exp(-4 d^2 / d_k^2), with d_k the
    row's last distance; a row whose neighbours all lie at distance 0 weighs them all 1."""
    scale = distances[:, -1:] ** 2
    return np.exp(-4 * distances**2 / np.where(scale > 0, scale, 1.0))


def build_graph(x: np.ndarray, k: int, device: str) -> Graph:
    """Each row linked to its k nearest other rows, weighted by ``kernel``, symmetrised (see the module)."""
    n = len(x)
    index = ExactKNNIndex(x, resolve_device(device))
    d2, neighbours = index.search(x, k + 1, auto_block_size(index))
    # Drop each row itself (or, when k + 1 copies of it tie at distance 0 without it, the farthest).
    is_self = neighbours == np.arange(n)[:, None]
    drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k)
    keep = np.ones_like(is_self)
    keep[np.arange(n), drop] = False
    neighbours = neighbours[keep].reshape(n, k)
    distances = np.sqrt(d2[keep].reshape(n, k))
    directed = sparse.csr_matrix((kernel(distances).ravel(), neighbours.ravel(), np.arange(0, n * k + 1, k)),
                                 shape=(n, n))
    weights = ((directed + directed.T) / 2).tocsr()
    weights.eliminate_zeros()
    _, components = csgraph.connected_components(weights, directed=False)
    return Graph(index, weights, np.asarray(weights.sum(axis=1)).ravel(), components)


def graph_of(x: np.ndarray, k: int, device: str) -> Graph:
    """The graph of ``x``, built once for the same rows, k and device (the latest ``CACHE_SIZE`` kept)."""
    return cached(_GRAPHS, (content_key(x), k, device), lambda: build_graph(x, k, device))


def conjugate_gradients(matvec, b: torch.Tensor, rtol: float, max_iter: int) -> tuple[torch.Tensor, int]:
    """x with ``matvec(x) = b`` for a symmetric positive definite operator, each column of b its own system
    (the columns' steps vectorised); stops when every column's residual is below ``rtol`` of its right side.
    Returns x and the steps taken."""
    x = torch.zeros_like(b)
    r = b.clone()
    p = r.clone()
    rs = (r * r).sum(dim=0)
    target = (rtol**2) * (b * b).sum(dim=0)
    steps = 0
    while steps < max_iter and bool((rs > target).any()):
        ap = matvec(p)
        curvature = (p * ap).sum(dim=0)
        alpha = rs / torch.where(curvature > 0, curvature, torch.ones_like(curvature))
        x += alpha * p
        r -= alpha * ap
        rs_new = (r * r).sum(dim=0)
        p = r + (rs_new / torch.where(rs > 0, rs, torch.ones_like(rs))) * p
        rs = rs_new
        steps += 1
    return x, steps


def spreading_scores(graph: Graph, onehot: np.ndarray, alpha: float) -> tuple[np.ndarray, int]:
    """Label spreading's F, the solution of (I - alpha S) F = Y (its scale, 1 - alpha, changes no argmax), and
    the conjugate-gradient steps it took."""
    scale = 1 / np.sqrt(np.where(graph.degree > 0, graph.degree, 1.0))
    s = graph.operator(scale, scale)
    f, steps = conjugate_gradients(lambda v: v - alpha * (s @ v), torch.from_numpy(onehot), rtol=1e-6,
                                   max_iter=10_000)
    return f.numpy(), steps


def walk_limit(graph: Graph, start: np.ndarray) -> np.ndarray:
    """Where a random walk on the graph from the distribution ``start`` settles: in each connected component, the
    mass that started there, spread as the stationary distribution within the component (degree-weighted)."""
    mass = np.bincount(graph.components, weights=start)
    volume = np.bincount(graph.components, weights=graph.degree)
    return mass[graph.components] * graph.degree / volume[graph.components]


def poisson_scores(graph: Graph, labelled: np.ndarray, onehot_labelled: np.ndarray, min_iter: int,
                   max_iter: int) -> tuple[np.ndarray, int]:
    """Poisson learning's u after T iterations (Calder et al., Algorithm 1), and T."""
    n = len(graph.degree)
    degree = np.where(graph.degree > 0, graph.degree, 1.0)
    source = np.zeros((n, onehot_labelled.shape[1]))
    source[labelled] = onehot_labelled - onehot_labelled.mean(axis=0)
    # W is symmetric: P = D^-1 W moves the scores, P^T = W D^-1 moves the walk's distribution. In float32: up to
    # 1000 iterations a fit, each 2.0 ms against 3.8 in float64 on MNIST's UMAP graph; only the scores' argmax is
    # used, and the walk is compared with its limit to 1/n, far above float32's rounding of either.
    f32 = torch.float32
    scores_step, walk_step = graph.operator(left=1 / degree, dtype=f32), graph.operator(right=1 / degree, dtype=f32)
    step_source = torch.from_numpy(source / degree[:, None]).to(f32)
    u = torch.zeros_like(step_source)
    start = np.zeros(n)
    start[labelled] = 1 / len(labelled)
    v = torch.from_numpy(start).to(f32)[:, None]
    settled = torch.from_numpy(walk_limit(graph, start)).to(f32)[:, None]
    iterations = 0
    while iterations < max_iter and (iterations < min_iter or float((v - settled).abs().max()) > 1 / n):
        u = torch.sparse.addmm(step_source, scores_step, u)  # u <- D^-1 b + P u
        v = walk_step @ v
        iterations += 1
    return u.double().numpy(), iterations


def class_size_weights(scores: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, int, float]:
    """Weights of the classes' scores (the first 1) under which the argmax gives each class its share ``priors``
    of the rows, to ``PRIOR_TOLERANCE``; the steps taken and the largest share's error left."""
    scaled = scores - scores.min()
    scaled /= scaled.max() if scaled.max() > 0 else 1.0
    weights = np.ones(scores.shape[1])
    error, steps = np.inf, 0
    while steps < PRIOR_STEPS:
        shares = np.bincount((scaled * weights).argmax(axis=1), minlength=len(weights)) / len(scaled)
        gap = shares - priors
        error = float(np.abs(gap).max())
        if error <= PRIOR_TOLERANCE:
            break
        weights -= PRIOR_RATE * gap  # a class that takes more than its share gives way
        weights /= weights[0]
        steps += 1
    return weights, steps, error


class GraphClassifier(ClassifierMixin, BaseEstimator):
    """Label spreading or Poisson learning over the exact k-NN graph of every training image (see the module).

    Parameters
    ----------
    method : {"spreading", "poisson"}, default="spreading"
        How labels spread over the graph.
    n_neighbors : int, default=10
        Neighbours of each image in the graph, and of each test image in the vote that labels it.
    alpha : float in (0, 1), default=0.99
        Label spreading's weight of the neighbours against an image's own label (Zhou et al. use 0.99).
    min_iter, max_iter : int, default=50, 1000
        Poisson learning's iterations: at least ``min_iter``, at most ``max_iter``.
    priors : None, "labelled" or list of float, default=None
        The class-size step (see the module): None leaves it out; ``"labelled"`` takes the classes' shares among
        the labelled images; a list gives each class's share, in the order of ``classes_``.
    device : str, default="cpu"
        Where the neighbour search runs: ``cpu``, ``cuda[:N]`` or ``auto``.

    Attributes
    ----------
    classes_ : ndarray
        The labels, -1 left out.
    labels_ : ndarray
        Every training image's label: the propagated one, or for an unreached image its nearest labelled
        image's.
    unreached_ : int
        How many training images the propagation did not reach.
    n_iter_ : int
        Poisson learning's iterations, or label spreading's conjugate-gradient steps.
    priors_ : ndarray or None
        The class shares the class-size step matched (None without it).
    class_weights_ : ndarray or None
        The weights it found for the classes' scores.
    """

    _parameter_constraints: ClassVar[dict] = {
        "method": [StrOptions(set(METHODS))],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "min_iter": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "priors": [None, StrOptions({"labelled"}), list],
        "device": [str],
    }

    def __init__(self, method: str = "spreading", *, n_neighbors: int = 10, alpha: float = 0.99,
                 min_iter: int = 50, max_iter: int = 1000, priors: str | list[float] | None = None,
                 device: str = "cpu") -> None:
        self.method, self.n_neighbors, self.alpha = method, n_neighbors, alpha
        self.min_iter, self.max_iter, self.priors, self.device = min_iter, max_iter, priors, device

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y) -> GraphClassifier:
        """Build the k-NN graph of every row and propagate the labels over it.

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
        original = X
        X, y = validate_data(self, X, y, dtype=np.float32, order="C")
        check_classification_targets(y)
        labelled = np.flatnonzero(y != UNLABELLED)
        if len(labelled) == 0:
            raise StudyError("y holds no labelled sample: every label is -1 (unlabelled)")
        if len(X) <= self.n_neighbors:
            raise StudyError(f"n_neighbors={self.n_neighbors} needs more than {self.n_neighbors} samples, "
                             f"got n_samples={len(X)}")
        self.classes_, encoded = np.unique(y[labelled], return_inverse=True)
        onehot = np.eye(len(self.classes_))[encoded]
        # The graph is kept by the identity of the array the caller passed (a copy made here would not be).
        graph = graph_of(original if original is X else X, self.n_neighbors, self.device)
        self.graph_ = graph
        scores, self.n_iter_ = self._propagate(graph, labelled, encoded, onehot)
        unreached = ~np.isin(graph.components, graph.components[labelled])
        self.unreached_ = int(unreached.sum())
        self.priors_ = self._check_priors(encoded)
        self.class_weights_ = None
        if self.priors_ is not None:
            free = np.ones(len(X), dtype=bool)
            free[labelled] = False
            free &= ~unreached
            if free.any():
                self.class_weights_, _, _ = class_size_weights(scores[free], self.priors_)
                scores = (scores - scores[free].min()) * self.class_weights_
        labels = scores.argmax(axis=1)
        if self.unreached_:
            nearest = ExactKNNIndex(X[labelled]).search(X[unreached], 1)[1][:, 0]
            labels[unreached] = encoded[nearest]
        labels[labelled] = encoded  # a labelled image keeps its own label
        self._encoded_labels = labels
        self.labels_ = self.classes_[labels]
        return self

    def _propagate(self, graph: Graph, labelled: np.ndarray, encoded: np.ndarray, onehot: np.ndarray
                   ) -> tuple[np.ndarray, int]:
        """The method's scores of every training image, and its iterations (shared by fits that differ only in
        ``priors``)."""
        settings = (self.alpha,) if self.method == "spreading" else (self.min_iter, self.max_iter)
        key = (self.method, settings, labelled.tobytes(), encoded.tobytes(), len(self.classes_))

        def propagate() -> tuple[np.ndarray, int]:
            if self.method == "spreading":
                full = np.zeros((len(graph.degree), len(self.classes_)))
                full[labelled] = onehot
                return spreading_scores(graph, full, self.alpha)
            return poisson_scores(graph, labelled, onehot, self.min_iter, self.max_iter)

        return cached(graph.scores, key, propagate)

    def _check_priors(self, encoded: np.ndarray) -> np.ndarray | None:
        """The class shares ``priors`` asks for, one per class, summing to 1; None without it."""
        if self.priors is None:
            return None
        if isinstance(self.priors, str):  # "labelled"
            return np.bincount(encoded, minlength=len(self.classes_)) / len(encoded)
        priors = np.asarray(self.priors, dtype=np.float64)
        if priors.shape != (len(self.classes_),) or not np.all(np.isfinite(priors)) or np.any(priors < 0) \
                or priors.sum() <= 0:
            raise StudyError(f"priors must list {len(self.classes_)} non-negative shares, one per class, got "
                             f"{shown(self.priors)}")
        return priors / priors.sum()

    def predict_proba(self, X) -> np.ndarray:
        """Each row's kernel-weighted shares of its nearest training images' labels."""
        check_is_fitted(self)
        original = X
        X = validate_data(self, X, reset=False, dtype=np.float32, order="C")
        d2, neighbours = self.graph_.neighbours(original if original is X else X, self.n_neighbors)
        weights = kernel(np.sqrt(d2))
        n_classes = len(self.classes_)
        cells = (np.arange(len(X))[:, None] * n_classes + self._encoded_labels[neighbours]).ravel()
        shares = np.bincount(cells, weights=weights.ravel(), minlength=len(X) * n_classes).reshape(len(X), n_classes)
        return shares / shares.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of each row, from its training neighbours' propagated scores (no query enters the graph).

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries,)
            One of ``classes_`` per row.
        """
        shares = self.predict_proba(X)
        return self.classes_[shares.argmax(axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags
