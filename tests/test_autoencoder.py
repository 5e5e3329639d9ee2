"""The dense autoencoder and its training loop: shapes, losses, checkpointing, determinism, divergence."""

from __future__ import annotations

import math
from dataclasses import asdict

import numpy as np
import pytest
import torch
from torch import nn

from aestudy.autoencoder import (
    COLLAPSED_EPOCHS,
    AutoencoderConfig,
    AutoencoderFeatures,
    DenseAutoencoder,
    evaluate,
    is_stuck,
    load_model,
    reconstruction_loss,
    save_model,
    train_autoencoder,
)


def toy_data(n: int = 256, d: int = 20, seed: int = 0) -> torch.Tensor:
    """Images that live on a 3-D subspace, squashed into (0, 1): an autoencoder with a code of 3 fits them."""
    g = torch.Generator().manual_seed(seed)
    return torch.sigmoid(torch.randn(n, 3, generator=g) @ torch.randn(3, d, generator=g))


def config(**overrides) -> AutoencoderConfig:
    base = {"hidden": (16, 3, 16), "code_activation": "linear", "loss": "mse", "lr": 0.01, "batch_size": 32,
            "epochs": 5}
    return AutoencoderConfig(**{**base, **overrides})


def test_layer_shapes_follow_hidden() -> None:
    model = DenseAutoencoder(784, (128, 64, 32, 64, 128), "relu")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [
        (784, 128), (128, 64), (64, 32), (32, 64), (64, 128), (128, 784)]
    x = torch.rand(5, 784)
    assert model.encode(x).shape == (5, 32)
    assert model(x).shape == (5, 784)


def test_code_activation_is_configurable() -> None:
    torch.manual_seed(0)  # the weights too: whatever ran before in this process must not decide the signs
    linear = DenseAutoencoder(10, (8, 4, 8), "linear")
    relu = DenseAutoencoder(10, (8, 4, 8), "relu")
    assert isinstance(linear.encoder[-1], nn.Identity)
    assert isinstance(relu.encoder[-1], nn.ReLU)
    # ReLU after every hidden layer that is not the code.
    assert isinstance(linear.encoder[1], nn.ReLU) and isinstance(linear.decoder[1], nn.ReLU)
    torch.manual_seed(0)
    assert (linear.encode(torch.rand(64, 10)) < 0).any()


def test_glorot_init_is_keras_default() -> None:
    torch.manual_seed(0)
    model = DenseAutoencoder(784, (128, 32, 128), "relu", init="glorot")
    first = model.encoder[0]
    assert torch.count_nonzero(first.bias) == 0
    bound = math.sqrt(6 / (784 + 128))
    assert first.weight.abs().max() <= bound and first.weight.abs().max() > 0.9 * bound
    # PyTorch's default is about 2.3 times narrower on this layer.
    torch_default = DenseAutoencoder(784, (128, 32, 128), "relu").encoder[0]
    assert torch_default.weight.abs().max() <= 1 / math.sqrt(784)


def test_loss_selection() -> None:
    logits = torch.tensor([[0.0, 2.0, -2.0]])
    target = torch.tensor([[0.5, 1.0, 0.0]])
    probs = torch.sigmoid(logits)
    mse = ((probs - target) ** 2).mean()
    bce = -(target * probs.log() + (1 - target) * (1 - probs).log()).mean()
    assert torch.allclose(reconstruction_loss(logits, target, "mse"), mse)
    assert torch.allclose(reconstruction_loss(logits, target, "bce"), bce)
    # From logits, BCE stays finite where a sigmoid would saturate to exactly 0 or 1.
    assert math.isfinite(float(reconstruction_loss(torch.tensor([[200.0]]), torch.tensor([[0.0]]), "bce")))


def test_training_reduces_loss_and_keeps_best_epoch() -> None:
    x = toy_data()
    result = train_autoencoder(config(epochs=15), x[:200], x[200:], seed=0, progress=False)
    losses = [log.val_loss for log in result.history]
    assert losses[-1] < losses[0] / 2
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert evaluate(result.model, x[200:]).losses["mse"] == pytest.approx(min(losses), rel=1e-5)


