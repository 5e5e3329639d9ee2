"""The records the stages write beside their arrays, typed: what each holds, in one place.

A stage writes its record with ``to_json`` and a stage below reads it with ``from_json`` and by attribute, so a
renamed field fails where it is read, at once, not in a slow test. The JSON keys and their order are the
records' schema (``dvc`` hashes the files, and people read them):

- ``TrainRecord``, ``data/models/<dataset>/seed-<seed>/<variant>/record.json`` (``train``): the autoencoder's
  settings, its losses on the split fitted, the split held out and the test images (``<split>_<loss>``), its
  epochs and whether it diverged. Its seconds are a ``TrainSeconds`` apart (``study.seconds``).
- ``CodesRecord``, ``data/codes/<dataset>/seed-<seed>/records/<variant>.json`` (``codes``): the codes' size,
  1-NN on the validation split, the test accuracies of ``<score>`` on the codes, and the ``TrainRecord``.
- ``EncodeRecord``, ``data/records/encode/<dataset>/<features>.json`` (``encode``): per run (a replicate seed,
  or ``all``), the features' size and each step of the chain: the variant whose codes it read, or the estimator
  fitted and its seconds.
- ``ClassifyRecord``, ``data/classify/<dataset>/<features>/<classifier>/record.json`` (``classify``): with every
  label, each run's and score's accuracy, ``Fit`` and confusion matrix; at each budget, each seed's and score's
  mean accuracy, the draws fitted and each draw's ``Fit``; the stage's wall seconds.

The stats records (``aestudy.evaluation.results``) follow the same form.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from study import layout


@dataclass(frozen=True)
class TrainRecord:
    """One trained autoencoder (``stages.train``)."""

    dataset: str
    variant: str
    seed: int
    family: str
    arch: str
    objective: str
    hidden: tuple[int, ...]
    code_activation: str
    loss: str
    lr: float
    batch_size: int
    code_dim: int
    parameters: int
    device: str
    losses: Mapping[str, float | None]  # "<split>_<loss>": train, val and test under each loss; None if not finite
    best_epoch: int
    epochs_run: int
    epochs: int
    collapsed: bool
    diverged: bool

    SETTINGS = ("dataset", "variant", "seed", "family", "arch", "objective", "hidden", "code_activation", "loss",
                "lr", "batch_size", "code_dim", "parameters", "device")
    OUTCOME = ("best_epoch", "epochs_run", "epochs", "collapsed", "diverged")

    def to_json(self) -> dict[str, Any]:
        settings = {name: getattr(self, name) for name in self.SETTINGS} | {"hidden": list(self.hidden)}
        return settings | dict(self.losses) | {name: getattr(self, name) for name in self.OUTCOME}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainRecord:
        losses = {k: v for k, v in data.items() if k not in cls.SETTINGS and k not in cls.OUTCOME}
        return cls(**{name: data[name] for name in cls.SETTINGS + cls.OUTCOME} | {"hidden": tuple(data["hidden"])},
                   losses=losses)

    def loss_of(self, split: str, loss: str) -> float | None:
        """The ``loss`` (mse, bce) on ``split`` (train, val, test)."""
        return self.losses[f"{split}_{loss}"]


@dataclass(frozen=True)
class TrainSeconds:
    """What one training spent: its epochs' seconds, per epoch, and the stage's wall seconds."""

    seconds: float
    seconds_per_epoch: float
    wall_seconds: float

    def to_json(self) -> dict[str, float]:
        return {"seconds": self.seconds, "seconds_per_epoch": self.seconds_per_epoch,
                "wall_seconds": self.wall_seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TrainSeconds:
        return cls(data["seconds"], data["seconds_per_epoch"], data["wall_seconds"])


@dataclass(frozen=True)
class CodesRecord:
    """One variant's codes under one seed (``stages.codes``)."""

    dataset: str
    variant: str
    seed: int
    code_dim: int
    knn1_val: float  # 1-NN on the training split's held-out part: what the selection may read
    test_accuracy: Mapping[str, float]  # each of the codes stage's scores (knn1, knn3, ncc) on the test images
    trained: TrainRecord

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "variant": self.variant, "seed": self.seed, "code_dim": self.code_dim,
                "knn1_val": self.knn1_val, **self.test_accuracy, "trained": self.trained.to_json()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CodesRecord:
        fields = ("dataset", "variant", "seed", "code_dim", "knn1_val", "trained")
        return cls(data["dataset"], data["variant"], data["seed"], data["code_dim"], data["knn1_val"],
                   {k: v for k, v in data.items() if k not in fields}, TrainRecord.from_json(data["trained"]))


