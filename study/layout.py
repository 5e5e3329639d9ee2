"""The DVC layout, written once: every file and folder the stages write and read, under the stage that owns it.

``dvc.yaml`` declares the same outputs (``tests/test_layout.py`` holds the two equal); every stage builds its paths
here, the writer and its readers alike, and ``--help`` shows the roots as the flags' defaults (``study.cli``). A
stage reads another stage's output only through that output's function below, and only outputs that ``dvc.yaml``
lists among its dependencies.

Each function takes the root a stage was given (its ``--flag``, by default ``ROOTS``) and the names of one item;
a seed is a number, or DVC's ``${item.seed}`` when the test compares this layout with ``dvc.yaml``.
"""

from __future__ import annotations

from pathlib import Path

# Every root of the layout, under the name of its stage flag.
ROOTS = {
    "params": Path("params.yaml"),
    "code": Path("data/records/code"),
    "raw": Path("data/raw"),
    "prepared": Path("data/prepared"),
    "facts": Path("metrics/data"),
    "labelled": Path("data/labelled"),
    "models": Path("data/models"),
    "codes": Path("data/codes"),
    "grid": Path("metrics/grid"),
    "feature-sets": Path("data/features"),
    "encoded": Path("data/records/encode"),
    "classified": Path("data/classify"),
    "live": Path("data/live/classify"),
    "stats": Path("metrics/stats"),
    "fits": Path("metrics/fits"),
    "metrics": Path("metrics"),
    "seconds": Path("data/records/seconds"),
}
ALL_RUN = "all"  # the file name of a seed-free result's one run


def seed_dir(seed: int | str) -> str:
    """The name of one replicate seed's products: ``seed-42``."""
    return f"seed-{seed}"


def run_name(seed: int | None) -> str:
    """The file name (no suffix) of one run of a result: ``seed-42``, or ``all`` for a seed-free result."""
    return ALL_RUN if seed is None else seed_dir(seed)


# validate ------------------------------------------------------------------------------------------------------

def code_digest(root: Path, name: str) -> Path:
    """The digest of the code one kind of stage runs (``study.digests``)."""
    return root / f"{name}.json"


# extract -------------------------------------------------------------------------------------------------------

def prepared(root: Path, dataset: str) -> Path:
    """A dataset's prepared arrays: both splits' images and labels."""
    return root / f"{dataset}.npz"


def facts(root: Path, dataset: str) -> Path:
    """What extract found: counts, checksums, the title and class names, its seconds."""
    return root / f"{dataset}.json"


# labels --------------------------------------------------------------------------------------------------------

def labelled(root: Path, dataset: str, seed: int | str) -> Path:
    """The labelled sets of one seed: ``indices-<k>`` and ``labels-<k>``, a row per draw."""
    return root / dataset / f"{seed_dir(seed)}.npz"


def labels_record(root: Path, dataset: str) -> Path:
    """The labels stage's record: the draws."""
    return root / dataset / "record.json"


# train ---------------------------------------------------------------------------------------------------------

