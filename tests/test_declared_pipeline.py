"""A user's own estimators, declared in params.yaml, through the real pipeline on `digits`.

Apart from tests/test_pipeline.py so that pytest-xdist can run it on the other worker: it starts from the
same reproduced project (built once per session, tests/conftest.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import run, set_params
from tests.test_pipeline import SEED, lock, stages_run

# A declared feature set and classifier, as a user adds them to params.yaml.
DECLARED = {
    "features": {"svd": {"_target_": "sklearn.decomposition.TruncatedSVD", "n_components": 8, "random_state": 0}},
    "classifiers": {"logreg": {"_target_": "sklearn.linear_model.LogisticRegression", "max_iter": 300}},
}


def test_declared_estimators_run_through_every_stage(reproduced: Path) -> None:
    project = reproduced
    set_params(project, DECLARED)
    ran = stages_run(run(["dvc", "repro"], project).stdout)
    assert not any(stage.startswith(("train@", "codes@", "extract@")) for stage in ran)  # only what is new
    summary = json.loads((project / "metrics/summary.json").read_text())["digits"]
    assert set(summary) == {"autoencoder", "label_budgets", "raw", "pca", "ae", "svd"}
    for features in ("raw", "pca", "ae", "svd"):
        assert set(summary[features]) == {"1nn", "3nn", "ncc", "linear", "mlp", "logreg"}
        # chance is 0.1; the tiny configuration's 3-epoch autoencoders give weaker codes than the rest
        assert summary[features]["logreg"]["accuracy"] > (0.5 if features == "ae" else 0.8)
    stats = json.loads((project / "metrics/stats/digits.json").read_text())
    assert {(row["a"], row["b"]) for row in stats["comparisons"]["logreg"]} >= {
        ("ae", "raw"), ("ae", "pca"), ("pca", "raw"), ("svd", "raw"), ("ae", "svd")}
    assert stats["cells"]["svd"]["logreg"]["ci95"][0] <= stats["cells"]["svd"]["logreg"]["accuracy"]
    report = (project / "metrics/report.md").read_text()
    assert "| logreg | svd |" in report and "ae - svd" in report
    assert list(lock(project)["classify-declared@digits-raw-logreg"]["params"]["params.yaml"]) == ["classifiers.logreg"]

    # A change to the classifier's entry re-runs its stages, then those that gather results; nothing else.
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["classifiers"]["logreg"]["C"] = 0.5
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    out = run(["dvc", "repro"], project).stdout
    ran = stages_run(out)
    logreg = {stage for stage in ran if stage.startswith(("classify-declared", "classify-declared-ae"))}
    assert logreg == {"classify-declared@digits-raw-logreg", "classify-declared@digits-pca-logreg",
                      f"classify-declared-ae@digits-logreg-{SEED}", "classify-declared-on-declared@digits-svd-logreg"}
    assert ran - logreg <= {"validate", "stats@digits", "summary", "report"}
