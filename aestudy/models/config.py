"""What defines an autoencoder of the study: its config, the names of its options and what training it holds
in memory.

Kept apart from ``aestudy.models.autoencoder`` so that reading a config does not pay for importing torch.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from aestudy.core.memory import dense_sizes, footprint_bytes

ACTIVATIONS = ("linear", "relu", "sigmoid", "tanh")
LOSSES = ("mse", "bce")
ARCHS = ("dense", "conv")
OBJECTIVES = ("reconstruction", "denoising", "variational")
# denoising corruptions: gaussian adds noise of std noise_level and clips to [0, 1]; masking sets each pixel
# to 0 with probability noise_level (Vincent et al., 2010).
NOISES = ("gaussian", "masking")
# torch: PyTorch's default Linear init (seed-000 was PyTorch). glorot: Keras's Dense default, Glorot-uniform
# weights and zero biases (seed-002 was Keras). With narrow ReLU codes this matters: on MNIST, the
# 64-32-16-32-64 net reached a validation BCE of 0.115 after 25 epochs from glorot, 0.132 from torch.
INITS = ("torch", "glorot")


@dataclass(frozen=True)
class AutoencoderConfig:
    """What trains one autoencoder: its family, layers, objective and optimiser settings, checked."""

    hidden: tuple[int, ...]  # odd length; the middle width is the code (conv: the dense layers after the convolutions)
    code_activation: str  # one of ACTIVATIONS (variational: linear, the posterior mean is unbounded)
    loss: str  # one of LOSSES
    lr: float
    batch_size: int
    epochs: int
    betas: tuple[float, float] = (0.9, 0.999)
    init: str = "torch"  # one of INITS
    arch: str = "dense"  # one of ARCHS
    channels: tuple[int, ...] = ()  # conv: output channels of each stride-2 convolution
    objective: str = "reconstruction"  # one of OBJECTIVES
    noise: str = "masking"  # denoising: one of NOISES
    noise_level: float = 0.0  # denoising: masking probability, or the Gaussian noise's std
    beta: float = 1.0  # variational: the KL term's weight (1: the evidence lower bound)

    @property
    def code_dim(self) -> int:
        """The width of the code: the middle hidden layer."""
        return self.hidden[len(self.hidden) // 2]

    @property
    def variational(self) -> bool:
        """Whether the encoder gives a Gaussian posterior (``objective='variational'``)."""
        return self.objective == "variational"

    @property
    def family(self) -> str:
        """The architecture and objective in a few words, with their own settings: ``conv 32/64 denoising
        (masking 0.3)``, ``dense variational (beta 1)``, ``dense``."""
        arch = f"conv {'/'.join(map(str, self.channels))}" if self.arch == "conv" else "dense"
        objective = {"reconstruction": "", "denoising": f" denoising ({self.noise} {self.noise_level:g})",
                     "variational": f" variational (beta {self.beta:g})"}[self.objective]
        return arch + objective


def conv_sizes(image_shape: tuple[int, int], n_convs: int) -> list[tuple[int, int]]:
    """The feature maps' sizes after each stride-2, padding-1, 3x3 convolution: ceil(size / 2)."""
    sizes = [tuple(image_shape)]
    for _ in range(n_convs):
        sizes.append(tuple((s + 1) // 2 for s in sizes[-1]))
    return sizes


def training_bytes(config: AutoencoderConfig, image_shape: tuple[int, ...]) -> int:
    """``footprint_bytes`` of training ``config`` on images of ``image_shape``, (H, W) or (C, H, W)."""
    image_channels, *size = (1, *image_shape) if len(image_shape) == 2 else image_shape
    n_inputs = values_per_row = math.prod(image_shape)
    weights = 0
    if config.arch == "conv":
        sizes = conv_sizes(tuple(size), len(config.channels))
        planes = (image_channels, *config.channels)
        for (c_in, c_out), (h, w) in zip(itertools.pairwise(planes), sizes[1:], strict=True):
            weights += 2 * (9 * c_in * c_out + c_out)  # the convolution and its transposed mirror
            values_per_row += 2 * c_out * h * w
        n_inputs = config.channels[-1] * sizes[-1][0] * sizes[-1][1]
    dense_weights, dense_values = dense_sizes((n_inputs, *config.hidden, n_inputs),
                                              len(config.hidden) // 2 if config.variational else None)
    return footprint_bytes(weights + dense_weights, values_per_row + dense_values, config.batch_size)
