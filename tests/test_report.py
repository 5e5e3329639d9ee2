"""The report renders from small fixture metrics; its findings follow the intervals; the figures are written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from aestudy import plots
from aestudy.reporting import budget_findings, comparison_text, findings, render_report
from aestudy.study import COMPARISONS, FEATURES, SCORES


def comparison(a: str, b: str, difference: float, low: float, high: float, p: float) -> dict:
    verdict = f"{a} beats {b}" if low > 0 else f"{b} beats {a}" if high < 0 else "tie within noise"
    return {"a": a, "b": b, "difference_pt": difference, "ci95_pt": [low, high], "mcnemar_p": p, "verdict": verdict,
            "by_seed": []}


def fixture_metrics() -> tuple[dict, dict, dict, dict, dict]:
    accuracy = {"raw": 0.9691, "pca": 0.9720, "ae": 0.9750}
    entry = {"autoencoder": {"variant": "seed000", "code_dim": 64, "val_mse": 0.00355, "test_mse": 0.00339,
                             "seconds": 44.0}}
    for f in FEATURES:
        entry[f] = {s: {"accuracy": accuracy[f] - 0.01 * i, "seconds": 1.5 + i, "total_seconds": 2.5 + i,
                        "ci95": [accuracy[f] - 0.01 * i - 0.003, accuracy[f] - 0.01 * i + 0.003], "std": None,
                        "n_seeds": 1} for i, s in enumerate(SCORES)}
    summary = {"mnist": entry}
    intervals = {("ae", "raw"): (0.59, -0.1, 1.3, 0.004), ("ae", "pca"): (0.30, -0.3, 0.9, 0.31),
                 ("pca", "raw"): (0.29, -0.05, 0.63, 0.09)}
    stats = {"mnist": {"seeds": [42], "resamples": 2000, "comparisons": {
        s: [comparison(a, b, *intervals[a, b]) for a, b in COMPARISONS] for s in SCORES}}}
    stats["mnist"]["comparisons"]["1nn"][0] = comparison("ae", "raw", 0.59, 0.21, 0.97, 0.003)
    # The few-label study: ae ties raw at 4 labels per class and beats it from 16 on; it beats PCA at 4 only.
    budget_intervals = {4: {("ae", "raw"): (1.0, -0.5, 2.5, 0.2), ("ae", "pca"): (3.0, 1.0, 5.0, 0.001)},
                        16: {("ae", "raw"): (2.0, 0.5, 3.5, 0.01), ("ae", "pca"): (0.5, -0.5, 1.5, 0.4)},
                        "all": {("ae", "raw"): (0.59, 0.21, 0.97, 0.003), ("ae", "pca"): (0.30, -0.3, 0.9, 0.31)}}
    stats["mnist"]["label_budgets"] = [
        {"labels_per_class": k, "n_labelled": 40 if k == 4 else 160 if k == 16 else 60000,
         "cells": {f: {s: {"accuracy": 0.6, "ci95": [0.55, 0.65], "std": 0.01, "n_draws": 10} for s in SCORES}
                   for f in FEATURES},
         "comparisons": {s: [comparison(a, b, *budget_intervals[k].get((a, b), (0.0, -1.0, 1.0, 1.0)))
                             for a, b in COMPARISONS] for s in SCORES}}
        for k in (4, 16, "all")]
    grid_row = {"variant": "h128-lr1e-3", "seed": 42, "family": "dense", "hidden": [128, 64, 32, 64, 128], "lr": 0.001, "loss": "bce",
                "val_mse": 0.0105, "val_bce": 0.0851, "test_mse": 0.0101, "test_bce": 0.0843, "best_epoch": 97,
                "epochs_run": 100, "seconds": 150.0, "diverged": False, "collapsed": False}
    stuck = {**grid_row, "variant": "h128-lr1e-1", "lr": 0.1, "val_mse": 0.067, "test_bce": 0.2630,
             "best_epoch": 2, "epochs_run": 4, "diverged": True, "collapsed": True}
    grid = {"mnist": [grid_row, stuck]}
    def cell(value: float) -> dict:
        return {"accuracy": value, "ci95": [value - 0.003, value + 0.003], "std": None, "n_seeds": 1}

    def variant(name: str, family: str, code_dim: int, code: tuple, pca: tuple, versus_pca: tuple) -> dict:
        scores = ("1nn", "3nn", "ncc")
        return {"variant": name, "family": family, "code_dim": code_dim, "seconds": 150.0, "diverged": False,
                "cells": {"code": dict(zip(scores, map(cell, code), strict=True)),
                          "pca": dict(zip(scores, map(cell, pca), strict=True))},
                "comparisons": {s: comparison(name, "pca", *versus_pca) for s in scores}}

    variants = {"mnist": [
        variant("seed000", "dense", 64, (0.9760, 0.9770, 0.80), (0.9725, 0.9751, 0.8132), (0.35, 0.10, 0.60, 0.004)),
        variant("conv-vae", "conv 16/32 variational (beta 1)", 64, (0.9700, 0.9710, 0.75), (0.9725, 0.9751, 0.8132),
                (-0.25, -0.55, 0.05, 0.09)),
    ]}
    selections = {"mnist": {"criterion": "knn1_val", "selected": "seed000"}}
    return summary, stats, grid, variants, selections


def test_report_tables_numbers_and_seed_columns() -> None:
    summary, stats, grid, variants, selections = fixture_metrics()
    times = {"mnist": {"autoencoder training (2 models)": 150.0, "total": 160.0}}
    text = render_report(summary, stats, grid, variants, selections, times, device="cpu")
    assert "## mnist" in text and "Selected autoencoder: **seed000** by `knn1_val`" in text
    # classifier x features with the interval, and seed-000's accuracy and seconds beside ours
    assert "| 1-NN | raw | 96.91% [96.61, 97.21] | 1.50 | 2.50 | 96.91% | 2200 |" in text
    assert "| MLP | ae | 93.50% [93.20, 93.80] | 5.50 | 6.50 | 98.73% | 346 |" in text
    # the paired comparisons
    assert "| 1-NN | ae - raw | +0.59 | [+0.21, +0.97] | 0.003 | ae beats raw |" in text
    assert "| 3-NN | ae - pca | +0.30 | [-0.30, +0.90] | 0.310 | tie within noise |" in text
    # the grid with seed-002's test BCE beside it, a range where the seed gives one
    assert "| 1 | h128-lr1e-3 | dense | 128-64-32-64-128 | 0.001 | bce | 0.0105 | 0.0851 | 0.0101 | 0.0843 | 97 / 100 | 150 |" \
           "  | 0.0847 |" in text
    assert "| yes: collapsed, stopped | 0.2628 |" in text
    # every variant's codes with their intervals beside PCA of the same size, and the paired comparison
    assert ("| conv-vae | conv 16/32 variational (beta 1) | 64 | 150 | 97.00% [96.70, 97.30] | 97.10% [96.80, 97.40] "
            "| 75.00% [74.70, 75.30] | 97.25% [96.95, 97.55] |  |") in text
    assert "| seed000 | 1-NN | +0.35 | [+0.10, +0.60] | 0.004 | seed000 beats pca |" in text
    assert "| conv-vae | 3-NN | -0.25 | [-0.55, +0.05] | 0.090 | tie within noise |" in text
    assert "the test split never selects anything" in text
    assert "| autoencoder training (2 models) | 150 |" in text


def test_findings_claim_no_win_the_interval_does_not_support() -> None:
    summary, stats, grid, variants, _ = fixture_metrics()
    lines = findings("mnist", summary["mnist"], stats["mnist"], grid["mnist"], variants["mnist"])
    assert lines[0] == ("1-NN: ae beats raw by 0.59 pt (95% interval [+0.21, +0.97], McNemar p 0.003); ae and pca "
                        "tie within noise (difference +0.30 pt, 95% interval [-0.30, +0.90]); pca and raw tie within "
                        "noise (difference +0.29 pt, 95% interval [-0.05, +0.63]).")
    # Every "beats" in the findings is backed by an interval clear of 0.
    for line in lines:
        for claim in re.findall(r"beats \w+ by [\d.]+ pt \(95% interval \[([+-][\d.]+), ([+-][\d.]+)\]", line):
            assert float(claim[0]) > 0 and float(claim[1]) > 0
    assert "against PCA of the same dimension on 1-NN: ae and pca tie within noise" in lines[5]
    assert "choosing the best variant on it would be selection on the test set" in lines[6]
    # A loss is stated the right way round: the winner first, a positive difference.
    row = comparison("ae", "pca", -1.37, -1.9, -0.8, 0.0001)
    assert comparison_text(row) == "pca beats ae by 1.37 pt (95% interval [+0.80, +1.90], McNemar p < 0.001)"


def test_few_label_findings_say_from_which_budget_the_codes_win() -> None:
    _, stats, *_ = fixture_metrics()
    lines = budget_findings(stats["mnist"])
    assert lines[0] == ("1-NN: ae beats raw from 16 labels per class on, tie within noise at 4; "
                        "tie within noise at 16, every label, ae beats pca at 4.")
    assert len(lines) == len(SCORES)
    text = render_report(*fixture_metrics()[:4], fixture_metrics()[4], {"mnist": {"total": 1.0}}, device="cpu")
    assert "| 4 | 40 | 1-NN | 60.00% [55.00, 65.00] | 60.00% [55.00, 65.00] | 60.00% [55.00, 65.00] | 10 " \
           "| +1.00 [-0.50, +2.50] | +3.00 [+1.00, +5.00] |" in text
    assert "![mnist: test accuracy against labelled images](figures/mnist/label_budgets.png)" in text


def test_figures_are_written_and_not_empty(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    images = rng.random((15, 8, 8))
    plots.reconstructions(images, images, np.arange(15) % 10, "t", tmp_path / "r.png")
    plots.activations(images, plots.activation_grids(rng.random((15, 128))), "t", tmp_path / "a.png")
    summary, stats, _, variants, _ = fixture_metrics()
    plots.accuracy_vs_time(summary, tmp_path / "t.png")
    plots.comparisons(stats, tmp_path / "d.png")
    plots.variants_vs_time(variants, summary, tmp_path / "v.png")
    plots.label_budgets(stats["mnist"], {4: 81.43, 16: 95.48}, "t", tmp_path / "b.png")
    plots.confusion(rng.integers(0, 50, (10, 10)), [f"class {i}" for i in range(10)], "t", tmp_path / "c.png")
    plots.training_curves({"v": {"epoch": [1, 2], "val_loss": [0.2, 0.1], "loss": "bce"}}, "t", tmp_path / "k.png")
    for name in ("r", "a", "t", "d", "c", "k", "v", "b"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000
    assert not list(tmp_path.glob(".*tmp*"))  # atomic writes leave no temporary files behind
    assert plots.near_square(128) == (16, 8) and plots.near_square(144) == (12, 12)


@pytest.mark.parametrize("first_layer", [(144,), (1024,), (7,), (16, 4, 4), (3, 14, 14)],
                         ids=["144-units", "1024-units", "7-units", "16-maps-4x4", "3-maps-14x14"])
def test_activations_figure_takes_any_first_layer_on_any_image(first_layer: tuple, tmp_path: Path) -> None:
    # A first layer wider than the image (144 units on 8x8 digits: a 12 x 12 grid) once crashed the report.
    rng = np.random.default_rng(0)
    grids = plots.activation_grids(rng.random((15, *first_layer)))
    assert len(grids) == 15 and np.isfinite(grids).sum() == 15 * int(np.prod(first_layer))
    plots.activations(rng.random((15, 8, 8)), grids, "t", tmp_path / "a.png")
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG")
