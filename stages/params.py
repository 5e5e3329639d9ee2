"""``params.yaml`` read and validated at the stage boundary, into typed configs.

Stage modules call these; library modules take the resulting dataclasses and never read the file. Every
error names the param key and what is wrong with it. The model configs are imported where they are built,
so that a stage which reads only the lists (datasets, variants, seeds) does not load torch.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aestudy.atomic import read_yaml
from aestudy.autoencoder_config import (
    ACTIVATIONS,
    ARCHS,
    INITS,
    LOSSES,
    NOISES,
    OBJECTIVES,
    AutoencoderConfig,
    dense_sizes,
    footprint_bytes,
    training_bytes,
)
from aestudy.datasets import DatasetSpec, parse_spec
from aestudy.errors import StudyError
from aestudy.study import RESERVED_NAMES, Design, check_name

SELECTION_CRITERIA = ("knn1_val", "val_mse")
MAX_SEED = 2**32 - 1
# An epoch of the smallest variant on MNIST takes about a second here: 10^5 epochs is more than a day.
MAX_EPOCHS = 100_000
# Every key params.yaml may hold, by section (a section given as None holds names the study defines: the
# catalogue's datasets, the autoencoders, the declared estimators, each checked by its own function).
KNOWN_KEYS: dict[str, set[str] | None] = {
    "seeds": None, "datasets": None, "variants": None, "dataset_catalogue": None, "autoencoders": None,
    "features": None, "classifiers": None,
    "train": {"val_fraction", "device"},
    "select": {"criterion"},
    "classify": {"knn", "ncc", "linear", "mlp", "label_budgets"},
    "stats": {"resamples", "seed"},
}
MIN_RESAMPLES = 2000
# Label draws per budget: each is a fit per classifier and budget; 1000 of them is hours of MLP fits.
MAX_DRAWS = 1000
MAX_IMAGES = 10**6  # what a dataset may hold (aestudy.sources): no budget asks for more labels per class
DECLARED_KINDS = ("features", "classifiers")


def load_params(path: Path) -> dict[str, Any]:
    params = read_yaml(path)
    if not isinstance(params, dict):
        raise StudyError(f"{path}: expected a mapping of params at the top level")
    return params


def require(params: Mapping[str, Any], key: str) -> Any:
    """``params[a][b]...`` for the dotted ``key``; a missing key is an error naming it."""
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise StudyError(f"params.yaml: missing key {key!r}")
        node = node[part]
    return node


def as_int(value: Any, key: str, minimum: int = 1, maximum: int | None = None) -> int:
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise StudyError(f"params.yaml: {key} must be an integer {bound}, got {value!r}")
    return value


def as_positive_float(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise StudyError(f"params.yaml: {key} must be a number > 0, got {value!r}")
    return float(value)


def as_choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise StudyError(f"params.yaml: {key} must be one of {', '.join(choices)}, got {value!r}")
    return value


def as_name_list(value: Any, key: str) -> list[str]:
    if not isinstance(value, list) or not value:
        raise StudyError(f"params.yaml: {key} must be a non-empty list of names, got {value!r}")
    for name in value:
        check_name(name, f"params.yaml: {key}")
    if len(set(value)) != len(value):
        raise StudyError(f"params.yaml: {key} lists a name twice: {value!r}")
    return value


def seeds(params: Mapping[str, Any]) -> list[int]:
    """The replicate seeds: a non-empty list of distinct integers in [0, 2^32 - 1], the range every generator
    the study seeds (numpy's, torch's) takes (DVC would silently merge duplicates)."""
    value = require(params, "seeds")
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value)):
        raise StudyError(f"params.yaml: seeds must be a non-empty list of integers in [0, {MAX_SEED}], got {value!r}")
    if len(set(value)) != len(value):
        raise StudyError(f"params.yaml: seeds lists a seed twice: {value!r}")
    return value


def seed_of(params: Mapping[str, Any], seed: int | None) -> int:
    """A stage's ``--seed``, which must be one of the seeds param."""
    listed = seeds(params)
    if seed not in listed:
        raise StudyError(f"--seed {seed} is not one of the seeds in params.yaml ({listed})")
    return seed


