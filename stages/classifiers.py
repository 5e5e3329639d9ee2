"""Classifiers with scikit-learn's shape (``fit`` then ``predict``): k-NN, nearest centroid, an MLP.

Inputs are float32 numpy arrays (N, D) and integer labels; the work runs in torch on the given device.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from stages.errors import StudyError
from stages.runtime import seed_everything, train_val_split

KNN_CANDIDATES = 8  # float32 candidates re-ranked exactly in float64 per query


def check_features(x: np.ndarray, name: str, n_features: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise StudyError(f"{name} must be a non-empty 2-D array (samples, features), got shape {x.shape}")
    if n_features is not None and x.shape[1] != n_features:
        raise StudyError(f"{name} has {x.shape[1]} features, but the classifier was fitted on {n_features}")
    if not np.isfinite(x).all():
        raise StudyError(f"{name} holds NaN or infinite values")
    return x.astype(np.float32, copy=False)


def check_labels(y: np.ndarray, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise StudyError(f"y must hold {n_samples} non-negative integer labels, got shape {y.shape}, dtype {y.dtype}")
    return y.astype(np.int64, copy=False)


# ---------------------------------------------------------------------------------------------------
# k nearest neighbours


def knn_search(
    train: np.ndarray, queries: np.ndarray, k: int, block_size: int = 1024, device: torch.device | str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """Exact Euclidean k nearest training rows of every query: (squared distances, indices), nearest first.

    Per block of queries, one float32 GEMM gives ||x||^2 - 2 q.x (||q||^2 is constant per row and cannot
    change the order): ||x||^2 rides in the GEMM as one more column, [q, 1] . [-2x, ||x||^2], which spares a
    pass over the (block, N) slab. A top-k over it proposes ``KNN_CANDIDATES`` candidates, whose distances
    are then recomputed exactly in float64 from the original rows and sorted, ties among them going to the
    lower training index. The GEMM's operands are centred on the training mean, which leaves distances
    unchanged and keeps the expansion's rounding error far below the gaps between candidates. Columns that are
    constant over the training set add the same amount to every distance of a query, so the GEMM skips
    them (67 of MNIST's 784 pixels are 0 in every training image: 8.5% of its flops). Only one (block, N)
    slab is ever held, reused by every block.
    """
    k_cand = min(max(k, KNN_CANDIDATES), len(train))
    if k > len(train):
        raise StudyError(f"k={k} is larger than the {len(train)} training samples")
    device = torch.device(device)
    originals = torch.from_numpy(train)
    varying = torch.from_numpy(np.flatnonzero((train != train[:1]).any(axis=0)))
    centre = torch.from_numpy(train.mean(axis=0, dtype=np.float64).astype(np.float32))[varying]
    x = originals.index_select(1, varying).sub_(centre)
    x_aug = torch.cat([x * -2, torch.linalg.vector_norm(x, dim=1, keepdim=True).square_()], dim=1).to(device)
    del x
    # One slab for every block: a fresh 245 MB tensor per block cost 10% of the raw-MNIST search in page faults.
    slab = torch.empty(min(block_size, len(queries)), len(train), device=device)
    dists, indices = [], []
    for start in range(0, len(queries), block_size):
        block = torch.from_numpy(queries[start : start + block_size])
        q_aug = torch.cat([block.index_select(1, varying).sub_(centre), torch.ones(len(block), 1)], dim=1)
        # (block, N): ||x||^2 - 2 q.x, over the varying columns
        partial = torch.matmul(q_aug.to(device), x_aug.T, out=slab[: len(block)])
        candidates = torch.topk(partial, k_cand, dim=1, largest=False, sorted=False).indices.cpu()
        # float64 holds the difference of two float32 values in a common range exactly (pixels, codes):
        # these distances are exact to the rounding of their sum.
        diff = originals[candidates].double().sub_(block.double()[:, None, :])
        exact = diff.square_().sum(dim=2)
        # Sort by (distance, index): lexsort through a stable sort on index, then on distance.
        by_index = torch.sort(candidates, dim=1, stable=True)
        exact = torch.gather(exact, 1, by_index.indices)
        order = torch.sort(exact, dim=1, stable=True).indices[:, :k]
        dists.append(torch.gather(exact, 1, order).numpy())
        indices.append(torch.gather(by_index.values, 1, order).numpy())
    return np.concatenate(dists), np.concatenate(indices)


def knn_vote(neighbour_labels: np.ndarray) -> np.ndarray:
    """Majority label of each row of (n, k) labels, nearest first; a tie goes to the nearest tied label.

    With k = 3 a three-way tie so goes to the nearest neighbour's label: that is the rule that gives
    97.17% on raw MNIST (breaking ties by the lowest label gives 97.05%).
    """
    k = neighbour_labels.shape[1]
    classes = np.arange(int(neighbour_labels.max()) + 1)
    hits = neighbour_labels[:, :, None] == classes[None, None, :]  # (n, k, C)
    counts = hits.sum(axis=1)
    first_rank = np.where(hits.any(axis=1), hits.argmax(axis=1), k)
    score = counts * (k + 1) - first_rank  # more votes first, then the nearer label
    return classes[score.argmax(axis=1)]


class KNNClassifier:
    """Exact k-NN with the tie rule of ``knn_vote``."""

    def __init__(self, k: int = 1, block_size: int = 1024, device: torch.device | str = "cpu") -> None:
        if k < 1:
            raise StudyError(f"k must be >= 1, got {k}")
        self.k, self.block_size, self.device = k, block_size, device

    def fit(self, x: np.ndarray, y: np.ndarray) -> KNNClassifier:
        self.x_ = check_features(x, "X")
        self.y_ = check_labels(y, len(self.x_))
        return self

    def kneighbors(self, x: np.ndarray, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        x = check_features(x, "X", self.x_.shape[1])
        return knn_search(self.x_, x, k or self.k, self.block_size, self.device)

    def predict_from_neighbors(self, indices: np.ndarray, k: int | None = None) -> np.ndarray:
        return knn_vote(self.y_[indices[:, : k or self.k]])

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.predict_from_neighbors(self.kneighbors(x)[1])


# ---------------------------------------------------------------------------------------------------
# Nearest class centroid


class NearestCentroidClassifier:
    """The class whose mean training vector is nearest in Euclidean distance."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> NearestCentroidClassifier:
        x = check_features(x, "X")
        y = check_labels(y, len(x))
        self.classes_ = np.unique(y)
        self.centroids_ = np.stack([x[y == c].mean(axis=0, dtype=np.float64) for c in self.classes_])
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = check_features(x, "X", self.centroids_.shape[1]).astype(np.float64)
        centroids = self.centroids_
        distances = (x * x).sum(1)[:, None] - 2 * x @ centroids.T + (centroids * centroids).sum(1)[None, :]
        return self.classes_[distances.argmin(axis=1)]


# ---------------------------------------------------------------------------------------------------
# Multilayer perceptron


class UniformMaskDropout(nn.Module):
    """Dropout whose mask comes from ``torch.rand``.

    Same distribution as ``nn.Dropout``, cheaper on CPU: there torch's ``bernoulli_`` took 13 ns per
    element against 5 for ``rand``, and the two dropout layers were 14% of an MLP epoch (1024-1024, batch 128).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = (torch.rand_like(x) >= self.p).to(x.dtype).mul_(1 / (1 - self.p))
        return x * mask


@dataclass(frozen=True)
class MLPConfig:
    hidden: tuple[int, ...] = (1024, 1024)
    epochs: int = 30
    lr: float = 1e-3  # Adam's, decayed to zero on a cosine over the epochs
    batch_size: int = 128
    patience: int = 10  # epochs without a better validation accuracy before stopping
    dropout: float = 0.3
    input_noise: float = 0.3  # std of Gaussian noise added to the scaled inputs while training
    val_fraction: float = 0.1


class MLPClassifier:
    """A ReLU MLP with dropout, trained by Adam with early stopping on a held-out part of ``fit``'s data.

    Inputs are centred on the training mean and divided by one global standard deviation: codes get a
    scale that does not depend on the autoencoder, while the relative scale of features, which carries
    information, is kept (per-feature scaling blows up near-constant border pixels; on MNIST it cost
    0.6 points). Gaussian input noise regularises: on the seed000 codes it gained 0.2 points.
    """

    def __init__(self, config: MLPConfig = MLPConfig(), seed: int = 0, device: torch.device | str = "cpu",
                 progress: bool = True) -> None:
        self.config, self.seed, self.device, self.progress = config, seed, torch.device(device), progress

    def _network(self, n_in: int, n_out: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for width in self.config.hidden:
            layers += [nn.Linear(n_in, width), nn.ReLU(), UniformMaskDropout(self.config.dropout)]
            n_in = width
        return nn.Sequential(*layers, nn.Linear(n_in, n_out))

    def _scaled(self, x: np.ndarray) -> torch.Tensor:
        return ((torch.from_numpy(x).to(self.device) - self.mean_) / self.std_).contiguous()

    def fit(self, x: np.ndarray, y: np.ndarray) -> MLPClassifier:
        cfg = self.config
        x = check_features(x, "X")
        y = check_labels(y, len(x))
        generator = seed_everything(self.seed)
        fit_idx, val_idx = train_val_split(len(x), cfg.val_fraction, self.seed)
        mean = x[fit_idx].mean(axis=0)
        self.mean_ = torch.from_numpy(mean).to(self.device)
        self.std_ = torch.tensor(float((x[fit_idx] - mean).std()) + 1e-6, device=self.device)
        xs = self._scaled(x)
        ys = torch.from_numpy(y).to(self.device)
        x_fit, y_fit, x_val, y_val = xs[fit_idx], ys[fit_idx], xs[val_idx], ys[val_idx]
        self.network_ = self._network(x.shape[1], int(y.max()) + 1).to(self.device)
        optimizer = torch.optim.Adam(self.network_.parameters(), lr=cfg.lr, fused=True)
        # Cosine decay to zero over the planned epochs: the last epochs fine-tune instead of bouncing.
        steps_per_epoch = -(-len(fit_idx) // cfg.batch_size)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs * steps_per_epoch)
        best = (-1.0, copy.deepcopy(self.network_.state_dict()))
        self.best_epoch_, stale = 0, 0
        bar = tqdm(range(1, cfg.epochs + 1), desc="mlp", unit="epoch", disable=not self.progress, leave=False,
                   mininterval=2.0)
        for epoch in bar:
            self.network_.train()
            order = torch.randperm(len(x_fit), generator=generator).to(self.device)
            for start in range(0, len(x_fit), cfg.batch_size):
                batch = order[start : start + cfg.batch_size]
                inputs = x_fit[batch]
                if cfg.input_noise:
                    inputs = inputs + cfg.input_noise * torch.randn_like(inputs)
                loss = F.cross_entropy(self.network_(inputs), y_fit[batch])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
            val_accuracy = float((self._logits(x_val).argmax(1) == y_val).float().mean())
            bar.set_postfix(val_acc=f"{val_accuracy:.4f}", refresh=False)
            if val_accuracy > best[0]:
                best, self.best_epoch_, stale = (val_accuracy, copy.deepcopy(self.network_.state_dict())), epoch, 0
            else:
                stale += 1
                if stale >= cfg.patience:
                    break
        self.val_accuracy_ = best[0]
        self.network_.load_state_dict(best[1])
        return self

    @torch.no_grad()
    def _logits(self, xs: torch.Tensor) -> torch.Tensor:
        self.network_.eval()
        return torch.cat([self.network_(xs[s : s + 8192]) for s in range(0, len(xs), 8192)])

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = check_features(x, "X", len(self.mean_))
        return self._logits(self._scaled(x)).argmax(1).cpu().numpy()
