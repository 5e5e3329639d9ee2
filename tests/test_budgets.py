"""The few-label study: labelled samples, the supervised few-label fits, the stages and their statistics."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from aestudy.classifiers.linear import LinearProbeClassifier
from aestudy.classifiers.mlp import MLPClassifier
from aestudy.core.errors import StudyError
from aestudy.data.budgets import draw_seed, labelled_sample
from tests.conftest import SMALL_CLASSIFIERS, SMALL_FEATURES, SMALL_SCORES, read, run, set_params

SEED = 42
SCORE_PAIRS = [("spreading", "knn1"), ("poisson", "knn1"), ("poisson-priors", "poisson"),
               ("poisson-mbo", "poisson")]
FEATURE_PAIRS = [("ae", "raw"), ("ae", "pca"), ("pca", "raw"), ("ae+umap", "pca+umap"), ("ae+umap", "ae")]


def test_the_labelled_sample_is_class_balanced_nested_and_seeded() -> None:
    labels = np.repeat(np.arange(10), [30, 31, 32, 33, 34, 35, 36, 37, 38, 39])
    np.random.default_rng(0).shuffle(labels)
    sample = labelled_sample(labels, [2, 5, 20], seed=draw_seed(SEED, 0))
    for k, indices in sample.items():
        assert np.array_equal(np.bincount(labels[indices], minlength=10), np.full(10, k))
        assert np.array_equal(indices, np.unique(indices))  # sorted, no image twice
    assert set(sample[2]) <= set(sample[5]) <= set(sample[20])
    again = labelled_sample(labels, [2, 5, 20], seed=draw_seed(SEED, 0))
    other = labelled_sample(labels, [2, 5, 20], seed=draw_seed(SEED, 1))
    assert all(np.array_equal(sample[k], again[k]) for k in sample)
    assert not np.array_equal(sample[20], other[20])
    # The same on every machine: numpy's SeedSequence and PCG64 are specified bit for bit. These digests were
    # taken once; a change of algorithm (or of numpy's streams) changes every labelled set and must show here.
    assert draw_seed(SEED, 0) == 3444837047
    digest = hashlib.sha256(np.concatenate(list(sample.values())).astype("<i8").tobytes()).hexdigest()
    assert digest[:16] == "10823f23ae3bb4c4"


def test_a_budget_larger_than_a_class_is_one_error_naming_the_argument() -> None:
    with pytest.raises(StudyError, match=r"^per_class asks for 40 labels per class, but class 0 has 30 images$"):
        labelled_sample(np.repeat(np.arange(3), [30, 50, 50]), [4, 40], seed=1)


def test_the_labels_stage_names_the_key_of_a_budget_larger_than_a_class(project: Path) -> None:
    run(["python", "-m", "stages.extract", "--dataset", "digits"], project)
    set_params(project, {"label_budgets": {"labels_per_class": [2, 500, "all"]}})
    result = run(["python", "-m", "stages.labels", "--dataset", "digits"], project, check=False)
    assert result.returncode == 2 and not (project / "data/labelled").exists()
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: params.yaml: label_budgets.labels_per_class: per_class asks for 500 labels per "
                           "class, but class ") and line.endswith(" images (digits's training split)"), line


def test_the_linear_probe_is_logistic_regression_on_standardised_features() -> None:
    digits = load_digits()
    x, y = digits.data[:1200], digits.target[:1200]
    probe = LinearProbeClassifier(C=0.5, max_iter=2000).fit(x, y)
    scaler = StandardScaler().fit(x.astype(np.float32).astype(np.float64))
    reference = LogisticRegression(C=0.5, max_iter=2000).fit(scaler.transform(x), y)
    test = digits.data[1200:]
    assert np.array_equal(probe.predict(test), reference.predict(scaler.transform(test)))
    np.testing.assert_allclose(probe.predict_proba(test), reference.predict_proba(scaler.transform(test)),
                               atol=1e-6)
    assert probe.score(test, digits.target[1200:]) > 0.9
    # A constant feature (the digits' blank corner pixels) is centred, never divided by 0.
    assert np.all(np.isfinite(probe.decision_function(test)))


def test_the_mlp_trains_at_least_min_steps_on_a_few_labels() -> None:
    digits = load_digits()
    idx = labelled_sample(digits.target, [4], seed=1)[4]
    model = MLPClassifier(hidden=(32,), epochs=5, batch_size=256, min_steps=200, progress=False)
    model.fit(digits.data[idx], digits.target[idx])
    assert model.epochs_planned_ == 200  # one step per epoch: the epochs stretched to 200 steps
    assert MLPClassifier(hidden=(32,), epochs=5, min_steps=0, progress=False).fit(
        digits.data[idx], digits.target[idx]).epochs_planned_ == 5


@pytest.mark.slow
def test_few_label_fits_read_no_training_label_outside_the_labelled_sets(reproduced: Path) -> None:
    """Scrambled training labels leave every few-label prediction as it was: each classifier, the graph ones
    fitted on every training image included, saw the draws' labels and nothing else."""
    prepared = reproduced / "data/prepared/digits.npz"
    with np.load(prepared) as arrays:
        scrambled = dict(arrays)
    scrambled["train_labels"] = np.random.default_rng(0).permutation(scrambled["train_labels"])
    prepared.unlink()  # DVC may have linked it to the cache: never write through the link
    np.savez(prepared, **scrambled)
    for features, classifier in (("raw", "knn"), ("ae", "mlp"), ("pca+umap", "graph")):
        run(["python", "-m", "stages.classify", "--dataset", "digits", "--features", features, "--classifier",
             classifier, "--classified", "again"], reproduced)
        name = f"digits/{features}/{classifier}/budgets-seed-{SEED}.npz"
        with np.load(reproduced / "again" / name) as new, np.load(reproduced / "data/classify" / name) as old:
            assert list(new) == list(old) and all(np.array_equal(new[k], old[k]) for k in old), name
        # The budget `all` does read them: its predictions change.
        everything = next((reproduced / "again" / f"digits/{features}/{classifier}").glob("all*.npz"))
        with np.load(everything) as new, np.load(reproduced / "data/classify" / everything.relative_to(
                reproduced / "again")) as old:
            assert any(not np.array_equal(new[k], old[k]) for k in old), features
    # The labels stage does read them: the scrambled labels give other labelled sets.
    run(["python", "-m", "stages.labels", "--dataset", "digits", "--labelled", "again/labelled", "--seconds",
         "again/seconds"], reproduced)
    with np.load(reproduced / f"again/labelled/digits/seed-{SEED}.npz") as new, \
            np.load(reproduced / f"data/labelled/digits/seed-{SEED}.npz") as old:
        assert not np.array_equal(new["indices-8"], old["indices-8"])


