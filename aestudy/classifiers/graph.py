"""Graph-based semi-supervised classifiers: labels spread over a k-NN graph of every training image.

``fit(X, y)`` takes every training image, the unlabelled ones labelled -1 (scikit-learn's convention): the
graph's nodes are all of them, so the images without labels carry the labels along the data's manifold.

- The graph: each training image linked to its ``n_neighbors`` nearest (the exact search of
  ``aestudy.neighbors.exact``), weighted ``exp(-4 d^2 / d_k^2)`` with ``d_k`` the image's distance to its k-th
  neighbour (Calder et al.'s self-tuning Gaussian), made symmetric ``(W + W^T) / 2`` (``aestudy.neighbors.graph``).
  The graph of one training matrix is built once for the same rows, so the fits of every label draw, budget and
  score on it share it.
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
- ``method="laplace"``: Laplace learning (Zhu, Ghahramani and Lafferty, ICML 2003), the harmonic extension of
  the labels (``L u = 0`` on the unlabelled images), solved by conjugate gradients as ``graphlearning``'s
  ``laplace``; the baseline Poisson learning was introduced against, which degenerates at very few labels.
- ``method="nearest"``: the graph's nearest-neighbour rule, the floor of Calder et al.'s tables: each image takes
  the class of the labelled image nearest along the graph's edges (their Euclidean lengths summed).
- ``priors``: the class-size step of Poisson-MBO (Calder et al., 2020; ``graphlearning``'s volume label
  projection), for either method. The scores are scaled to [0, 1] and each class's are multiplied by a weight,
  the weights moved (step 0.1, the first held at 1) until the shares of the unlabelled training images that each
  class takes match the priors to within ``PRIOR_TOLERANCE`` (or ``PRIOR_STEPS`` steps; both in
  ``aestudy.classifiers.propagation``): a class the propagation favours gives way to one it starves.
  ``"labelled"`` estimates the priors from the labelled images (uniform for the class-balanced label budgets); a
  list gives them, one per class in ``classes_`` order. Only the unlabelled training images enter it: no test
  image, and the labelled images keep their labels.
- ``mbo_iterations``: Poisson-MBO's volume-constrained iterations (Calder et al., 2020, Algorithm 2; the settings
  of ``graphlearning``'s ``poisson_mbo``: 40 heat steps an iteration, fidelity 1, 20 iterations in the study):
  from the labels the class-size step gives, each iteration diffuses the labels as one-hot rows over the graph
  (explicit heat steps with Poisson learning's source) and labels the unlabelled training images again under the
  class-size step, so that the labels follow the graph's low-density boundaries while each class keeps its
  share. As the class-size step, it sees the unlabelled training images only.
- A training image's label is its class of largest (weighted) score, or its MBO label. An image the propagation
  never reaches (in a connected component of the graph that holds no labelled image, where every score is 0)
  takes the label of its nearest labelled image instead: never a silent class 0.
- Test images never enter the graph (inductive): each takes the vote of its ``n_neighbors`` nearest training
  images' labels, weighted by the same kernel (the induction of Bengio, Delalleau and Le Roux, 2006, on the
  propagated labels); ``predict_proba`` gives those weighted shares. The test images' neighbours are kept with
  the graph too, for the same rows.
- ``student="linear"``: self-training, the other induction (pseudo-labelling, Lee 2013). The graph's labels
  become pseudo-labels: of each class, ``student_per_class`` unlabelled training images evenly spaced through
  those the graph gives it (in index order), with the labelled images, train the linear probe
  (``LinearProbeClassifier`` at its defaults, the study's), and the probe labels the test images. A sample,
  because the probe's fit grows with its rows (60000 raw pixels: 14 s a fit); an even one, not the most confident
  rows, because Poisson learning's largest margins sit around the labelled images: a probe on those learns little
  more than the labels themselves.

The products with the graph run in torch (sparse CSR: deterministic whatever the thread count, and 1.9 ms against
scipy's 4 ms for ten float64 columns on MNIST's graph, on 2 cores); Poisson learning's in float32.
"""

from __future__ import annotations

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from aestudy.classifiers.linear import LinearProbeClassifier
from aestudy.classifiers.propagation import (
    class_size_weights,
    geodesic_scores,
    laplace_scores,
    mbo_labels,
    poisson_scores,
    spreading_scores,
    weighted_scores,
)
from aestudy.core.checks import MAX_ITERATIONS, semi_supervised_inputs
from aestudy.core.errors import StudyError, shown
from aestudy.neighbors.exact import ExactKNNIndex
from aestudy.neighbors.graph import Graph, cached, graph_of, kernel

METHODS = ("spreading", "poisson", "laplace", "nearest")
STUDENTS = ("linear",)


