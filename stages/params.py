"""The study's configuration read at the stage boundary: ``params.yaml`` and the catalogues under ``conf/``.

This module knows the files' structure: which keys exist, which sections hold what, which names the lists
use and which files they name. Every rule on a value lives where the value is used: an estimator's own
constraints (checked when ``validate`` builds the entry, ``aestudy.core.catalogue``), the dataset spec
(``aestudy.data.datasets``), or the few study-level values below (seeds, budgets, resamples), each checked by
one function here. Errors name the file and key.

- ``params.yaml``: the knobs of a study (seeds, the active lists, what is compared, the label budgets, the
  feature sets and classifiers, training, selection, statistics), each key a column of ``dvc exp show``.
- ``conf/datasets/<name>.yaml`` and ``conf/autoencoders/<name>.yaml``: the catalogues the lists ``datasets``
  and ``variants`` choose from, one file per entry (Hydra's config groups), so that a variant's change re-runs
  that variant's stages alone and ``dvc exp show`` stays narrow. ``dvc exp run -S
  conf/autoencoders/seed000.yaml:epochs=5`` overrides a key of one.
"""

from __future__ import annotations

import inspect
import json
import itertools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aestudy.core.catalogue import CODE_WIDTH, SELECTED, STUDY_ARGUMENTS, Catalogue, Entry, parse_entry, scores_of
from aestudy.core.errors import StudyError, shown
from aestudy.core.io import read_config
from aestudy.core.names import check_name
from aestudy.data.budgets import ALL
from aestudy.data.datasets import DatasetSpec, parse_spec
from aestudy.report.headline import HeadlineSpec

PARAMS = Path("params.yaml")
CONF = Path("conf")
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
MAX_LABELS_PER_CLASS = 10**6  # what a dataset may hold (aestudy.data.sources)
MIN_RESAMPLES = 2000
MAX_RESAMPLES = 100_000  # bootstrap resamples: the statistics hold resamples x test images counts
DEVICE = re.compile(r"auto|cpu|cuda(:[0-9]{1,2})?")
MAX_ENTRIES = 200  # feature sets, or classifiers: each a column group of the report and of `dvc exp show`
PAIR_SEPARATOR = " vs "  # a comparison in compare.pairs: `ae vs pca`, A - B


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
        raise StudyError(f"params.yaml: {key} has unknown key(s) {', '.join(unknown)} (known: "
                         f"{', '.join(sorted(known))})")
    return value


def check_known_keys(params: Mapping[str, Any]) -> None:
    """Every top-level key and every key of the fixed sections is one the study reads: a typo such as
    ``seed: [1]`` would otherwise leave the real key's value in force, silently."""
    unknown = sorted(map(str, set(params) - set(KNOWN_KEYS)))
    if unknown:
        raise StudyError(f"params.yaml: unknown top-level key(s) {', '.join(unknown)} (known: {', '.join(KNOWN_KEYS)})")
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


def conf_file(group: str, name: str) -> Path:
    """The file of a catalogue entry."""
    return CONF / group / f"{name}.yaml"


def conf_names(group: str) -> list[str]:
    """The entries of a catalogue folder, by their checked names."""
    folder = CONF / group
    return sorted(check_name(path.stem, f"{folder}") for path in folder.glob("*.yaml")) if folder.is_dir() else []


def conf_entry(group: str, name: str) -> Mapping[str, Any]:
    """The mapping in ``conf/<group>/<name>.yaml``; a list naming an entry that has no file is an error."""
    check_name(name, f"{CONF / group}")
    path = conf_file(group, name)
    if not path.is_file():
        known = ", ".join(conf_names(group)) or "none"
        raise StudyError(f"params.yaml: {group} names {shown(name)}, but {path} does not exist (entries: {known})")
    entry = read_config(path, within=Path.cwd())
    if not isinstance(entry, Mapping):
        raise StudyError(f"{path}: expected a mapping, got {shown(entry)}")
    return entry


def conf_list(params: Mapping[str, Any], key: str, group: str) -> list[str]:
    """The list ``key`` of params.yaml: names, each of a file in ``conf/<group>/``."""
    names = name_list(params, key)
    for name in names:
        conf_entry(group, name)
    return names


