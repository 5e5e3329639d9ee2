"""The seed studies' targets (`make seed000`, `make seed002`): their overrides run through the real DVC on the 8x8
digits, their tables printed, and seed-000's check against its published table (CI runs it on MNIST)."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from aestudy.core.errors import StudyError
from aestudy.report.seed_studies import SEED000_CLASSIFIERS
from tests.conftest import BIN, copy_project, run, set_params
from tools.seed_study import SEED002_VARIANTS, STUDIES, Row, overrides, seed000_misses


def published_rows() -> list[Row]:
    """seed-000's own table as our rows: what a perfect reproduction gives."""
    return [Row(features, score, accuracy, accuracy - 0.003, accuracy + 0.003, 1.0, 2.0, accuracy, seconds)
            for features, published in SEED000_CLASSIFIERS.items() for score, (accuracy, seconds) in published.items()]


def moved(rows: list[Row], features: str, score: str, accuracy: float) -> list[Row]:
    return [dataclasses.replace(r, accuracy=accuracy) if (r.features, r.score) == (features, score) else r
            for r in rows]


def test_seed000s_own_table_passes_its_check_and_each_moved_row_is_named() -> None:
    rows = published_rows()
    assert seed000_misses(rows, test_mse=0.0034) == []
    # The MLP is the study's own network, shown and never held to the seed's.
    assert seed000_misses(moved(rows, "raw", "mlp", 0.90), test_mse=0.0034) == []
    # 3-NN on pixels may beat the seed's vote; the codes may wander 0.3 points either way.
    assert seed000_misses(moved(moved(rows, "raw", "knn3", 0.9730), "ae", "knn1", 0.9737), test_mse=0.0034) == []
    assert seed000_misses(moved(rows, "raw", "knn1", 0.9690), 0.0034) == [
        "1-NN on raw pixels: 96.90%, the seed's is 96.91% exactly"]
    assert seed000_misses(moved(rows, "raw", "ncc", 0.8204), 0.0034) == [
        "nearest centroid on raw pixels: 82.04%, the seed's is 82.03% exactly"]
    assert seed000_misses(moved(rows, "raw", "knn3", 0.9705), 0.0034) == [
        "3-NN on raw pixels: 97.05%, below the seed's 97.17%"]
    assert seed000_misses(moved(rows, "ae", "knn3", 0.9675), 0.0034) == [
        "3-NN on codes: 96.75%, more than 0.3 points from the seed's 97.06%"]
    assert seed000_misses(rows, 0.0036) == ["autoencoder test MSE: 0.00360, above 0.0035"]


def test_overrides_after_the_studys_own_replace_its_keys() -> None:
    settings = overrides("seed000", ["datasets=[digits]", "conf/autoencoders/seed000.yaml:epochs=2"])
    assert "datasets=[digits]" in settings and "datasets=[mnist]" not in settings
    assert settings[-1] == "conf/autoencoders/seed000.yaml:epochs=2"
    assert len(settings) == len(STUDIES["seed000"]) + 1
    with pytest.raises(StudyError, match="expected KEY=VALUE"):
        overrides("seed000", ["datasets"])


@pytest.mark.slow
def test_both_seed_studies_run_on_digits_and_print_their_tables(tmp_path: Path) -> None:
    """Each target's overrides on the 8x8 digits with a few epochs: every stage runs (the labels stage with no
    few-label budget), and the tables come out; then a budget list the stages cannot serve is refused."""
    project = copy_project(tmp_path / "project")
    dry = run(["make", "-n", "seed000", "seed002", f"VENV={BIN.parent}"], project).stdout
    assert "python -m tools.seed_study seed000\n" in dry and "python -m tools.seed_study seed002\n" in dry

    out = run(["python", "-m", "tools.seed_study", "seed000", "-S", "datasets=[digits]",
               "-S", "conf/autoencoders/seed000.yaml:epochs=2"], project).stdout
    assert "digits seed 42: no few-label budget, no draws" in out
    for name in ("1-NN on raw pixels", "3-NN on codes", "nearest centroid on codes", "MLP on codes"):
        (line,) = [line for line in out.splitlines() if line.startswith(name)]
        assert re.search(r"\d+\.\d\d% \[\d+\.\d\d, \d+\.\d\d\]", line), line
    assert "autoencoder test MSE" in out and "(seed-000's table is MNIST's" in out
    assert re.search(r"seed000: the experiment took \d+\.\d min", out)
    again = run(["python", "-m", "tools.seed_study", "seed000", "--show"], project).stdout
    assert [line for line in again.splitlines() if line.startswith("1-NN on raw pixels")] == \
           [line for line in out.splitlines() if line.startswith("1-NN on raw pixels")]

    short = [f"-Sconf/autoencoders/{v}.yaml:epochs=2" for v in SEED002_VARIANTS]
    out = run(["python", "-m", "tools.seed_study", "seed002", "-S", "datasets=[digits]", *short], project).stdout
    ranked = [line.split() for line in out.splitlines() if re.match(r"\s+\d\s+h\d+-lr1e-\d ", line)]
    assert sorted(row[1] for row in ranked) == sorted(SEED002_VARIANTS)
    assert [int(row[0]) for row in ranked] == list(range(1, 10))
    losses = [float(row[2]) for row in ranked]
    assert losses == sorted(losses)

    set_params(project, {"label_budgets": {"labels_per_class": [4, 16]}})
    result = run(["python", "-m", "stages.validate", "--check"], project, check=False)
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert result.returncode != 0 and errors == [
        "error: params.yaml: label_budgets.labels_per_class must end with `all` (every label: the cells each budget "
        "is held against), got [4, 16]"], result.stderr
