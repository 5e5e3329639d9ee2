"""A multilayer perceptron classifier, trained by Adam with early stopping on a held-out part of its data."""

from __future__ import annotations

import copy
from collections.abc import Callable
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from aestudy.core.checks import fit_inputs, predict_inputs
from aestudy.core.errors import StudyError, shown
from aestudy.core.loop import Validation, train
from aestudy.core.memory import check_memory, dense_sizes, footprint_bytes
from aestudy.core.runtime import resolve_device, seed_everything
from aestudy.data.datasets import train_val_split

PRECISIONS = ("fp32", "bf16")
MAX_EPOCHS = 100_000
MAX_STEPS = 10_000_000


class UniformMaskDropout(nn.Module):
    """Dropout whose mask comes from ``torch.rand``.

    Same distribution as ``nn.Dropout``, cheaper on CPU: there torch's ``bernoulli_`` took 13 ns per
    element against 5 for ``rand``, and the two dropout layers were 14% of an MLP epoch (1024-1024, batch 128).
    """

    def __init__(self, p: float) -> None:
        super().__init__()
        self.p = p

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The rows with a shared dropout mask while training; unchanged in evaluation."""
        if not self.training or self.p == 0:
            return x
        mask = (torch.rand_like(x) >= self.p).to(x.dtype).mul_(1 / (1 - self.p))
        return x * mask


class MLPClassifier(ClassifierMixin, BaseEstimator):
    """A ReLU MLP with dropout, trained by Adam with early stopping on a held-out part of ``fit``'s data.

    Inputs are centred on the training mean and divided by one global standard deviation: codes get a
    scale that does not depend on the autoencoder, while the relative scale of features, which carries
    information, is kept (per-feature scaling blows up near-constant border pixels; on MNIST it cost
    0.6 points). Gaussian input noise regularises: on the seed000 codes it gained 0.2 points.

    ``lr`` is Adam's, decayed to zero on a cosine over the epochs; ``patience``: epochs without a better
    validation accuracy before stopping (an epoch that equals the best replaces it: trained longer, at a lower
    rate); ``min_steps``: the fewest optimiser steps to plan, for small training sets, where an epoch is one
    step: the epochs, and the patience with them, grow by the factor that reaches it; ``input_noise``: std of the Gaussian noise added to the scaled
    inputs while training; ``val_fraction``: the share of ``fit``'s data held out for early stopping (the
    autoencoders' carve-out for the same ``random_state``); ``precision``: one of ``PRECISIONS``, the forward
    and backward passes' number format; ``device``: ``cpu``, ``cuda[:N]`` or ``auto``.

    The defaults are the study's, chosen on the validation split (docs/performance.md).

    Examples
    --------
    >>> from aestudy.classifiers.mlp import MLPClassifier
    >>> from sklearn.datasets import load_digits
    >>> from aestudy.features.pixels import RawPixels
    >>> X, y = load_digits(return_X_y=True)
    >>> pixels = RawPixels().fit_transform(X * 255 / 16)  # 8 x 8 images, 0-16, as 0-255 pixels scaled to [0, 1]
    >>> mlp = MLPClassifier(hidden=(64,), epochs=10, min_steps=0, progress=False, random_state=0)
    >>> mlp = mlp.fit(pixels[:1500], y[:1500])
    >>> round(mlp.score(pixels[1500:], y[1500:]), 4), mlp.epochs_run_
    (0.8047, 10)
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden": ["array-like"],
        "epochs": [Interval(Integral, 1, MAX_EPOCHS, closed="both")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "min_steps": [Interval(Integral, 0, MAX_STEPS, closed="both")],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "input_noise": [Interval(Real, 0, None, closed="left")],
        "val_fraction": [Interval(Real, 0, 1, closed="neither")],
        "precision": [StrOptions(set(PRECISIONS))],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "device": [str],
        "progress": ["boolean"],
        "epoch_callback": [None, callable],
    }

    def __init__(self, hidden: tuple[int, ...] = (512, 512), epochs: int = 20, lr: float = 2e-3,
                 batch_size: int = 256, patience: int = 10, min_steps: int = 500, dropout: float = 0.3,
                 input_noise: float = 0.3,
                 val_fraction: float = 0.1, precision: str = "fp32", random_state: int = 0, device: str = "cpu",
                 progress: bool = True, epoch_callback: Callable[[dict[str, float]], None] | None = None) -> None:
        self.hidden, self.epochs, self.lr, self.batch_size = hidden, epochs, lr, batch_size
        self.patience, self.min_steps, self.dropout = patience, min_steps, dropout
        self.input_noise, self.val_fraction = input_noise, val_fraction
        self.precision, self.random_state, self.device, self.progress = precision, random_state, device, progress
        self.epoch_callback = epoch_callback

    def _widths(self) -> tuple[int, ...]:
        """The hidden layers' widths, each an integer >= 1."""
        if not all(isinstance(w, Integral) and not isinstance(w, bool) and w >= 1 for w in self.hidden):
            raise StudyError(f"hidden must list integer widths >= 1, got {shown(self.hidden)}")
        return tuple(int(w) for w in self.hidden)

    def _network(self, n_in: int, n_out: int) -> nn.Sequential:
        layers: list[nn.Module] = []
        for width in self._widths():
            layers += [nn.Linear(n_in, width), nn.ReLU(), UniformMaskDropout(self.dropout)]
            n_in = width
        return nn.Sequential(*layers, nn.Linear(n_in, n_out))

    def _scaled(self, x: np.ndarray) -> torch.Tensor:
        return ((torch.from_numpy(x).to(self.device_) - self.mean_) / self.std_).contiguous()

    def training_bytes(self, n_features: int, n_classes: int = 2) -> int:
        """About what training on ``n_features`` inputs holds in memory (``aestudy.core.memory``)."""
        weights, values = dense_sizes((n_features, *self._widths(), n_classes))
        return footprint_bytes(weights, n_features + values, self.batch_size)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y) -> MLPClassifier:
        """Train the network in the study's one loop, early-stopped on the held-out share ``val_fraction``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows.
        y : array-like of shape (n_samples,)
            Their labels.

        Returns
        -------
        self
            The fitted estimator.
        """
        x, y = fit_inputs(self, X, y)
        check_memory(self.training_bytes(x.shape[1], len(self.classes_)), f"MLPClassifier: training on "
                     f"{x.shape[1]} features with hidden widths {list(self.hidden)} and batch_size {self.batch_size}")
        if len(x) < 2:
            raise StudyError(f"MLPClassifier holds samples out for early stopping: it needs n_samples >= 2, "
                             f"got n_samples={len(x)}")
        self.device_ = resolve_device(self.device)
        generator = seed_everything(self.random_state)
        fit_idx, val_idx = train_val_split(len(x), self.val_fraction, self.random_state)
        mean = x[fit_idx].mean(axis=0)
        self.mean_ = torch.from_numpy(mean).to(self.device_)
        self.std_ = torch.tensor(float((x[fit_idx] - mean).std()) + 1e-6, device=self.device_)
        xs = self._scaled(x)
        ys = torch.from_numpy(y).to(self.device_)
        x_fit, y_fit, x_val, y_val = xs[fit_idx], ys[fit_idx], xs[val_idx], ys[val_idx]
        self.network_ = self._network(x.shape[1], len(self.classes_)).to(self.device_)
        # bf16 autocast runs the matmuls in bfloat16 with float32 weights and float32 accumulation; the loss,
        # the optimiser and the validation stay in float32 (predict_proba: float64).
        autocast = torch.autocast(self.device_.type, dtype=torch.bfloat16, enabled=self.precision == "bf16")
        optimizer = torch.optim.Adam(self.network_.parameters(), lr=self.lr, fused=True)
        # Cosine decay to zero over the planned epochs: the last epochs fine-tune instead of bouncing.
        steps_per_epoch = -(-len(fit_idx) // self.batch_size)
        stretch = max(1, -(-self.min_steps // (self.epochs * steps_per_epoch)))
        self.epochs_planned_, patience = self.epochs * stretch, self.patience * stretch
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=self.epochs_planned_ * steps_per_epoch)

        def batch_loss(rows: torch.Tensor) -> torch.Tensor:
            inputs = x_fit[rows]
            if self.input_noise:
                inputs = inputs + self.input_noise * torch.randn_like(inputs)
            with autocast:
                logits = self.network_(inputs)
            return F.cross_entropy(logits.float(), y_fit[rows])

        def validate() -> Validation:
            accuracy = float((self._logits(x_val).argmax(1) == y_val).float().mean())
            return Validation(accuracy, {"val_accuracy": accuracy})

        trained = train(self.network_, optimizer, n_rows=len(x_fit), batch_size=self.batch_size,
                        epochs=self.epochs_planned_, generator=generator, batch_loss=batch_loss, validate=validate,
                        scheduler=schedule, patience=patience, later_ties=True,
                        progress="mlp" if self.progress else None, on_epoch=self.epoch_callback)
        self.best_epoch_, self.epochs_run_, self.val_accuracy_ = trained.best_epoch, trained.epochs_run, trained.best_score
        self.history_ = trained.history
        return self

    @torch.no_grad()
    def _logits(self, xs: torch.Tensor) -> torch.Tensor:
        self.network_.eval()
        return torch.cat([self.network_(xs[s : s + 8192]) for s in range(0, len(xs), 8192)])

    @torch.no_grad()
    def predict_proba(self, X) -> np.ndarray:
        """The softmax of the network's outputs, a column per class of ``classes_``.

        Computed in float64: a float32 GEMM rounds a row differently with the number of rows beside it (in 2 of
        60 probabilities, by 4e-7), so a sample's prediction would depend on its batch. Training and its
        validation stay float32.
        """
        xs = self._scaled(predict_inputs(self, X)).double()
        network = copy.deepcopy(self.network_).double().eval()
        logits = torch.cat([network(xs[s : s + 8192]) for s in range(0, len(xs), 8192)])
        return torch.softmax(logits, dim=1).cpu().numpy()

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Rows to predict.

        Returns
        -------
        ndarray of shape (n_queries,)
            One of ``classes_`` per row.
        """
        probabilities = self.predict_proba(X)
        return self.classes_[probabilities.argmax(axis=1)]
