"""The exact k-NN's tiled path (``aestudy.neighbors.exact``): bounds by cache-sized tiles, and the self-join.

With few columns on the CPU (codes, UMAP's layouts: the index's ``tiled``), the search goes by tiles instead of
slabs:
- *Tiles that stay in cache.* Each (``TILE`` x ``TILE``) tile of bounds is one GEMM and its chunk minima are
  taken while it is in cache (a slab of 1024 x 60000 is not: 60000 x 64 codes, 3.1 s of GEMM written out as
  slabs, 1.1 s as half as many tiles). Each thread works its own tiles with single-threaded GEMMs.
- *No probes.* Without a rotation the bound is the distance itself, to within the rounding allowance, so a
  query's k-th smallest chunk minimum (k distinct rows) plus the allowance is a distance its k-th neighbour
  cannot exceed. Only the chunks under it are computed again, one small GEMM a chunk, and ranked exactly (by
  the index, as its slabs' candidates are).
- *Symmetry.* The rows' own neighbours (``search_rows``: the graph classifiers' graph, UMAP's) are a self-join,
  whose bounds are symmetric: each tile of the upper triangle gives the chunk minima of its row block's queries
  and, along its columns, of its column block's: half the products of a search.
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

# Rows a side of the square tiles (a 4 MB float32 tile stays in cache between its GEMM and its minima; 60000 x 64
# codes: 1.1 s of GEMM tiled against 3.1 s written out as slabs), and the most bytes the self-join's chunk minima
# (rows x rows / chunk float32) may hold before the rows are searched as queries instead.
TILE = 1024
MINIMA_BYTES = 1 << 30


def padded(n: int, multiple: int) -> int:
    """``n`` rounded up to a multiple of ``multiple``."""
    return n + (-n % multiple)


def right_factor(twice: np.ndarray, norms: np.ndarray, tile: int) -> np.ndarray:
    """The rows as the tiles' right factor, ``[-2 x; |x|^2; 1]`` (dims + 2, rows padded to whole tiles), from
    ``twice`` (-2 x, dims x rows) and ``norms`` (|x|^2): with a query's ``[x_q, 1, |x_q|^2]`` on the left, the
    product is their bound. Padding rows are infinitely far: their x is 0 and their norm inf, which only ever
    multiplies a 1 (never 0 * inf)."""
    n = len(norms)
    rhs = np.zeros((len(twice) + 2, padded(n, tile)), dtype=np.float32)
    rhs[:-2, :n], rhs[-2, :n], rhs[-2, n:], rhs[-1] = twice, norms, np.inf, 1
    return rhs


def left_factor(centred: torch.Tensor, rows: int) -> np.ndarray:
    """Queries (centred as the rows) as the tiles' left factor, ``[x_q, 1, |x_q|^2]``, ``rows`` rows: the
    padding's infinitely far."""
    lhs = np.zeros((rows, centred.shape[1] + 2), dtype=np.float32)
    lhs[: len(centred), :-2], lhs[:, -2], lhs[len(centred) :, -1] = centred.numpy(), 1, np.inf
    lhs[: len(centred), -1] = torch.linalg.vector_norm(centred, dim=1).square_().numpy()
    return lhs


def tile_minima(lhs: np.ndarray, rhs: np.ndarray, symmetric: bool, workers: int, chunk: int) -> torch.Tensor:
    """Each left row's minimum of ``lhs @ rhs`` in each chunk of ``chunk`` columns, (rows of lhs, chunks), by
    tiles of TILE a side: ``symmetric`` (lhs and rhs the same rows, padded to whole tiles), the upper triangle's
    tiles, each giving its chunk minima along its rows and, for the column block's rows, along its columns.
    ``workers`` threads take a row block of tiles at a time (a tile, without ``symmetric``); no two write the same
    minima."""
    tile = min(TILE, rhs.shape[1])
    per_tile = tile // chunk
    minima = torch.empty(len(lhs), rhs.shape[1] // chunk)
    local = threading.local()

    def tiles(task: tuple[int, range]) -> None:
        i, columns = task
        if not hasattr(local, "buffer"):
            local.buffer = np.empty((tile, tile), dtype=np.float32)
        height = min(tile, len(lhs) - i)
        buffer = local.buffer[:height]
        values = torch.from_numpy(buffer)
        for j in columns:
            np.matmul(lhs[i : i + tile], rhs[:, j : j + tile], out=buffer)
            torch.amin(values.view(height, per_tile, chunk), dim=2,
                       out=minima[i : i + tile, j // chunk : j // chunk + per_tile])
            if symmetric and j > i:
                along_columns = values.view(per_tile, chunk, tile).amin(dim=1)
                minima[j : j + tile, i // chunk : i // chunk + per_tile] = along_columns.T

    size = rhs.shape[1]
    tasks = [(i, range(i, size, tile)) for i in range(0, size, tile)] if symmetric else \
        [(i, range(j, j + 1)) for i in range(0, len(lhs), tile) for j in range(0, size, tile)]
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(tiles, tasks))  # the longest row blocks first
    return minima


def tiled_candidates(lhs: np.ndarray, rhs: np.ndarray, b: int, k: int, slack: torch.Tensor, symmetric: bool,
                     chunk: int, workers: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every (query, row) pair whose bound may hold one of the first ``b`` queries' k nearest rows: each query's
    threshold is its k-th smallest chunk minimum plus twice ``slack`` (its rounding allowance, float64), rounded
    up to float32; the chunks under it are bounded again, one small GEMM a chunk. Returns the pairs' query and
    row indices (padding rows pass only an infinite threshold)."""
    minima = tile_minima(lhs, rhs, symmetric, workers, chunk)[:b]
    # A query's k-th smallest chunk minimum is k distinct rows' bounds; with fewer chunks than k (padding's are
    # infinitely far) no k rows bound it.
    kth = torch.topk(minima, k, dim=1, largest=False).values[:, -1].double() if k <= minima.shape[1] \
        else torch.full((b,), math.inf, dtype=torch.float64)
    threshold = torch.nextafter((kth + 2 * slack).float(), torch.tensor(math.inf))
    # The chunks under each query's threshold, by chunk.
    chunk_idx, query_idx = torch.nonzero(minima.T <= threshold[None, :], as_tuple=True)
    del minima
    starts = np.searchsorted(chunk_idx.numpy(), np.arange(rhs.shape[1] // chunk + 1))
    query_of, rows = [], []
    for c in np.flatnonzero(np.diff(starts)):
        chosen = query_idx[starts[c] : starts[c + 1]]
        bound = torch.from_numpy(lhs[chosen.numpy()] @ rhs[:, c * chunk : (c + 1) * chunk])
        pair, offset = torch.nonzero(bound <= threshold[chosen, None], as_tuple=True)
        query_of.append(chosen[pair])
        rows.append(offset + c * chunk)
    return torch.cat(query_of), torch.cat(rows)
