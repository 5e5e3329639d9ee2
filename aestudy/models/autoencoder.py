"""Autoencoders, the one loop that trains them, and the transformer that wraps both.

Two architectures (``arch``): ``dense``, fully connected layers, and ``conv``, stride-2 convolutions, a dense
code and a mirrored decoder of transposed convolutions. Three objectives (``objective``): ``reconstruction``;
``denoising``, where the inputs are corrupted while training and the targets stay clean; and ``variational``,
where the encoder gives a Gaussian posterior, the decoder reconstructs a sample of it, and its KL divergence
from the standard normal is weighted by ``beta``; the code is the posterior mean. Every combination trains in
the same loop, which keeps the whole training set in one float32 tensor on the device and slices batches
from a seeded permutation: no per-sample Dataset or DataLoader. After every epoch it measures the validation
loss and keeps the weights of the best epoch, as the first seed study did.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from numbers import Integral, Real
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from torch import nn

from aestudy.core.checks import pixel_inputs
from aestudy.core.errors import StudyError, shown
from aestudy.core.io import atomic_path
from aestudy.core.loop import Validation, train
from aestudy.core.memory import check_memory
from aestudy.core.runtime import resolve_device, seed_everything
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
    conv_sizes,
    training_bytes,
)

EVAL_BATCH = 8192
# When a ReLU layer outputs zero for every input (lr 0.1 does this within a few epochs), the network gives
# the same reconstruction for every image: no gradient reaches the layers before the dead one, nothing can
# revive it, and later epochs only fit the biases after it to the mean image. Training stops once the
# reconstruction has been the same for every validation image at this many consecutive epoch ends; Adam's
# momentum, the one thing that could still move the dead layer, decays by 0.9 per step meanwhile.
COLLAPSED_EPOCHS = 3
# An epoch of the smallest variant on MNIST takes about a second here: 10^5 epochs is more than a day.
MAX_EPOCHS = 100_000


def activation(name: str) -> nn.Module:
    return {"linear": nn.Identity(), "relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh()}[name]


def glorot(model: nn.Module) -> None:
    """Keras's default init: Glorot-uniform weights, zero biases, for every dense and convolutional layer."""
    for module in model.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(module.weight)
            nn.init.zeros_(module.bias)


class Autoencoder(nn.Module):
    """An ``encoder`` and a ``decoder``; the decoder returns logits, a sigmoid gives the image.

    A variational encoder outputs twice the code's width: the posterior's mean, then its log-variance.
    """

    encoder: nn.Sequential
    decoder: nn.Sequential
    code_dim: int
    variational: bool

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, log_var = self.encoder(x).split(self.code_dim, dim=1)
        return mean, log_var

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        out = self.encoder(x)
        return out[:, : self.code_dim] if self.variational else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encode(x))

    def first_layer(self, x: torch.Tensor) -> torch.Tensor:
        """The first dense or convolutional layer's activations: (N, units) or (N, channels, height, width)."""
        first = next(i for i, layer in enumerate(self.encoder) if isinstance(layer, (nn.Linear, nn.Conv2d)))
        return self.encoder[: first + 2](x)


def dense_layers(n_inputs: int, hidden: tuple[int, ...], code_activation: str, variational: bool
                 ) -> tuple[list[nn.Module], list[nn.Module]]:
    """n_inputs -> hidden[0] -> ... -> hidden[-1] -> n_inputs, split at the code: (encoder, decoder) layers.

    ReLU follows every hidden layer but the code, whose activation is configurable.
    """
    code_index = len(hidden) // 2
    widths = (n_inputs, *hidden)
    layers: list[nn.Module] = []
    for i, (d_in, d_out) in enumerate(itertools.pairwise(widths)):
        if i == code_index:
            layers += [nn.Linear(d_in, 2 * d_out if variational else d_out), activation(code_activation)]
        else:
            layers += [nn.Linear(d_in, d_out), nn.ReLU()]
    return layers[: 2 * (code_index + 1)], [*layers[2 * (code_index + 1) :], nn.Linear(widths[-1], n_inputs)]


