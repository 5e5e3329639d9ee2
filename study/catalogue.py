"""Estimators named in the study's configuration, in Hydra's ``_target_`` convention, and checked before use.

    {"_target_": "sklearn.svm.SVC", "C": 10}  ->  sklearn.svm.SVC(C=10)

Every feature set, classifier and autoencoder of the study is such an entry; the built-in ones are entries
like any other. An entry is checked in this order, and nothing is called with its arguments until every check
has passed: the import path's form; the import of its module (which runs that module's top-level code, as
any import does); that the name is a class and a scikit-learn estimator (a ``BaseEstimator``) with the
methods its kind needs; that every argument is one its ``__init__`` takes, and is not one of the kinds below.
Only then is the class called, and its own value constraints (scikit-learn's ``_validate_params``) checked.
Every failure is a ``StudyError`` naming the entry's key.

An argument is an attack surface like ``_target_`` itself, so some are refused whatever the class:
- a cache, a path or a folder (``memory``, ``cache_dir``, ``log_dir``...: ``PATH_ARGUMENT``) given as a string:
  scikit-learn's ``memory`` is a joblib cache of pickles, loaded back from wherever it points, and a stage
  writes only its declared outputs;
- a count of jobs, threads or workers (``n_jobs``...: ``WORKER_ARGUMENT``) beyond this machine's cores
  (``n_jobs: 100000`` starts that many threads; -1, all cores, is allowed);
- true or false, or a list holding one, where the class's default is a number, a list of numbers or null and its
  constraints name no boolean (``epochs: true`` would train one epoch, ``block_size: true`` one image a block);
- a mapping with a ``_target_`` inside an argument: a nested estimator, which the study does not build.

A class with no ``__init__`` but ``object``'s takes no argument (as scikit-learn reads it).

Keys of an entry that belong to the study rather than to the estimator:
- feature sets: ``input`` (the name of another feature set, whose output this one is fitted on: ``ae+umap`` is
  UMAP on the codes) and ``variant``: the codes of a trained autoencoder instead of a fit, read from what the
  ``codes`` stage wrote, so the entry's ``_target_`` must be ``CODES_TARGET``; its value is ``selected``
  (``SELECTED``: the variant chosen on validation data, for each seed) or a variant's name;
- classifiers: ``scores`` (score name -> argument overrides, each scored from its own fit; without it, the
  entry's name is its one score), ``draws`` (fit only the first ``draws`` label draws of each budget) and
  ``unlabelled`` (true: fitted on every training image, the unlabelled ones labelled -1, scikit-learn's
  semi-supervised convention; otherwise on the labelled images alone).

An argument whose value is a key of the context a stage builds with (``Entry.build``) takes that key's value:
the one key is ``code`` (``CODE_WIDTH``), the size of the selected autoencoder's code, so that ``n_components:
code`` gives PCA as many components as the code it is compared with.

Whether an entry depends on the replicate seed follows from its class: one with a ``random_state`` argument
that the entry leaves unset gets the seed there (and so depends on it); one whose ``random_state`` the entry
fixes, or that has none, does not. An estimator with a ``device`` argument that the entry leaves unset gets
the study's device.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import numbers
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aestudy.core.errors import StudyError, clipped, listed, shown
from aestudy.core.names import check_title
from aestudy.core.threads import cores

TARGET = "_target_"
# A dotted import path of Python identifiers, ``package.module.Class``: nothing else reaches importlib (a
# path of thousands of parts sent importlib into a RecursionError).
IMPORT_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){1,9}")
# Arguments that name a cache, a file or a folder, and arguments that start jobs, threads or workers.
PATH_ARGUMENT = re.compile(r"memory|cache|cachedir|location|checkpoint|logdir|file|filename|path|dir|directory|folder|"
                           r".+_(dir|directory|folder|path|file|filename|cache)")
WORKER_ARGUMENT = re.compile(r"(n_|num_)?(jobs|threads|workers|processes)")
# What each kind of entry must provide, and the keys of its entries that are the study's.
METHODS = {"features": ("fit", "transform"), "classifiers": ("fit", "predict"), "autoencoders": ("fit", "transform")}
KIND_NAMES = {"features": "transformer", "classifiers": "classifier", "autoencoders": "transformer"}
ENTRY_KEYS = {"features": {"input", "variant", "title"}, "classifiers": {"scores", "draws", "unlabelled", "title"},
              "autoencoders": set()}
TITLE_KEY = "title"  # an entry's, or a score's, name in the report and figures (plain text: core.names.TITLE)
SELECTED = "selected"  # a feature set's `variant`: the autoencoder that `select` chose on validation data
CODE_WIDTH = "code"  # an argument's value: the selected code's size (see the module's docstring)
CODES_TARGET = "aestudy.models.AutoencoderFeatures"  # the `_target_` of a feature set with a `variant`
MAX_CHAIN = 8  # feature sets in one chain of inputs (the study's longest: ae+umap, 2)
# Arguments the study gives an estimator itself, never an entry's settings: the seed, the device, the progress
# bar, the training log, and the image shape of the dataset at hand.
STUDY_ARGUMENTS = frozenset({"random_state", "device", "progress", "epoch_callback", "image_shape"})


def resolve_target(path: Any, key: str, kind: str) -> type:
    """The class an entry names, checked without calling anything it defines: a class, a scikit-learn
    estimator, with the methods of ``kind``."""
    if not isinstance(path, str) or not IMPORT_PATH.fullmatch(path):
        raise StudyError(f"{key}.{TARGET} must be an import path such as sklearn.svm.SVC, got {shown(path)}")
    module_name, name = path.rsplit(".", 1)
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise StudyError(f"{key}.{TARGET}: cannot import {shown(module_name)} ({clipped(str(error))}); is its "
                         "package installed?") from None
    except Exception as error:  # noqa: BLE001 - the module's own code failed as it ran (a SyntaxError, ...)
        raise StudyError(f"{key}.{TARGET}: importing {shown(module_name)} failed ({type(error).__name__}: "
                         f"{clipped(str(error))})") from None
    target = getattr(module, name, None)
    if target is None:
        raise StudyError(f"{key}.{TARGET}: module {shown(module_name)} has no {shown(name)}")
    if not inspect.isclass(target):
        raise StudyError(f"{key}.{TARGET}: {path} is not a class")
    from sklearn.base import BaseEstimator

    if not issubclass(target, BaseEstimator):
        raise StudyError(f"{key}.{TARGET}: {path} is not a scikit-learn estimator (a subclass of BaseEstimator)")
    missing = [method for method in METHODS[kind] if not callable(getattr(target, method, None))]
    if missing:
        raise StudyError(f"{key}.{TARGET}: {path} is not a scikit-learn {KIND_NAMES[kind]} (no {', '.join(missing)})")
    return target


def init_arguments(target: type) -> tuple[set[str], bool]:
    """The keyword arguments a class's ``__init__`` takes, and whether it takes any (``**kwargs``). A class with
    no ``__init__`` of its own, nor any above it but ``object``'s, takes none (scikit-learn's reading too: its
    ``get_params`` is then empty), though ``object.__init__``'s signature says ``**kwargs``."""
    if target.__init__ is object.__init__:
        return set(), False
    parameters = inspect.signature(target.__init__).parameters.values()
    named = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"self"}
    return named, any(p.kind == p.VAR_KEYWORD for p in parameters)


