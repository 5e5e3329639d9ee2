"""Exact k nearest neighbours (Euclidean): a float32 GEMM on a lower bound filters, float64 decides.

For each query, every training row whose distance could be among the k smallest (ties included) is found
by a float32 GEMM, and those rows alone are ranked by their exact distance: the squared difference summed
in float64 from the original float32 values, ties going to the lower training index. The answer is the
same as a brute-force float64 search's on every input, with no assumption about how many candidates
suffice, so it does not depend on the device, the BLAS kernel or the block size.

How the filter stays exact:
- *A lower bound in fewer dimensions.* With many columns (raw pixels), the training rows are centred and
  rotated onto their first ``filter_dims`` principal directions, plus one column holding the norm of what
  those directions leave out. The distance in that space is at most the true distance (the leftover
  parts of two rows are at least the difference of their norms apart), and on MNIST it costs 129
  columns of GEMM instead of 717. With few columns (codes), the bound is the distance itself.
- *A threshold from a few probes.* The exact distances of ``KNN_PROBES`` promising rows give a distance
  that the k-th neighbour cannot exceed. Every row whose bound lies below it, plus a worst-case allowance
  for float32 rounding (Higham's gamma_n bounds on the dot products), is a candidate.
- *Chunk minima instead of a full sort.* The bound of every training row is one (block x N) slab; the
  minimum of each chunk of ``CHUNK`` rows is one cheap pass over it, and only chunks whose minimum is below
  the threshold are looked into.
- *Duplicates* (collapsed autoencoders give thousands of identical codes) are searched once and expanded
  afterwards, so ties among them cost nothing and still go to the lowest index.

With few columns on the CPU (codes, UMAP's layouts: ``tiled``), the search goes by tiles instead of slabs,
and the rows' own neighbours by half of them: ``aestudy.neighbors.tiles``.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from aestudy.core.errors import StudyError, shown
from aestudy.neighbors.tiles import MINIMA_BYTES, TILE, left_factor, padded, right_factor, tiled_candidates

KNN_PROBES = 4  # rows per query whose exact distances set its threshold
FILTER_DIMS = 128  # principal directions of the lower bound, used when the data have more than twice as many
CHUNK = 64  # training rows per chunk minimum
PAIRS_PER_BATCH = 1 << 17  # elements of candidate rows widened to float64 at once: small enough to stay in cache
UNIT_ROUNDOFF = 2.0**-24  # float32
ROTATION_SAMPLE = 16384  # rows of the (deterministic, evenly strided) sample that fits the rotation
# A block of queries holds a float32 slab of bounds against every training row, and about as much again in
# chunk minima and gathers: this many bytes of slab per block, or 1024 queries when that is less.
SLAB_BYTES = 256 << 20
MAX_BLOCK = 1024


def float32_rows(x: np.ndarray, name: str) -> np.ndarray:
    """A non-empty 2-D array as C-contiguous, writable float32 (torch shares its memory)."""
    x = np.require(x, np.float32, ["C_CONTIGUOUS", "WRITEABLE"])
    if x.ndim != 2 or len(x) == 0:
        raise StudyError(f"{name} must be a non-empty 2-D array (samples, features), got shape {x.shape}")
    return x


def gamma(n: int) -> float:
    """Higham's bound on the relative error of an n-term float32 dot product."""
    return n * UNIT_ROUNDOFF / (1 - n * UNIT_ROUNDOFF)


