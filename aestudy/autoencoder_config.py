"""What defines an autoencoder of the study: its config and the names of its options.

Kept apart from ``aestudy.autoencoder`` so that checking params (the validate stage) does not pay for
importing torch.
"""

from __future__ import annotations

from dataclasses import dataclass

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
        return self.hidden[len(self.hidden) // 2]

    @property
    def variational(self) -> bool:
        return self.objective == "variational"

    @property
    def family(self) -> str:
        """The architecture and objective in a few words, with their own settings: ``conv 32/64 denoising
        (masking 0.3)``, ``dense variational (beta 1)``, ``dense``."""
        arch = f"conv {'/'.join(map(str, self.channels))}" if self.arch == "conv" else "dense"
        objective = {"reconstruction": "", "denoising": f" denoising ({self.noise} {self.noise_level:g})",
                     "variational": f" variational (beta {self.beta:g})"}[self.objective]
        return arch + objective