class DenseAutoencoder(Autoencoder):
    """input -> hidden[0] -> ... -> hidden[-1] -> input."""

    def __init__(self, n_inputs: int, hidden: tuple[int, ...], code_activation: str, init: str = "torch",
                 variational: bool = False) -> None:
        super().__init__()
        self.code_dim, self.variational = hidden[len(hidden) // 2], variational
        encoder, decoder = dense_layers(n_inputs, hidden, code_activation, variational)
        self.encoder, self.decoder = nn.Sequential(*encoder), nn.Sequential(*decoder)
        if init == "glorot":
            glorot(self)


class ChannelsLast(nn.Module):
    """Feature maps in NHWC order. oneDNN's CPU convolutions, transposed ones included, run faster on it: one
    epoch of a conv 16/32 autoencoder on MNIST took 8.4 and 9.5 s in NCHW, 6.8 and 7.5 s in NHWC (2 cores,
    alternating runs). The values are the same tensor's; only the memory order changes."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last)


class ConvAutoencoder(Autoencoder):
    """image -> stride-2 3x3 convolutions (ReLU) -> dense layers ``hidden`` (the middle one the code) -> the
    mirror: dense, then stride-2 transposed convolutions back to the image's size.

    Inputs are rows of pixels (N, H * W), as everywhere in the study; the model reshapes them.
    """

    def __init__(self, image_shape: tuple[int, int], channels: tuple[int, ...], hidden: tuple[int, ...],
                 code_activation: str, init: str = "torch", variational: bool = False) -> None:
        super().__init__()
        self.code_dim, self.variational = hidden[len(hidden) // 2], variational
        sizes = conv_sizes(image_shape, len(channels))
        planes = (1, *channels)
        convs: list[nn.Module] = []
        for c_in, c_out in itertools.pairwise(planes):
            convs += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.ReLU()]
        n_flat = channels[-1] * sizes[-1][0] * sizes[-1][1]
        dense_encoder, dense_decoder = dense_layers(n_flat, hidden, code_activation, variational)
        deconvs: list[nn.Module] = []
        for i in range(len(channels), 0, -1):
            # Each transposed convolution gives back the size its convolution took: 2s - 1, or 2s when even.
            padding = tuple(size - 2 * smaller + 1 for size, smaller in zip(sizes[i - 1], sizes[i], strict=True))
            deconvs += [nn.ConvTranspose2d(planes[i], planes[i - 1], 3, stride=2, padding=1, output_padding=padding),
                        nn.ReLU()]
        self.encoder = nn.Sequential(nn.Unflatten(1, (1, *image_shape)), ChannelsLast(), *convs, nn.Flatten(),
                                     *dense_encoder)
        self.decoder = nn.Sequential(*dense_decoder, nn.ReLU(), nn.Unflatten(1, (channels[-1], *sizes[-1])),
                                     ChannelsLast(), *deconvs[:-1], nn.Flatten())
        if init == "glorot":
            glorot(self)
        self.to(memory_format=torch.channels_last)  # the convolutions' weights in the maps' order


def image_shape_of(n_pixels: int, image_shape: tuple[int, int] | None) -> tuple[int, int]:
    """``image_shape`` checked against the rows' width; None means square images."""
    if image_shape is None:
        side = math.isqrt(n_pixels)
        if side * side != n_pixels:
            raise StudyError(f"image_shape is needed for arch='conv': rows of {n_pixels} pixels are not square")
        return side, side
    shape = tuple(image_shape)
    if (len(shape) != 2 or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in shape)
            or shape[0] * shape[1] != n_pixels):
        raise StudyError(f"image_shape must be (height, width) with height * width = {n_pixels}, the number of "
                         f"features, got {shown(image_shape)}")
    return int(shape[0]), int(shape[1])


def build_model(config: AutoencoderConfig, n_inputs: int, image_shape: tuple[int, int] | None = None
                ) -> Autoencoder:
    """The network of a config: dense or convolutional, for ``n_inputs`` pixels."""
    if config.arch == "conv":
        return ConvAutoencoder(image_shape_of(n_inputs, image_shape), config.channels, config.hidden,
                               config.code_activation, config.init, config.variational)
    return DenseAutoencoder(n_inputs, config.hidden, config.code_activation, config.init, config.variational)


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean per-pixel loss; BCE is computed from logits, which stays finite where sigmoid saturates."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(torch.sigmoid(logits), target)


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, summed over the code: the closed form."""
    return 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(dim=1)


def corrupt(x: torch.Tensor, noise: str, level: float, generator: torch.Generator) -> torch.Tensor:
    """The denoising autoencoder's input: ``x`` with masking or Gaussian noise, in [0, 1]."""
    if noise == "masking":
        return x * (torch.rand(x.shape, generator=generator, device=x.device) >= level)
    return (x + level * torch.randn(x.shape, generator=generator, device=x.device)).clamp_(0, 1)


