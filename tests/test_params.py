"""Param validation: every bad value is a one-line error naming the key."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from aestudy.errors import StudyError
from stages import params as P

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def with_variant(**changes) -> dict:
    params = copy.deepcopy(DEFAULTS)
    params["autoencoders"]["seed000"].update(changes)
    return params


def test_defaults_are_valid_and_reproduce_both_seeds() -> None:
    assert P.datasets(DEFAULTS) == ["mnist", "fashion-mnist"]
    names = P.variants(DEFAULTS)
    assert len(names) == 13 and names[0] == "seed000"
    seed000 = P.autoencoder_config(DEFAULTS, "seed000")
    assert (seed000.hidden, seed000.code_activation, seed000.loss, seed000.lr, seed000.batch_size,
            seed000.epochs, seed000.init) == ((144, 64, 144), "linear", "mse", 0.001, 64, 20, "torch")
    for width, hidden in ((32, (32, 16, 32)), (64, (64, 32, 16, 32, 64)), (128, (128, 64, 32, 64, 128))):
        for n in (1, 2, 3):
            cfg = P.autoencoder_config(DEFAULTS, f"h{width}-lr1e-{n}")
            assert (cfg.hidden, cfg.code_activation, cfg.loss, cfg.batch_size, cfg.epochs, cfg.betas, cfg.init) == (
                hidden, "relu", "bce", 256, 100, (0.9, 0.999), "glorot")
            assert cfg.lr == pytest.approx(10.0 ** -n)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hidden": []}, r"autoencoders.seed000.hidden must be a list of odd length"),
        ({"hidden": [144, 64]}, r"autoencoders.seed000.hidden must be a list of odd length"),
        ({"hidden": [144, 0, 144]}, r"autoencoders.seed000.hidden must be an integer >= 1"),
        ({"lr": 0}, r"autoencoders.seed000.lr must be a number > 0, got 0"),
        ({"lr": -0.1}, r"autoencoders.seed000.lr must be a number > 0"),
        ({"loss": "hinge"}, r"autoencoders.seed000.loss must be one of mse, bce, got 'hinge'"),
        ({"code_activation": "swish"}, r"autoencoders.seed000.code_activation must be one of linear, relu"),
        ({"epochs": 0}, r"autoencoders.seed000.epochs must be an integer in \[1, 100000\]"),
        ({"epochs": 10**12}, r"autoencoders.seed000.epochs must be an integer in \[1, 100000\], got 1000000000000"),
        ({"batch_size": 2.5}, r"autoencoders.seed000.batch_size must be an integer >= 1"),
        ({"betas": [0.9]}, r"autoencoders.seed000.betas must be two numbers in \[0, 1\)"),
        ({"dropout": 0.1}, r"autoencoders.seed000 has unknown key\(s\) dropout"),
        ({"init": "he"}, r"autoencoders.seed000.init must be one of torch, glorot, got 'he'"),
        # The families: each key checked, and each family's keys refused elsewhere.
        ({"arch": "cnn"}, r"autoencoders.seed000.arch must be one of dense, conv, got 'cnn'"),
        ({"arch": "conv"}, r"missing key 'autoencoders.seed000.channels'"),
        ({"arch": "conv", "channels": []}, r"autoencoders.seed000.channels must be a non-empty list"),
        ({"arch": "conv", "channels": [16, 0]}, r"autoencoders.seed000.channels must be an integer >= 1"),
        ({"channels": [16]}, r"autoencoders.seed000.channels belongs to the conv family; this variant is arch dense"),
        ({"objective": "contrastive"}, r"autoencoders.seed000.objective must be one of reconstruction, denoising"),
        ({"objective": "denoising", "noise_level": 0.3}, r"missing key 'autoencoders.seed000.noise'"),
        ({"objective": "denoising", "noise": "salt", "noise_level": 0.3},
         r"autoencoders.seed000.noise must be one of gaussian, masking, got 'salt'"),
        ({"objective": "denoising", "noise": "masking", "noise_level": 1.5},
         r"autoencoders.seed000.noise_level is a masking probability, it must be < 1"),
        ({"objective": "denoising", "noise": "gaussian", "noise_level": 0},
         r"autoencoders.seed000.noise_level must be a number > 0"),
        ({"noise_level": 0.3}, r"autoencoders.seed000.noise_level belongs to the denoising family"),
        ({"objective": "variational", "beta": -1}, r"autoencoders.seed000.beta must be a number > 0, got -1"),
        ({"beta": 1}, r"autoencoders.seed000.beta belongs to the variational family"),
        ({"objective": "variational", "code_activation": "relu"},
         r"autoencoders.seed000.code_activation must be linear for the variational objective"),
    ],
)
def test_bad_variant_names_the_key(changes: dict, message: str) -> None:
    with pytest.raises(StudyError, match=message):
        P.autoencoder_config(with_variant(**changes), "seed000")


def test_each_family_reads_its_own_keys() -> None:
    conv = P.autoencoder_config(with_variant(arch="conv", channels=[32, 64], hidden=[64]), "seed000")
    assert (conv.arch, conv.channels, conv.hidden, conv.objective) == ("conv", (32, 64), (64,), "reconstruction")
    dae = P.autoencoder_config(with_variant(objective="denoising", noise="gaussian", noise_level=0.2), "seed000")
    assert (dae.arch, dae.objective, dae.noise, dae.noise_level) == ("dense", "denoising", "gaussian", 0.2)
    vae = P.autoencoder_config(with_variant(arch="conv", channels=[8], objective="variational"), "seed000")
    assert (vae.objective, vae.beta, vae.family) == ("variational", 1.0, "conv 8 variational (beta 1)")


def test_variant_missing_from_autoencoders() -> None:
    params = {**DEFAULTS, "variants": ["seed000", "h256-lr1e-3"]}
    with pytest.raises(StudyError, match=r"variants names 'h256-lr1e-3', but autoencoders.h256-lr1e-3 is missing"):
        P.variants(params)


@pytest.mark.parametrize("name", ["h32-lr0.1", "x$(touch /tmp/PWNED)", "x | true", "/tmp/EVILVAR", "../up", "a\n",
                                  "", "x" * 65, 7, None])
def test_names_that_reach_paths_and_shells_are_refused(name) -> None:
    """Variant, dataset and declared names become stage names, file paths and command lines run by a shell."""
    params = copy.deepcopy(DEFAULTS)
    params["autoencoders"][name] = params["autoencoders"]["seed000"]
    params["variants"] = [name]
    message = r"the name .* must be 1 to 64 letters, digits, _ or -"
    with pytest.raises(StudyError, match=r"params.yaml: variants: " + message):
        P.variants(params)
    with pytest.raises(StudyError, match=r"params.yaml: autoencoders: " + message):
        P.all_variants(params)
    with pytest.raises(StudyError, match=r"params.yaml: datasets: " + message):
        P.datasets({**DEFAULTS, "datasets": [name]})
    with pytest.raises(StudyError, match=r"params.yaml: classifiers: " + message):
        P.declared({"classifiers": {name: {"_target_": "sklearn.svm.SVC"}}}, "classifiers")


@pytest.mark.parametrize(("changes", "message"), [
    ({"seed": [1]}, r"params.yaml: unknown top-level key\(s\) seed \(known: seeds, "),
    ({"train": {"val_fraction": 0.1, "device": "auto", "epochs": 3}}, r"params.yaml: train has unknown key\(s\) epochs"),
    ({"select": {"criterion": "knn1_val", "k": 3}}, r"params.yaml: select has unknown key\(s\) k"),
    ({"stats": {"resamples": 2000, "seed": 0, "level": 0.9}}, r"params.yaml: stats has unknown key\(s\) level"),
    ({"classify": {**DEFAULTS["classify"], "svm": {}}}, r"params.yaml: classify has unknown key\(s\) svm"),
    ({"classify": {**DEFAULTS["classify"], "ncc": {"shrink": 1}}}, r"params.yaml: classify.ncc has unknown key\(s\) shrink"),
])
def test_unknown_keys_anywhere_are_errors(changes: dict, message: str) -> None:
    P.check_known_keys(DEFAULTS)
    with pytest.raises(StudyError, match=message):
        P.check_known_keys({**DEFAULTS, **changes})


def test_a_model_batch_or_block_that_cannot_fit_is_refused_before_anything_is_allocated() -> None:
    huge = P.autoencoder_config(with_variant(hidden=[10**9, 64, 10**9]), "seed000")
    with pytest.raises(StudyError, match=r"params.yaml: autoencoders.seed000: training on mnist \(28x28 images\) "
                       r"with its hidden widths, channels and batch_size needs about \d+\.\d GiB, more than this "
                       r"machine's \d+\.\d GiB"):
        P.check_fits(huge, "seed000", "mnist", (28, 28))
    wide_batch = P.autoencoder_config(with_variant(batch_size=10**9), "seed000")
    with pytest.raises(StudyError, match=r"needs about"):
        P.check_fits(wide_batch, "seed000", "mnist", (28, 28))
    with pytest.raises(StudyError, match=r"params.yaml: classify.mlp: training on 784 features with its hidden widths "
                       r"and batch_size needs about \d+\.\d GiB"):
        P.check_mlp_fits({**P.mlp_settings(DEFAULTS), "hidden": (10**6, 10**6)}, 784)
    with pytest.raises(StudyError, match=r"params.yaml: classify.knn.block_size: a block of 1000000000 queries against "
                       r"54000 training rows needs about"):
        P.check_knn_block(10**9, 54000)
    P.check_mlp_fits(P.mlp_settings(DEFAULTS), 784)
    P.check_knn_block(P.knn_settings(DEFAULTS)[0], 60000)
    for variant in P.variants(DEFAULTS):  # every default variant fits, with room
        P.check_fits(P.autoencoder_config(DEFAULTS, variant), variant, "mnist", (28, 28))


def test_datasets_must_be_catalogue_entries() -> None:
    with pytest.raises(StudyError, match=r"params.yaml: datasets names 'cifar10', but dataset_catalogue.cifar10 is missing"):
        P.datasets({**DEFAULTS, "datasets": ["cifar10"]})
    with pytest.raises(StudyError, match=r"datasets: the name 'a/b' must be 1 to 64 letters"):
        P.datasets({**DEFAULTS, "datasets": ["a/b"]})
    # The default catalogue's entries are valid, and MNIST's checksums are the official files'.
    specs = {name: P.dataset_spec(DEFAULTS, name) for name in DEFAULTS["dataset_catalogue"]}
    assert {"mnist", "fashion-mnist", "digits"} <= set(specs)
    assert specs["mnist"].sha256["t10k-labels-idx1-ubyte"].startswith("ff7bcfd4")
    assert specs["fashion-mnist"].class_names[0] == "T-shirt/top" and specs["digits"].image_shape == (8, 8)


@pytest.mark.parametrize(("seeds", "message"), [
    ([], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[\]"),
    ([1, -2], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[1, -2\]"),
    ([1, "a"], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([1.5], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([True], r"seeds must be a non-empty list of integers in \[0, 4294967295\]"),
    ([2**32], r"seeds must be a non-empty list of integers in \[0, 4294967295\], got \[4294967296\]"),
    (7, r"seeds must be a non-empty list of integers in \[0, 4294967295\], got 7"),
    ([3, 1, 3], r"seeds lists a seed twice: \[3, 1, 3\]"),
])
def test_bad_seeds(seeds, message: str) -> None:
    with pytest.raises(StudyError, match=r"params.yaml: " + message):
        P.seeds({"seeds": seeds})


def test_seed_of_must_be_listed() -> None:
    assert P.seed_of({"seeds": [42, 0]}, 0) == 0
    with pytest.raises(StudyError, match=r"--seed 5 is not one of the seeds in params.yaml \(\[42, 0\]\)"):
        P.seed_of({"seeds": [42, 0]}, 5)


def test_classifier_and_stats_settings() -> None:
    assert P.knn_settings(DEFAULTS) == (1024, "auto")
    mlp = P.mlp_settings(DEFAULTS)
    assert mlp["val_fraction"] == DEFAULTS["train"]["val_fraction"] and mlp["precision"] in ("fp32", "bf16")
    assert P.stats_settings(DEFAULTS) == (2000, 0)
    with pytest.raises(StudyError, match=r"stats.resamples must be an integer >= 2000, got 500"):
        P.stats_settings({"stats": {"resamples": 500, "seed": 0}})
    with pytest.raises(StudyError, match=r"classify.knn has unknown key\(s\) k"):
        P.knn_settings({"classify": {"knn": {"block_size": 8, "device": "cpu", "k": 3}}})
    with pytest.raises(StudyError, match=r"classify.mlp.precision must be one of fp32, bf16, got 'fp16'"):
        P.mlp_settings({**DEFAULTS, "classify": {"mlp": {**DEFAULTS["classify"]["mlp"], "precision": "fp16"}}})


def test_missing_key_and_bad_choices() -> None:
    with pytest.raises(StudyError, match=r"missing key 'seeds'"):
        P.seeds({})
    with pytest.raises(StudyError, match=r"select.criterion must be one of knn1_val, val_mse"):
        P.selection_criterion({"select": {"criterion": "test_accuracy"}})
    with pytest.raises(StudyError, match=r"train.device must be auto, cpu or cuda"):
        P.device({"train": {"device": "tpu"}}, "train.device")
    with pytest.raises(StudyError, match=r"classify.mlp.dropout must be a number in \[0, 1\)"):
        P.mlp_settings({"classify": {"mlp": {**DEFAULTS["classify"]["mlp"], "dropout": 1.5}}})


def test_bad_yaml_file(tmp_path: Path) -> None:
    bad = tmp_path / "params.yaml"
    bad.write_text("seed: [1\n")
    with pytest.raises(StudyError, match=r"params.yaml: not valid YAML"):
        P.load_params(bad)