def datasets(params: Mapping[str, Any]) -> list[str]:
    """The active datasets: names of files in ``conf/datasets/``."""
    return conf_list(params, "datasets", "datasets")


def dataset_spec(name: str) -> DatasetSpec:
    """``conf/datasets/<name>.yaml``, checked."""
    return parse_spec(name, conf_entry("datasets", name), str(conf_file("datasets", name)))


def variants(params: Mapping[str, Any]) -> list[str]:
    """The active autoencoder grid: names of files in ``conf/autoencoders/``."""
    return conf_list(params, "variants", "autoencoders")


def autoencoder(name: str) -> Entry:
    """``conf/autoencoders/<name>.yaml``, checked as a catalogue entry (its values when it is built)."""
    return parse_entry("autoencoders", name, conf_entry("autoencoders", name), str(conf_file("autoencoders", name)))


def check_written(entry: Entry, given: frozenset[str] = STUDY_ARGUMENTS) -> None:
    """An entry of one of the study's own estimators (``aestudy.*``) writes every setting its class takes, so
    that each is a param (a column of ``dvc exp show``, set by ``-S``) and a changed class default cannot move
    the study silently. The codes of a trained autoencoder (``variant``) are loaded, not built: exempt."""
    if not entry.path.startswith("aestudy.") or "variant" in entry.extras:
        return
    unwritten = entry.unwritten_settings(given)
    if unwritten:
        listed = ", ".join(f"{name}: {json.dumps(value)}" for name, value in unwritten.items())
        raise StudyError(f"{entry.key}: leaves {', '.join(unwritten)} to {entry.path}'s defaults; write every "
                         f"setting in the entry ({listed})")


def built_autoencoder(entry: Entry, **arguments: Any) -> Any:
    """The autoencoder of a ``conf/autoencoders`` entry, built with ``arguments``, its training config checked:
    (the estimator, its ``AutoencoderConfig``)."""
    model = entry.build(**arguments)
    try:
        return model, model.autoencoder_config()
    except StudyError as error:
        raise StudyError(f"{entry.key}: {error}") from None


def entries(params: Mapping[str, Any], kind: str) -> Catalogue:
    """Every entry of ``features`` or ``classifiers``, checked (classes resolved, arguments named), not built."""
    value = require(params, kind)
    if not isinstance(value, Mapping) or not value:
        raise StudyError(f"params.yaml: {kind} must be a mapping of names to entries, got {shown(value)}")
    if len(value) > MAX_ENTRIES:
        raise StudyError(f"params.yaml: {kind} holds {len(value)} entries, more than {MAX_ENTRIES}")
    return Catalogue({check_name(name, f"params.yaml: {kind}"): parse_entry(kind, name, spec, f"params.yaml: {kind}.{name}")
                      for name, spec in value.items()})


@dataclass(frozen=True)
class Design:
    """What a study compares: its feature sets and classifiers (their entries), the scores the classifiers
    give, and the paired comparisons."""

    features: Catalogue
    classifiers: Catalogue
    active_features: list[str]
    active_classifiers: list[str]
    pairs: list[tuple[str, str]]

    @property
    def scores(self) -> dict[str, str]:
        """Each score of the active classifiers -> its classifier."""
        return {score: c for c in self.active_classifiers for score in scores_of(self.classifiers[c])}

    def seeded(self, features: str, classifier: str) -> bool:
        """Whether a (features, classifier) result depends on the replicate seed: either part does."""
        return self.features.seeded(features) or self.classifiers[classifier].seeded


