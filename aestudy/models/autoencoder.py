"""The autoencoder as a scikit-learn transformer (``fit`` trains, ``transform`` encodes), and its persistence.

Two architectures (``arch``): ``dense``, fully connected layers, and ``conv``, stride-2 convolutions, a dense
code and a mirrored decoder of transposed convolutions (``aestudy.models.networks``). Three objectives
(``objective``): ``reconstruction``; ``denoising``, where the inputs are corrupted while training and the targets
stay clean; and ``variational``, where the encoder gives a Gaussian posterior, the decoder reconstructs a sample of
it, and its KL divergence from the standard normal is weighted by ``beta``; the code is the posterior mean
(``aestudy.models.objectives``). Every combination trains in the study's one loop (``aestudy.models.training``),
which keeps the whole training set in one float32 tensor on the device and slices batches from a seeded
permutation: no per-sample Dataset or DataLoader. After every epoch it measures the validation loss and keeps the
weights of the best epoch, as the first seed study did.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from aestudy.core.checks import pixel_inputs
from aestudy.core.errors import StudyError, shown
from aestudy.core.io import atomic_path
from aestudy.core.memory import check_memory
from aestudy.core.runtime import resolve_device
from aestudy.data.datasets import to_unit_float, train_val_split
from aestudy.features.pixels import FloatFeaturesMixin
from aestudy.models.config import (
    ACTIVATIONS,
    ARCHS,
    INITS,
    LOSSES,
    NOISES,
    OBJECTIVES,
    AutoencoderConfig,
    training_bytes,
)
from aestudy.models.networks import build_model, image_shape_of
from aestudy.models.objectives import encode
from aestudy.models.training import train_autoencoder

# An epoch of the smallest variant on MNIST takes about a second here: 10^5 epochs is more than a day.
MAX_EPOCHS = 100_000


class AutoencoderFeatures(FloatFeaturesMixin, TransformerMixin, BaseEstimator):
    """An autoencoder as a transformer: ``fit`` trains it on pixel values (N, D) / 255, ``transform`` gives its
    code (N, code dim) as float32 (variational: the posterior mean).

    The parameters are those of ``AutoencoderConfig`` (``hidden`` lists the widths between input and output,
    odd length, the middle one the code; ``arch``, ``objective`` and their own keys choose the family), plus
    ``image_shape`` ((height, width) or (channels, height, width) of each row, for ``arch='conv'``; None: square
    grey), ``val_fraction`` (the share of ``fit``'s samples held out to choose the best epoch), ``random_state``
    (the carve-out, the initial weights, the shuffles and the noise), ``device`` (``cpu``, ``cuda[:N]`` or
    ``auto``), ``progress`` (a bar per epoch) and ``epoch_callback`` (called with each epoch's log: ``epoch``, ``train_loss``, ``val_loss``;
    the train stage passes dvclive's logger). A setting of another family (``channels`` on a dense net, ``beta``
    without the variational objective, ``noise`` or ``noise_level`` without the denoising one) is an error, not
    ignored. After ``fit``, ``model_`` holds the best epoch's weights on the CPU, and ``history_``,
    ``best_epoch_``, ``epochs_run_``, ``diverged_``, ``collapsed_`` and ``seconds_`` describe the run;
    ``validation_split()`` gives the rows it trained on and held out (``n_samples_fit_``, ``validation_indices_``,
    saved with the weights). Encoding
    runs on the CPU: it is a fraction of a second for 70000 images through a dense net, and the CPU gives the
    same codes for the same weights wherever the autoencoder was trained.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> X, y = load_digits(return_X_y=True)
    >>> images = np.rint(X * 255 / 16).astype(np.uint8)  # 8 x 8 digits, 0-16, as 0-255 pixels
    >>> from aestudy.classifiers.knn import KNNClassifier
    >>> from aestudy.models.autoencoder import AutoencoderFeatures
    >>> autoencoder = AutoencoderFeatures(hidden=(32, 8, 32), epochs=20, progress=False, random_state=0)
    >>> autoencoder = autoencoder.fit(images[:1500])
    >>> train, test = autoencoder.transform(images[:1500]), autoencoder.transform(images[1500:])
    >>> test.shape, test.dtype, autoencoder.best_epoch_
    ((297, 8), dtype('float32'), 20)
    >>> round(KNNClassifier().fit(train, y[:1500]).score(test, y[1500:]), 4)
    0.8081
    """

    _parameter_constraints: ClassVar[dict] = {
        "hidden": ["array-like"],
        "code_activation": [StrOptions(set(ACTIVATIONS))],
        "loss": [StrOptions(set(LOSSES))],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "epochs": [Interval(Integral, 1, MAX_EPOCHS, closed="both")],
        "betas": ["array-like"],
        "init": [StrOptions(set(INITS))],
        "arch": [StrOptions(set(ARCHS))],
        "channels": ["array-like"],
        "objective": [StrOptions(set(OBJECTIVES))],
        "noise": [StrOptions(set(NOISES))],
        "noise_level": [Interval(Real, 0, None, closed="left")],
        "beta": [Interval(Real, 0, None, closed="left")],
        "image_shape": [None, "array-like"],
        "val_fraction": [Interval(Real, 0, 1, closed="neither")],
        "random_state": [Interval(Integral, 0, None, closed="left")],
        "device": [str],
        "progress": ["boolean"],
        "epoch_callback": [None, callable],
    }

    def __init__(self, hidden: tuple[int, ...] = (144, 64, 144), code_activation: str = "linear", loss: str = "mse",
                 lr: float = 1e-3, batch_size: int = 64, epochs: int = 20, betas: tuple[float, float] = (0.9, 0.999),
                 init: str = "torch", arch: str = "dense", channels: tuple[int, ...] = (),
                 objective: str = "reconstruction", noise: str = "masking", noise_level: float = 0.0,
                 beta: float = 1.0, image_shape: tuple[int, ...] | None = None, val_fraction: float = 0.1,
                 random_state: int = 0, device: str = "cpu", progress: bool = True,
                 epoch_callback: Callable[[dict[str, float]], None] | None = None) -> None:
        self.hidden, self.code_activation, self.loss, self.lr = hidden, code_activation, loss, lr
        self.batch_size, self.epochs, self.betas, self.init = batch_size, epochs, betas, init
        self.arch, self.channels, self.objective = arch, channels, objective
        self.noise, self.noise_level, self.beta, self.image_shape = noise, noise_level, beta, image_shape
        self.val_fraction, self.random_state, self.device, self.progress = val_fraction, random_state, device, progress
        self.epoch_callback = epoch_callback

    def autoencoder_config(self) -> AutoencoderConfig:
        """The training loop's config, from the parameters; the checks ``_parameter_constraints`` cannot make."""
        hidden = tuple(self.hidden)
        if (not hidden or len(hidden) % 2 == 0
                or not all(isinstance(h, Integral) and not isinstance(h, bool) and h >= 1 for h in hidden)):
            raise StudyError(f"hidden must be an odd-length list of widths >= 1 (the middle one is the code), "
                             f"got {shown(self.hidden)}")
        betas = tuple(self.betas)
        if len(betas) != 2 or not all(isinstance(b, Real) and not isinstance(b, bool) and 0 <= b < 1 for b in betas):
            raise StudyError(f"betas must be two numbers in [0, 1), got {shown(self.betas)}")
        channels = tuple(self.channels)
        if not all(isinstance(c, Integral) and not isinstance(c, bool) and c >= 1 for c in channels) or (
                self.arch == "conv") != bool(channels):
            raise StudyError(f"channels must list the convolutions' widths (>= 1) for arch='conv', and be empty "
                             f"otherwise; got {shown(self.channels)} with arch={shown(self.arch)}")
        if self.objective == "denoising" and not (0 < self.noise_level and (self.noise == "gaussian"
                                                                            or self.noise_level < 1)):
            raise StudyError(f"noise_level must be in (0, 1) for masking noise, > 0 for gaussian noise, got "
                             f"{shown(self.noise_level)} with noise={shown(self.noise)}")
        if self.objective != "denoising" and (self.noise, self.noise_level) != ("masking", 0.0):
            raise StudyError(f"noise and noise_level belong to objective='denoising'; this one is "
                             f"objective={shown(self.objective)}")
        if self.objective != "variational" and self.beta != 1.0:
            raise StudyError(f"beta belongs to objective='variational'; this one is objective={shown(self.objective)}")
        if self.objective == "variational" and self.code_activation != "linear":
            raise StudyError(f"code_activation must be 'linear' for objective='variational' (the code is the "
                             f"posterior mean), got {shown(self.code_activation)}")
        return AutoencoderConfig(tuple(int(h) for h in hidden), self.code_activation, self.loss, float(self.lr),
                                 self.batch_size, self.epochs, (float(betas[0]), float(betas[1])), self.init,
                                 self.arch, tuple(int(c) for c in channels), self.objective, self.noise,
                                 float(self.noise_level), float(self.beta))

    def training_bytes(self, n_features: int) -> int:
        """About what training on rows of ``n_features`` pixels holds in memory (``aestudy.core.memory``)."""
        return training_bytes(self.autoencoder_config(), image_shape_of(n_features, self.image_shape)
                              if self.arch == "conv" else (1, n_features))

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None) -> AutoencoderFeatures:
        """Train the autoencoder on the pixel rows in the study's one loop, keeping the best epoch on the held-out share ``val_fraction``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).
        y : None
            Ignored; present for the scikit-learn API.

        Returns
        -------
        self
            The fitted estimator.
        """
        config = self.autoencoder_config()
        pixels = pixel_inputs(self, X, reset=True)
        image_shape = image_shape_of(pixels.shape[1], self.image_shape) if config.arch == "conv" else None
        check_memory(self.training_bytes(pixels.shape[1]), f"AutoencoderFeatures: training on {pixels.shape[1]} "
                     "pixels per image with these hidden widths, channels and batch_size")
        if len(pixels) < 2:
            raise StudyError(f"AutoencoderFeatures holds samples out for validation: it needs n_samples >= 2, "
                             f"got n_samples={len(pixels)}")
        device = resolve_device(self.device)
        x = torch.from_numpy(to_unit_float(pixels)).to(device)
        fit_idx, val_idx = train_val_split(len(pixels), self.val_fraction, self.random_state)
        result = train_autoencoder(config, x[fit_idx], x[val_idx], self.random_state, image_shape,
                                   on_epoch=self.epoch_callback, progress=self.progress)
        self.n_samples_fit_, self.validation_indices_ = len(pixels), val_idx
        self.model_ = result.model.cpu().eval()
        self.image_shape_ = image_shape
        self.history_, self.best_epoch_, self.epochs_run_ = result.history, result.best_epoch, result.epochs_run
        self.diverged_, self.collapsed_, self.seconds_ = result.diverged, result.collapsed, result.seconds
        return self

    def validation_split(self) -> tuple[np.ndarray, np.ndarray]:
        """The split ``fit`` made of its samples: the rows it trained on and the rows it held out.

        Every reader of a trained autoencoder's validation rows (its losses, the selection's 1-NN on its codes)
        takes them from here, so that they are the rows the training held out, whatever settings it ran under.

        Returns
        -------
        fit_indices : ndarray of shape (n_samples_fit_ - n_validation,)
            Sorted indices into ``fit``'s ``X`` of the rows it trained on.
        validation_indices : ndarray of shape (n_validation,)
            Sorted indices of the rows it held out to choose the best epoch.
        """
        check_is_fitted(self, "validation_indices_")
        held_out = np.zeros(self.n_samples_fit_, dtype=bool)
        held_out[self.validation_indices_] = True
        return np.flatnonzero(~held_out), self.validation_indices_

    def transform(self, X) -> np.ndarray:
        """Encode pixel rows (the posterior mean for a variational autoencoder).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_pixels)
            Pixel rows (any numeric dtype; 0-255).

        Returns
        -------
        ndarray of shape (n_samples, code_dim)
            The codes, float32.
        """
        pixels = pixel_inputs(self, X, reset=False)
        return encode(self.model_, torch.from_numpy(to_unit_float(pixels))).numpy()


