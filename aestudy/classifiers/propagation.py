"""The propagations of the graph classifiers (``aestudy.classifiers.graph``): label spreading and Laplace learning
by conjugate gradients, Poisson learning's iteration with its random-walk stopping rule, the geodesic nearest
labelled image, and the class-size step that fits the classes' weights to their priors."""

from __future__ import annotations

import numpy as np
import torch
from scipy.sparse import csgraph

from aestudy.neighbors.graph import Graph

# The class-size step (graphlearning's volume label projection): its first step, tolerance on the shares, and most
# steps. Where a layout's clusters move whole between classes (UMAP's), no weights meet the tolerance and the step
# oscillates: after PRIOR_PATIENCE steps without a better match it goes back to the best weights and halves its
# step, and stops below PRIOR_MIN_RATE (MNIST, UMAP of PCA, 4 labels a class: 1000-1400 steps and shares within
# 0.3-0.5% where 10000 fixed steps left 1-2% in 13 s; where the tolerance is met, the same steps as before).
PRIOR_RATE = 0.1
PRIOR_TOLERANCE = 1e-3
PRIOR_STEPS = 10_000
PRIOR_PATIENCE = 100
PRIOR_MIN_RATE = 1e-4


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


def laplace_scores(graph: Graph, labelled: np.ndarray, onehot_labelled: np.ndarray) -> tuple[np.ndarray, int]:
    """Laplace learning's u (Zhu, Ghahramani and Lafferty, 2003: the harmonic extension of the labels, ``L u = 0``
    on the unlabelled images, ``u = y`` on the labelled), and the conjugate-gradient steps it took.

    The unlabelled rows solve ``(D - W)_uu u_u = W_ul y``, preconditioned by ``D_uu^-1/2`` on both sides as
    ``graphlearning``'s ``laplace`` does, so the operator is ``I - D^-1/2 W D^-1/2`` on the unlabelled rows. An
    image in a component with no labelled image has a right side of 0 there and keeps the score 0."""
    n = len(graph.degree)
    free = np.ones(n, dtype=bool)
    free[labelled] = False
    scale = np.where(free & (graph.degree > 0), 1 / np.sqrt(np.where(graph.degree > 0, graph.degree, 1.0)), 0.0)
    s = graph.operator(scale, scale)  # zero on the labelled rows and columns
    y = np.zeros((n, onehot_labelled.shape[1]))
    y[labelled] = onehot_labelled
    right = torch.from_numpy(scale[:, None] * (graph.weights @ y))
    v, steps = conjugate_gradients(lambda p: p - s @ p, right, rtol=1e-6, max_iter=10_000)
    u = scale[:, None] * v.numpy()
    u[labelled] = onehot_labelled
    return u, steps


def geodesic_scores(graph: Graph, labelled: np.ndarray, onehot_labelled: np.ndarray) -> np.ndarray:
    """The graph's nearest-neighbour rule (``graphlearning``'s ``graph_nearest_neighbor``): each image takes the
    class of the labelled image nearest along the graph's edges (the sum of their Euclidean lengths; Dijkstra from
    every labelled image at once), as a one-hot row; an image no labelled image reaches scores 0."""
    distances, _, sources = csgraph.dijkstra(graph.lengths, directed=False, indices=labelled, min_only=True,
                                             return_predecessors=True)
    scores = np.zeros((len(graph.degree), onehot_labelled.shape[1]))
    reached = np.isfinite(distances)
    position = np.empty(len(graph.degree), dtype=np.int64)
    position[labelled] = np.arange(len(labelled))
    scores[reached] = onehot_labelled[position[sources[reached]]]
    return scores


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


def mbo_labels(graph: Graph, labelled: np.ndarray, onehot_labelled: np.ndarray, labels: np.ndarray,
               free: np.ndarray, priors: np.ndarray, weights: np.ndarray, iterations: int, steps: int,
               fidelity: float) -> tuple[np.ndarray, np.ndarray, int]:
    """Poisson-MBO's volume-constrained iterations (Calder et al., 2020, Algorithm 2; ``graphlearning``'s
    ``poisson_mbo``), from ``labels`` and the class-size step's ``weights``: ``iterations`` times, the labels as
    one-hot rows take ``steps`` explicit steps of the heat equation with Poisson learning's source,
    ``u <- u - dt L u + fidelity dt b`` (``L = D - W``, ``dt = 1 / max degree``: stable), then the ``free`` rows
    (unlabelled and reached) take their class of largest score under the class-size step's weights, fitted again
    from the last ones (as ``graphlearning`` keeps them between projections). The labelled rows keep their labels.
    Labels and weights that an iteration leaves as they were end the iterations early: each later one would repeat
    it exactly. Returns the labels, the last weights and the iterations run."""
    n, n_classes = len(graph.degree), onehot_labelled.shape[1]
    dt = 1 / graph.degree.max()
    f32 = torch.float32
    # u - dt (D - W) u = (1 - dt D) u + dt W u: one sparse product a step; float32 as Poisson learning's iteration.
    heat = graph.operator(dtype=f32, scale=dt)
    keep = torch.from_numpy(1 - dt * graph.degree).to(f32)[:, None]
    source = np.zeros((n, n_classes))
    source[labelled] = onehot_labelled - onehot_labelled.mean(axis=0)
    step_source = torch.from_numpy(fidelity * dt * source).to(f32)
    labels = labels.copy()
    done = 0
    while done < iterations:
        done += 1
        u = torch.nn.functional.one_hot(torch.from_numpy(labels), n_classes).to(f32)
        for _ in range(steps):
            u = torch.sparse.addmm(step_source.addcmul(keep, u), heat, u)
        scores = u.double().numpy()[free]
        fitted, _, _ = class_size_weights(scores, priors, weights)
        relabelled = weighted_scores(scores, scores, fitted).argmax(axis=1)
        if np.array_equal(relabelled, labels[free]) and np.array_equal(fitted, weights):
            break  # a fixed point: every later iteration would start from these labels and weights and end at them
        labels[free], weights = relabelled, fitted
    return labels, weights, done


