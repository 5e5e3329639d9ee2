"""What an autoencoder is trained and scored by: the reconstruction losses, the KL term, the denoising
corruption, the training objective on a batch, and the evaluation of a whole split."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from aestudy.models.config import LOSSES, AutoencoderConfig
from aestudy.models.networks import Autoencoder

EVAL_BATCH = 8192


def reconstruction_loss(logits: torch.Tensor, target: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean per-pixel loss; BCE is computed from logits, which stays finite where sigmoid saturates."""
    if loss == "bce":
        return F.binary_cross_entropy_with_logits(logits, target)
    return F.mse_loss(torch.sigmoid(logits), target)


def kl_to_standard_normal(mean: torch.Tensor, log_var: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(log_var)) || N(0, I)) per row, summed over the code: the closed form."""
    return 0.5 * (mean.square() + log_var.exp() - 1 - log_var).sum(dim=1)


def corrupt(x: torch.Tensor, noise: str, level: float, generator: torch.Generator) -> torch.Tensor:
    """The denoising autoencoder's input: ``x`` with masking or Gaussian noise, in [0, 1].

    Gaussian noise is torchvision's ``transforms.v2`` (``gaussian_noise``, clipped to [0, 1]), drawn from
    ``generator``: the same values as ``x + level * randn`` from it, bit for bit. Masking noise (each value zeroed
    with probability ``level``) has no torchvision transform (``RandomErasing`` blanks one rectangle), so it is
    drawn here.
    """
    if noise == "masking":
        return x * (torch.rand(x.shape, generator=generator, device=x.device) >= level)
    from torchvision.transforms.v2.functional import gaussian_noise

    with drawing_from(generator):
        return gaussian_noise(x, mean=0.0, sigma=level, clip=True)


@contextmanager
def drawing_from(generator: torch.Generator) -> Iterator[None]:
    """Within it, torch's default generator of ``generator``'s device draws ``generator``'s stream, for code that
    takes no generator (torchvision's transforms); ``generator`` moves on by what was drawn, and the default
    generator is left as it was."""
    device = generator.device
    with torch.random.fork_rng(devices=[device] if device.type != "cpu" else [], device_type=device.type):
        default = (torch.default_generator if device.type == "cpu"
                   else torch.cuda.default_generators[device.index or 0])
        default.set_state(generator.get_state())
        yield
        generator.set_state(default.get_state())


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
    """An autoencoder's losses over a split, whether its output is constant, and its KL term."""

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
    """The codes of the rows of ``x``, in batches of ``EVAL_BATCH``, in evaluation mode."""
    model.eval()
    return torch.cat([model.encode(x[s : s + EVAL_BATCH]) for s in range(0, len(x), EVAL_BATCH)])