def save_model(autoencoder: AutoencoderFeatures, path: Path) -> None:
    """A fitted autoencoder's weights and what rebuilds them (its config, family included), written atomically."""
    with atomic_path(path) as tmp:
        torch.save({"config": asdict(autoencoder.autoencoder_config()), "n_inputs": autoencoder.n_features_in_,
                    "image_shape": autoencoder.image_shape_, "state_dict": autoencoder.model_.state_dict(),
                    "n_samples_fit": autoencoder.n_samples_fit_,
                    "validation_indices": torch.from_numpy(autoencoder.validation_indices_)}, tmp)


def load_model(path: Path) -> AutoencoderFeatures:
    """A saved autoencoder, fitted, its model on the CPU in evaluation mode."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise StudyError(f"{path}: model not found; run the train stage first (dvc repro)") from None
    except Exception as error:  # noqa: BLE001 (torch raises many types for a damaged file)
        raise StudyError(f"{path}: not a saved autoencoder ({error})") from None
    try:
        autoencoder = AutoencoderFeatures(**saved["config"], image_shape=saved.get("image_shape"))
        config = autoencoder.autoencoder_config()
        autoencoder.model_ = build_model(config, saved["n_inputs"], autoencoder.image_shape)
        autoencoder.model_.load_state_dict(saved["state_dict"])
        autoencoder.n_samples_fit_ = int(saved["n_samples_fit"])
        autoencoder.validation_indices_ = saved["validation_indices"].numpy()
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise StudyError(f"{path}: not a saved autoencoder of this study ({type(error).__name__}: {error})") from None
    autoencoder.model_.eval()
    autoencoder.n_features_in_, autoencoder.image_shape_ = saved["n_inputs"], autoencoder.image_shape
    return autoencoder
