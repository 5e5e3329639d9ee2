"""The autoencoder families and their one training loop: shapes, losses, checkpointing, determinism, divergence."""

from __future__ import annotations

import math
import subprocess
import sys
from dataclasses import asdict

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from torch import nn

from aestudy.core.errors import StudyError
from aestudy.data.datasets import train_val_split
from aestudy.models.autoencoder import AutoencoderFeatures, load_model, save_model
from aestudy.models.config import AutoencoderConfig
from aestudy.models.networks import ConvAutoencoder, DenseAutoencoder, build_model
from aestudy.models.objectives import corrupt, evaluate, kl_to_standard_normal, reconstruction_loss, training_loss
from aestudy.models.training import COLLAPSED_EPOCHS, is_stuck, train_autoencoder
from tests.conftest import ROOT


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


def test_torchs_pages_are_faulted_in_before_the_first_computation() -> None:
    """In a fresh process, once a device is resolved, ``log1p`` runs as fast as a vectorised ``exp`` would let it
    (torch 2.14.1's AVX-512 kernel ran 10x slower while its constant's page was not mapped in)."""
    script = """
import time, torch
from aestudy.core.runtime import fault_in_torch_pages, resolve_device
torch.set_num_threads(1)
x = torch.rand(256, 784)
resolve_device("cpu")
def best(f):
    times = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(20):
            f(x)
        times.append(time.perf_counter() - start)
    return min(times)
print(fault_in_torch_pages(), best(torch.log1p) / best(torch.exp))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True)
    spanned, ratio = out.stdout.split()
    assert int(spanned) > 0 if sys.platform.startswith("linux") else int(spanned) == 0
    assert float(ratio) < 4, out.stdout


def test_training_reduces_loss_and_keeps_best_epoch() -> None:
    x = toy_data()
    result = train_autoencoder(config(epochs=15), x[:200], x[200:], seed=0, progress=False)
    losses = [log["val_loss"] for log in result.history]
    assert losses[-1] < losses[0] / 2
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert evaluate(result.model, x[200:]).losses["mse"] == pytest.approx(min(losses), rel=1e-5)


def test_best_epoch_checkpoint_is_kept_when_later_epochs_get_worse() -> None:
    # A learning rate this large makes validation loss jump around: the weights kept are the best epoch's.
    x = toy_data()
    result = train_autoencoder(config(lr=0.3, epochs=12), x[:200], x[200:], seed=1, progress=False)
    losses = [log["val_loss"] for log in result.history if math.isfinite(log["val_loss"])]
    kept = evaluate(result.model, x[200:]).losses["mse"]
    assert kept == pytest.approx(min(losses), rel=1e-5)
    assert result.best_epoch < result.epochs_run or losses[-1] == min(losses)


def test_determinism_same_seed_same_losses() -> None:
    x = toy_data()
    runs = [train_autoencoder(config(), x[:200], x[200:], seed=7, progress=False) for _ in range(2)]
    assert [log["train_loss"] for log in runs[0].history] == [log["train_loss"] for log in runs[1].history]
    assert [log["val_loss"] for log in runs[0].history] == [log["val_loss"] for log in runs[1].history]
    other = train_autoencoder(config(), x[:200], x[200:], seed=8, progress=False)
    assert [log["train_loss"] for log in other.history] != [log["train_loss"] for log in runs[0].history]


def test_divergence_is_recorded_not_raised() -> None:
    x = toy_data()
    result = train_autoencoder(config(lr=1e30, epochs=10), x[:200], x[200:], seed=0, progress=False)
    assert result.diverged
    assert result.epochs_run < 10
    assert not math.isfinite(result.history[-1]["train_loss"]) or not math.isfinite(result.history[-1]["val_loss"])


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
    # The rows training held out travel with the weights: the train and codes stages read them, never a setting.
    fit_rows, held_out = loaded.validation_split()
    expected = train_val_split(40, fitted.val_fraction, fitted.random_state)
    assert np.array_equal(fit_rows, expected[0]) and np.array_equal(held_out, expected[1]) and len(held_out) == 4
    assert [r.tolist() for r in fitted.validation_split()] == [fit_rows.tolist(), held_out.tolist()]
    with pytest.raises(NotFittedError):
        AutoencoderFeatures().validation_split()


# The families, each on digits' 8x8 shape and on generated 28x28 images: (config overrides, image shape).
FAMILIES = {
    "conv": {"arch": "conv", "channels": (4, 8), "hidden": (6,)},
    "conv-deep-code": {"arch": "conv", "channels": (4,), "hidden": (16, 6, 16)},
    "denoising-masking": {"objective": "denoising", "noise": "masking", "noise_level": 0.3},
    "denoising-gaussian": {"arch": "conv", "channels": (4,), "hidden": (6,), "objective": "denoising",
                           "noise": "gaussian", "noise_level": 0.2},
    "variational": {"objective": "variational", "loss": "bce", "beta": 0.5},
    "conv-variational": {"arch": "conv", "channels": (4, 8), "hidden": (6,), "objective": "variational"},
}
SHAPES = [(8, 8), (28, 28), (7, 9)]  # digits, MNIST, and odd sides the transposed convolutions must give back


def images(shape: tuple[int, int], n: int = 120, seed: int = 0) -> np.ndarray:
    """uint8 rows of blurred random blobs: structure a small autoencoder can learn something from."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1, (n, 2, 1, 1)) * np.array(shape).reshape(1, 2, 1, 1)
    rows, cols = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    blob = np.exp(-((rows - centres[:, 0]) ** 2 + (cols - centres[:, 1]) ** 2) / 4)
    return (255 * blob).astype(np.uint8).reshape(n, -1)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_gives_codes_and_reconstructions_of_the_right_shape(family: str, shape: tuple) -> None:
    cfg = config(**{"hidden": (16, 6, 16), **FAMILIES[family]})
    model = build_model(cfg, shape[0] * shape[1], shape)
    x = torch.rand(5, shape[0] * shape[1])
    assert model.encode(x).shape == (5, 6) and model(x).shape == x.shape
    if cfg.variational:
        mean, log_var = model.posterior(x)
        assert torch.equal(model.encode(x), mean) and log_var.shape == (5, 6)
    fitted = AutoencoderFeatures(**asdict(cfg) | {"epochs": 2}, image_shape=shape, progress=False).fit(images(shape))
    assert fitted.transform(images(shape, 7)).shape == (7, 6) and fitted.epochs_run_ == 2