class GraphClassifier(ClassifierMixin, BaseEstimator):
    """Label spreading or Poisson learning over the exact k-NN graph of every training image (see the module).

    Parameters
    ----------
    method : {"spreading", "poisson", "laplace", "nearest"}, default="spreading"
        How labels spread over the graph (see the module).
    n_neighbors : int, default=10
        Neighbours of each image in the graph, and of each test image in the vote that labels it.
    alpha : float in (0, 1), default=0.99
        Label spreading's weight of the neighbours against an image's own label (Zhou et al. use 0.99).
    min_iter, max_iter : int, default=50, 1000
        Poisson learning's iterations: at least ``min_iter``, at most ``max_iter``.
    priors : None, "labelled" or list of float, default=None
        The class-size step (see the module): None leaves it out; ``"labelled"`` takes the classes' shares among
        the labelled images; a list gives each class's share, in the order of ``classes_``.
    mbo_iterations : int, default=0
        Poisson-MBO's volume-constrained iterations after the class-size step (see the module); 0 leaves them
        out. Needs ``priors``.
    mbo_steps : int, default=40
        Heat-equation steps of each MBO iteration.
    mbo_fidelity : float > 0, default=1.0
        Weight of the labelled images' source in those steps (the paper's mu).
    student : None or "linear", default=None
        Self-training (see the module): None labels test images by the graph's kernel vote; ``"linear"`` by the
        linear probe fitted on a sample of the graph's pseudo-labels and the labelled images.
    student_per_class : int, default=1000
        The student's pseudo-labelled images of each class (all of them where the graph gives a class fewer).
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
        Poisson learning's iterations, or label spreading's and Laplace learning's conjugate-gradient steps (0 for
        the nearest-neighbour rule).
    mbo_iter_ : int
        MBO iterations run: fewer than ``mbo_iterations`` where the labels and weights came back unchanged (every
        further iteration would repeat that one).
    priors_ : ndarray or None
        The class shares the class-size step matched (None without it).
    class_weights_ : ndarray or None
        The weights it found for the classes' scores (after the MBO iterations, their last).
    student_ : LinearProbeClassifier or None
        The self-training student (None without ``student``), fitted on encoded labels ``0 .. n_classes - 1``.
    n_pseudo_ : int
        The pseudo-labelled images the student was fitted on (0 without ``student``).

    Examples
    --------
    Three labelled images a class among 1500 (-1: unlabelled, scikit-learn's convention), Poisson learning:

    >>> import numpy as np
    >>> from aestudy.classifiers.graph import GraphClassifier
    >>> from sklearn.datasets import load_digits
    >>> from aestudy.features.pixels import RawPixels
    >>> X, y = load_digits(return_X_y=True)
    >>> pixels = RawPixels().fit_transform(X * 255 / 16)  # 8 x 8 images, 0-16, as 0-255 pixels scaled to [0, 1]
    >>> few = np.full(1500, -1)
    >>> few[::50] = y[:1500:50]
    >>> graph = GraphClassifier("poisson").fit(pixels[:1500], few)
    >>> round(graph.score(pixels[1500:], y[1500:]), 4), graph.n_iter_, graph.unreached_
    (0.8552, 351, 0)
    """

    _parameter_constraints: ClassVar[dict] = {
        "method": [StrOptions(set(METHODS))],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, 1, closed="neither")],
        "min_iter": [Interval(Integral, 0, MAX_ITERATIONS, closed="both")],
        "max_iter": [Interval(Integral, 1, MAX_ITERATIONS, closed="both")],
        "priors": [None, StrOptions({"labelled"}), list],
        "mbo_iterations": [Interval(Integral, 0, MAX_ITERATIONS, closed="both")],
        "mbo_steps": [Interval(Integral, 1, MAX_ITERATIONS, closed="both")],
        "mbo_fidelity": [Interval(Real, 0, None, closed="neither")],
        "student": [None, StrOptions(set(STUDENTS))],
        "student_per_class": [Interval(Integral, 1, None, closed="left")],
        "device": [str],
    }

    def __init__(self, method: str = "spreading", *, n_neighbors: int = 10, alpha: float = 0.99,
                 min_iter: int = 50, max_iter: int = 1000, priors: str | list[float] | None = None,
                 mbo_iterations: int = 0, mbo_steps: int = 40, mbo_fidelity: float = 1.0,
                 student: str | None = None, student_per_class: int = 1000, device: str = "cpu") -> None:
        self.method, self.n_neighbors, self.alpha = method, n_neighbors, alpha
        self.min_iter, self.max_iter, self.priors, self.device = min_iter, max_iter, priors, device
        self.mbo_iterations, self.mbo_steps, self.mbo_fidelity = mbo_iterations, mbo_steps, mbo_fidelity
        self.student, self.student_per_class = student, student_per_class

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
        if self.mbo_iterations and self.priors is None:
            raise StudyError(f"mbo_iterations={self.mbo_iterations} needs priors (the class shares its steps keep): "
                             f"give priors='labelled' or a list")
        original = X
        X, labelled, encoded = semi_supervised_inputs(self, X, y)
        if len(X) <= self.n_neighbors:
            raise StudyError(f"n_neighbors={self.n_neighbors} needs more than {self.n_neighbors} samples, "
                             f"got n_samples={len(X)}")
        onehot = np.eye(len(self.classes_))[encoded]
        # The graph is kept by the identity of the array the caller passed (a copy made here would not be).
        graph = graph_of(original if original is X else X, self.n_neighbors, self.device)
        self.graph_ = graph
        scores, self.n_iter_ = self._propagate(graph, labelled, encoded, onehot)
        unreached = ~np.isin(graph.components, graph.components[labelled])
        self.unreached_ = int(unreached.sum())
        self.priors_ = self._check_priors(encoded)
        self.class_weights_ = None
        free = np.ones(len(X), dtype=bool)  # what the class-size step and the MBO iterations label
        free[labelled] = False
        free &= ~unreached
        if self.priors_ is not None and free.any():
            self.class_weights_, _, _ = class_size_weights(scores[free], self.priors_)
            scores = weighted_scores(scores, scores[free], self.class_weights_)
        labels = scores.argmax(axis=1)
        self.mbo_iter_ = 0
        if self.mbo_iterations and free.any():
            labels[labelled] = encoded
            labels, self.class_weights_, self.mbo_iter_ = mbo_labels(
                graph, labelled, onehot, labels, free, self.priors_, self.class_weights_, self.mbo_iterations,
                self.mbo_steps, self.mbo_fidelity)
        if self.unreached_:
            nearest = ExactKNNIndex(X[labelled]).search(X[unreached], 1)[1][:, 0]
            labels[unreached] = encoded[nearest]
        labels[labelled] = encoded  # a labelled image keeps its own label
        self._encoded_labels = labels
        self.labels_ = self.classes_[labels]
        self.student_, self.n_pseudo_ = None, 0
        if self.student is not None:
            pseudo = evenly_per_class(labels, free, self.student_per_class)
            self.n_pseudo_ = len(pseudo)
            rows = np.concatenate([labelled, pseudo])
            self.student_ = LinearProbeClassifier().fit(X[rows], labels[rows])
        return self

    def _propagate(self, graph: Graph, labelled: np.ndarray, encoded: np.ndarray, onehot: np.ndarray
                   ) -> tuple[np.ndarray, int]:
        """The method's scores of every training image, and its iterations (shared by fits that differ only in
        ``priors``)."""
        settings = {"spreading": (self.alpha,), "poisson": (self.min_iter, self.max_iter)}.get(self.method, ())
        key = (self.method, settings, labelled.tobytes(), encoded.tobytes(), len(self.classes_))

        def propagate() -> tuple[np.ndarray, int]:
            if self.method == "spreading":
                full = np.zeros((len(graph.degree), len(self.classes_)))
                full[labelled] = onehot
                return spreading_scores(graph, full, self.alpha)
            if self.method == "laplace":
                return laplace_scores(graph, labelled, onehot)
            if self.method == "nearest":
                return geodesic_scores(graph, labelled, onehot), 0
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
        """Each row's kernel-weighted shares of its nearest training images' labels, or with ``student`` the
        student's class probabilities (a class it never saw: 0)."""
        check_is_fitted(self)
        original = X
        X = validate_data(self, X, reset=False, dtype=np.float32, order="C")
        if self.student_ is not None:
            shares = np.zeros((len(X), len(self.classes_)))
            shares[:, self.student_.classes_] = self.student_.predict_proba(X)
            return shares
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



def evenly_per_class(labels: np.ndarray, candidates: np.ndarray, per_class: int) -> np.ndarray:
    """Indices of at most ``per_class`` rows of each label among the rows where ``candidates`` is true, evenly
    spaced through them in index order (every one where a label has fewer), ascending."""
    rows = np.flatnonzero(candidates)
    order = rows[np.argsort(labels[rows], kind="stable")]  # by label, index order within
    starts = np.searchsorted(labels[order], np.unique(labels[order]))
    sizes = np.diff(np.r_[starts, len(order)])
    taken = np.minimum(sizes, per_class)
    within = np.arange(taken.sum()) - np.repeat(np.cumsum(taken) - taken, taken)
    return np.sort(order[np.repeat(starts, taken) + within * np.repeat(sizes, taken) // np.repeat(taken, taken)])
