"""What a study compares, read from params.yaml: the entries of ``features`` and ``classifiers``, the active
ones (``compare``), the scores and the paired comparisons, and what the headline leads with (``headline``)."""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aestudy.core.errors import StudyError, listed, shown
from aestudy.core.names import check_name
from aestudy.report.headline import HeadlineSpec
from study.catalogue import CODE_WIDTH, SELECTED, Catalogue, Entry, parse_entry, scores_of
from study.params_yaml import name_list, require, section

MAX_ENTRIES = 200  # feature sets, or classifiers: each a column group of the report and of `dvc exp show`
PAIR_SEPARATOR = " vs "  # a comparison in compare.pairs: `ae vs pca`, A - B


def entries(params: Mapping[str, Any], kind: str) -> Catalogue:
    """Every entry of ``features`` or ``classifiers``, checked (classes resolved, arguments named), not built."""
    value = require(params, kind)
    if not isinstance(value, Mapping) or not value:
        raise StudyError(f"params.yaml: {kind} must be a mapping of names to entries, got {shown(value)}")
    if len(value) > MAX_ENTRIES:
        raise StudyError(f"params.yaml: {kind} holds {len(value)} entries, more than {MAX_ENTRIES}")
    return Catalogue({check_name(name, f"params.yaml: {kind}"): parse_entry(kind, name, spec, f"params.yaml: {kind}.{name}")
                      for name, spec in value.items()})


def read_entry(params: Mapping[str, Any], kind: str, name: str) -> Entry:
    """The entry ``name`` of ``features`` or ``classifiers`` alone, its structure checked: what a stage that runs
    one entry reads, so that another entry or ``compare.pairs`` never stops it (``validate`` checks them all)."""
    value = require(params, kind)
    if not isinstance(value, Mapping) or name not in value:
        raise StudyError(f"params.yaml: {kind} has no entry {shown(name)}")
    return parse_entry(kind, name, value[name], f"params.yaml: {kind}.{name}")


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


def read_design(params: Mapping[str, Any]) -> Design:
    """``compare`` checked against the entries: every name it lists is an entry, every pair two feature sets
    or two scores, no score named like a feature set."""
    section(params, "compare")  # its keys the known ones
    features, classifiers = entries(params, "features"), entries(params, "classifiers")
    active = {}
    for kind, catalogue in (("features", features), ("classifiers", classifiers)):
        active[kind] = name_list(params, f"compare.{kind}")
        missing = [name for name in active[kind] if name not in catalogue]
        if missing:
            raise StudyError(f"params.yaml: compare.{kind} names {listed(missing)}, not entries of {kind} "
                             f"(entries: {listed(catalogue.entries)})")
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
                             f"two scores (feature sets: {listed(study.active_features)}; scores: {listed(scores)})")
        if (parts[0], parts[1]) in parsed:
            raise StudyError(f"params.yaml: compare.pairs lists {shown(pair)} twice")
        if (parts[1], parts[0]) in parsed:  # the same comparison negated: reported twice, once with the sign flipped
            raise StudyError(f"params.yaml: compare.pairs lists {shown(pair)} and {parts[1]}{PAIR_SEPARATOR}{parts[0]}, "
                             "one comparison both ways; keep one")
        parsed.append((parts[0], parts[1]))
    return Design(features, classifiers, active["features"], active["classifiers"], parsed)


def headline_specs(params: Mapping[str, Any], design_: Design) -> dict[str, HeadlineSpec]:
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
        if len(set(features)) != len(features):
            raise StudyError(f"params.yaml: {key}.features lists a feature set twice: {shown(features)}")
        parts = pair.split(PAIR_SEPARATOR) if isinstance(pair, str) else []
        known = [set(design_.features.entries), {s for e in design_.classifiers.entries.values() for s in scores_of(e)}]
        if len(parts) != 2 or parts[0] == parts[1] or not any(set(parts) <= names for names in known):
            raise StudyError(f"params.yaml: {key}.pair must be `A vs B`, two feature sets or two scores of the study's "
                             f"entries, got {shown(pair)}")
        specs[block] = HeadlineSpec(score, tuple(features), (parts[0], parts[1]))
    return specs


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
