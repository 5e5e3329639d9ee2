"""The statistics of one dataset as typed records: what ``metrics/stats/<dataset>.json`` holds, written once.

The ``stats`` stage builds a ``DatasetStats`` from the test predictions (``aestudy.evaluation.tables``); the
report, the headline and the README's section read its attributes. Each record has one ``to_json`` and one
``from_json``, so a change of the schema is an edit here.

- ``Cell``: one (features, score)'s test accuracy with its 95% interval; over several runs the mean, their
  standard deviation and the runs (``n_seeds`` with every label, ``n_draws`` at a label budget, seeds x draws).
- ``Comparison``: A - B on the same test images, in points, with its bootstrap interval, each run's exact McNemar
  test (``runs``, with the seed and draw of each) and the verdict (``A beats B`` only when the interval excludes 0).
- ``Table``: the cells and comparisons of one budget; ``Budget`` adds its size and times.
- ``VariantResult``: one autoencoder's codes against PCA of the same size (descriptive, never used to choose).
- ``Confusion``: the most accurate every-label cell's confusion matrix; ``DatasetStats``: all of one dataset.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

TIE = "tie within noise"


@dataclass(frozen=True)
class Cell:
    """One cell's accuracy (a fraction), its 95% interval, the spread over runs (None for one run) and the runs:
    ``n_seeds`` with every label, ``n_draws`` at a label budget (the other is None)."""

    accuracy: float
    ci95: tuple[float, float]
    std: float | None
    n_seeds: int | None = None
    n_draws: int | None = None

    @property
    def runs(self) -> int:
        """How many runs the cell averages: seeds, or seeds x label draws."""
        return self.n_seeds if self.n_seeds is not None else self.n_draws or 1

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        runs = {"n_seeds": self.n_seeds} if self.n_seeds is not None else {"n_draws": self.n_draws}
        return {"accuracy": self.accuracy, "ci95": list(self.ci95), "std": self.std, **runs}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cell:
        """The record read back from ``to_json``'s values."""
        return cls(data["accuracy"], tuple(data["ci95"]), data["std"], data.get("n_seeds"), data.get("n_draws"))


@dataclass(frozen=True)
class RunComparison:
    """One run of a comparison (a seed, and a label draw at a budget): A - B in points, the test images only A
    or only B got right, the exact McNemar p-value, and the run's labels (``seed``, ``draw``)."""

    difference_pt: float
    a_only: int
    b_only: int
    mcnemar_p: float
    labels: dict[str, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"difference_pt": self.difference_pt, "a_only": self.a_only, "b_only": self.b_only,
                "mcnemar_p": self.mcnemar_p, **self.labels}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunComparison:
        """The record read back from ``to_json``'s values."""
        labels = {k: v for k, v in data.items() if k not in ("difference_pt", "a_only", "b_only", "mcnemar_p")}
        return cls(data["difference_pt"], data["a_only"], data["b_only"], data["mcnemar_p"], labels)


@dataclass(frozen=True)
class Comparison:
    """A - B (two feature sets under one score, or two scores on one feature set) over the runs both have."""

    a: str
    b: str
    difference_pt: float
    ci95_pt: tuple[float, float]
    mcnemar_p: float  # the largest over the runs: every run is at least this significant
    runs: tuple[RunComparison, ...]
    verdict: str

    @property
    def winner(self) -> str:
        """``"a"``, ``"b"`` or ``"tie"``: the side the verdict favours."""
        return "tie" if self.verdict == TIE else "a" if self.verdict == f"{self.a} beats {self.b}" else "b"

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"a": self.a, "b": self.b, "difference_pt": self.difference_pt, "ci95_pt": list(self.ci95_pt),
                "mcnemar_p": self.mcnemar_p, "by_seed": [run.to_json() for run in self.runs], "verdict": self.verdict}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Comparison:
        """The record read back from ``to_json``'s values."""
        return cls(data["a"], data["b"], data["difference_pt"], tuple(data["ci95_pt"]), data["mcnemar_p"],
                   tuple(RunComparison.from_json(run) for run in data["by_seed"]), data["verdict"])


