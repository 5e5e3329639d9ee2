"""The report renders from small fixture metrics; the figures are written and non-empty."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from stages import plots
from stages.reporting import CLASSIFIERS, FEATURES, findings, render_report


def fixture_metrics() -> tuple[dict, dict, dict, dict]:
    accuracy = {"raw": 0.9691, "pca": 0.9720, "ae": 0.9750}
    entry = {"autoencoder": {"variant": "seed000", "code_dim": 64, "val_mse": 0.00355, "test_mse": 0.00339,
                             "seconds": 44.0}}
    for f in FEATURES:
        entry[f] = {c: {"accuracy": accuracy[f] - 0.01 * i, "seconds": 1.5 + i, "total_seconds": 2.5 + i}
                    for i, c in enumerate(CLASSIFIERS)}
    summary = {"mnist": entry}
    grid_row = {"variant": "h128-lr1e-3", "hidden": [128, 64, 32, 64, 128], "lr": 0.001, "loss": "bce",
                "val_mse": 0.0105, "val_bce": 0.0851, "test_mse": 0.0101, "test_bce": 0.0843, "best_epoch": 97,
                "epochs_run": 100, "seconds": 150.0, "diverged": False, "collapsed": False}
    stuck = {**grid_row, "variant": "h128-lr1e-1", "lr": 0.1, "val_mse": 0.067, "test_bce": 0.2630,
             "best_epoch": 2, "epochs_run": 4, "diverged": True, "collapsed": True}
    grid = {"mnist": [grid_row, stuck]}
    variants = {"mnist": [
        {"variant": "seed000", "code_dim": 64, "diverged": False, "1nn": 0.9760, "3nn": 0.9770, "ncc": 0.80},
        {"variant": "h128-lr1e-3", "code_dim": 32, "diverged": False, "1nn": 0.9700, "3nn": 0.9710, "ncc": 0.75},
    ]}
    selections = {"mnist": {"criterion": "knn1_val", "selected": "seed000"}}
    return summary, grid, variants, selections


def test_report_tables_numbers_and_seed_columns() -> None:
    summary, grid, variants, selections = fixture_metrics()
    text = render_report(summary, grid, variants, selections, device="cpu")
    assert "## mnist" in text and "Selected autoencoder: **seed000** by `knn1_val`" in text
    # classifier x features, with seed-000's accuracy and seconds beside ours
    assert "| 1-NN | raw | 96.91% | 1.50 | 2.50 | 96.91% | 2200 |" in text
    assert "| MLP | ae | 94.50% | 4.50 | 5.50 | 98.73% | 346 |" in text
    # the grid with seed-002's test BCE beside it, a range where the seed gives one
    assert "| 1 | h128-lr1e-3 | 128-64-32-64-128 | 0.001 | bce | 0.0105 | 0.0851 | 0.0101 | 0.0843 | 97 / 100 | 150 |" \
           "  | 0.0847 |" in text
    assert "| h128-lr1e-1 |" in text and "| 2 / 4 |" in text and "| yes: collapsed, stopped | 0.2628 |" in text
    assert "| seed000 | 64 | 97.60% | 97.70% | 80.00% |  |" in text
    assert "the test split never selects anything" in text
    assert "| classifier | features | mnist accuracy | mnist total s |" in text
    assert "| nearest centroid | pca | 95.20% | 4.50 |" in text


def test_findings_follow_the_numbers() -> None:
    summary, grid, variants, _ = fixture_metrics()
    lines = findings("mnist", summary["mnist"], grid["mnist"], variants["mnist"])
    assert lines[0] == "1-NN: ae features win with 97.50% (raw 96.91%, pca 97.20%)."
    assert "beats PCA of the same dimension on 1-NN: 97.50% against 97.20%" in lines[4]
    assert lines[5] == "Grid variants whose codes beat PCA at the selected dimension on 1-NN: seed000 (97.60%)."
    summary["mnist"]["pca"]["3nn"]["accuracy"] = summary["mnist"]["ae"]["3nn"]["accuracy"]
    lines = findings("mnist", summary["mnist"], grid["mnist"], variants["mnist"])
    assert lines[1] == "3-NN: pca and ae features tie with 96.50% (raw 95.91%)."
    summary["mnist"]["ae"]["1nn"]["accuracy"] = 0.95
    variants["mnist"][0]["1nn"] = 0.95
    lines = findings("mnist", summary["mnist"], grid["mnist"], variants["mnist"])
    assert "does not beat PCA" in lines[4]
    assert lines[5] == "No grid variant with a 64-d code beats PCA of that dimension on 1-NN."


def test_figures_are_written_and_not_empty(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((15, 8, 8))
    plots.reconstructions(images, images, np.arange(15) % 10, "t", tmp_path / "r.png")
    plots.activations(images, rng.random((15, 128)), "t", tmp_path / "a.png")
    summary, *_ = fixture_metrics()
    plots.accuracy_vs_time(summary, tmp_path / "t.png")
    plots.confusion(rng.integers(0, 50, (10, 10)), "t", tmp_path / "c.png")
    plots.training_curves({"v": {"epoch": [1, 2], "val_loss": [0.2, 0.1], "loss": "bce"}}, "t", tmp_path / "k.png")
    for name in ("r", "a", "t", "c", "k"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files behind
    assert plots.near_square(128) == (16, 8) and plots.near_square(144) == (12, 12)
