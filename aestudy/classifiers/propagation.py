"""The propagations of the graph classifiers (``aestudy.classifiers.graph``): label spreading by conjugate
gradients, Poisson learning's iteration with its random-walk stopping rule, and the class-size step that fits
the classes' weights to their priors."""

from __future__ import annotations

import numpy as np
import torch

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
    of the rows, to ``PRIOR_TOLERANCE`` or as near as the step gets; the steps taken and the largest share's error
    of the weights returned."""
    scaled = scores - scores.min()
    scaled /= scaled.max() if scaled.max() > 0 else 1.0
    weights, rate = np.ones(scores.shape[1]), PRIOR_RATE
    best_error, best_weights, since_best, steps = np.inf, weights, 0, 0
    while steps < PRIOR_STEPS:
        shares = np.bincount((scaled * weights).argmax(axis=1), minlength=len(weights)) / len(scaled)
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
