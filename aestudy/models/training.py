"""The autoencoders' training: every family in the study's one loop (``aestudy.core.loop``), with the
validation objective that picks the best epoch and the checks that stop a diverged or collapsed network."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from aestudy.core.loop import Validation, train
from aestudy.core.runtime import seed_everything
from aestudy.models.config import AutoencoderConfig
from aestudy.models.networks import Autoencoder, build_model
from aestudy.models.objectives import evaluate, training_loss

# When a ReLU layer outputs zero for every input (lr 0.1 does this within a few epochs), the network gives
# the same reconstruction for every image: no gradient reaches the layers before the dead one, nothing can
# revive it, and later epochs only fit the biases after it to the mean image. Training stops once the
# reconstruction has been the same for every validation image at this many consecutive epoch ends; Adam's
# momentum, the one thing that could still move the dead layer, decays by 0.9 per step meanwhile.
COLLAPSED_EPOCHS = 3


@dataclass
class TrainResult:
    """What one training run gives: the best epoch's model, how the run went, and its history."""

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
    image_shape: tuple[int, ...] | None = None,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train with Adam on ``x_train`` in the study's one loop (``aestudy.core.loop``); keep the weights with the
    lowest loss on ``x_val``.

    ``image_shape`` ((height, width) or (channels, height, width)) is the conv architecture's view of each row;
    the validation loss is the objective on clean inputs without sampling (``Evaluation.objective``). A non-finite loss or a collapsed
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
