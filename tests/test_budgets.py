"""The few-label study: labelled samples, the linear probe, the budget stages and their statistics."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from aestudy.budgets import draw_seed, labelled_sample
from aestudy.errors import StudyError
from aestudy.linear import LinearProbeClassifier
from aestudy.mlp import MLPClassifier
from aestudy.study import COMPARISONS, FEATURES
from stages import params as P
from tests.conftest import ROOT, run

SEED = 42
BUDGET_SCORES = ["1nn", "3nn", "ncc", "linear", "mlp"]
DEFAULTS = yaml.safe_load((ROOT / "params.yaml").read_text())


def read(project: Path, name: str) -> dict:
    return json.loads((project / name).read_text())


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


def test_a_budget_larger_than_a_class_is_one_error_naming_the_key() -> None:
    with pytest.raises(StudyError, match=r"labels_per_class asks for 40 labels per class, but class 0 has 30"):
        labelled_sample(np.repeat(np.arange(3), [30, 50, 50]), [4, 40], seed=1)


@pytest.mark.parametrize(("budgets", "message"), [
    ({"labels_per_class": [16, 4]}, "labels_per_class must increase"),
    ({"labels_per_class": []}, "labels_per_class must be a non-empty list"),
    ({"labels_per_class": [4, "all", 16]}, "labels_per_class must be an integer"),
    ({"labels_per_class": [0, 4]}, "labels_per_class must be an integer in \\[1, 1000000\\], got 0"),
    ({"draws": 0}, "draws must be an integer in \\[1, 1000\\]"),
    ({"mlp_draws": 11}, "mlp_draws must be an integer in \\[1, 10\\]"),
    ({"folds": 3}, "label_budgets has unknown key\\(s\\) folds"),
])
def test_bad_label_budgets_name_the_key(budgets: dict, message: str) -> None:
    params = copy.deepcopy(DEFAULTS)
    params["classify"]["label_budgets"].update(budgets)
    with pytest.raises(StudyError, match=message):
        P.label_budgets(params)
        P.label_draws(params, "mlp_draws")


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


def test_budget_stages_read_no_training_label_outside_the_labelled_sets(reproduced: Path) -> None:
    prepared = reproduced / "data/prepared/digits.npz"
    with np.load(prepared) as arrays:
        scrambled = dict(arrays)
    scrambled["train_labels"] = np.random.default_rng(0).permutation(scrambled["train_labels"])
    prepared.unlink()  # DVC may have linked it to the cache: never write through the link
    np.savez(prepared, **scrambled)
    again = ["--budget-predictions", "again/predictions", "--budget-metrics", "again/records"]
    for classifiers in (["knn", "ncc", "linear"], ["mlp"]):
        run(["python", "-m", "stages.budgets", "--dataset", "digits", "--features", "raw", "--seed", str(SEED),
             "--classifier", *classifiers, *again], reproduced)
        for classifier in classifiers:
            name = f"digits/seed-{SEED}/raw-{classifier}.npz"
            with np.load(reproduced / "again/predictions" / name) as new, \
                    np.load(reproduced / "data/budget-predictions" / name) as old:
                assert set(new) == set(old) and all(np.array_equal(new[k], old[k]) for k in old), name
    # The labels stage does read them: the scrambled labels give other labelled sets.
    run(["python", "-m", "stages.labels", "--dataset", "digits", "--seed", str(SEED), "--labelled", "again/labelled"],
        reproduced)
    with np.load(reproduced / "again/labelled/digits/seed-42.npz") as new, \
            np.load(reproduced / "data/labelled/digits/seed-42.npz") as old:
        assert not np.array_equal(new["indices-8"], old["indices-8"])


def test_label_budget_statistics_and_summary(reproduced_once: Path) -> None:
    stats = read(reproduced_once, "metrics/stats/digits.json")
    budgets = stats["label_budgets"]
    assert [b["labels_per_class"] for b in budgets] == [2, 8, "all"]
    assert [b["n_labelled"] for b in budgets] == [20, 80, 1500]
    for budget in budgets:
        assert set(budget) == {"labels_per_class", "n_labelled", "cells", "comparisons"}
        assert list(budget["cells"]) == list(FEATURES)
        for features in FEATURES:
            assert list(budget["cells"][features]) == BUDGET_SCORES
            for cell in budget["cells"][features].values():
                assert cell["ci95"][0] <= cell["accuracy"] <= cell["ci95"][1]
        assert list(budget["comparisons"]) == BUDGET_SCORES
        for rows in budget["comparisons"].values():
            assert [(row["a"], row["b"]) for row in rows] == list(COMPARISONS)
            for row in rows:
                assert {"difference_pt", "ci95_pt", "verdict", "mcnemar_p", "by_seed"} <= set(row)
    draws = {score: budgets[0]["cells"]["raw"][score]["n_draws"] for score in BUDGET_SCORES}
    assert draws == {"1nn": 3, "3nn": 3, "ncc": 3, "linear": 3, "mlp": 2}
    assert budgets[-1]["cells"]["raw"]["linear"]["n_draws"] == 1
    # The "all" budget repeats the full-label tables.
    assert budgets[-1]["cells"]["ae"]["1nn"]["accuracy"] == stats["cells"]["ae"]["1nn"]["accuracy"]
    # Fewer labels, wider intervals: over three draws of 20 images against one fit on 1500.
    for score in ("1nn", "ncc", "linear"):
        widths = [b["cells"]["raw"][score]["ci95"][1] - b["cells"]["raw"][score]["ci95"][0] for b in budgets]
        assert widths[0] > widths[-1], (score, widths)
    # Each draw's paired rows say which seed and draw they are.
    assert [(r["seed"], r["draw"]) for r in budgets[0]["comparisons"]["1nn"][0]["by_seed"]] == [
        (SEED, 0), (SEED, 1), (SEED, 2)]
    summary = read(reproduced_once, "metrics/summary.json")["digits"]
    assert summary["label_budgets"]["8"]["ae"]["linear"] == {
        key: budgets[1]["cells"]["ae"]["linear"][key] for key in ("accuracy", "ci95", "n_draws")}
    assert "linear" in summary["raw"]  # the probe in the full-label tables too
    report = (reproduced_once / "metrics/report.md").read_text()
    assert "![digits: test accuracy against labelled images](figures/digits/label_budgets.png)" in report
    assert (reproduced_once / "metrics/figures/digits/label_budgets.png").stat().st_size > 10_000


def test_budgets_and_draws_rerun_only_what_reads_them(reproduced: Path) -> None:
    def ran(output: str) -> set[str]:
        return set(re.findall(r"Running stage '([^']+)'", output))

    out = run(["dvc", "exp", "run", "-S", "classify.label_budgets.mlp_draws=1"], reproduced).stdout
    assert ran(out) == {"validate", f"budgets-mlp@digits-raw-{SEED}", f"budgets-mlp@digits-pca-{SEED}",
                        f"budgets-mlp-ae@digits-{SEED}", "stats@digits", "summary", "report"}
    summary = read(reproduced, "metrics/summary.json")["digits"]["label_budgets"]
    assert summary["2"]["raw"]["mlp"]["n_draws"] == 1 and summary["2"]["raw"]["1nn"]["n_draws"] == 3
    # The budgets and draws: `labels` reads them, then the few-label stages and the statistics (the budget list
    # only); nothing that trains or encodes.
    labels = [stage for stage, entry in yaml.safe_load((reproduced / "dvc.lock").read_text())["stages"].items()
              if "classify.label_budgets.labels_per_class" in entry.get("params", {}).get("params.yaml", {})]
    assert sorted(labels) == sorted([f"labels@digits-{SEED}", f"budgets@digits-raw-{SEED}", f"budgets@digits-pca-{SEED}",
                                     f"budgets-ae@digits-{SEED}", f"budgets-mlp@digits-raw-{SEED}",
                                     f"budgets-mlp@digits-pca-{SEED}", f"budgets-mlp-ae@digits-{SEED}",
                                     "stats@digits"]), labels
    # The recipe of the README: one budget's cells across experiments.
    shown = run(["dvc", "exp", "show", "--csv", "--drop", ".*", "--keep",
                 r"digits\.label_budgets\.2\.(raw|ae)\.1nn\.accuracy"], reproduced).stdout
    header = shown.splitlines()[0].split(",")
    assert header == ["digits.label_budgets.2.raw.1nn.accuracy", "digits.label_budgets.2.ae.1nn.accuracy"], header