def datasets(params: Mapping[str, Any]) -> list[str]:
    """The active datasets: names of entries of ``dataset_catalogue``."""
    names = as_name_list(require(params, "datasets"), "datasets")
    catalogue = require(params, "dataset_catalogue")
    for name in names:
        if not isinstance(catalogue, Mapping) or name not in catalogue:
            raise StudyError(f"params.yaml: datasets names {name!r}, but dataset_catalogue.{name} is missing")
    return names


def dataset_spec(params: Mapping[str, Any], name: str) -> DatasetSpec:
    """``dataset_catalogue.<name>``, checked."""
    check_name(name, "params.yaml: dataset_catalogue")
    return parse_spec(name, require(params, f"dataset_catalogue.{name}"), f"params.yaml: dataset_catalogue.{name}")


def variants(params: Mapping[str, Any]) -> list[str]:
    names = as_name_list(require(params, "variants"), "variants")
    specs = require(params, "autoencoders")
    for name in names:
        if not isinstance(specs, Mapping) or name not in specs:
            raise StudyError(f"params.yaml: variants names {name!r}, but autoencoders.{name} is missing")
    return names


def check_known_keys(params: Mapping[str, Any]) -> None:
    """Every top-level key and every key of the fixed sections is one the study reads: a typo such as
    ``seed: [1]`` would otherwise leave the real key's value in force, silently."""
    unknown = sorted(map(str, set(params) - set(KNOWN_KEYS)))
    if unknown:
        raise StudyError(f"params.yaml: unknown top-level key(s) {', '.join(unknown)} (known: "
                         f"{', '.join(KNOWN_KEYS)})")
    for section, keys in KNOWN_KEYS.items():
        if keys is not None:
            check_keys(params, section, keys)
    check_keys(params, "classify.ncc", set())


def all_variants(params: Mapping[str, Any]) -> list[str]:
    """Every entry of ``autoencoders``, active or not, by its checked name."""
    specs = require(params, "autoencoders")
    if not isinstance(specs, Mapping):
        raise StudyError(f"params.yaml: autoencoders must be a mapping of variant names to settings, got {specs!r}")
    return [check_name(name, "params.yaml: autoencoders") for name in specs]


def catalogue_names(params: Mapping[str, Any]) -> list[str]:
    """Every entry of ``dataset_catalogue``, active or not, by its checked name."""
    catalogue = require(params, "dataset_catalogue")
    if not isinstance(catalogue, Mapping):
        raise StudyError(f"params.yaml: dataset_catalogue must be a mapping of dataset names to entries, got "
                         f"{catalogue!r}")
    return [check_name(name, "params.yaml: dataset_catalogue") for name in catalogue]


def check_keys(params: Mapping[str, Any], key: str, known: set[str]) -> Mapping[str, Any]:
    section = require(params, key)
    if not isinstance(section, Mapping):
        raise StudyError(f"params.yaml: {key} must be a mapping, got {section!r}")
    unknown = sorted(set(section) - known)
    if unknown:
        raise StudyError(f"params.yaml: {key} has unknown key(s) {', '.join(unknown)}")
    return section


# The keys every variant may set, and those each architecture and objective adds.
AUTOENCODER_KEYS = {"hidden", "code_activation", "loss", "lr", "batch_size", "epochs", "betas", "init", "arch",
                    "objective"}
FAMILY_KEYS = {"conv": {"channels"}, "denoising": {"noise", "noise_level"}, "variational": {"beta"}}