def design(params: Mapping[str, Any]) -> Design:
    """``compare`` checked against the entries: every name it lists is an entry, every pair two feature sets
    or two scores, no score named like a feature set."""
    section(params, "compare")  # its keys the known ones
    features, classifiers = entries(params, "features"), entries(params, "classifiers")
    active = {}
    for kind, catalogue in (("features", features), ("classifiers", classifiers)):
        active[kind] = name_list(params, f"compare.{kind}")
        missing = [name for name in active[kind] if name not in catalogue]
        if missing:
            raise StudyError(f"params.yaml: compare.{kind} names {', '.join(missing)}, not entries of {kind} "
                             f"(entries: {', '.join(catalogue.entries)})")
    for name in active["features"]:
        features.chain(name)  # an input naming nothing, or a cycle of inputs, is an error here
    study = Design(features, classifiers, active["features"], active["classifiers"], [])
    scores: dict[str, str] = {}
    for classifier in study.active_classifiers:
        for score in scores_of(classifiers[classifier]):
            check_name(score, f"params.yaml: classifiers.{classifier}.scores")
            if score in scores or score in features.entries:
                other = f"classifiers.{scores[score]}" if score in scores else f"features.{score}"
                raise StudyError(f"params.yaml: classifiers.{classifier}: the score {shown(score)} is also named by "
                                 f"{other}; scores and feature sets need names of their own")
            scores[score] = classifier
    pairs = require(params, "compare.pairs")
    if not isinstance(pairs, list):
        raise StudyError(f"params.yaml: compare.pairs must be a list of comparisons `A vs B`, got {shown(pairs)}")
    parsed = []
    for pair in pairs:
        parts = pair.split(PAIR_SEPARATOR) if isinstance(pair, str) else []
        if (len(parts) != 2 or parts[0] == parts[1]
                or not (set(parts) <= set(study.active_features) or set(parts) <= set(scores))):
            raise StudyError(f"params.yaml: compare.pairs: {shown(pair)} must be `A vs B`, two compared feature sets or "
                             f"two scores (feature sets: {', '.join(study.active_features)}; scores: "
                             f"{', '.join(scores)})")
        if (parts[0], parts[1]) in parsed:
            raise StudyError(f"params.yaml: compare.pairs lists {shown(pair)} twice")
        parsed.append((parts[0], parts[1]))
    return Design(features, classifiers, active["features"], active["classifiers"], parsed)


def headline(params: Mapping[str, Any], design_: Design) -> dict[str, HeadlineSpec]:
    """``headline``: for ``every_label`` and ``few_labels``, a score of the study, feature sets it scores and
    one of ``compare.pairs`` (two of those feature sets, or two scores). The headline leaves out what the study
    does not compare (a smoke run's narrower ``compare``), so only the names' kinds are checked against it."""
    section(params, "headline")
    specs = {}
    for block in ("every_label", "few_labels"):
        key = f"headline.{block}"
        value = require(params, key)
        if not isinstance(value, Mapping) or set(value) != {"score", "features", "pair"}:
            raise StudyError(f"params.yaml: {key} must be a mapping of score, features and pair, got "
                             f"{sorted(map(str, value)) if isinstance(value, Mapping) else type(value).__name__}")
        score, features, pair = value["score"], value["features"], value["pair"]
        if not isinstance(score, str) or not any(score in scores_of(e) for e in design_.classifiers.entries.values()):
            raise StudyError(f"params.yaml: {key}.score must name a score of a classifier, got {shown(score)}")
        if (not isinstance(features, list) or not features
                or not all(isinstance(f, str) and f in design_.features for f in features)):
            raise StudyError(f"params.yaml: {key}.features must list feature sets, got {shown(features)}")
        parts = pair.split(PAIR_SEPARATOR) if isinstance(pair, str) else []
        if len(parts) != 2:
            raise StudyError(f"params.yaml: {key}.pair must be `A vs B`, got {shown(pair)}")
        specs[block] = HeadlineSpec(score, tuple(features), (parts[0], parts[1]))
    return specs


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


def feature_width(design_: Design, name: str, n_pixels: int, code_dims: list[int]) -> int:
    """The most columns the feature set ``name`` can have: its last step's ``n_components``, the pixels for
    raw pixels, the widest active code for a trained autoencoder's codes. For memory checks before any fit."""
    step = design_.features.chain(name)[-1]
    width = step.arguments.get("n_components")
    if width is None and "variant" not in step.extras:  # the class's default, where it has one
        parameter = inspect.signature(step.target.__init__).parameters.get("n_components")
        width = None if parameter is None else parameter.default
    if isinstance(width, int) and not isinstance(width, bool):
        return width
    if width == CODE_WIDTH or "variant" in step.extras:
        return max(code_dims)
    return n_pixels if math.isfinite(n_pixels) else 0


def selected(entry: Entry) -> str | None:
    """A feature set's trained autoencoder: ``selected`` or a variant's name; None for a fitted feature set."""
    value = entry.extras.get("variant")
    return None if value is None else str(value) if value != SELECTED else SELECTED
