"""The study's configuration read at the stage boundary: ``params.yaml``'s structure and its study-level values.

This module knows the file's structure: which keys exist, which sections hold what and which names the lists
use. Every rule on a value lives where the value is used: an estimator's own constraints (checked when
``validate`` builds the entry, ``study.catalogue``), the dataset spec (``aestudy.data.datasets``), or the
few study-level values below (seeds, budgets, resamples), each checked by one function here. Errors name the file
and key. What the study compares is ``study.design``'s; the catalogues under ``conf/`` are ``study.conf``'s.

``params.yaml`` holds the knobs of a study (seeds, the active lists, what is compared, the label budgets, the
feature sets and classifiers, training, selection, statistics), each key a column of ``dvc exp show``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aestudy.core.errors import StudyError, listed, shown
from aestudy.core.io import read_config
from aestudy.core.names import check_name
from aestudy.data.budgets import ALL
from study.catalogue import Entry

PARAMS = Path("params.yaml")
# Every key params.yaml may hold: a section given as None holds names the study defines (entries).
KNOWN_KEYS: dict[str, set[str] | None] = {
    "seeds": None, "datasets": None, "variants": None, "device": None,
    "compare": {"features", "classifiers", "pairs"},
    "headline": {"every_label", "few_labels"},
    "label_budgets": {"labels_per_class", "draws"},
    "features": None, "classifiers": None,
    "train": {"val_fraction"},
    "select": {"criterion"},
    "stats": {"resamples"},
}
SELECTION_CRITERIA = ("knn1_val", "val_mse")
MAX_SEED = 2**32 - 1
# Replicate seeds: each multiplies the autoencoders' training. DVC expands its stage matrices over them before
# any stage runs (1000 seeds took 546 s to reach `validate`), so `validate` caps the count where people use it.
MAX_SEEDS = 100
MAX_DRAWS = 1000  # label draws per budget: each a fit of every classifier on every feature set
MAX_LABELS_PER_CLASS = 10**6  # what a dataset may hold (aestudy.data.reads.MAX_IMAGES)
MIN_RESAMPLES = 2000
MAX_RESAMPLES = 100_000  # bootstrap resamples: the statistics hold resamples x test images counts
DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]{1,2})?")


def load_params(path: Path = PARAMS) -> dict[str, Any]:
    """``params.yaml``, read as DVC reads it, with its study-level values checked (``check_study``)."""
    params = read_config(path, within=Path.cwd())
    if not isinstance(params, dict):
        raise StudyError(f"{path}: expected a mapping of params at the top level")
    check_study(params)
    return params


def check_study(params: Mapping[str, Any]) -> None:
    """The values every stage checks on its own, since ``dvc repro -s <stage>`` runs it without ``validate``: the
    known keys, the seeds, the lists of names, the device, the validation share, the selection criterion, the
    label budgets and draws, the resamples. (The entries and conf/ files are checked where they are read.)"""
    check_known_keys(params)
    seeds(params)
    for key in ("datasets", "variants", "compare.features", "compare.classifiers"):
        name_list(params, key)
    device(params)
    val_fraction(params)
    selection_criterion(params)
    label_budgets(params)
    label_draws(params)
    resamples(params)


def require(params: Mapping[str, Any], key: str) -> Any:
    """``params[a][b]...`` for the dotted ``key``; a missing key is an error naming it."""
    node: Any = params
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            raise StudyError(f"params.yaml: missing key {shown(key)}")
        node = node[part]
    return node


def section(params: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """A mapping section, its keys the known ones only."""
    value = require(params, key)
    if not isinstance(value, Mapping):
        raise StudyError(f"params.yaml: {key} must be a mapping, got {shown(value)}")
    known = KNOWN_KEYS.get(key)
    unknown = sorted(map(str, set(value) - known)) if known is not None else []
    if unknown:
        raise StudyError(f"params.yaml: {key} has unknown key(s) {listed(unknown)} (known: "
                         f"{', '.join(sorted(known))})")
    return value


def check_known_keys(params: Mapping[str, Any]) -> None:
    """Every top-level key and every key of the fixed sections is one the study reads: a typo such as
    ``seed: [1]`` would otherwise leave the real key's value in force, silently."""
    unknown = sorted(map(str, set(params) - set(KNOWN_KEYS)))
    if unknown:
        raise StudyError(f"params.yaml: unknown top-level key(s) {listed(unknown)} (known: {', '.join(KNOWN_KEYS)})")
    for key, known in KNOWN_KEYS.items():
        if known is not None:
            section(params, key)


def as_int(value: Any, key: str, minimum: int = 1, maximum: int | None = None) -> int:
    """``value`` if an integer in range (never a boolean); else an error naming ``key``."""
    if (isinstance(value, bool) or not isinstance(value, int) or value < minimum
            or (maximum is not None and value > maximum)):
        bound = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise StudyError(f"params.yaml: {key} must be an integer {bound}, got {shown(value)}")
    return value