def test_conv_layers_mirror_the_encoder() -> None:
    model = ConvAutoencoder((28, 28), (16, 32), (64,), "linear")
    convs = [m for m in model.encoder if isinstance(m, nn.Conv2d)]
    deconvs = [m for m in model.decoder if isinstance(m, nn.ConvTranspose2d)]
    assert [(c.in_channels, c.out_channels, c.stride) for c in convs] == [(1, 16, (2, 2)), (16, 32, (2, 2))]
    assert [(c.in_channels, c.out_channels) for c in deconvs] == [(32, 16), (16, 1)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(32 * 7 * 7, 64), (64, 32 * 7 * 7)]


def test_conv_needs_an_image_shape_that_fits_the_rows() -> None:
    with pytest.raises(StudyError, match=r"image_shape must be \(height, width\) or \(channels, height, width\), "
                                         r"their product 64"):
        AutoencoderFeatures(arch="conv", channels=(4,), hidden=(6,), image_shape=(4, 4), progress=False).fit(
            images((8, 8)))
    with pytest.raises(StudyError, match="image_shape is needed for arch='conv'"):
        AutoencoderFeatures(arch="conv", channels=(4,), hidden=(6,), progress=False).fit(images((7, 9)))
    # Square rows need none.
    AutoencoderFeatures(arch="conv", channels=(4,), hidden=(6,), epochs=1, progress=False).fit(images((8, 8)))


def test_colour_images_take_one_input_plane_a_channel() -> None:
    """(channels, height, width): the conv net's first convolution takes the 3 planes and its last transposed one
    gives them back; rows of 3 x 8 x 6 values go in and come out; a dense net just sees the rows."""
    model = ConvAutoencoder((3, 8, 6), (4, 8), (6,), "linear")
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    deconvs = [m for m in model.modules() if isinstance(m, nn.ConvTranspose2d)]
    assert convs[0].in_channels == 3 and deconvs[-1].out_channels == 3
    rows = torch.rand(5, 3 * 8 * 6)
    assert model(rows).shape == (5, 144)
    # Channel by channel: the first 48 values of a row are its first plane.
    assert torch.equal(model.encoder[0](rows)[:, 0].reshape(5, -1), rows[:, :48])
    colour = np.tile(images((8, 6)), 3)  # three planes of blobs, one row an image
    fitted = AutoencoderFeatures(arch="conv", channels=(4,), hidden=(6,), image_shape=(3, 8, 6), epochs=1,
                                 progress=False).fit(colour)
    assert fitted.transform(colour).shape == (120, 6) and fitted.image_shape_ == (3, 8, 6)