def autoencoder_config(params: Mapping[str, Any], variant: str) -> AutoencoderConfig:
    key = f"autoencoders.{variant}"
    spec = require(params, key)
    if not isinstance(spec, Mapping):
        raise StudyError(f"params.yaml: {key} must be a mapping, got {spec!r}")
    arch = as_choice(spec.get("arch", "dense"), f"{key}.arch", ARCHS)
    objective = as_choice(spec.get("objective", "reconstruction"), f"{key}.objective", OBJECTIVES)
    extra = set(spec) - AUTOENCODER_KEYS - FAMILY_KEYS.get(arch, set()) - FAMILY_KEYS.get(objective, set())
    for family, keys in FAMILY_KEYS.items():
        for name in sorted(extra & keys):
            raise StudyError(f"params.yaml: {key}.{name} belongs to the {family} family; this variant is arch "
                             f"{arch}, objective {objective}")
    if extra:
        raise StudyError(f"params.yaml: {key} has unknown key(s) {', '.join(sorted(extra))}")
    hidden = require(params, f"{key}.hidden")
    if not isinstance(hidden, list) or not hidden or len(hidden) % 2 == 0:
        raise StudyError(
            f"params.yaml: {key}.hidden must be a list of odd length (the middle entry is the code), got {hidden!r}"
        )
    widths = tuple(as_int(h, f"{key}.hidden") for h in hidden)
    betas = spec.get("betas", [0.9, 0.999])
    if (
        not isinstance(betas, list)
        or len(betas) != 2
        or not all(isinstance(b, (int, float)) and not isinstance(b, bool) and 0 <= b < 1 for b in betas)
    ):
        raise StudyError(f"params.yaml: {key}.betas must be two numbers in [0, 1), got {betas!r}")
    family: dict[str, Any] = {}
    if arch == "conv":
        channels = require(params, f"{key}.channels")
        if not isinstance(channels, list) or not channels:
            raise StudyError(f"params.yaml: {key}.channels must be a non-empty list of the convolutions' widths, "
                             f"got {channels!r}")
        family["channels"] = tuple(as_int(c, f"{key}.channels") for c in channels)
    if objective == "denoising":
        family["noise"] = as_choice(require(params, f"{key}.noise"), f"{key}.noise", NOISES)
        family["noise_level"] = as_positive_float(require(params, f"{key}.noise_level"), f"{key}.noise_level")
        if family["noise"] == "masking" and family["noise_level"] >= 1:
            raise StudyError(f"params.yaml: {key}.noise_level is a masking probability, it must be < 1, "
                             f"got {family['noise_level']!r}")
    if objective == "variational":
        family["beta"] = as_positive_float(spec.get("beta", 1.0), f"{key}.beta")
    code_activation = as_choice(require(params, f"{key}.code_activation"), f"{key}.code_activation", ACTIVATIONS)
    if objective == "variational" and code_activation != "linear":
        raise StudyError(f"params.yaml: {key}.code_activation must be linear for the variational objective (the "
                         f"code is the posterior mean), got {code_activation!r}")
    return AutoencoderConfig(
        hidden=widths,
        code_activation=code_activation,
        loss=as_choice(require(params, f"{key}.loss"), f"{key}.loss", LOSSES),
        lr=as_positive_float(require(params, f"{key}.lr"), f"{key}.lr"),
        batch_size=as_int(require(params, f"{key}.batch_size"), f"{key}.batch_size"),
        epochs=as_int(require(params, f"{key}.epochs"), f"{key}.epochs", maximum=MAX_EPOCHS),
        betas=(float(betas[0]), float(betas[1])),
        init=as_choice(spec.get("init", "torch"), f"{key}.init", INITS),
        arch=arch,
        objective=objective,
        **family,
    )


def memory_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(need: int, what: str) -> None:
    """Refuse, before anything is allocated, work that needs more than this machine's memory."""
    have = memory_bytes()
    if need > have:
        raise StudyError(f"params.yaml: {what} needs about {need / 2**30:.1f} GiB, more than this machine's "
                         f"{have / 2**30:.1f} GiB")


def check_fits(config: AutoencoderConfig, variant: str, dataset: str, image_shape: tuple[int, int]) -> None:
    """A variant whose training cannot fit in memory, refused before torch allocates anything."""
    check_memory(training_bytes(config, image_shape),
                 f"autoencoders.{variant}: training on {dataset} ({image_shape[0]}x{image_shape[1]} images) with its "
                 "hidden widths, channels and batch_size")


