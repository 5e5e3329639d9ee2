"""What DVC shows of the study, on the real DVC: every knob a param (conf/ files included), numbers `dvc exp show`
and `dvc metrics diff` compare, a table that fits after one `-S`, live plots before the report, and the pull
request report between two commits."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from tests.conftest import BIN, read, run, stages_run

pytestmark = pytest.mark.slow
SEED = 42
WIDEST_ONLY_CHANGED = 120  # columns of `dvc exp show --only-changed --csv` after one -S


def header(csv_text: str) -> list[str]:
    return next(csv.reader(io.StringIO(csv_text)))


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row, stripped."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("|")]


def test_a_conf_file_key_set_by_s_is_a_param_dvc_diffs(reproduced: Path) -> None:
    """`-S conf/autoencoders/<v>.yaml:epochs=...` is a change of params, which `dvc params diff` names (queued: the
    experiment's params are a commit to compare without running it)."""
    run(["dvc", "exp", "run", "--queue", "-S", "conf/autoencoders/tiny-a.yaml:epochs=5"], reproduced)
    try:
        diff = json.loads(run(["dvc", "params", "diff", "HEAD", "refs/exps/celery/stash", "--json"],
                              reproduced).stdout)
    finally:
        run(["dvc", "queue", "remove", "--all"], reproduced)
    assert diff == {"conf/autoencoders/tiny-a.yaml": {"epochs": {"old": 3, "new": 5, "diff": 2}}}


def test_exp_show_lists_knobs_as_params_and_times_beside_accuracies(reproduced: Path) -> None:
    columns = header(run(["dvc", "exp", "show", "--csv"], reproduced).stdout)
    accuracies = [c for c in columns if c.endswith(".accuracy")]
    assert accuracies and all({c.removesuffix(".accuracy") + f".{k}" for k in ("fit_seconds", "one_off_seconds")}
                              <= set(columns) for c in accuracies)
    # conf/ files are params (file:key), never a hash column; the study's class settings are columns too.
    assert [c for c in columns if c.startswith("conf/")] and all(":" in c for c in columns if c.startswith("conf/"))
    assert {"classifiers.mlp.epochs", "classifiers.mlp.lr", "features.pca+umap.n_neighbors"} <= set(columns)


def test_one_s_moves_its_metrics_dvc_compares_them_and_the_pr_report_shows_them(reproduced: Path) -> None:
    """One knob of the headline's score, set with `-S` (a key Hydra's grammar reaches: no leading digit): it re-runs
    the k-NN stages alone; `--only-changed` fits; the verdict's change is a number; the report of the two commits
    shows the param, the metrics and a figure."""
    out = run(["dvc", "exp", "run", "-n", "k3", "-S", "classifiers.knn.scores.knn1.n_neighbors=3"], reproduced).stdout
    assert stages_run(out) == {f"classify@digits-{f}-knn" for f in ("raw", "pca", "ae", "pca+umap", "ae+umap")} | {
        "validate", "stats@digits", "report"}
    columns = header(run(["dvc", "exp", "show", "--only-changed", "--csv"], reproduced).stdout)
    assert len(columns) <= WIDEST_ONLY_CHANGED, columns
    assert "classifiers.knn.scores.knn1.n_neighbors" in columns
    assert "digits.every_label.knn1.raw.accuracy" in columns and "digits.every_label.knn1.raw.fit_seconds" in columns
    assert not [c for c in columns if c.startswith("tiny-")], "the grid did not move"
    run(["git", "add", "-A"], reproduced)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "k=3"], reproduced)
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD~1", "--json"], reproduced).stdout)["metrics/summary.json"]
    verdict = diff["digits.every_label.ae vs pca.difference"]
    assert isinstance(verdict["diff"], float) and verdict["diff"] != 0
    report = run(["make", "pr-report", f"VENV={BIN.parent}", "BASE=HEAD~1"], reproduced).stdout
    rows = table_rows(report)
    assert ["params.yaml", "classifiers.knn.scores.knn1.n_neighbors", "1", "3"] in [row[:4] for row in rows]
    metric_keys = [row[1] for row in rows if row[0] == "metrics/summary.json"]
    assert "digits.every_label.knn1.raw.accuracy" in metric_keys
    assert not [key for key in metric_keys if key.endswith("seconds")]
    assert "![metrics/figures/comparisons.png at HEAD~1](figures/HEAD~1/metrics/figures/comparisons.png)" in report
    assert (reproduced / "pr-report/figures/HEAD/metrics/figures/comparisons.png").stat().st_size > 0


def test_training_curves_are_plots_before_the_report_runs(project: Path) -> None:
    """`dvc plots show` (and DVC's VS Code extension) find a training stage's dvclive log as soon as it is written:
    the stage declares it."""
    run(["dvc", "repro", f"train@digits-tiny-a-{SEED}"], project)
    assert not (project / "metrics/plots").exists()
    shown = json.loads(run(["dvc", "plots", "show", "--json"], project).stdout)["data"]
    assert f"data/models/digits/seed-{SEED}/tiny-a/live/plots/metrics/val_loss.tsv" in shown
    assert read(project, f"data/models/digits/seed-{SEED}/tiny-a/live/metrics.json")["step"] == 3