def training_loss(model: Autoencoder, batch: torch.Tensor, config: AutoencoderConfig,
                  generator: torch.Generator) -> torch.Tensor:
    """The objective on one batch, per pixel: reconstruction of the clean batch, plus, for the variational
    objective, beta times the KL term spread over the pixels (beta 1: the negative ELBO / pixels)."""
    inputs = corrupt(batch, config.noise, config.noise_level, generator) if config.objective == "denoising" else batch
    if not config.variational:
        return reconstruction_loss(model(inputs), batch, config.loss)
    mean, log_var = model.posterior(inputs)
    sample = mean + (0.5 * log_var).exp() * torch.randn(mean.shape, generator=generator, device=mean.device)
    kl = kl_to_standard_normal(mean, log_var).mean()
    return reconstruction_loss(model.decoder(sample), batch, config.loss) + config.beta * kl / batch.shape[1]


@dataclass
class Evaluation:
    losses: dict[str, float]  # reconstruction, per pixel, over every row (variational: from the posterior mean)
    constant_output: bool  # the same reconstruction for every row: a collapsed network
    kl: float = 0.0  # variational: the mean KL term per row, in nats

    def objective(self, config: AutoencoderConfig, n_pixels: int) -> float:
        """The training objective on clean inputs, without sampling: what the loop's best epoch minimises."""
        return self.losses[config.loss] + (config.beta * self.kl / n_pixels if config.variational else 0.0)


@torch.no_grad()
def evaluate(model: Autoencoder, x: torch.Tensor, losses: tuple[str, ...] = LOSSES) -> Evaluation:
    """The given losses over ``x`` (by default MSE and BCE, whatever loss the model was trained with)."""
    model.eval()
    totals = {loss: torch.zeros((), dtype=torch.float64, device=x.device) for loss in losses}
    kl = torch.zeros((), dtype=torch.float64, device=x.device)
    constant, first = True, None
    for start in range(0, len(x), EVAL_BATCH):
        batch = x[start : start + EVAL_BATCH]
        if model.variational:
            mean, log_var = model.posterior(batch)
            kl += kl_to_standard_normal(mean, log_var).double().sum()
            logits = model.decoder(mean)
        else:
            logits = model(batch)
        for loss in losses:
            totals[loss] += reconstruction_loss(logits, batch, loss).double() * len(batch)
        first = logits[:1] if first is None else first
        constant = constant and bool((logits == first).all())
    return Evaluation({loss: float(total) / len(x) for loss, total in totals.items()}, constant, float(kl) / len(x))


@torch.no_grad()
def encode(model: Autoencoder, x: torch.Tensor) -> torch.Tensor:
    model.eval()
    return torch.cat([model.encode(x[s : s + EVAL_BATCH]) for s in range(0, len(x), EVAL_BATCH)])


@dataclass
class TrainResult:
    model: Autoencoder  # holding the weights of the best epoch
    best_epoch: int  # 0 if no epoch gave a finite validation loss
    epochs_run: int
    diverged: bool  # a non-finite loss stopped the run
    collapsed: bool  # a constant reconstruction stopped the run (see COLLAPSED_EPOCHS)
    seconds: float  # wall time of the training loop
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: epoch, train_loss, val_loss