def check_mlp_fits(settings: Mapping[str, Any], n_features: int) -> None:
    """``classify.mlp`` (from ``mlp_settings``) on ``n_features`` inputs, refused when it cannot fit."""
    weights, values = dense_sizes((n_features, *settings["hidden"], 1))
    check_memory(footprint_bytes(weights, n_features + values, settings["batch_size"]),
                 f"classify.mlp: training on {n_features} features with its hidden widths and batch_size")


def check_knn_block(block_size: int, n_rows: int) -> None:
    """``classify.knn.block_size`` queries against ``n_rows`` training rows: the search holds a float32 block of
    distances and about as much again for its chunk minima and gathers."""
    check_memory(2 * 4 * block_size * n_rows,
                 f"classify.knn.block_size: a block of {block_size} queries against {n_rows} training rows")


def val_fraction(params: Mapping[str, Any]) -> float:
    value = require(params, "train.val_fraction")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise StudyError(f"params.yaml: train.val_fraction must be a number in (0, 1), got {value!r}")
    return float(value)


def device(params: Mapping[str, Any], key: str) -> str:
    value = require(params, key)
    if not isinstance(value, str) or not (value in ("auto", "cpu") or value.startswith("cuda")):
        raise StudyError(f"params.yaml: {key} must be auto, cpu or cuda[:N], got {value!r}")
    return value


def selection_criterion(params: Mapping[str, Any]) -> str:
    return as_choice(require(params, "select.criterion"), "select.criterion", SELECTION_CRITERIA)


def knn_settings(params: Mapping[str, Any]) -> tuple[int, str]:
    """``classify.knn``: the exact search's queries per block and its device."""
    check_keys(params, "classify.knn", {"block_size", "device"})
    return (as_int(require(params, "classify.knn.block_size"), "classify.knn.block_size"),
            device(params, "classify.knn.device"))


def mlp_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """``MLPClassifier``'s keyword arguments from ``classify.mlp`` (less its device) and ``train.val_fraction``."""
    from aestudy.mlp import PRECISIONS

    key = "classify.mlp"
    check_keys(params, key, {"hidden", "epochs", "lr", "batch_size", "patience", "min_steps", "dropout",
                             "input_noise", "precision", "device"})
    hidden = require(params, f"{key}.hidden")
    if not isinstance(hidden, list) or not hidden:
        raise StudyError(f"params.yaml: {key}.hidden must be a non-empty list of widths, got {hidden!r}")
    dropout = require(params, f"{key}.dropout")
    if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
        raise StudyError(f"params.yaml: {key}.dropout must be a number in [0, 1), got {dropout!r}")
    noise = require(params, f"{key}.input_noise")
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0 <= noise < math.inf:
        raise StudyError(f"params.yaml: {key}.input_noise must be a number >= 0, got {noise!r}")
    return {
        "hidden": tuple(as_int(h, f"{key}.hidden") for h in hidden),
        "epochs": as_int(require(params, f"{key}.epochs"), f"{key}.epochs", maximum=MAX_EPOCHS),
        "lr": as_positive_float(require(params, f"{key}.lr"), f"{key}.lr"),
        "batch_size": as_int(require(params, f"{key}.batch_size"), f"{key}.batch_size"),
        "patience": as_int(require(params, f"{key}.patience"), f"{key}.patience"),
        "min_steps": as_int(require(params, f"{key}.min_steps"), f"{key}.min_steps", minimum=0, maximum=10**7),
        "dropout": float(dropout),
        "input_noise": float(noise),
        "val_fraction": val_fraction(params),
        "precision": as_choice(require(params, f"{key}.precision"), f"{key}.precision", PRECISIONS),
    }


def linear_settings(params: Mapping[str, Any]) -> dict[str, Any]:
    """``LinearProbeClassifier``'s keyword arguments from ``classify.linear``."""
    key = "classify.linear"
    check_keys(params, key, {"C", "max_iter", "tol"})
    return {"C": as_positive_float(require(params, f"{key}.C"), f"{key}.C"),
            "max_iter": as_int(require(params, f"{key}.max_iter"), f"{key}.max_iter", maximum=MAX_EPOCHS),
            "tol": as_positive_float(require(params, f"{key}.tol"), f"{key}.tol")}


