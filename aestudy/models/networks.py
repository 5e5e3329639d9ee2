"""The autoencoders' networks: dense and convolutional, plain or variational (an encoder and a decoder each).

Modules only, as in nanoGPT's ``model.py``: what trains them is ``aestudy.models.training``, what they are scored
by is ``aestudy.models.objectives``.
"""

from __future__ import annotations

import itertools
import math
from numbers import Integral

import torch
from torch import nn

from aestudy.core.errors import StudyError, shown
from aestudy.models.config import AutoencoderConfig, conv_sizes


def activation(name: str) -> nn.Module:
    """The activation layer of a name in ``ACTIVATIONS``."""
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
        """The variational encoder's posterior: its mean and log-variance, each (N, code_dim)."""
        mean, log_var = self.encoder(x).split(self.code_dim, dim=1)
        return mean, log_var

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The code of each row (a variational encoder's: the posterior mean)."""
        out = self.encoder(x)
        return out[:, : self.code_dim] if self.variational else out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reconstruction's logits from the code of each row."""
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
        """``x`` with the same values, in channels-last memory order."""
        return x.contiguous(memory_format=torch.channels_last)


class ConvAutoencoder(Autoencoder):
    """image -> stride-2 3x3 convolutions (ReLU) -> dense layers ``hidden`` (the middle one the code) -> the
    mirror: dense, then stride-2 transposed convolutions back to the image's size.

    Inputs are rows of pixel values (N, C * H * W), channel by channel, as everywhere in the study; the model
    reshapes them to ``image_shape``, (H, W) for one grey channel or (C, H, W).
    """

    def __init__(self, image_shape: tuple[int, ...], channels: tuple[int, ...], hidden: tuple[int, ...],
                 code_activation: str, init: str = "torch", variational: bool = False) -> None:
        super().__init__()
        self.code_dim, self.variational = hidden[len(hidden) // 2], variational
        image_channels, *size = (1, *image_shape) if len(image_shape) == 2 else image_shape
        sizes = conv_sizes(tuple(size), len(channels))
        planes = (image_channels, *channels)
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
        self.encoder = nn.Sequential(nn.Unflatten(1, (image_channels, *size)), ChannelsLast(), *convs, nn.Flatten(),
                                     *dense_encoder)
        self.decoder = nn.Sequential(*dense_decoder, nn.ReLU(), nn.Unflatten(1, (channels[-1], *sizes[-1])),
                                     ChannelsLast(), *deconvs[:-1], nn.Flatten())
        if init == "glorot":
            glorot(self)
        self.to(memory_format=torch.channels_last)  # the convolutions' weights in the maps' order


def image_shape_of(n_values: int, image_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    """``image_shape``, (height, width) or (channels, height, width), checked against the rows' width; None means
    square grey images."""
    if image_shape is None:
        side = math.isqrt(n_values)
        if side * side != n_values:
            raise StudyError(f"image_shape is needed for arch='conv': rows of {n_values} pixels are not square")
        return side, side
    shape = tuple(image_shape)
    if (len(shape) not in (2, 3)
            or not all(isinstance(v, Integral) and not isinstance(v, bool) and v >= 1 for v in shape)
            or math.prod(shape) != n_values):
        raise StudyError(f"image_shape must be (height, width) or (channels, height, width), their product "
                         f"{n_values}, the number of features, got {shown(image_shape)}")
    return tuple(int(v) for v in shape)


def build_model(config: AutoencoderConfig, n_inputs: int, image_shape: tuple[int, ...] | None = None
                ) -> Autoencoder:
    """The network of a config: dense or convolutional, for ``n_inputs`` pixels."""
    if config.arch == "conv":
        return ConvAutoencoder(image_shape_of(n_inputs, image_shape), config.channels, config.hidden,
                               config.code_activation, config.init, config.variational)
    return DenseAutoencoder(n_inputs, config.hidden, config.code_activation, config.init, config.variational)



def parameter_count(model: nn.Module) -> int:
    """The network's trainable and frozen parameters."""
    return sum(p.numel() for p in model.parameters())
