"""A sweep file, read and expanded into experiments before anything runs: what ``make sweep`` will run.

A sweep file holds ``set`` (overrides for every experiment), then ``experiments`` (each a name and its own
``set``) and/or ``product`` (a name template and lists of values, one experiment per combination), and
``max_experiments``. Each override becomes DVC's ``-S ++key=value``, its value in YAML flow style; a value that
``-S`` would read as more than text is refused (docs/hostile-input.md). ``tools/sweep.py`` runs them.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from aestudy.core.errors import StudyError, shown
from aestudy.core.io import read_config
from aestudy.core.names import check_name

# A param key as a sweep file writes it: dotted names (Hydra's grammar: no `+` inside a name), after a catalogue
# file and a colon for a key of one (conf/autoencoders/seed000.yaml:epochs); no Hydra prefix (+, ++, ~): the sweep
# sets every key with `++`, which sets an argument whether its entry lists it or leaves it at its default.
PARAM_KEY = re.compile(r"(conf/[A-Za-z0-9_-]+/[A-Za-z0-9_+-]+\.yaml:)?[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*")
# Experiments one sweep file may expand to unless its `max_experiments` says more: a product grows fast.
MAX_EXPERIMENTS = 1000
MOST_EXPERIMENTS = 100_000  # the most a file may raise its max_experiments to: each one a run of the pipeline
# Characters of a string value that DVC's -S reads as grammar, not text: `${...}` is resolved (an environment
# variable's value would be committed into the experiment), `a,b` is a sweep of its own; quotes, brackets and `=`.
GRAMMAR = re.compile(r"[$,'\"\\\[\]{}()=]")
# A string DVC's -S would read as something else, unquoted: a number (1e3, .5, 0x1F, 1_000), inf or nan, a boolean
# or null in any case. The sweep writes these quoted, so that text stays text.
NOT_TEXT = re.compile(r"(?i)[-+]?(?:[\d_]*\.?[\d_]+(?:e[-+]?\d+)?|0x[\da-f_]+|0o[0-7_]+|0b[01_]+|\.?inf|\.?nan|inf|nan)"
                      r"|true|false|null|none|yes|no|on|off|~|")


@dataclass(frozen=True)
class Experiment:
    name: str
    params: tuple[str, ...]  # DVC's -S form: key=value


def load_sweep(path: Path) -> list[Experiment]:
    """A sweep file: ``set`` (overrides for every experiment), then ``experiments`` (each a name and its own
    ``set``) and/or ``product`` (a name template and lists of values, one experiment per combination), and
    ``max_experiments`` (default MAX_EXPERIMENTS), the most the file may expand to, checked before expanding.
    Names are 1 to 64 letters, digits, ``_`` or ``-``."""
    spec = read_config(path)
    if not isinstance(spec, dict) or not set(spec) <= {"description", "set", "experiments", "product",
                                                       "max_experiments"}:
        raise StudyError(f"{path}: expected a mapping with set, experiments and/or product (and max_experiments)")
    cap = spec.get("max_experiments", MAX_EXPERIMENTS)
    if isinstance(cap, bool) or not isinstance(cap, int) or not 1 <= cap <= MOST_EXPERIMENTS:
        raise StudyError(f"{path}: max_experiments must be an integer in [1, {MOST_EXPERIMENTS}], got {shown(cap)}")
    entries = spec.get("experiments", []) or []
    if not isinstance(entries, list):
        raise StudyError(f"{path}: experiments must be a list, got {type(entries).__name__}")
    count = len(entries) + (product_size(spec["product"], f"{path}: product") if "product" in spec else 0)
    if count > cap:
        raise StudyError(f"{path}: expands to {count} experiments, more than max_experiments ({cap}); raise "
                         "max_experiments in the file if that many are meant")
    common = overrides(spec.get("set", {}), f"{path}: set")
    experiments = []
    for i, entry in enumerate(entries):
        where = f"{path}: experiments[{i}]"
        if not isinstance(entry, dict) or "name" not in entry or not set(entry) <= {"name", "set"}:
            raise StudyError(f"{where} must be a mapping with a name and a set of overrides")
        name = check_name(entry["name"], f"{where}.name")
        experiments.append(Experiment(name, common + overrides(entry.get("set", {}), f"{where}.set")))
    if "product" in spec:
        experiments += expand_product(spec["product"], common, f"{path}: product")
    if not experiments:
        raise StudyError(f"{path}: no experiments (give experiments, a product, or both)")
    counts = Counter(e.name for e in experiments)
    duplicates = sorted(name for name, n in counts.items() if n > 1)
    if duplicates:
        raise StudyError(f"{path}: experiment names must be unique per sweep, {', '.join(duplicates)} repeated")
    return experiments


def overrides(mapping: Any, where: str) -> tuple[str, ...]:
    """``{key: value}`` in params.yaml's terms, as DVC's ``-S key=value`` strings (values in YAML flow style)."""
    if not isinstance(mapping, dict):
        raise StudyError(f"{where} must be a mapping of param keys to values, got {shown(mapping)}")
    return tuple(set_param(param_key(key, where), flow(value, f"{where}.{key}")) for key, value in mapping.items())


def set_param(key: str, text: str) -> str:
    """``-S`` of one key: ``++key=text`` (or ``file:++key=text``), set whether the file lists the key or not."""
    file, colon, name = key.rpartition(":")
    return f"{file}{colon}++{name}={text}"


def param_key(key: Any, where: str) -> str:
    """``key`` if it is a param key as ``-S`` takes it; else an error naming ``where``."""
    if not isinstance(key, str) or not PARAM_KEY.fullmatch(key):
        raise StudyError(f"{where}: {shown(key)} is not a param key (names joined by dots, as in params.yaml)")
    return key


def flow(value: Any, where: str = "sweep") -> str:
    """A value as ``-S`` reads it back: YAML in flow style on one line (``[42, 0]``, ``0.01``, ``digits``); a
    string that ``-S`` would read as more than text (``GRAMMAR``) is refused."""
    todo = [value]
    while todo:
        item = todo.pop()
        if isinstance(item, dict):
            todo += [*item.keys(), *item.values()]
        elif isinstance(item, list):
            todo += item
        elif isinstance(item, str) and GRAMMAR.search(item):
            raise StudyError(f"{where}: the value {shown(item)} holds {GRAMMAR.search(item).group()!r}, which DVC's -S "
                             "reads as an interpolation, a sweep or a bracket, not as text")
    return flow_text(value)


def flow_text(value: Any) -> str:
    """``value`` in YAML flow style, each string that ``-S`` would read as a number, a boolean or null quoted."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{flow_text(k)}: {flow_text(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow_text(v) for v in value) + "]"
    if isinstance(value, str) and NOT_TEXT.fullmatch(value.strip()):
        return f"'{value}'"
    return yaml.safe_dump(value, default_flow_style=True, width=1 << 16).strip().removesuffix("...").strip()