def label_budgets(params: Mapping[str, Any]) -> tuple[list[int], bool]:
    """``classify.label_budgets.labels_per_class``: the budgets in labels per class, increasing, and whether the
    list ends with ``all`` (every training label: the full-label tables, which the curves then end on)."""
    from aestudy.budgets import ALL

    key = "classify.label_budgets.labels_per_class"
    check_keys(params, "classify.label_budgets", {"labels_per_class", "draws", "mlp_draws"})
    value = require(params, key)
    if not isinstance(value, list) or not value:
        raise StudyError(f"params.yaml: {key} must be a non-empty list of labels per class (and `{ALL}` last), "
                         f"got {value!r}")
    with_all = value[-1] == ALL
    budgets = [as_int(k, key, maximum=MAX_IMAGES) for k in (value[:-1] if with_all else value)]
    if any(a >= b for a, b in itertools.pairwise(budgets)):
        raise StudyError(f"params.yaml: {key} must increase, got {value!r}")
    return budgets, with_all


def label_draws(params: Mapping[str, Any], which: str = "draws") -> int:
    """``classify.label_budgets.draws`` (labelled sets per budget and seed, for k-NN, the centroid and the linear
    probe) or ``mlp_draws`` (the MLP's: the first of those sets, at most ``draws``)."""
    check_keys(params, "classify.label_budgets", {"labels_per_class", "draws", "mlp_draws"})
    draws = as_int(require(params, "classify.label_budgets.draws"), "classify.label_budgets.draws",
                   maximum=MAX_DRAWS)
    if which == "draws":
        return draws
    return as_int(require(params, "classify.label_budgets.mlp_draws"), "classify.label_budgets.mlp_draws",
                  maximum=draws)


def stats_settings(params: Mapping[str, Any]) -> tuple[int, int]:
    """``stats``: bootstrap resamples (at least MIN_RESAMPLES) and the bootstrap's seed."""
    check_keys(params, "stats", {"resamples", "seed"})
    return (as_int(require(params, "stats.resamples"), "stats.resamples", minimum=MIN_RESAMPLES),
            as_int(require(params, "stats.seed"), "stats.seed", minimum=0))


def declared(params: Mapping[str, Any], kind: str) -> dict[str, Any]:
    """The declared feature sets or classifiers (``kind``), by name: a mapping of name -> declaration, or
    nothing. Names are letters, digits, ``_`` and ``-`` (at most 64) and not a built-in's name."""
    section = params.get(kind)
    if section is None:
        return {}
    if not isinstance(section, Mapping):
        raise StudyError(f"params.yaml: {kind} must be a mapping of names to declarations, got {section!r}")
    for name in section:
        check_name(name, f"params.yaml: {kind}")
        if name in RESERVED_NAMES:
            raise StudyError(f"params.yaml: {kind}: {name!r} is a built-in name ({', '.join(sorted(RESERVED_NAMES))})")
    return dict(section)


def design(params: Mapping[str, Any]) -> Design:
    """The study's feature sets and classifiers: the built-ins and the declared ones."""
    return Design(tuple(declared(params, "features")), tuple(declared(params, "classifiers")))


def check_combination(params: Mapping[str, Any], features: str, classifier: str | None = None) -> None:
    """A stage's ``--features`` (and ``--classifier``) must be among the design's, built-in or declared."""
    study = design(params)
    if features not in study.features:
        raise StudyError(f"--features {features}: expected one of {', '.join(study.features)}")
    if classifier is not None and classifier not in study.classifiers:
        raise StudyError(f"--classifier {classifier}: expected one of {', '.join(study.classifiers)}")


def declared_estimator(params: Mapping[str, Any], kind: str, name: str) -> Any:
    """A new estimator from the declaration ``<kind>.<name>``."""
    from aestudy.catalogue import build

    specs = declared(params, kind)
    if name not in specs:
        raise StudyError(f"params.yaml: {kind}.{name} is not declared")
    return build(specs[name], f"params.yaml: {kind}.{name}", kind)