def model_dir(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """One trained autoencoder's folder: ``model.pt``, ``record.json`` and dvclive's ``live/``."""
    return root / dataset / seed_dir(seed) / variant


def model_file(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """The trained autoencoder's weights and config (``save_model``)."""
    return model_dir(root, dataset, seed, variant) / "model.pt"


def model_record(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """The training record: losses, epochs, divergence (its seconds are ``train_seconds``)."""
    return model_dir(root, dataset, seed, variant) / "record.json"


def model_live(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """dvclive's folder: ``metrics.json`` and ``plots/metrics/<name>.tsv``."""
    return model_dir(root, dataset, seed, variant) / "live"


def model_curve(root: Path, dataset: str, seed: int | str, variant: str, name: str) -> Path:
    """One per-epoch curve dvclive logged (``val_loss``, ``train_loss``)."""
    return model_live(root, dataset, seed, variant) / "plots" / "metrics" / f"{name}.tsv"


# codes ---------------------------------------------------------------------------------------------------------

def codes_dir(root: Path, dataset: str, seed: int | str) -> Path:
    """Every variant's codes under one seed, and what codes found of them."""
    return root / dataset / seed_dir(seed)


def codes_file(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """One variant's codes of the training and test images (``train``, ``test``)."""
    return codes_dir(root, dataset, seed) / f"{variant}.npz"


def codes_predictions(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """The test predictions of the variant's scores, and of PCA of its code's size (``pca_<score>``)."""
    return codes_dir(root, dataset, seed) / "predictions" / f"{variant}.npz"


def codes_report(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """The report's arrays of one variant: test images, reconstructions, first-layer activation grids, val loss."""
    return codes_dir(root, dataset, seed) / "report" / f"{variant}.npz"


def codes_record(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """One variant's scores, with its training record (``trained``); the seconds are ``codes_seconds``."""
    return codes_dir(root, dataset, seed) / "records" / f"{variant}.json"


def selection(root: Path, dataset: str, seed: int | str) -> Path:
    """The variant chosen on the validation split, and every candidate."""
    return codes_dir(root, dataset, seed) / "selection.json"


def grid(root: Path, dataset: str, seed: int | str) -> Path:
    """The grid's metrics under one seed: every variant's losses, epochs, seconds and validation 1-NN."""
    return root / dataset / f"{seed_dir(seed)}.json"


# seconds -------------------------------------------------------------------------------------------------------
# What train, codes and labels spent, apart from what they made: a stage that reads their products (codes reads
# the models, encode the codes, classify the labelled sets) then depends on nothing a re-run changes when its
# products come out the same. Only stats and report, which sum the time, read these.

def train_seconds(root: Path, dataset: str, seed: int | str, variant: str) -> Path:
    """One training's seconds: ``seconds`` (the epochs), ``seconds_per_epoch``, ``wall_seconds`` (the stage)."""
    return root / "train" / dataset / seed_dir(seed) / f"{variant}.json"


def codes_seconds(root: Path, dataset: str, seed: int | str) -> Path:
    """The codes stage's ``wall_seconds`` under one seed, and each variant's ``encode_seconds`` and ``seconds``."""
    return root / "codes" / dataset / f"{seed_dir(seed)}.json"


def labels_seconds(root: Path, dataset: str) -> Path:
    """The labels stage's ``wall_seconds``."""
    return root / "labels" / f"{dataset}.json"


# encode --------------------------------------------------------------------------------------------------------

def feature_dir(root: Path, dataset: str, features: str) -> Path:
    """A feature set's rows of one dataset: a file per run (``run_name``). The folder is the feature set's first
    (``data/features/<features>/<dataset>``, as DVC's matrix names it); the arguments, as everywhere, dataset first."""
    return root / features / dataset


def feature_file(root: Path, dataset: str, features: str, seed: int | None) -> Path:
    """One run's rows of a feature set (``train``, ``test``): seed-free (``all``) or one seed's."""
    return feature_dir(root, dataset, features) / f"{run_name(seed)}.npz"


def encode_record(root: Path, dataset: str, features: str) -> Path:
    """What a feature set's steps cost, per run."""
    return root / dataset / f"{features}.json"


# classify ------------------------------------------------------------------------------------------------------

def classify_dir(root: Path, dataset: str, features: str, classifier: str) -> Path:
    """One classifier on one feature set: its test predictions at every budget, and its record."""
    return root / dataset / features / classifier


def every_label_predictions(folder: Path, run: str) -> Path:
    """The test predictions with every label of one run (``run_name``): a column per score."""
    return folder / (f"{ALL_RUN}.npz" if run == ALL_RUN else f"{ALL_RUN}-{run}.npz")


def budget_predictions(folder: Path, seed: int | str) -> Path:
    """The few-label test predictions of one seed: ``<score>-<k>``, a row per draw."""
    return folder / f"budgets-{seed_dir(seed)}.npz"


def classify_record(folder: Path) -> Path:
    """The classify stage's record: accuracies, each fit's seconds and facts, the confusion matrices."""
    return folder / "record.json"


def classify_live(root: Path, dataset: str, features: str, classifier: str) -> Path:
    """The classify stage's dvclive folder: each budget's accuracy as scored, the MLP's epochs."""
    return root / dataset / features / classifier


# stats ---------------------------------------------------------------------------------------------------------

def stats_file(root: Path, dataset: str) -> Path:
    """The dataset's statistics (``aestudy.evaluation.results.DatasetStats``)."""
    return root / f"{dataset}.json"


def fits_table(root: Path, dataset: str) -> Path:
    """Every fit of the dataset, a row each."""
    return root / f"{dataset}.csv"


# report --------------------------------------------------------------------------------------------------------

def summary(root: Path) -> Path:
    """The headline metrics: per dataset, the accuracies with their seconds and the verdicts as numbers."""
    return root / "summary.json"


def stage_times(root: Path) -> Path:
    """Each stage kind's wall seconds and stage count."""
    return root / "times.json"


def report_text(root: Path) -> Path:
    """The report, each figure embedded with its caption."""
    return root / "report.md"


def results_text(root: Path) -> Path:
    """The README's results section, as the report renders it (``make readme`` puts it in place)."""
    return root / "results.md"


def figures(root: Path) -> Path:
    """The report's figures (``aestudy.report.figures`` names each file under it)."""
    return root / "figures"


def plot_table(root: Path, dataset: str, name: str) -> Path:
    """A table ``dvc plots`` draws: ``validation_loss`` or ``label_budgets`` of one dataset."""
    return root / "plots" / name / f"{dataset}.csv"