def product_size(spec: Any, where: str) -> int:
    """How many experiments a ``product`` expands to, its lists checked first."""
    if (not isinstance(spec, dict) or set(spec) != {"name", "params"} or not isinstance(spec["params"], dict)
            or not isinstance(spec["name"], str)):
        raise StudyError(f"{where} must be a mapping with a name template and params (key: list of values)")
    size = 1
    for key, values in spec["params"].items():
        if not isinstance(values, list) or not values:
            raise StudyError(f"{where}.params.{key} must be a non-empty list of values")
        if f"{{{key}}}" not in spec["name"]:
            raise StudyError(f"{where}.name must hold {{{key}}}: every swept key goes into the experiment's name")
        size *= len(values)
    return size


def expand_product(spec: Any, common: tuple[str, ...], where: str) -> list[Experiment]:
    product_size(spec, where)
    # Each value's -S text and name part, once: a product repeats each value many times.
    choices = []
    for key, values in spec["params"].items():
        param_key(key, f"{where}.params")
        texts = [flow(value, f"{where}.params.{key}") for value in values]
        # 0.01 -> 0p01, [42, 0] -> 42-0: a value's other characters become '-' or go.
        parts = [re.sub(r"[^A-Za-z0-9_-]+", "-", text.replace(".", "p")).strip("-") for text in texts]
        choices.append([(f"{{{key}}}", part, set_param(key, text)) for part, text in zip(parts, texts, strict=True)])
    experiments = []
    for combination in itertools.product(*choices):
        name = spec["name"]
        for placeholder, part, _ in combination:
            name = name.replace(placeholder, part)
        experiments.append(Experiment(check_name(name, f"{where}.name"),
                                      common + tuple(override for _, _, override in combination)))
    return experiments
