"""What DVC shows of the study, on the real DVC: every knob a param (conf/ files included), numbers `dvc exp show`
and `dvc metrics diff` compare, a table that fits after one `-S`, live plots before the report, and the pull
request report between two commits, through the steps of the pull-request workflow."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

import yaml

from tests.conftest import BIN, ROOT, read, run, stages_run

pytestmark = pytest.mark.slow
SEED = 42
WIDEST_ONLY_CHANGED = 120  # columns of `dvc exp show --only-changed --csv` after one -S
WORKFLOW = ROOT / ".github/workflows/metrics-diff.yml"


def header(csv_text: str) -> list[str]:
    return next(csv.reader(io.StringIO(csv_text)))


def table_rows(markdown: str) -> list[list[str]]:
    """The cells of every Markdown table row, stripped."""
    return [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in markdown.splitlines()
            if line.startswith("|")]


def run_workflow(project: Path, base_ref: str) -> str:
    """.github/workflows/metrics-diff.yml's steps, in order, on ``project``'s HEAD as a pull request into
    ``base_ref``; what its steps printed. The `uses:` steps are what they do here: the checkout is ``project`` with
    its history (``origin/<base_ref>`` a ref to ``base_ref``), Python is this venv; the CPU set-up step is checked
    to install the torch and torchvision requirements.txt pins (this venv has them); the comment step is checked to
    post the report the step before wrote (CML is not run: it needs GitHub)."""
    steps = yaml.safe_load(WORKFLOW.read_text())["jobs"]["diff"]["steps"]
    assert [step["uses"].split("@")[0] for step in steps if "uses" in step] == [
        "actions/checkout", "actions/setup-python", "actions/setup-node"]
    run(["git", "update-ref", f"refs/remotes/origin/{base_ref}", base_ref], project)
    (project / ".venv").symlink_to(BIN.parent)
    printed = []
    for step in (step for step in steps if "run" in step):
        if step["name"].startswith("Set up"):
            pins = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.startswith(("torch==", "torchvision=="))]
            installs = [line for line in step["run"].splitlines() if "--index-url" in line]
            assert len(pins) == 2 and len(installs) == 1 and all(pin in installs[0].split() for pin in pins)
        elif "cml comment create" in step["run"]:
            assert step["run"].split()[-1] == "pr-report/report.md" and "hashFiles('pr-report/report.md')" in step["if"]
            assert (project / "pr-report/report.md").is_file()
        else:
            env = {key: value.replace("${{ github.base_ref }}", base_ref) for key, value in step["env"].items()}
            printed.append(run(["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], project,
                               env=env).stdout)  # GitHub's shell for `run:`
    return "".join(printed)


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
    # The k-NN fits' seconds moved too (one of them may round to its old value: DVC then leaves its column out).
    assert "digits.every_label.knn1.raw.accuracy" in columns and any(
        c.startswith("digits.every_label.knn1.") and c.endswith(".fit_seconds") for c in columns), columns
    assert not [c for c in columns if c.startswith("tiny-")], "the grid did not move"
    run(["git", "add", "-A"], reproduced)
    run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "k=3"], reproduced)
    diff = json.loads(run(["dvc", "metrics", "diff", "HEAD~1", "--json"], reproduced).stdout)["metrics/summary.json"]
    verdict = diff["digits.every_label.ae vs pca.difference"]
    assert isinstance(verdict["diff"], float) and verdict["diff"] != 0
    # The pull-request workflow on this commit against the last: dvc.lock moved, so it takes `make pr-report`.
    run(["git", "branch", "base", "HEAD~1"], reproduced)
    report = run_workflow(reproduced, "base")
    assert "## The study at `HEAD` against `origin/base`" in report
    rows = table_rows(report)
    assert ["params.yaml", "classifiers.knn.scores.knn1.n_neighbors", "1", "3"] in [row[:4] for row in rows]
    metric_keys = [row[1] for row in rows if row[0] == "metrics/summary.json"]
    assert "digits.every_label.knn1.raw.accuracy" in metric_keys
    assert not [key for key in metric_keys if key.endswith("seconds")]
    assert ("![metrics/figures/comparisons.png at origin/base](figures/origin_base/metrics/figures/comparisons.png)"
            in report)
    assert (reproduced / "pr-report/figures/HEAD/metrics/figures/comparisons.png").stat().st_size > 0
    # The gate `make ci-diff` runs: the k=3 accuracies moved, so a tolerance of 0 points fails with the report
    # written and naming them; one of 100 points passes.
    gate = [str(BIN / "python"), "-m", "tools.pr_report", "--base", "HEAD~1", "--no-figures", "--tolerance"]
    failed = run([*gate, "0"], reproduced, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith("error: the gate failed"), failed.stderr
    assert "**Failed**" in failed.stdout and "digits.every_label.knn1.raw.accuracy" in failed.stdout
    assert "**Failed**" in (reproduced / "pr-report/report.md").read_text()
    assert "Passed: every headline" in run([*gate, "100"], reproduced).stdout


def test_training_curves_are_plots_before_the_report_runs(project: Path) -> None:
    """`dvc plots show <folder>` draws a training stage's dvclive log as soon as it is written."""
    run(["dvc", "repro", f"train@digits-tiny-a-{SEED}"], project)
    assert not (project / "metrics/plots").exists()
    live = f"data/models/digits/seed-{SEED}/tiny-a/live/plots/metrics"
    shown = json.loads(run(["dvc", "plots", "show", "--json", live], project).stdout)["data"]
    assert f"{live}/val_loss.tsv" in shown
    assert read(project, f"data/models/digits/seed-{SEED}/tiny-a/live/metrics.json")["step"] == 3


def test_a_bare_plots_show_in_a_fresh_clone_loads_every_plot(reproduced: Path, tmp_path: Path) -> None:
    """A fresh clone holds no stage output: the plots DVC is declared to show are the committed ones, so a bare
    `dvc plots show` fails on none (it said "failed to load some plots" when the per-model logs were declared)."""
    clone = tmp_path / "clone"
    run(["git", "clone", "-q", str(reproduced), str(clone)], tmp_path)
    shown = run(["dvc", "plots", "show", "--json"], clone)
    assert "failed to load" not in shown.stdout + shown.stderr and "WARNING" not in shown.stderr, shown.stderr
    data = json.loads(shown.stdout)
    assert not data.get("errors"), data.get("errors")
    assert {"metrics/plots/validation_loss/digits.csv", "metrics/figures/efficiency.png"} <= set(data["data"]), \
        sorted(data["data"])