@dataclass(frozen=True)
class Times:
    """Seconds of one (features, score): its fit and predict (the mean over runs), the total with the features'
    cost (an autoencoder's training included); with every label also its few-label fits and their seconds."""

    seconds: float | None
    total_seconds: float | None
    few_label_fits: int | None = None
    few_label_seconds: float | None = None

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        few = ({} if self.few_label_fits is None else
               {"few_label_fits": self.few_label_fits, "few_label_seconds": self.few_label_seconds})
        return {"seconds": self.seconds, "total_seconds": self.total_seconds, **few}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Times:
        """The record read back from ``to_json``'s values."""
        return cls(data["seconds"], data["total_seconds"], data.get("few_label_fits"), data.get("few_label_seconds"))


Grid = dict[str, dict[str, Any]]  # features -> score -> a record


def grid_to_json(grid: Mapping[str, Mapping[str, Any]]) -> dict:
    """A features x score grid of records as JSON."""
    return {outer: {inner: value.to_json() for inner, value in by.items()} for outer, by in grid.items()}


def grid_from_json(data: Mapping[str, Mapping[str, Any]], kind: type) -> Grid:
    """A features x score grid of ``kind`` records from JSON."""
    return {outer: {inner: kind.from_json(value) for inner, value in by.items()} for outer, by in data.items()}


def lists_to_json(lists: Mapping[str, Iterable[Comparison]]) -> dict:
    """Lists of comparisons by key, as JSON."""
    return {key: [row.to_json() for row in rows] for key, rows in lists.items()}


def lists_from_json(data: Mapping[str, Iterable[Mapping]]) -> dict[str, list[Comparison]]:
    """Lists of comparisons by key, from JSON."""
    return {key: [Comparison.from_json(row) for row in rows] for key, rows in data.items()}


@dataclass(frozen=True)
class Table:
    """The cells of one budget (``cells[features][score]``), the feature pairs under each score
    (``comparisons[score]``) and the score pairs on each feature set (``score_comparisons[features]``)."""

    cells: dict[str, dict[str, Cell]]
    comparisons: dict[str, list[Comparison]]
    score_comparisons: dict[str, list[Comparison]]

    def comparison(self, kind: str, key: str, a: str, b: str) -> Comparison | None:
        """The comparison A - B under ``key`` in ``comparisons`` or ``score_comparisons``, if the study made it."""
        rows = getattr(self, kind).get(key, [])
        return next((row for row in rows if (row.a, row.b) == (a, b)), None)

    def table_json(self) -> dict[str, Any]:
        """The cells and comparisons as JSON, under the keys every table shares."""
        return {"cells": grid_to_json(self.cells), "comparisons": lists_to_json(self.comparisons),
                "score_comparisons": lists_to_json(self.score_comparisons)}

    @staticmethod
    def table_fields(data: Mapping[str, Any]) -> dict[str, Any]:
        """The fields every table shares, read back from JSON (the inverse of ``table_json``)."""
        return {"cells": grid_from_json(data["cells"], Cell), "comparisons": lists_from_json(data["comparisons"]),
                "score_comparisons": lists_from_json(data["score_comparisons"])}


EMPTY_TABLE = Table({}, {}, {})


@dataclass(frozen=True)
class Budget(Table):
    """One label budget (``labels_per_class``, or ``all``): its table, its labelled images and times."""

    labels_per_class: int | str = 0
    n_labelled: int = 0
    times: dict[str, dict[str, Times]] = field(default_factory=dict)

    @property
    def few(self) -> bool:
        """Whether this is a few-label budget (not every label)."""
        return self.labels_per_class != "all"

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"labels_per_class": self.labels_per_class, "n_labelled": self.n_labelled, **self.table_json(),
                "times": grid_to_json(self.times)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Budget:
        """The record read back from ``to_json``'s values."""
        return cls(**cls.table_fields(data), labels_per_class=data["labels_per_class"], n_labelled=data["n_labelled"],
                   times=grid_from_json(data["times"], Times))