@dataclass(frozen=True)
class Entry:
    """One entry: its class (resolved, and checked, when first needed), its arguments and the study's keys
    (``extras``). Naming an entry imports nothing: a stage that only reads names and extras starts fast."""

    kind: str
    name: str
    key: str  # how errors name it: ``params.yaml: classifiers.mlp``
    target_path: str
    arguments: dict[str, Any]
    extras: dict[str, Any] = field(default_factory=dict)

    @functools.cached_property
    def target(self) -> type:
        """The class the entry's ``_target_`` names, imported on first use."""
        return resolve_target(self.target_path, self.key, self.kind)

    def check(self) -> Entry:
        """The class resolved and checked, and every argument one it takes (see the module's docstring)."""
        check_arguments(self.target, self.arguments, self.key)
        check_extras(self)
        return self

    @property
    def path(self) -> str:
        """The entry's ``_target_``: the dotted path of its class."""
        return self.target_path

    def unwritten_settings(self, given: frozenset[str] = STUDY_ARGUMENTS) -> dict[str, Any]:
        """The ``__init__`` arguments the entry leaves to the class's defaults, with those defaults, leaving out
        those in ``given`` (set by the study at build time)."""
        parameters = inspect.signature(self.target.__init__).parameters
        return {name: p.default for name, p in parameters.items()
                if name in init_arguments(self.target)[0] and name not in given and name not in self.arguments}

    def takes(self, argument: str) -> bool:
        """Whether the class's ``__init__`` names ``argument`` (a ``**kwargs`` does not count)."""
        return argument in init_arguments(self.target)[0]

    @property
    def seeded(self) -> bool:
        """Whether the replicate seed is this entry's ``random_state`` (see the module's docstring)."""
        return "random_state" in init_arguments(self.target)[0] and "random_state" not in self.arguments

    def build(self, *, seed: int | None = None, device: str | None = None, context: Mapping[str, Any] | None = None,
              **overrides: Any) -> Any:
        """A new estimator: the entry's arguments, then ``overrides``; the seed as ``random_state`` where the
        entry is seeded, the device where the class takes one and the entry does not set it; an argument whose
        value is a key of ``context`` (``n_components: code``) takes that key's value."""
        arguments = {name: context[value] if isinstance(value, str) and context and value in context else value
                     for name, value in {**self.arguments, **overrides}.items()}
        if self.seeded and seed is not None:
            arguments.setdefault("random_state", seed)
        if device is not None and "device" in init_arguments(self.target)[0]:
            arguments.setdefault("device", device)
        check_arguments(self.target, arguments, self.key)
        try:
            estimator = self.target(**arguments)
        except (TypeError, ValueError) as error:
            raise StudyError(f"{self.key}: {self.path} refused its arguments ({error})".replace("\n", " ")) from None
        validate = getattr(estimator, "_validate_params", None)
        if callable(validate) and hasattr(estimator, "_parameter_constraints"):
            try:
                validate()
            except (TypeError, ValueError) as error:
                raise StudyError(f"{self.key}: {error}".replace("\n", " ")) from None
        return estimator