def test_best_epoch_checkpoint_is_kept_when_later_epochs_get_worse() -> None:
    # A learning rate this large makes validation loss jump around: the weights kept are the best epoch's.
    x = toy_data()
    result = train_autoencoder(config(lr=0.3, epochs=12), x[:200], x[200:], seed=1, progress=False)
    losses = [log.val_loss for log in result.history if math.isfinite(log.val_loss)]
    kept = evaluate(result.model, x[200:]).losses["mse"]
    assert kept == pytest.approx(min(losses), rel=1e-5)
    assert result.best_epoch < result.epochs_run or losses[-1] == min(losses)


def test_determinism_same_seed_same_losses() -> None:
    x = toy_data()
    runs = [train_autoencoder(config(), x[:200], x[200:], seed=7, progress=False) for _ in range(2)]
    assert [log.train_loss for log in runs[0].history] == [log.train_loss for log in runs[1].history]
    assert [log.val_loss for log in runs[0].history] == [log.val_loss for log in runs[1].history]
    other = train_autoencoder(config(), x[:200], x[200:], seed=8, progress=False)
    assert [log.train_loss for log in other.history] != [log.train_loss for log in runs[0].history]


def test_divergence_is_recorded_not_raised() -> None:
    x = toy_data()
    result = train_autoencoder(config(lr=1e30, epochs=10), x[:200], x[200:], seed=0, progress=False)
    assert result.diverged
    assert result.epochs_run < 10
    assert not math.isfinite(result.history[-1].train_loss) or not math.isfinite(result.history[-1].val_loss)


def test_collapsed_network_stops_training_early() -> None:
    # At lr 0.3 this 3-unit ReLU code dies in the first epoch: every unit is zero for every input.
    x = toy_data()
    result = train_autoencoder(config(code_activation="relu", lr=0.3, epochs=30), x[:200], x[200:], seed=0,
                               progress=False)
    assert result.collapsed and not result.diverged
    assert result.epochs_run == COLLAPSED_EPOCHS
    assert evaluate(result.model, x).constant_output
    # A live network trains for every epoch asked for.
    alive = train_autoencoder(config(code_activation="relu", epochs=8), x[:200], x[200:], seed=0, progress=False)
    assert not alive.collapsed and alive.epochs_run == 8
    assert not evaluate(alive.model, x).constant_output


@pytest.mark.parametrize("dead_layer", ["encoder", "decoder"])
def test_any_dead_layer_makes_the_reconstruction_constant(dead_layer: str) -> None:
    # lr 0.1 kills a ReLU layer: in the encoder on MNIST, in the decoder on Fashion-MNIST, where the code
    # still varies but the reconstruction is the mean image for every input.
    torch.manual_seed(0)
    model = DenseAutoencoder(20, (16, 3, 16), "relu")
    x = toy_data()
    assert not evaluate(model, x).constant_output
    with torch.no_grad():
        getattr(model, dead_layer)[0].bias.fill_(-100.0)
    assert evaluate(model, x).constant_output
    if dead_layer == "decoder":
        assert not (model.encode(x) == model.encode(x)[:1]).all()


def test_stuck_network_is_flagged() -> None:
    x = toy_data()
    mean_mse = float(((x[200:] - x[:200].mean(0)) ** 2).mean())
    assert is_stuck(mean_mse * 1.01, x[:200], x[200:])
    assert not is_stuck(mean_mse * 0.5, x[:200], x[200:])


def test_save_and_load_round_trip(tmp_path) -> None:
    pixels = np.random.default_rng(0).integers(0, 256, (40, 20), dtype=np.uint8)
    fitted = AutoencoderFeatures(**asdict(config()), progress=False).fit(pixels)
    save_model(fitted, tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.autoencoder_config() == config() and loaded.n_features_in_ == 20
    assert np.array_equal(loaded.transform(pixels), fitted.transform(pixels))
