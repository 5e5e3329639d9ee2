"""The seconds train and codes spent, joined back to their records for the two stages that sum the time.

Train, codes and labels write what they spent apart from what they made (``study.layout``, "seconds"), so that
a stage reading their products never depends on a clock. ``stats`` and ``report`` read a variant's codes record
through ``codes_record`` below, which puts the seconds back where a reader expects them: the record's own
``encode_seconds`` and ``seconds``, and its training record's ``seconds``, ``seconds_per_epoch`` and
``wall_seconds``.
"""

from __future__ import annotations

from pathlib import Path

from aestudy.core.io import read_json
from study import layout


def codes_record(codes: Path, seconds: Path, dataset: str, seed: int, variant: str) -> dict:
    """A variant's codes record (``study.layout.codes_record``) with its codes' and its training's seconds."""
    record = read_json(layout.codes_record(codes, dataset, seed, variant))
    spent = read_json(layout.codes_seconds(seconds, dataset, seed))["variants"][variant]
    trained = record["trained"] | read_json(layout.train_seconds(seconds, dataset, seed, variant))
    return record | spent | {"trained": trained}


def codes_wall_seconds(seconds: Path, dataset: str, seed: int) -> float:
    """The codes stage's wall seconds under one seed."""
    return read_json(layout.codes_seconds(seconds, dataset, seed))["wall_seconds"]


def labels_wall_seconds(seconds: Path, dataset: str) -> float:
    """The labels stage's wall seconds."""
    return read_json(layout.labels_seconds(seconds, dataset))["wall_seconds"]