def check_arguments(target: type, arguments: Mapping[str, Any], key: str) -> None:
    """Every argument one the class's ``__init__`` takes, and none of the kinds the module's docstring refuses,
    checked before the class is called."""
    named, anything = init_arguments(target)
    unknown = sorted(set(arguments) - named)
    if unknown and not anything:
        raise StudyError(f"{key}: {target.__module__}.{target.__qualname__} takes no argument(s) "
                         f"{listed(unknown)} (it takes: {listed(sorted(named)) or 'none'})")
    defaults = {name: p.default for name, p in inspect.signature(target.__init__).parameters.items()}
    for name, value in arguments.items():
        check_argument(name, value, defaults.get(name, inspect.Parameter.empty), f"{key}.{name}",
                       takes_boolean(target, name, defaults.get(name, inspect.Parameter.empty)))


def takes_boolean(target: type, name: str, default: Any) -> bool:
    """Whether ``true``/``false`` is a value of the argument: its default is a boolean, or the class's constraints
    (scikit-learn's ``_parameter_constraints``) name ``"boolean"``."""
    constraints = getattr(target, "_parameter_constraints", {}).get(name, [])
    return isinstance(default, bool) or "boolean" in constraints or bool in constraints


def has_boolean(value: Any) -> bool:
    """``value`` is true or false, or a list or tuple holding one."""
    return isinstance(value, bool) or (isinstance(value, (list, tuple)) and any(isinstance(v, bool) for v in value))