class WeightedArgmax:
    """How many rows take each class as their largest weighted score, for weights that move a little at a time
    (the class-size step's): exactly as a full argmax, at the cost of the rows near a tie.

    Under reference weights each row's best and second-best products are known; under new weights, every class's
    product is the reference's times its weight's ratio, so a row whose best product exceeds its second by more than
    the ratios' spread (largest over smallest, with room for rounding) keeps its class. Sorted by that margin, the
    rows that may change are a prefix; only they are recomputed. When they grow to a quarter of the rows, the new
    weights become the reference. Measured on the weights' trajectory of MNIST's Poisson scores at 4 labels a class
    (56000 unlabelled rows): 0.29 ms a step on the PCA codes, 0.06 ms on their UMAP layout, against 1.59 and 1.36 ms
    for numpy's full argmax.
    """

    ROUNDING = 1e-9  # relative room for the products' rounding, far above float64's

    def __init__(self, scaled: np.ndarray) -> None:
        self.scaled = scaled  # non-negative
        self.reference: np.ndarray | None = None

    def _reset(self, weights: np.ndarray) -> None:
        products = self.scaled * weights
        rows = np.arange(len(products))
        self.top = products.argmax(axis=1)
        best = products[rows, self.top]
        products[rows, self.top] = -np.inf
        second = products.max(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            margin = np.where(best > 0, best / second, 0.0)  # a second of 0 under a positive best: infinite
        self.order = np.argsort(margin, kind="stable")
        self.sorted_margin = margin[self.order]
        self.top_counts = np.bincount(self.top, minlength=len(weights))
        self.reference = weights.copy()

    def counts(self, weights: np.ndarray) -> np.ndarray:
        """Rows whose largest ``scaled * weights`` is in each class (the first such class on a tie)."""
        if not (weights > 0).all():
            return np.bincount((self.scaled * weights).argmax(axis=1), minlength=len(weights))
        if self.reference is None:
            self._reset(weights)
        ratio = weights / self.reference
        changing = np.searchsorted(self.sorted_margin, ratio.max() / ratio.min() * (1 + self.ROUNDING), side="right")
        if changing > len(self.scaled) // 4:
            self._reset(weights)
            changing = np.searchsorted(self.sorted_margin, 1 + self.ROUNDING, side="right")
        rows = self.order[:changing]
        chosen = (self.scaled[rows] * weights).argmax(axis=1)
        return (self.top_counts - np.bincount(self.top[rows], minlength=len(weights))
                + np.bincount(chosen, minlength=len(weights)))


def weighted_scores(scores: np.ndarray, reference: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``scores`` under the class-size step's ``weights``: shifted so that the ``reference`` rows' lowest score is 0
    (the step's scaling; dividing by the largest would change no argmax), then each class's column times its weight."""
    return (scores - reference.min()) * weights


def class_size_weights(scores: np.ndarray, priors: np.ndarray, start: np.ndarray | None = None
                       ) -> tuple[np.ndarray, int, float]:
    """Weights of the classes' scores (the first 1) under which the argmax gives each class its share ``priors``
    of the rows, to ``PRIOR_TOLERANCE`` or as near as the step gets, starting from ``start`` (ones by default); the
    steps taken and the largest share's error of the weights returned. The scores are scaled to [0, 1] first."""
    scaled = scores - scores.min()
    scaled /= scaled.max() if scaled.max() > 0 else 1.0
    argmax = WeightedArgmax(scaled)
    weights, rate = (np.ones(scores.shape[1]) if start is None else start / start[0]), PRIOR_RATE
    best_error, best_weights, since_best, steps = np.inf, weights, 0, 0
    while steps < PRIOR_STEPS:
        shares = argmax.counts(weights) / len(scaled)
        gap = shares - priors
        error = float(np.abs(gap).max())
        if error < best_error:
            best_error, best_weights, since_best = error, weights, 0
        else:
            since_best += 1
        if error <= PRIOR_TOLERANCE:
            break
        if since_best >= PRIOR_PATIENCE:
            rate, weights, since_best = rate / 2, best_weights, 0
            if rate < PRIOR_MIN_RATE:
                break
        weights = weights - rate * gap  # a class that takes more than its share gives way
        weights = weights / weights[0]
        steps += 1
    return best_weights, steps, best_error