@dataclass(frozen=True)
class EncodeStep:
    """One step of a feature set's chain in one run: the codes of ``variant`` read, or ``estimator`` fitted in
    ``seconds``."""

    step: str
    variant: str | None = None
    estimator: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict[str, Any]:
        if self.variant is not None:
            return {"step": self.step, "variant": self.variant}
        return {"step": self.step, "estimator": self.estimator, "seconds": self.seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EncodeStep:
        return cls(data["step"], data.get("variant"), data.get("estimator"), data.get("seconds", 0.0))


@dataclass(frozen=True)
class EncodeRun:
    """A feature set under one replicate seed, or seed-free (``seed`` None): its size and steps."""

    seed: int | None
    dim: int
    steps: tuple[EncodeStep, ...]

    @property
    def seconds(self) -> float:
        """The fitted steps' seconds (reading codes costs none here: their training is the autoencoder's)."""
        return sum(step.seconds for step in self.steps)

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "dim": self.dim, "seconds": self.seconds,
                "steps": [step.to_json() for step in self.steps]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EncodeRun:
        return cls(data["seed"], data["dim"], tuple(EncodeStep.from_json(s) for s in data["steps"]))


@dataclass(frozen=True)
class EncodeRecord:
    """One feature set of one dataset (``stages.encode``): its chain's steps and each run."""

    dataset: str
    features: str
    chain: tuple[str, ...]
    runs: Mapping[str, EncodeRun]  # by run name (``study.layout.run_name``)
    wall_seconds: float

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "features": self.features, "chain": list(self.chain),
                "runs": {name: run.to_json() for name, run in self.runs.items()}, "wall_seconds": self.wall_seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EncodeRecord:
        return cls(data["dataset"], data["features"], tuple(data["chain"]),
                   {name: EncodeRun.from_json(run) for name, run in data["runs"].items()}, data["wall_seconds"])


@dataclass(frozen=True)
class Fit:
    """One fit and prediction: its seconds, and what the fitted estimator reports (``n_iter``, ``epochs_run``,
    ``unreached``..., and the names of the warnings it raised), each where it has it."""

    seconds: float
    reported: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seconds": self.seconds, **self.reported}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fit:
        return cls(data["seconds"], {k: v for k, v in data.items() if k != "seconds"})


@dataclass(frozen=True)
class EveryLabelScore:
    """One score fitted on every training label, on the test images."""

    correct: int
    n: int
    fit: Fit
    confusion: tuple[tuple[int, ...], ...]

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "correct": self.correct, "n": self.n, **self.fit.to_json(),
                "confusion": [list(row) for row in self.confusion]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> EveryLabelScore:
        fit = Fit.from_json({k: v for k, v in data.items() if k not in ("accuracy", "correct", "n", "confusion")})
        return cls(data["correct"], data["n"], fit, tuple(tuple(row) for row in data["confusion"]))


@dataclass(frozen=True)
class BudgetScore:
    """One score at one budget under one seed: the mean test accuracy over its draws, and each draw's fit."""

    accuracy: float
    fits: tuple[Fit, ...]

    @property
    def draws(self) -> int:
        return len(self.fits)

    def to_json(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "draws": self.draws, "fits": [fit.to_json() for fit in self.fits]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BudgetScore:
        return cls(data["accuracy"], tuple(Fit.from_json(f) for f in data["fits"]))


@dataclass(frozen=True)
class ClassifyRecord:
    """One classifier on one feature set of one dataset (``stages.classify``)."""

    dataset: str
    features: str
    classifier: str
    estimator: str  # the entry's import path
    seeded: bool  # whether a result depends on the replicate seed (the features' or the classifier's)
    unlabelled: bool  # whether the classifier saw the unlabelled images (labelled -1)
    scores: tuple[str, ...]
    every_label: Mapping[str, Mapping[str, EveryLabelScore]]  # run name -> score -> its fit
    budgets: Mapping[int, Mapping[int, Mapping[str, BudgetScore]]]  # seed -> labels per class -> score -> fits
    wall_seconds: float

    def budget(self, seed: int, k: int, score: str) -> BudgetScore:
        """``score`` at ``k`` labels per class under ``seed``."""
        return self.budgets[seed][k][score]

    def to_json(self) -> dict[str, Any]:
        return {"dataset": self.dataset, "features": self.features, "classifier": self.classifier,
                "estimator": self.estimator, "seeded": self.seeded, "unlabelled": self.unlabelled,
                "scores": list(self.scores),
                "all": {run: {s: fit.to_json() for s, fit in by.items()} for run, by in self.every_label.items()},
                "budgets": {layout.seed_dir(seed): {str(k): {s: b.to_json() for s, b in by_score.items()}
                                                    for k, by_score in by_k.items()}
                            for seed, by_k in self.budgets.items()},
                "wall_seconds": self.wall_seconds}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ClassifyRecord:
        return cls(data["dataset"], data["features"], data["classifier"], data["estimator"], data["seeded"],
                   data["unlabelled"], tuple(data["scores"]),
                   {run: {s: EveryLabelScore.from_json(f) for s, f in by.items()} for run, by in data["all"].items()},
                   {int(seed.removeprefix(layout.seed_dir(""))): {
                       int(k): {s: BudgetScore.from_json(b) for s, b in by_score.items()}
                       for k, by_score in by_k.items()} for seed, by_k in data["budgets"].items()},
                   data["wall_seconds"])