@pytest.mark.slow
def test_label_budget_statistics(reproduced_once: Path) -> None:
    stats = read(reproduced_once, "metrics/stats/digits.json")
    budgets = stats["label_budgets"]
    assert [b["labels_per_class"] for b in budgets] == [2, 8, "all"]
    assert [b["n_labelled"] for b in budgets] == [20, 80, 1500]
    for budget in budgets:
        assert set(budget) == {"labels_per_class", "n_labelled", "cells", "comparisons", "score_comparisons", "times"}
        assert list(budget["cells"]) == SMALL_FEATURES
        for features in SMALL_FEATURES:
            assert list(budget["cells"][features]) == SMALL_SCORES
            for cell in budget["cells"][features].values():
                assert cell["ci95"][0] <= cell["accuracy"] <= cell["ci95"][1]
        assert list(budget["comparisons"]) == SMALL_SCORES
        for rows in budget["comparisons"].values():
            assert [(row["a"], row["b"]) for row in rows] == FEATURE_PAIRS
            for row in rows:
                assert {"difference_pt", "ci95_pt", "verdict", "mcnemar_p", "by_seed"} <= set(row)
        for rows in budget["score_comparisons"].values():
            assert [(row["a"], row["b"]) for row in rows] == SCORE_PAIRS
    draws = {score: budgets[0]["cells"]["raw"][score]["n_draws"] for score in SMALL_SCORES}
    assert draws == {"knn1": 3, "knn3": 3, "mlp": 2, "spreading": 3, "poisson": 3, "poisson-priors": 3,
                     "poisson-mbo": 3}
    assert budgets[-1]["cells"]["raw"]["knn1"]["n_draws"] == 1
    # The "all" budget repeats the full-label tables.
    assert budgets[-1]["cells"]["ae"]["knn1"]["accuracy"] == stats["cells"]["ae"]["knn1"]["accuracy"]
    # Fewer labels, wider intervals: over three draws of 20 images against one fit on 1500.
    for score in ("knn1", "spreading"):
        widths = [b["cells"]["raw"][score]["ci95"][1] - b["cells"]["raw"][score]["ci95"][0] for b in budgets]
        assert widths[0] > widths[-1], (score, widths)
    # Each draw's paired rows say which seed and draw they are; the MLP's 2 draws pair with the first 2.
    assert [(r["seed"], r["draw"]) for r in budgets[0]["comparisons"]["knn1"][0]["by_seed"]] == [
        (SEED, 0), (SEED, 1), (SEED, 2)]
    report = (reproduced_once / "metrics/report.md").read_text()
    assert "![digits (scikit-learn): test accuracy against labels per class](figures/digits/label_budgets.png)" in report
    assert (reproduced_once / "metrics/figures/digits/label_budgets.png").stat().st_size > 10_000


@pytest.mark.slow
def test_budgets_and_draws_are_read_only_by_what_needs_them(reproduced_once: Path) -> None:
    """The budgets and draws: `validate` (which reads every key), `labels`, every classify stage and the statistics;
    nothing that trains or encodes. (A change to an entry's own draws re-runs that entry alone:
    tests/test_experiments.py.)"""
    readers = [stage for stage, entry in yaml.safe_load((reproduced_once / "dvc.lock").read_text())["stages"].items()
               if "label_budgets" in entry.get("params", {}).get("params.yaml", {})]
    assert sorted(readers) == sorted(["validate", "labels@digits", "stats@digits", *(
        f"classify@digits-{f}-{c}" for f in SMALL_FEATURES for c in SMALL_CLASSIFIERS)]), readers