def names_an_estimator(value: Any) -> bool:
    """``value`` is, or holds at any depth, a mapping with a ``_target_``: a nested estimator."""
    if isinstance(value, Mapping):
        return TARGET in value or any(names_an_estimator(v) for v in value.values())
    return isinstance(value, (list, tuple)) and any(names_an_estimator(v) for v in value)


def check_argument(name: str, value: Any, default: Any, key: str, booleans: bool = False) -> None:
    """One argument against the kinds the module's docstring refuses; ``default``: the class's, if it has one;
    ``booleans``: whether true and false are values it takes (``takes_boolean``)."""
    if value is None:
        return
    if names_an_estimator(value):
        raise StudyError(f"{key}: a nested estimator ({TARGET} inside an argument) is not built by the study; give "
                         "the estimator an entry of its own")
    if PATH_ARGUMENT.fullmatch(name) and isinstance(value, str):
        raise StudyError(f"{key}: names a cache, file or folder; the study's stages write only their declared "
                         f"outputs (and a joblib memory loads pickles back), so leave it unset, got {shown(value)}")
    if WORKER_ARGUMENT.fullmatch(name):
        limit = cores()
        if isinstance(value, bool) or not isinstance(value, int) or not (1 <= abs(value) <= limit):
            raise StudyError(f"{key} must be an integer in [1, {limit}] (this machine's cores) or -1 for all of "
                             f"them, got {shown(value)}")
    numeric = default is None or (isinstance(default, numbers.Number) and not isinstance(default, bool)) or (
        isinstance(default, (list, tuple)) and all(isinstance(d, numbers.Number) for d in default))
    if has_boolean(value) and numeric and not booleans:
        raise StudyError(f"{key} takes a number, a list of numbers or null (its default is {shown(default)}), not "
                         f"true or false, got {shown(value)}")


def parse_entry(kind: str, name: str, spec: Any, key: str) -> Entry:
    """An entry of ``kind``, its structure checked; ``Entry.check`` checks its class and arguments."""
    if not isinstance(spec, Mapping) or TARGET not in spec:
        raise StudyError(f"{key} must be a mapping with {TARGET} (an import path) and its arguments, got {shown(spec)}")
    path = spec[TARGET]
    if not isinstance(path, str) or not IMPORT_PATH.fullmatch(path):
        raise StudyError(f"{key}.{TARGET} must be an import path such as sklearn.svm.SVC, got {shown(path)}")
    extras = {k: v for k, v in spec.items() if k in ENTRY_KEYS[kind]}
    arguments = {k: v for k, v in spec.items() if k != TARGET and k not in ENTRY_KEYS[kind]}
    non_strings = [k for k in arguments if not isinstance(k, str)]
    if non_strings:
        raise StudyError(f"{key}: argument names must be strings, got {shown(non_strings)}")
    return Entry(kind, name, key, path, arguments, extras)


def check_extras(entry: Entry) -> None:
    """The study's keys of an entry, each of its documented type."""
    extras, key = entry.extras, entry.key
    if "input" in extras and "variant" in extras:
        raise StudyError(f"{key}: a feature set takes its input either from another feature set (input) or from "
                         "a trained autoencoder (variant), not both")
    if "input" in extras and not isinstance(extras["input"], str):
        raise StudyError(f"{key}.input must name another feature set, got {shown(extras['input'])}")
    if "variant" in extras:  # by its path: the codes are read, not built, and this floor imports no model
        if not isinstance(extras["variant"], str):
            raise StudyError(f"{key}.variant must be {SELECTED} or a variant's name, got {shown(extras['variant'])}")
        if entry.path != CODES_TARGET:
            raise StudyError(f"{key}.variant gives a trained autoencoder's codes: its {TARGET} must be "
                             f"{CODES_TARGET}, got {entry.path}")
    if TITLE_KEY in extras:
        check_title(extras[TITLE_KEY], f"{key}.{TITLE_KEY}")
    if "scores" in extras:
        scores = extras["scores"]
        if (not isinstance(scores, Mapping) or not scores
                or not all(isinstance(v, Mapping) for v in scores.values())):
            raise StudyError(f"{key}.scores must map each score's name to its argument overrides, got {shown(scores)}")
        for score, overrides in scores.items():
            if TITLE_KEY in overrides:
                check_title(overrides[TITLE_KEY], f"{key}.scores.{score}.{TITLE_KEY}")
            check_arguments(entry.target, without_title(overrides), f"{key}.scores.{score}")
    if "draws" in extras:
        draws = extras["draws"]
        if isinstance(draws, bool) or not isinstance(draws, int) or draws < 1:
            raise StudyError(f"{key}.draws must be an integer >= 1, got {shown(draws)}")
    if "unlabelled" in extras and not isinstance(extras["unlabelled"], bool):
        raise StudyError(f"{key}.unlabelled must be true or false, got {shown(extras['unlabelled'])}")


