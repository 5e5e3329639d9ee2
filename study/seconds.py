"""The seconds train and codes spent, joined back to their records for the two stages that sum the time.

Train, codes and labels write what they spent apart from what they made (``study.layout``, "seconds"), so that
a stage reading their products never depends on a clock. ``stats`` and ``report`` read a variant through
``read_variants`` below: its codes record (``study.records.CodesRecord``) with what its training and its codes cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aestudy.core.io import read_json
from study import layout
from study.records import CodesRecord, TrainSeconds


@dataclass(frozen=True)
class Variant:
    """One variant's codes under one seed, and their cost."""

    codes: CodesRecord
    training: TrainSeconds
    encode_seconds: float  # encoding the training and test images
    seconds: float  # the codes stage's work on the variant: encoding, validation 1-NN and the test scores

    def trained_row(self) -> dict[str, Any]:
        """Its training record as the report's grid reads it: the record's fields and the training's seconds."""
        return self.codes.trained.to_json() | self.training.to_json()


def read_variants(codes: Path, seconds: Path, dataset: str, seed: int, names: list[str]) -> dict[str, Variant]:
    """The variants ``names`` under ``seed``: each one's codes record (``study.layout.codes_record``) with its
    codes' and its training's seconds (the codes stage's seconds file, one for every variant, read once)."""
    spent = read_json(layout.codes_seconds(seconds, dataset, seed))["variants"]
    return {name: Variant(CodesRecord.from_json(read_json(layout.codes_record(codes, dataset, seed, name))),
                          TrainSeconds.from_json(read_json(layout.train_seconds(seconds, dataset, seed, name))),
                          spent[name]["encode_seconds"], spent[name]["seconds"]) for name in names}


def codes_wall_seconds(seconds: Path, dataset: str, seed: int) -> float:
    """The codes stage's wall seconds under one seed."""
    return read_json(layout.codes_seconds(seconds, dataset, seed))["wall_seconds"]


def labels_wall_seconds(seconds: Path, dataset: str) -> float:
    """The labels stage's wall seconds."""
    return read_json(layout.labels_seconds(seconds, dataset))["wall_seconds"]
