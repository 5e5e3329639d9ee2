"""The k-NN graph of a training matrix, as the graph classifiers use it: each row linked to its ``k`` nearest
other rows (the exact search of ``aestudy.neighbors.exact``), weighted ``exp(-4 d^2 / d_k^2)`` with ``d_k`` the
row's distance to its k-th neighbour (Calder et al.'s self-tuning Gaussian), made symmetric ``(W + W^T) / 2``.

A graph is built once for the same rows, k and device, and kept with the neighbours of its latest query arrays and
its latest propagations' scores, so that the fits of every label draw, budget and score on it share it.
"""

from __future__ import annotations

import hashlib
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import sparse
from scipy.sparse import csgraph

from aestudy.core.runtime import resolve_device
from aestudy.neighbors.exact import ExactKNNIndex, auto_block_size


@dataclass
class Graph:
    """The k-NN graph of one training matrix, and what its fits share."""

    index: ExactKNNIndex
    weights: sparse.csr_matrix  # symmetric, zero diagonal
    lengths: sparse.csr_matrix  # each edge's Euclidean length, on the same edges (the geodesic nearest neighbour's)
    degree: np.ndarray
    components: np.ndarray  # each node's connected component
    # The neighbours of the latest query arrays (test images), by content and k (``content_key``).
    queries: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = field(default_factory=OrderedDict)
    # The latest propagations' scores, by method, settings and labelled images: two scores of one entry that
    # differ only in their class-size step (``priors``) share the propagation.
    scores: OrderedDict[tuple, tuple[np.ndarray, int]] = field(default_factory=OrderedDict)

    def operator(self, left: np.ndarray | None = None, right: np.ndarray | None = None,
                 dtype: torch.dtype = torch.float64, scale: float = 1.0) -> torch.Tensor:
        """``scale`` diag(left) W diag(right) as a torch CSR matrix of ``dtype`` (scaled in float64, then rounded
        once); None leaves that side as it is."""
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
                                           torch.from_numpy(w.data * scale).to(dtype), size=w.shape,
                                           check_invariants=False)

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
    d2, neighbours = index.search_rows(k + 1)
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
    # An edge's length is the same both ways; one found one way only takes it from that way (the larger of it
    # and the absent 0). A length of 0 (a copy of a row) is stored as the smallest positive float: scipy's graph
    # routines read a stored 0 as no edge.
    reached = sparse.csr_matrix((np.maximum(distances.ravel(), np.finfo(np.float64).tiny), neighbours.ravel(),
                                 np.arange(0, n * k + 1, k)), shape=(n, n))
    lengths = reached.maximum(reached.T).tocsr()
    lengths = lengths.multiply(weights > 0).tocsr()  # the edges of weights (a kernel weight of 0 is no edge)
    _, components = csgraph.connected_components(weights, directed=False)
    return Graph(index, weights, lengths, np.asarray(weights.sum(axis=1)).ravel(), components)


def graph_of(x: np.ndarray, k: int, device: str) -> Graph:
    """The graph of ``x``, built once for the same rows, k and device (the latest ``CACHE_SIZE`` kept)."""
    return cached(_GRAPHS, (content_key(x), k, device), lambda: build_graph(x, k, device))