def test_denoising_corrupts_only_the_inputs() -> None:
    cfg = config(objective="denoising", noise="masking", noise_level=0.5)
    torch.manual_seed(0)
    model = build_model(cfg, 20)
    x = toy_data(n=64)
    seen = []
    model.encoder[0].register_forward_hook(lambda module, args, out: seen.append(args[0]))
    loss = training_loss(model, x, cfg, torch.Generator().manual_seed(0))
    (inputs,) = seen
    masked = inputs == 0
    assert 0.4 < float(masked.float().mean()) < 0.6 and torch.equal(inputs[~masked], x[~masked])
    # The target is the clean batch: the loss is that of the corrupted input's reconstruction against x.
    assert torch.equal(loss, reconstruction_loss(model(inputs), x, "mse"))
    assert not torch.equal(loss, reconstruction_loss(model(x), x, "mse"))
    gaussian = corrupt(x, "gaussian", 0.2, torch.Generator().manual_seed(0))
    assert gaussian.min() >= 0 and gaussian.max() <= 1 and not torch.equal(gaussian, x)


def test_gaussian_noise_is_torchvisions_drawn_from_the_noise_generator() -> None:
    """torchvision's gaussian_noise, drawn from the generator the loop passes: batch after batch, bit for bit the
    hand-written x + level * randn it replaced; torch's default generator is left as it was."""
    x = toy_data(n=64)
    ours, by_hand = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    torch.manual_seed(11)
    default = torch.get_rng_state()
    for _ in range(3):
        expected = (x + 0.3 * torch.randn(x.shape, generator=by_hand)).clamp_(0, 1)
        assert torch.equal(corrupt(x, "gaussian", 0.3, ours).view(torch.int32), expected.view(torch.int32))
    assert torch.equal(torch.get_rng_state(), default)


def test_kl_term_matches_its_closed_form_and_the_loss_weights_it_by_beta() -> None:
    g = torch.Generator().manual_seed(0)
    mean, log_var = torch.randn(16, 5, generator=g), torch.randn(16, 5, generator=g)
    normal = torch.distributions.Normal(mean, (0.5 * log_var).exp())
    expected = torch.distributions.kl_divergence(normal, torch.distributions.Normal(0.0, 1.0)).sum(dim=1)
    assert torch.allclose(kl_to_standard_normal(mean, log_var), expected, atol=1e-5)
    assert torch.equal(kl_to_standard_normal(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
    # The loss: reconstruction of a posterior sample plus beta * KL per pixel, the sample drawn from the generator.
    x = toy_data(n=32)
    losses = {}
    for beta in (0.0, 1.0, 4.0):
        cfg = config(objective="variational", beta=beta)
        torch.manual_seed(0)
        model = build_model(cfg, 20)
        losses[beta] = float(training_loss(model, x, cfg, torch.Generator().manual_seed(1)).detach())
        if beta == 1.0:
            kl = float(kl_to_standard_normal(*model.posterior(x)).mean().detach())
    assert losses[1.0] - losses[0.0] == pytest.approx(kl / 20, rel=1e-4)
    assert losses[4.0] - losses[0.0] == pytest.approx(4 * kl / 20, rel=1e-4)


@pytest.mark.parametrize("family", ["conv", "denoising-gaussian", "conv-variational"])
def test_every_family_is_deterministic_and_round_trips_its_checkpoint(family: str, tmp_path) -> None:
    settings = {"hidden": (16, 6, 16), **FAMILIES[family], "epochs": 3, "lr": 0.01, "random_state": 3,
                "image_shape": (8, 8), "progress": False}
    pixels = images((8, 8))
    runs = [AutoencoderFeatures(**settings).fit(pixels) for _ in range(2)]
    assert [log["train_loss"] for log in runs[0].history_] == [log["train_loss"] for log in runs[1].history_]
    assert np.array_equal(runs[0].transform(pixels), runs[1].transform(pixels))
    other = AutoencoderFeatures(**settings | {"random_state": 4}).fit(pixels)
    assert [log["train_loss"] for log in other.history_] != [log["train_loss"] for log in runs[0].history_]
    save_model(runs[0], tmp_path / "m.pt")
    loaded = load_model(tmp_path / "m.pt")
    assert loaded.autoencoder_config() == runs[0].autoencoder_config() and loaded.image_shape_ == (8, 8)
    assert type(loaded.model_) is type(runs[0].model_)
    assert np.array_equal(loaded.transform(pixels), runs[0].transform(pixels))


def test_variational_best_epoch_minimises_the_validation_objective() -> None:
    x = toy_data()
    cfg = config(objective="variational", epochs=8)
    result = train_autoencoder(cfg, x[:200], x[200:], seed=0, progress=False)
    losses = [log["val_loss"] for log in result.history]
    assert result.best_epoch == 1 + losses.index(min(losses))
    assert evaluate(result.model, x[200:], ("mse",)).objective(cfg, 20) == pytest.approx(min(losses), rel=1e-5)


def test_a_checkpoint_of_the_wrong_structure_is_one_error(tmp_path) -> None:
    torch.save({"weights": torch.zeros(3)}, tmp_path / "odd.pt")
    with pytest.raises(StudyError, match=r"odd.pt: not a saved autoencoder of this study \(KeyError"):
        load_model(tmp_path / "odd.pt")
