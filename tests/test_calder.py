"""`make calder` (tools/calder.py): Calder et al.'s published trials read as published, the table's statistics, and
the target run end to end on the 8x8 digits with a short training and few draws."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aestudy.core.errors import StudyError
from tests.conftest import BIN, ROOT, copy_project, run, set_params
from tools.calder import Cell, published_trials


def test_the_published_trials_are_the_papers() -> None:
    """100 trials at each of 1 to 5 labels a class (Laplace learning's files miss one, each at one budget); at 4 a
    class, the means the issue quotes from the files, and the paper's table's nearest-neighbour floor."""
    for dataset in ("mnist", "fashion-mnist"):
        for method in ("poisson", "poisson-mbo", "laplace", "nearest"):
            trials = published_trials(dataset, method)
            assert sorted(trials) == [1, 2, 3, 4, 5] and {len(t) for t in trials.values()} <= {99, 100}
            assert sum(len(t) for t in trials.values()) >= 499
    assert round(Cell.interval(published_trials("mnist", "poisson-mbo")[4])[0], 2) == 97.21
    assert round(Cell.interval(published_trials("fashion-mnist", "poisson-mbo")[4])[0], 2) == 72.08
    assert round(Cell.interval(published_trials("mnist", "nearest")[1])[0], 2) == 55.79
    assert round(Cell.interval(published_trials("mnist", "laplace")[1])[0], 2) == 16.06
    assert published_trials("digits", "poisson") == {}


def test_a_malformed_published_row_is_one_line_naming_it(tmp_path: Path) -> None:
    (tmp_path / "MNIST_vae_k10_poisson_accuracy.csv").write_text("Date/Time, x\n10,91.5\n10;92\n")
    with pytest.raises(StudyError, match=r"MNIST_vae_k10_poisson_accuracy.csv:3: expected <labelled count>,<accuracy>"):
        published_trials("mnist", "poisson", tmp_path)


def test_the_row_says_tie_within_noise_unless_welchs_interval_excludes_zero() -> None:
    published = [97.0, 97.2, 97.4] * 10
    tie = Cell("mnist", "poisson-mbo", 4, [97.1, 97.3, 97.2, 97.0, 97.4], published).row()
    assert tie[5] == "tie within noise" and tie[6] == "yes"
    low = Cell("mnist", "poisson-mbo", 4, [95.0, 95.1, 94.9, 95.2], published).row()
    assert low[5] == "published beats ours" and low[6] == "no" and low[4].startswith("-2.")
    assert Cell("digits", "poisson", 1, [80.0], []).row()[3:] == ["", "", "", ""]


def test_a_dataset_name_outside_the_rule_is_one_line() -> None:
    refused = run([str(BIN / "python"), "-m", "tools.calder", "--datasets", "../../etc"], ROOT, check=False)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and "--datasets: the name" in refused.stderr


@pytest.mark.slow
def test_make_calder_runs_on_the_digits(tmp_path: Path) -> None:
    """The target's command on a project whose datasets list digits: extract runs for it, the paper's VAE trains
    (one epoch), both settings score the two Poisson methods; a second run adds Laplace learning and the nearest
    rule to the draws written (the codes read back, not trained again), both settings (the target scores the
    inductive rule too); the table, its figure and every draw's accuracy are written."""
    project = copy_project(tmp_path / "project")
    set_params(project, {"datasets": ["digits"]})
    options = "--datasets digits --variant calder-vae20 --labels-per-class 1 2 --epochs 1 --out out"
    out = run(["make", "calder", f"VENV={BIN.parent}",
               f"CALDER={options} --draws 2 --methods poisson poisson-mbo"], project).stdout
    assert "digits: calder-vae20 trained on 1797 images" in out
    rows = [line for line in out.splitlines() if line.startswith("| poisson")]
    assert len(rows) == 8 and all("(2)" in row for row in rows), out
    out = run(["make", "calder", f"VENV={BIN.parent}", f"CALDER={options} --draws 3 --methods laplace nearest"],
              project).stdout
    assert "digits: calder-vae20's codes read from" in out
    transductive = out[out.index("### digits, transductive"):out.index("### digits, inductive")]
    methods = [line.split(" | ")[0].removeprefix("| ") for line in transductive.splitlines() if line.startswith("| ")]
    assert methods[1:] == ["poisson", "poisson-mbo", "laplace", "nearest"] * 2, transductive
    record = json.loads((project / "out/digits.json").read_text())
    assert set(record) == {"variant", "transductive", "inductive"}
    assert {method: [len(v) for v in by_k.values()] for method, by_k in record["transductive"].items()} == {
        "poisson": [2, 2], "poisson-mbo": [2, 2], "laplace": [3, 3], "nearest": [3, 3]}
    assert {method: [len(v) for v in by_k.values()] for method, by_k in record["inductive"].items()} == {
        "poisson": [2, 2], "poisson-mbo": [2, 2], "laplace": [3, 3], "nearest": [3, 3]}
    assert all(0 <= v <= 100 for by_method in (record["transductive"], record["inductive"])
               for by_k in by_method.values() for values in by_k.values() for v in values)
    assert (project / "out/table.md").read_text().startswith("### digits, transductive")
    assert (project / "out/accuracy.png").stat().st_size > 10_000
    refused = run(["make", "calder", f"VENV={BIN.parent}", "CALDER=--datasets digits"], project, check=False)
    assert refused.returncode != 0 and "give --variant" in refused.stderr