def name_list(params: Mapping[str, Any], key: str) -> list[str]:
    """A non-empty list of distinct names (DVC would silently merge duplicates in its matrices)."""
    value = require(params, key)
    if not isinstance(value, list) or not value:
        raise StudyError(f"params.yaml: {key} must be a non-empty list of names, got {shown(value)}")
    for name in value:
        check_name(name, f"params.yaml: {key}")
    if len(set(value)) != len(value):
        raise StudyError(f"params.yaml: {key} lists a name twice: {shown(value)}")
    return value


def seeds(params: Mapping[str, Any]) -> list[int]:
    """The replicate seeds: 1 to MAX_SEEDS distinct integers in [0, 2^32 - 1], the range every generator the
    study seeds takes."""
    value = require(params, "seeds")
    if (not isinstance(value, list) or not value
            or not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s <= MAX_SEED for s in value)):
        raise StudyError(f"params.yaml: seeds must be a non-empty list of integers in [0, {MAX_SEED}], got {shown(value)}")
    if len(value) > MAX_SEEDS:
        raise StudyError(f"params.yaml: seeds lists {len(value)} seeds, more than {MAX_SEEDS}: each one trains "
                         "every autoencoder again")
    if len(set(value)) != len(value):
        raise StudyError(f"params.yaml: seeds lists a seed twice: {shown(value)}")
    return value


def seed_of(params: Mapping[str, Any], seed: int | None) -> int:
    """A stage's ``--seed``, which must be one of the seeds param."""
    listed = seeds(params)
    if seed not in listed:
        raise StudyError(f"--seed {seed} is not one of the seeds in params.yaml ({listed})")
    return seed


# The pipeline's matrix stages and the lists their names join (dvc.yaml).
MATRICES = {"train": ("datasets", "variants", "seeds"), "codes": ("datasets", "seeds"),
            "encode": ("datasets", "compare.features"), "classify": ("datasets", "compare.features", "compare.classifiers")}


def check_stage_names(params: Mapping[str, Any]) -> None:
    """No two items of a matrix get one stage name. DVC names an item by its values joined with ``-``
    (``classify@mnist-pca-knn``) and keeps one stage per name without a word, so datasets ``a`` and ``a-b`` with
    feature sets ``b-c`` and ``c`` would lose a stage; the lists' names may hold ``-`` (``fashion-mnist``)."""
    for stage, keys in MATRICES.items():
        seen: dict[str, tuple] = {}
        for combination in itertools.product(*(require(params, key) for key in keys)):
            name = "-".join(map(str, combination))
            if name in seen:
                raise StudyError(f"params.yaml: {' x '.join(keys)}: {seen[name]} and {combination} would both be the "
                                 f"DVC stage {stage}@{name}; rename one")
            seen[name] = combination


def device(params: Mapping[str, Any]) -> str:
    """``device``: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``."""
    value = require(params, "device")
    if not isinstance(value, str) or not DEVICE.fullmatch(value):
        raise StudyError(f"params.yaml: device must be auto, cpu or cuda[:N], got {shown(value)}")
    return value


def val_fraction(params: Mapping[str, Any]) -> float:
    """``train.val_fraction``: the share of the training split held out for validation."""
    value = require(params, "train.val_fraction")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise StudyError(f"params.yaml: train.val_fraction must be a number in (0, 1), got {shown(value)}")
    return float(value)


def selection_criterion(params: Mapping[str, Any]) -> str:
    """``select.criterion``: how ``codes`` chooses the autoencoder on validation data."""
    value = require(params, "select.criterion")
    if value not in SELECTION_CRITERIA:
        raise StudyError(f"params.yaml: select.criterion must be one of {', '.join(SELECTION_CRITERIA)}, "
                         f"got {shown(value)}")
    return value


def label_budgets(params: Mapping[str, Any]) -> tuple[list[int], bool]:
    """``label_budgets.labels_per_class``: the budgets in labels per class, increasing, and whether the list
    ends with ``all`` (every training label)."""
    key = "label_budgets.labels_per_class"
    section(params, "label_budgets")
    value = require(params, key)
    if not isinstance(value, list) or not value:
        raise StudyError(f"params.yaml: {key} must be a non-empty list of labels per class (and `{ALL}` last), "
                         f"got {shown(value)}")
    with_all = value[-1] == ALL
    budgets = [as_int(k, key, maximum=MAX_LABELS_PER_CLASS) for k in (value[:-1] if with_all else value)]
    if any(a >= b for a, b in itertools.pairwise(budgets)):
        raise StudyError(f"params.yaml: {key} must increase, got {shown(value)}")
    return budgets, with_all


def label_draws(params: Mapping[str, Any], entry: Entry | None = None) -> int:
    """``label_budgets.draws`` (labelled sets per budget and seed), or for a classifier with its own ``draws``
    the first that many of them (all of them, when there are fewer)."""
    section(params, "label_budgets")
    draws = as_int(require(params, "label_budgets.draws"), "label_budgets.draws", maximum=MAX_DRAWS)
    if entry is None or "draws" not in entry.extras:
        return draws
    return min(entry.extras["draws"], draws)


def resamples(params: Mapping[str, Any]) -> int:
    """``stats.resamples``: the bootstrap's resamples, MIN_RESAMPLES to MAX_RESAMPLES."""
    section(params, "stats")
    return as_int(require(params, "stats.resamples"), "stats.resamples", minimum=MIN_RESAMPLES, maximum=MAX_RESAMPLES)