def duplicate_groups(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows that are bit-for-bit copies of an earlier row, grouped under the earliest.

    Returns ``keep`` (the first row of every group, ascending), ``counts`` (each kept row's group size) and
    ``members`` (every row's index, grouped by kept row in the order of ``keep``, ascending within a group).
    Rows are matched by a 64-bit hash of their bits, then compared: a collision only leaves two rows apart.
    """
    bits = np.ascontiguousarray(x).view(np.uint32)
    coefficients = np.random.default_rng(0).integers(1, 2**63, bits.shape[1], dtype=np.uint64) | np.uint64(1)
    hashes = np.concatenate([bits[s : s + 8192].astype(np.uint64) @ coefficients for s in range(0, len(x), 8192)])
    order = np.argsort(hashes, kind="stable")  # equal hashes stay in index order
    group_of = np.arange(len(x))
    run_starts = np.flatnonzero(np.r_[True, hashes[order][1:] != hashes[order][:-1]])
    for start, end in zip(run_starts, np.r_[run_starts[1:], len(x)], strict=True):
        if end - start > 1:
            run = order[start:end]
            same = (bits[run] == bits[run[0]]).all(axis=1)
            group_of[run[same]] = run[0]
    keep = np.flatnonzero(group_of == np.arange(len(x)))
    members = np.argsort(group_of, kind="stable")
    counts = np.bincount(group_of, minlength=len(x))[keep]
    return keep, counts, members


class ExactKNNIndex:
    """The training rows, prepared once for exact k-NN searches (see the module docstring)."""

    def __init__(self, train: np.ndarray, device: torch.device | str = "cpu", filter_dims: int = FILTER_DIMS) -> None:
        train = float32_rows(train, "X")
        self.n_train, self.dim = train.shape
        self.device = torch.device(device)
        keep, counts, members = duplicate_groups(train)
        self.keep, self.counts = keep, counts
        self.has_duplicates = len(keep) < self.n_train
        self.member_offsets = np.r_[0, np.cumsum(counts)]
        self.members = members
        rows = train[keep] if self.has_duplicates else train
        self.rows = torch.from_numpy(rows).to(self.device)  # the originals, for the exact distances
        self.varying = torch.from_numpy(np.flatnonzero((rows != rows[:1]).any(axis=0))).to(self.device)
        self.constant_values = self.rows[0].double()
        self.centre = self.rows.index_select(1, self.varying).mean(dim=0, dtype=torch.float64).float()
        centred = self.rows.index_select(1, self.varying).sub_(self.centre)
        varying = len(self.varying)
        self.rotation = None
        # Fewer rows than dimensions (a few-label fit on pixels, a small test set of colour images): the GEMM on
        # every dimension is cheap, and the eigendecomposition would cost more than every search (3072-d: 2.5 s).
        if varying > 2 * filter_dims and len(rows) > varying:
            sample = centred[:: max(1, len(centred) // ROTATION_SAMPLE)]
            _, vectors = torch.linalg.eigh((sample.T @ sample).double())
            self.rotation = vectors[:, -filter_dims:].flip(1).float().contiguous()  # (varying, filter_dims)
            reduced = self.project(centred)
            d = filter_dims
            self.slack_rel = 4 * (math.sqrt(d) * gamma(varying) + math.sqrt(varying) * gamma(d) + gamma(d + 2)
                                  + gamma(varying))
        else:
            reduced = centred
            self.slack_rel = 4 * gamma(varying + 2)
        # Norms in float32: their rounding (gamma of the row length) is inside the allowance above.
        self.max_norm2 = float(torch.linalg.vector_norm(centred, dim=1).max()) ** 2 * (1 + 4 * gamma(varying)) \
            if varying else 0.0
        del centred
        norms = torch.linalg.vector_norm(reduced, dim=1, keepdim=True).square_()
        augmented = torch.cat([reduced.mul_(-2), norms], dim=1)
        # Pad to whole chunks with rows that are infinitely far from every query.
        self.chunk = CHUNK if len(rows) >= CHUNK * KNN_PROBES else 1
        padding = -len(rows) % self.chunk
        if padding:
            pad = torch.zeros(padding, augmented.shape[1], device=self.device)
            pad[:, -1] = math.inf
            augmented = torch.cat([augmented, pad])
        self.augmented_t = augmented.T.contiguous()  # (reduced dims + 1, padded rows)
        self.augmented_np = self.augmented_t.numpy() if self.device.type == "cpu" else None
        self.n_chunks = augmented.shape[0] // self.chunk

    @property
    def tiled(self) -> bool:
        """Whether searches go by tiles and chunk minima alone (see the module): without a rotation, where the
        bound is the distance, on the CPU, with whole chunks."""
        return self.rotation is None and self.device.type == "cpu" and self.chunk == CHUNK

    def search_rows(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest rows of every row the index was built from, each row itself included (the first, or
        tied at 0 with its copies): (squared distances float64, indices int64), each (n_rows, k), as ``search``
        with those rows as queries would give them."""
        check_k(k, self.n_train)
        n = len(self.keep)
        if self.tiled and padded(n, TILE) ** 2 // CHUNK * 4 <= MINIMA_BYTES:
            d2, indices = self._tiled(self.rows, k, symmetric=True)
        else:
            d2, indices = self.search(self.rows.cpu().numpy(), k, auto_block_size(self))
        if not self.has_duplicates:
            return d2, indices
        owner = np.empty(self.n_train, dtype=np.int64)  # each row's kept copy: its answer is that copy's
        owner[self.members] = np.repeat(np.arange(n), self.counts)
        return d2[owner], indices[owner]

    @functools.cached_property
    def tile_rhs(self) -> np.ndarray:
        """The kept rows as the tiles' right factor (``aestudy.neighbors.tiles.right_factor``)."""
        n = len(self.keep)
        return right_factor(self.augmented_np[:-1, :n], self.augmented_np[-1, :n], min(TILE, padded(n, CHUNK)))

    def _tiled(self, queries: torch.Tensor, k: int, symmetric: bool) -> tuple[np.ndarray, np.ndarray]:
        """The k nearest kept rows of each query, by tiles (``symmetric``: the queries are the kept rows, and the
        upper triangle's tiles serve both ways). See ``aestudy.neighbors.tiles``."""
        b = len(queries)
        rhs = self.tile_rhs
        lhs = left_factor(queries.index_select(1, self.varying).sub_(self.centre), rhs.shape[1] if symmetric else b)
        threads = torch.get_num_threads()
        # One worker a thread, each with single-threaded GEMMs and torch: a tile is too small to share, and two
        # pools (OpenBLAS's still spinning after a GEMM, torch's waking for the minima) would take turns on the
        # cores (the minima 5x slower, measured on 2 cores).
        torch.set_num_threads(1)
        try:
            with threadpool_limits(1, user_api="blas"):
                # Twice a search's allowance: this bound also carries the query's float32 norm.
                norm2 = torch.from_numpy(lhs[:b, -1]).double()
                slack = 2 * self.slack_rel * (norm2 * (1 + 4 * gamma(len(self.varying))) + self.max_norm2)
                query_of, rows = tiled_candidates(lhs, rhs, b, k, slack, symmetric, CHUNK, threads)
                real = rows < len(self.keep)  # padding passes only an infinite threshold
                query_of, rows = query_of[real], rows[real]
                exact = self._exact(queries.double(), query_of, rows).numpy()
        finally:
            torch.set_num_threads(threads)
        return self._k_smallest(b, k, query_of.numpy(), rows.numpy(), exact)

    def project(self, centred: torch.Tensor) -> torch.Tensor:
        """Centred rows -> their first principal coordinates and the norm of the rest (the bound's space)."""
        assert self.rotation is not None
        reduced = centred @ self.rotation
        leftover = torch.linalg.vector_norm(torch.addmm(centred, reduced, self.rotation.T, alpha=-1), dim=1,
                                            keepdim=True)
        return torch.cat([reduced, leftover], dim=1)

    def search(self, queries: np.ndarray, k: int, block_size: int = 1024) -> tuple[np.ndarray, np.ndarray]:
        """(squared distances float64, training indices int64), each (n_queries, k), nearest first."""
        check_k(k, self.n_train)
        if block_size < 1:
            raise StudyError(f"block_size must be >= 1, got {block_size}")
        queries = float32_rows(queries, "X")
        if queries.shape[1] != self.dim:
            raise StudyError(f"X has {queries.shape[1]} features, but the index holds {self.dim}")
        slab = None if self.tiled else torch.empty(min(block_size, len(queries)), self.augmented_t.shape[1],
                                                   device=self.device)
        dists, indices = [], []
        for start in range(0, len(queries), block_size):
            block = torch.from_numpy(queries[start : start + block_size]).to(self.device)
            if self.tiled:
                d, i = self._tiled(block, k, symmetric=False)
            else:
                d, i = self._search_block(block, k, slab[: len(block)])
            dists.append(d)
            indices.append(i)
        return np.concatenate(dists), np.concatenate(indices)

    def _exact(self, queries: torch.Tensor, query_of: torch.Tensor, rows: torch.Tensor) -> torch.Tensor:
        """Exact squared distances of (query, unique row) pairs: float64 sums of float64 differences, which
        are exact for float32 inputs. Batches small enough to stay in cache keep the widening cheap."""
        out = torch.empty(len(rows), dtype=torch.float64, device=self.device)
        step = max(1, PAIRS_PER_BATCH // max(self.dim, 1))
        for s in range(0, len(rows), step):
            diff = self.rows[rows[s : s + step]].double().sub_(queries[query_of[s : s + step]])
            out[s : s + step] = diff.square_().sum(dim=1)
        return out

    def _search_block(self, block: torch.Tensor, k: int, slab: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        b = len(block)
        block64 = block.double()
        centred = block.index_select(1, self.varying).sub_(self.centre)
        reduced = self.project(centred) if self.rotation is not None else centred
        q_norm2 = torch.linalg.vector_norm(reduced, dim=1, dtype=torch.float64).square_()
        constant = block64 - self.constant_values
        constant[:, self.varying] = 0
        constant_part = constant.square().sum(dim=1)  # what the columns that never vary add to every distance
        # slab = ||x~||^2 - 2 q~.x~: the bound minus ||q~||^2, for every (query, training row)
        lhs = torch.cat([reduced, torch.ones(b, 1, device=self.device)], dim=1)
        if self.device.type == "cpu":
            # numpy's GEMM (OpenBLAS) on the same memory: 10000 x 60000 x 65 in 0.39 s against torch's (oneDNN /
            # MKL) 0.52 s here. The filter's allowance holds for any summation order, so the answer is the same.
            np.matmul(lhs.numpy(), self.augmented_np, out=slab.numpy())
        else:
            torch.matmul(lhs, self.augmented_t, out=slab)
        chunked = slab.view(b, self.n_chunks, self.chunk)
        minima = chunked.amin(dim=2)

        # Threshold: the k-th exact distance among the best row of the KNN_PROBES best chunks (duplicates count).
        n_probe = min(max(KNN_PROBES, k), self.n_chunks)
        probe_chunks = torch.topk(minima, n_probe, dim=1, largest=False).indices
        probe_values = torch.gather(chunked, 1, probe_chunks[:, :, None].expand(b, n_probe, self.chunk))
        probes = probe_chunks * self.chunk + probe_values.argmin(dim=2)
        query_of = torch.arange(b, device=self.device).repeat_interleave(n_probe)
        probe_exact = self._exact(block64, query_of, probes.reshape(-1)).view(b, n_probe)
        sorted_exact, order = torch.sort(probe_exact, dim=1)
        weight = torch.from_numpy(self.counts).to(self.device)[torch.gather(probes, 1, order)]
        reached = torch.cumsum(weight, dim=1) >= k
        kth = torch.where(reached.any(dim=1), sorted_exact.gather(1, reached.int().argmax(dim=1, keepdim=True))[:, 0],
                          torch.full((b,), math.inf, dtype=torch.float64, device=self.device))
        slack = self.slack_rel * (torch.linalg.vector_norm(centred, dim=1, dtype=torch.float64).square_()
                                  * (1 + 4 * gamma(len(self.varying))) + self.max_norm2)
        threshold64 = kth - constant_part - q_norm2 + slack
        # Rounded up to float32, so that no row whose float32 bound lies below the float64 threshold is missed.
        threshold = torch.nextafter(threshold64.float(), torch.tensor(math.inf, device=self.device))

        query_idx, chunk_idx = torch.nonzero(minima <= threshold[:, None], as_tuple=True)
        within = chunked[query_idx, chunk_idx] <= threshold[query_idx, None]
        pair, offset = torch.nonzero(within, as_tuple=True)
        query_of = query_idx[pair]
        rows = chunk_idx[pair] * self.chunk + offset
        real = rows < len(self.keep)  # padding passes only an infinite threshold (fewer than k probed rows)
        query_of, rows = query_of[real], rows[real]
        exact = self._exact(block64, query_of, rows).cpu().numpy()
        return self._k_smallest(b, k, query_of.cpu().numpy(), rows.cpu().numpy(), exact)

    def _k_smallest(self, b: int, k: int, query_of: np.ndarray, rows: np.ndarray, exact: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray]:
        """Each query's k nearest among its candidates, by (distance, training index), copies expanded."""
        if self.has_duplicates:
            take = np.minimum(self.counts[rows], k)  # a group never contributes more than k rows
            query_of, exact = np.repeat(query_of, take), np.repeat(exact, take)
            within = np.arange(len(query_of)) - np.repeat(np.cumsum(take) - take, take)
            index = self.members[np.repeat(self.member_offsets[rows], take) + within]
        else:
            index = self.keep[rows]
        if (np.bincount(query_of, minlength=b) < k).any():
            raise RuntimeError("k-NN filter kept fewer than k rows for a query: its rounding allowance is too small")
        order = np.lexsort((index, exact, query_of))
        first = np.searchsorted(query_of[order], np.arange(b))
        pick = order[first[:, None] + np.arange(k)]
        return exact[pick], index[pick]


def check_k(k: int, n_train: int) -> None:
    """A one-line error unless k is an integer in [1, n_train]."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise StudyError(f"k must be an integer >= 1, got {shown(k)}")
    if k > n_train:
        raise StudyError(f"k={k} is larger than the {n_train} training samples")


def auto_block_size(index: ExactKNNIndex) -> int:
    """Queries per block: by tiles, as many as keep their chunk minima within MINIMA_BYTES (each block's second
    pass costs a small GEMM a chunk, so the fewer blocks the better); else such that a block's slab of bounds
    stays within SLAB_BYTES (at most MAX_BLOCK)."""
    if index.tiled:
        return max(1, MINIMA_BYTES // (4 * (index.tile_rhs.shape[1] // CHUNK)))
    return max(1, min(MAX_BLOCK, SLAB_BYTES // (4 * index.augmented_t.shape[1])))


def knn_search(train: np.ndarray, queries: np.ndarray, k: int, block_size: int | None = None,
               device: torch.device | str = "cpu") -> tuple[np.ndarray, np.ndarray]:
    """Exact k nearest training rows of every query: (squared distances, indices), nearest first."""
    index = ExactKNNIndex(train, device)
    return index.search(queries, k, block_size or auto_block_size(index))