def train_autoencoder(
    config: AutoencoderConfig,
    x_train: torch.Tensor,
    x_val: torch.Tensor,
    seed: int,
    image_shape: tuple[int, int] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train with Adam on ``x_train`` in the study's one loop (``aestudy.core.loop``); keep the weights with the
    lowest loss on ``x_val``.

    ``image_shape`` (height, width) is the conv architecture's view of each row; the validation loss is the
    objective on clean inputs without sampling (``Evaluation.objective``). A non-finite loss or a collapsed
    network stops the run early: either is a result, recorded, not an exception.
    """
    generator = seed_everything(seed)
    device = x_train.device
    n_pixels = x_train.shape[1]
    model = build_model(config, n_pixels, image_shape).to(device)
    # The corruptions and the posterior samples draw from their own stream, on the device: the shuffles, and
    # so the reconstruction objective's bits, stay what they were before either existed.
    noise = torch.Generator(device).manual_seed(seed)
    # The fused kernel updates every parameter in one pass: about 10% faster per epoch on 2 CPU cores.
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr, betas=config.betas, fused=True)
    constant_epochs = 0

    def validate() -> Validation:
        nonlocal constant_epochs
        validation = evaluate(model, x_val, (config.loss,))
        val_loss = validation.objective(config, n_pixels)
        constant_epochs = constant_epochs + 1 if validation.constant_output else 0
        return Validation(-val_loss, {"val_loss": val_loss}, stop=constant_epochs >= COLLAPSED_EPOCHS)

    trained = train(model, optimizer, n_rows=len(x_train), batch_size=config.batch_size, epochs=config.epochs,
                    generator=generator, batch_loss=lambda rows: training_loss(model, x_train[rows], config, noise),
                    validate=validate, progress="train" if progress else None, on_epoch=on_epoch)
    return TrainResult(model, trained.best_epoch, trained.epochs_run, trained.diverged, trained.stopped,
                       trained.seconds, trained.history)


def is_stuck(val_mse: float, x_train: torch.Tensor, x_val: torch.Tensor) -> bool:
    """True when the model reconstructs no better than the mean training image: a collapsed network."""
    mean_image = x_train.mean(dim=0, keepdim=True)
    baseline = float(F.mse_loss(mean_image.expand_as(x_val), x_val))
    return not val_mse < baseline


def parameter_count(model: nn.Module) -> int:
    """The network's trainable and frozen parameters."""
    return sum(p.numel() for p in model.parameters())


class AutoencoderFeatures(FloatFeaturesMixin, TransformerMixin, BaseEstimator):
    """An autoencoder as a transformer: ``fit`` trains it on pixel values (N, D) / 255, ``transform`` gives its
    code (N, code dim) as float32 (variational: the posterior mean).

    The parameters are those of ``AutoencoderConfig`` (``hidden`` lists the widths between input and output,
    odd length, the middle one the code; ``arch``, ``objective`` and their own keys choose the family), plus
    ``image_shape`` ((height, width) of each row, for ``arch='conv'``; None: square), ``val_fraction`` (the
    share of ``fit``'s samples held out to choose the best epoch), ``random_state`` (the carve-out, the initial
    weights, the shuffles and the noise), ``device`` (``cpu``, ``cuda[:N]`` or ``auto``), ``progress`` (a bar
    per epoch) and ``epoch_callback`` (called with each epoch's log: ``epoch``, ``train_loss``, ``val_loss``;
    the train stage passes dvclive's logger). A setting of another family (``channels`` on a dense net, ``beta``
    without the variational objective, ``noise`` or ``noise_level`` without the denoising one) is an error, not
    ignored. After ``fit``, ``model_`` holds the best epoch's weights on the CPU, and ``history_``,
    ``best_epoch_``, ``epochs_run_``, ``diverged_``, ``collapsed_`` and ``seconds_`` describe the run. Encoding
    runs on the CPU: it is a fraction of a second for 70000 images through a dense net, and the CPU gives the
    same codes for the same weights wherever the autoencoder was trained.
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
                 beta: float = 1.0, image_shape: tuple[int, int] | None = None, val_fraction: float = 0.1,
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
        self.model_ = result.model.cpu().eval()
        self.image_shape_ = image_shape
        self.history_, self.best_epoch_, self.epochs_run_ = result.history, result.best_epoch, result.epochs_run
        self.diverged_, self.collapsed_, self.seconds_ = result.diverged, result.collapsed, result.seconds
        return self

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
                    "image_shape": autoencoder.image_shape_, "state_dict": autoencoder.model_.state_dict()}, tmp)


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
    except (KeyError, TypeError, ValueError, RuntimeError) as error:
        raise StudyError(f"{path}: not a saved autoencoder of this study ({type(error).__name__}: {error})") from None
    autoencoder.model_.eval()
    autoencoder.n_features_in_, autoencoder.image_shape_ = saved["n_inputs"], autoencoder.image_shape
    return autoencoder
