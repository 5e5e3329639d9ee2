"""The one training loop: every network of the study (the autoencoders, the MLP) trains through ``train``.

An epoch is a seeded permutation of the training rows, cut into batches; each batch's loss is the model's
own (``batch_loss``), then one optimiser step (and one scheduler step, where there is a schedule). After
every epoch ``validate`` scores the model on held-out data, and the loop keeps the state of the best epoch,
stops when the loss stops being finite (divergence is a result, not an error), when ``validate`` says so (a
collapsed autoencoder), or after ``patience`` epochs without a better score. The model ends holding the best
epoch's weights.

Reading it top to bottom is reading what every fit in the study does; the families differ only in the
callbacks they pass.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from tqdm.auto import tqdm

from aestudy.core.runtime import stopwatch


@dataclass
class Validation:
    """What ``validate`` says of an epoch: its score (higher is better), what to log, and whether to stop."""

    score: float
    metrics: dict[str, float]
    stop: bool = False


@dataclass
class Trained:
    """How a run went. The model it trained holds the best epoch's weights."""

    best_epoch: int  # 0 when no epoch gave a finite score
    best_score: float
    epochs_run: int
    diverged: bool  # a non-finite loss or score stopped the run
    stopped: bool  # ``validate`` stopped the run
    seconds: float  # wall time of the loop, GPU work included
    history: list[dict[str, float]] = field(default_factory=list)  # per epoch: epoch, train_loss and the metrics


def train(model: torch.nn.Module, optimizer: torch.optim.Optimizer, *, n_rows: int, batch_size: int, epochs: int,
          generator: torch.Generator, batch_loss: Callable[[torch.Tensor], torch.Tensor],
          validate: Callable[[], Validation], scheduler: Any = None, patience: int | None = None,
          later_ties: bool = False, progress: str | None = None,
          on_epoch: Callable[[dict[str, float]], None] | None = None) -> Trained:
    """Train ``model`` for at most ``epochs`` epochs over ``n_rows`` rows (see the module's docstring).

    ``batch_loss(indices)`` is the loss of the batch of those training rows; ``generator`` shuffles them.
    ``later_ties``: an epoch whose score equals the best replaces it (trained longer, at a lower rate), else the
    earlier one stays. ``progress``: the bar's label (None: no bar). ``on_epoch`` gets each epoch's log.
    """
    device = next(model.parameters()).device
    best_state, best_score, best_epoch = copy.deepcopy(model.state_dict()), -math.inf, 0
    history: list[dict[str, float]] = []
    diverged = stopped = False
    stale = 0
    bar = tqdm(range(1, epochs + 1), desc=progress, unit="epoch", disable=progress is None, leave=False,
               mininterval=2.0)
    with stopwatch(device) as watch:
        for epoch in bar:
            model.train()
            order = torch.randperm(n_rows, generator=generator).to(device)
            running = torch.zeros((), device=device)  # summed on the device: no synchronisation per step
            for start in range(0, n_rows, batch_size):
                indices = order[start : start + batch_size]
                loss = batch_loss(indices)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                running += loss.detach() * len(indices)
            train_loss = float(running) / n_rows
            validation = validate()
            log = {"epoch": epoch, "train_loss": train_loss, **validation.metrics}
            history.append(log)
            if on_epoch is not None:
                on_epoch(log)
            bar.set_postfix({k: f"{v:.4f}" for k, v in log.items() if k != "epoch"}, refresh=False)
            if not (math.isfinite(train_loss) and math.isfinite(validation.score)):
                diverged = True
                break
            if validation.score > best_score or (later_ties and validation.score == best_score):
                best_state, best_score, best_epoch, stale = copy.deepcopy(model.state_dict()), validation.score, epoch, 0
            else:
                stale += 1
            if validation.stop:
                stopped = True
                break
            if patience is not None and stale >= patience:
                break
    model.load_state_dict(best_state)
    return Trained(best_epoch, best_score, len(history), diverged, stopped, watch.seconds, history)