@dataclass(frozen=True)
class VariantResult:
    """One autoencoder of the grid: its codes (``cells["code"]``) and PCA of the same size (``cells["pca"]``)
    under each of the codes stage's scores, and code - PCA."""

    variant: str
    family: str
    code_dim: int
    training_seconds: float
    scoring_seconds: float
    diverged: bool
    cells: dict[str, dict[str, Cell]]
    comparisons: dict[str, Comparison]

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"variant": self.variant, "family": self.family, "code_dim": self.code_dim,
                "training_seconds": self.training_seconds, "scoring_seconds": self.scoring_seconds,
                "diverged": self.diverged, "cells": grid_to_json(self.cells),
                "comparisons": {score: row.to_json() for score, row in self.comparisons.items()}}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> VariantResult:
        """The record read back from ``to_json``'s values."""
        return cls(data["variant"], data["family"], data["code_dim"], data["training_seconds"],
                   data["scoring_seconds"], data["diverged"], grid_from_json(data["cells"], Cell),
                   {score: Comparison.from_json(row) for score, row in data["comparisons"].items()})


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix (true class x predicted class, counts) of the most accurate every-label cell, from its
    first run: described, never chosen by."""

    features: str
    score: str
    accuracy: float
    matrix: list[list[int]]

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"features": self.features, "score": self.score, "accuracy": self.accuracy, "matrix": self.matrix}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Confusion:
        """The record read back from ``to_json``'s values."""
        return cls(data["features"], data["score"], data["accuracy"], data["matrix"])


@dataclass(frozen=True)
class DatasetStats(Table):
    """Everything ``stats`` found for one dataset: the every-label table (empty when the budgets leave out
    ``all``) with its times and its most accurate cell's confusion matrix, each budget's, each variant's, and
    each stage kind's wall seconds."""

    dataset: str = ""
    n_test: int = 0
    seeds: tuple[int, ...] = ()
    confidence: float = 0.95
    resamples: int = 0
    bootstrap_seed: int = 0
    times: dict[str, dict[str, Times]] = field(default_factory=dict)
    label_budgets: tuple[Budget, ...] = ()
    variants: tuple[VariantResult, ...] = ()
    stage_seconds: dict[str, dict[str, float]] = field(default_factory=dict)
    confusion: Confusion | None = None

    @property
    def smallest_budget(self) -> Budget | None:
        """The first few-label budget, if the study has one."""
        return next((b for b in self.label_budgets if b.few), None)

    def to_json(self) -> dict[str, Any]:
        """The record as JSON-ready values."""
        return {"dataset": self.dataset, "n_test": self.n_test, "seeds": list(self.seeds),
                "confidence": self.confidence, "resamples": self.resamples, "bootstrap_seed": self.bootstrap_seed,
                **self.table_json(), "times": grid_to_json(self.times),
                "label_budgets": [b.to_json() for b in self.label_budgets],
                "variants": [v.to_json() for v in self.variants], "stage_seconds": self.stage_seconds,
                "confusion": None if self.confusion is None else self.confusion.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DatasetStats:
        """The record read back from ``to_json``'s values."""
        return cls(**cls.table_fields(data), dataset=data["dataset"], n_test=data["n_test"],
                   seeds=tuple(data["seeds"]), confidence=data["confidence"], resamples=data["resamples"],
                   bootstrap_seed=data["bootstrap_seed"], times=grid_from_json(data["times"], Times),
                   label_budgets=tuple(Budget.from_json(b) for b in data["label_budgets"]),
                   variants=tuple(VariantResult.from_json(v) for v in data["variants"]),
                   stage_seconds=data["stage_seconds"],
                   confusion=None if data.get("confusion") is None else Confusion.from_json(data["confusion"]))

