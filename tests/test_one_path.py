"""One path for every estimator: scikit-learn's own classes, declared in params.yaml, run through the same stages,
statistics and report as the study's, a semi-supervised one on the unlabelled images included, and a change to
one entry re-runs that entry's stages alone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import run, set_params, stages_run

pytestmark = pytest.mark.slow
DECLARED = {
    "features": {"svd": {"_target_": "sklearn.decomposition.TruncatedSVD", "n_components": 8, "title": "SVD, 8"}},
    "classifiers": {"logreg": {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 300},
                    "spread": {"_target_": "sklearn.semi_supervised.LabelSpreading", "kernel": "knn",
                               "n_neighbors": 7, "unlabelled": True}},
    "compare": {"features": ["raw", "svd"], "classifiers": ["knn", "logreg", "spread"],
                "pairs": ["svd vs raw", "spread vs knn1"]},
}


def test_declared_estimators_take_the_one_path(reproduced: Path) -> None:
    """Declared beside the small study's entries: only the new combinations run, the rest is DVC's cache."""
    project = reproduced
    set_params(project, DECLARED)
    ran = stages_run(run(["dvc", "repro"], project).stdout)
    assert not {s for s in ran if s.startswith(("train@", "codes@", "labels@", "classify@digits-raw-knn"))}
    stats = json.loads((project / "metrics/stats/digits.json").read_text())
    assert list(stats["cells"]) == ["raw", "svd"]
    assert list(stats["cells"]["svd"]) == ["knn1", "knn3", "logreg", "spread"]
    assert stats["cells"]["svd"]["logreg"]["accuracy"] > 0.7
    # The semi-supervised entry got every training image, the unlabelled ones as -1; the supervised ones the
    # labelled images alone.
    few = stats["label_budgets"][0]
    assert few["labels_per_class"] == 2 and few["cells"]["raw"]["spread"]["n_draws"] == 3
    record = json.loads((project / "data/classify/digits/raw/spread/record.json").read_text())
    assert record["unlabelled"] is True and record["estimator"] == "sklearn.semi_supervised.LabelSpreading"
    assert [(r["a"], r["b"]) for r in few["score_comparisons"]["svd"]] == [("spread", "knn1")]
    # TruncatedSVD takes random_state, which the entry leaves to the study: it runs under each seed.
    assert (project / "data/features/svd/digits/seed-42.npz").is_file()
    report = (project / "metrics/report.md").read_text()
    # The report names an entry by its title, or else by its estimator's class.
    assert "SVD, 8" in report and "LabelSpreading" in report
    # The new entries' numbers are metrics DVC compares with the last commit's: new keys, shown as new.
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD", "--targets", "metrics/scores.json", "--json"],
                          project).stdout)["metrics/scores.json"]
    for key in ("digits.every_label.logreg.svd.accuracy", "digits.2_per_class.spread.raw.ci_low",
                "digits.every_label.knn1.svd.fit_seconds"):
        assert diff[key]["old"] is None and isinstance(diff[key]["new"], float), key
    # A change to one entry re-runs that entry's stages, then the statistics and the report.
    ran = stages_run(run(["dvc", "exp", "run", "-S", "classifiers.logreg.max_iter=400"], project).stdout)
    assert ran == {"validate", "classify@digits-raw-logreg", "classify@digits-svd-logreg", "stats@digits", "report"}


def test_a_supervised_classifier_declared_unlabelled_is_one_line(project: Path) -> None:
    logreg = {**DECLARED["classifiers"]["logreg"], "unlabelled": True}
    set_params(project, {**DECLARED, "classifiers": {**DECLARED["classifiers"], "logreg": logreg}})
    result = run(["dvc", "repro"], project, check=False)
    errors = [line for line in (result.stdout + result.stderr).splitlines() if line.startswith("error:")]
    assert result.returncode != 0 and errors == [
        ("error: params.yaml: classifiers.logreg: unlabelled: true, but it takes the label -1 of unlabelled samples "
         "for a class: it is a supervised classifier (leave unlabelled out)")]
    assert not (project / "data/prepared").exists()