def without_title(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A score's argument overrides: its mapping less its ``title``."""
    return {name: value for name, value in overrides.items() if name != TITLE_KEY}


def scores_of(entry: Entry) -> dict[str, dict[str, Any]]:
    """A classifier's scores: name -> argument overrides (the entry's own name and none, by default)."""
    return {score: without_title(overrides) for score, overrides in entry.extras.get("scores", {entry.name: {}}).items()}


def titles(catalogue: Catalogue, names: list[str]) -> dict[str, str]:
    """How the report names each of ``names``: entries of ``catalogue``, or scores of its classifiers. A score's
    own ``title``; else, for an entry's one score, the entry's ``title``; else the estimator's class name, with the
    name after it where two of ``names`` would otherwise read the same (``UMAPFeatures (pca+umap)``)."""
    found: dict[str, str | None] = {}
    classes: dict[str, str] = {}
    for name in names:
        if name in catalogue:
            entry, own = catalogue[name], None
        else:
            entry = next(e for e in catalogue.entries.values() if name in scores_of(e))
            own = entry.extras.get("scores", {}).get(name, {}).get(TITLE_KEY)
        single = "scores" not in entry.extras or len(entry.extras["scores"]) == 1
        found[name] = own or (entry.extras.get(TITLE_KEY) if single else None)
        classes[name] = entry.target_path.rpartition(".")[2]
    untitled = [classes[n] for n in names if found[n] is None]
    return {name: found[name] or (classes[name] if untitled.count(classes[name]) == 1 else f"{classes[name]} ({name})")
            for name in names}


class Catalogue:
    """Every entry of one kind, by name, with what the study asks of them together: chains of inputs."""

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self.entries = dict(entries)

    def __getitem__(self, name: str) -> Entry:
        return self.entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self.entries

    def chain(self, name: str) -> list[Entry]:
        """The feature set ``name`` as the steps that make it, innermost first: ``ae+umap`` is [ae, ae+umap]."""
        steps, seen = [], []
        while True:
            if name in seen:
                cycle = " -> ".join([*seen[seen.index(name):], name])
                raise StudyError(f"{self.entries[seen[0]].key}.input: a cycle of inputs ({cycle})")
            if len(seen) == MAX_CHAIN:
                raise StudyError(f"{self.entries[seen[0]].key}.input: a chain of more than {MAX_CHAIN} feature sets")
            seen.append(name)
            entry = self.entries[name]
            steps.append(entry)
            upstream = entry.extras.get("input")
            if upstream is None:
                return steps[::-1]
            if not isinstance(upstream, str) or upstream not in self.entries:
                raise StudyError(f"{entry.key}.input names {shown(upstream)}, which is not a feature set "
                                 f"(known: {listed(self.entries)})")
            name = upstream

    def seeded(self, name: str) -> bool:
        """Whether a feature set depends on the seed: one of its steps is seeded, or is a trained autoencoder."""
        return any("variant" in step.extras or step.seeded for step in self.chain(name))
