"""The catalogues under ``conf/``: one file per dataset (``conf/datasets/<name>.yaml``) and per autoencoder
(``conf/autoencoders/<name>.yaml``), the entries the lists ``datasets`` and ``variants`` of params.yaml choose
from (Hydra's config groups). A variant's change re-runs that variant's stages alone; ``dvc exp run -S
conf/autoencoders/seed000.yaml:epochs=5`` overrides a key of one."""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aestudy.core.errors import StudyError, clipped, listed, shown
from aestudy.core.io import read_config
from aestudy.core.names import check_name
from aestudy.data.datasets import DatasetSpec, parse_spec
from study.catalogue import STUDY_ARGUMENTS, Entry, parse_entry
from study.params_yaml import name_list

CONF = Path("conf")


def conf_file(group: str, name: str) -> Path:
    """The file of a catalogue entry."""
    return CONF / group / f"{name}.yaml"


def conf_names(group: str) -> list[str]:
    """The entries of a catalogue folder, by their checked names."""
    folder = CONF / group
    return sorted(check_name(path.stem, f"{folder}") for path in folder.glob("*.yaml")) if folder.is_dir() else []


# The params.yaml list that names each group's entries, and where DVC runs a `--temp` experiment.
LIST_KEYS = {"autoencoders": "variants", "datasets": "datasets"}
TEMPORARY_WORKSPACE = "/.dvc/tmp/exps/"


def conf_entry(group: str, name: str) -> Mapping[str, Any]:
    """The mapping in ``conf/<group>/<name>.yaml``; a list naming an entry that has no file is an error."""
    check_name(name, f"{CONF / group}")
    path = conf_file(group, name)
    if not path.is_file():
        known = conf_names(group)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        if TEMPORARY_WORKSPACE in Path.cwd().as_posix():  # DVC copied the commit and git's tracked changes only
            hint += "a --temp experiment sees only files git tracks: git add it first; "
        raise StudyError(f"params.yaml: {LIST_KEYS[group]} names {shown(name)}, but {path} does not exist ({hint}"
                         f"entries: {listed(known) or 'none'})")
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
        defaults = ", ".join(f"{name}: {json.dumps(value)}" for name, value in unwritten.items())
        raise StudyError(f"{entry.key}: leaves {listed(unwritten)} to {entry.path}'s defaults; write every "
                         f"setting in the entry ({clipped(defaults)})")


def built_autoencoder(entry: Entry, **arguments: Any) -> Any:
    """The autoencoder of a ``conf/autoencoders`` entry, built with ``arguments``, its training config checked:
    (the estimator, its ``AutoencoderConfig``)."""
    model = entry.build(**arguments)
    try:
        return model, model.autoencoder_config()
    except StudyError as error:
        raise StudyError(f"{entry.key}: {error}") from None
