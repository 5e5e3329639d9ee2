"""The report renders from small fixture statistics; its findings follow the intervals; the figures are written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from aestudy.evaluation.results import Comparison, DatasetStats
from aestudy.models.selection import activation_grids, grid_shape
from aestudy.report import images, plots
from aestudy.report.costs import with_costs
from aestudy.report.headline import HeadlineSpec, headline
from aestudy.report.names import Names
from aestudy.report.scores import score_metrics
from aestudy.report.style import styles
from aestudy.report.tables import DatasetReport
from aestudy.report.text import budget_trend, render_report, verdict_sentence
from tests.conftest import ROOT
from tools.pr_report import MAX_ENTRY_ROWS, diff_table, entry_lines, markdown, moved

# The titles the default params.yaml gives these entries (the report reads them from params.yaml).
NAMES = Names({"raw": "raw pixels", "pca": "PCA", "ae": "codes", "pca+umap": "PCA + UMAP", "ae+umap": "codes + UMAP"},
              {"knn1": "1-NN", "spreading": "label spreading"})

FEATURES = ["raw", "pca", "ae", "pca+umap", "ae+umap"]
SCORES = ["knn1", "spreading"]
PAIRS = [("ae", "pca"), ("ae+umap", "pca+umap"), ("spreading", "knn1")]


def comparison_json(a: str, b: str, difference: float, low: float, high: float, p: float = 0.01) -> dict:
    verdict = f"{a} beats {b}" if low > 0 else f"{b} beats {a}" if high < 0 else "tie within noise"
    return {"a": a, "b": b, "difference_pt": difference, "ci95_pt": [low, high], "mcnemar_p": p, "verdict": verdict,
            "by_seed": []}


def cell(value: float, runs: str = "n_seeds", n: int = 1) -> dict:
    return {"accuracy": value, "ci95": [value - 0.003, value + 0.003], "std": 0.01 if n > 1 else None, runs: n}


def comparison(*args, **kwargs) -> Comparison:
    return Comparison.from_json(comparison_json(*args, **kwargs))


def fixture_json() -> dict:
    """One dataset: the codes tie PCA with every label; with 4 labels per class codes + UMAP beat PCA + UMAP,
    with 16 they tie; spreading beats 1-NN at 4 and loses to it with every label."""
    accuracy = {"raw": 0.9691, "pca": 0.9720, "ae": 0.9750, "pca+umap": 0.9600, "ae+umap": 0.9650}

    def table(shift: float, runs: str, n: int, ae_umap: tuple, spreading: tuple) -> dict:
        return {"cells": {f: {s: cell(accuracy[f] - shift - 0.01 * i, runs, n) for i, s in enumerate(SCORES)}
                          for f in FEATURES},
                "comparisons": {s: [comparison_json("ae", "pca", 0.30, -0.30, 0.90, 0.31),
                                    comparison_json("ae+umap", "pca+umap", *ae_umap)] for s in SCORES},
                "score_comparisons": {f: [comparison_json("spreading", "knn1", *spreading)] for f in FEATURES}}

    full = table(0.0, "n_seeds", 1, (0.5, -0.1, 1.1), (-1.0, -1.4, -0.6))
    few = {4: table(0.03, "n_draws", 10, (3.0, 1.0, 5.0), (20.0, 18.0, 22.0)),
           16: table(0.01, "n_draws", 10, (0.4, -0.6, 1.4), (5.0, 4.0, 6.0))}
    times = {f: {s: {"seconds": 1.5, "total_seconds": 2.5, "few_label_fits": 20, "few_label_seconds": 3.0}
                 for s in SCORES} for f in FEATURES}
    budget_times = {f: {s: {"seconds": 0.5, "total_seconds": 1.5} for s in SCORES} for f in FEATURES}
    budgets = [{"labels_per_class": k, "n_labelled": 10 * k, **few[k], "times": budget_times} for k in (4, 16)]
    every = table(0.0, "n_draws", 1, (0.5, -0.1, 1.1), (-1.0, -1.4, -0.6))
    budgets.append({"labels_per_class": "all", "n_labelled": 60000, **every, "times": times})
    variants = [{"variant": "seed000", "family": "dense", "code_dim": 64, "training_seconds": 44.0,
                 "scoring_seconds": 2.0, "diverged": False,
                 "cells": {"code": {"knn1": cell(0.976)}, "pca": {"knn1": cell(0.9725)}},
                 "comparisons": {"knn1": comparison_json("seed000", "pca", 0.35, 0.10, 0.60, 0.004)}}]
    return {"dataset": "mnist", "n_test": 10000, "seeds": [42], "confidence": 0.95, "resamples": 2000,
            "bootstrap_seed": 0, **full, "times": times, "label_budgets": budgets, "variants": variants,
            "stage_seconds": {}, "confusion": None}


def fixture_stats(data: dict | None = None) -> DatasetStats:
    return DatasetStats.from_json(fixture_json() if data is None else data)


def test_the_statistics_round_trip_through_json() -> None:
    """One schema: what `stats` writes is what the report reads back, key for key."""
    assert fixture_stats().to_json() == fixture_json()


def fixture_report() -> DatasetReport:
    grid = [{"variant": "seed000", "seed": 42, "family": "dense", "val_mse": 0.00355, "test_mse": 0.00339,
             "test_bce": 0.07, "best_epoch": 19, "epochs_run": 20, "seconds": 44.0, "diverged": False,
             "collapsed": False},
            {"variant": "h128-lr1e-1", "seed": 42, "family": "dense", "val_mse": 0.067, "test_mse": 0.066,
             "test_bce": 0.2630, "best_epoch": 2, "epochs_run": 4, "seconds": 10.0, "diverged": True,
             "collapsed": True}]
    selection = {"selected": "seed000", "code_dim": 64, "criterion": "knn1_val", "candidates": ["seed000", "h128"]}
    return DatasetReport("mnist", "MNIST", fixture_stats(), selection, grid, NAMES)


def test_report_tables_numbers_and_verdicts() -> None:
    text = render_report([fixture_report()], FEATURES, SCORES, PAIRS)
    assert "## MNIST" in text and "The validation split chose **seed000** (64-d code, by `knn1_val`)" in text
    assert "| 1-NN | codes | 97.50% [97.20, 97.80] | 2.50 |" in text
    assert "| 1-NN | codes - PCA | +0.30 | [-0.30, +0.90] | 0.310 | tie within noise |" in text
    assert "| 4 per class | label spreading | 92.91% [92.61, 93.21] |" in text
    assert "| 2 | h128-lr1e-1 | dense | 0.0670 | 0.0660 | 0.2630 | 2 / 4 | 10.0 | collapsed | 0.2628 |" in text
    assert "| seed000 | dense | 64 | 44.0 | 97.60% [97.30, 97.90] | 97.25% [96.95, 97.55] | +0.35 [+0.10, +0.60]: " \
           "seed000 beats pca |" in text
    # the published anchors beside the highest cell at the smallest budget
    assert re.search(r"\| MNIST \| 4 per class \| 1-NN on codes: 94\.50% \[94\.20, 94\.80\] \| 97\.85% \| 97\.20% \| "
                     r"97\.90% \| 81\.43% \|", text)
    # every "beats" in the text is backed by an interval clear of 0, stated the winner's way round
    for low, high in re.findall(r"beats [^|]*? by [\d.]+ points \[([+-][\d.]+), ([+-][\d.]+)\]", text):
        assert float(low) > 0 and float(high) > 0


def test_few_label_findings_say_at_which_budgets_the_codes_win() -> None:
    budgets = fixture_stats().label_budgets
    assert budget_trend(budgets, "comparisons", "spreading", "ae+umap", "pca+umap", NAMES) == (
        "codes + UMAP beats PCA + UMAP at 4 per class (by 3.00 points); they tie within noise at 16 per class, "
        "every label")
    assert budget_trend(budgets, "score_comparisons", "pca", "spreading", "knn1", NAMES) == (
        "label spreading beats 1-NN at 4 per class, 16 per class (by 5.00 to 20.00 points); 1-NN beats label "
        "spreading at every label (by 1.00 points)")
    text = render_report([fixture_report()], FEATURES, SCORES, PAIRS)
    assert "- Under label spreading: codes + UMAP beats PCA + UMAP at 4 per class (by 3.00 points); they tie" in text


def test_a_loss_is_stated_the_winners_way_round() -> None:
    row = comparison("ae", "pca", -1.37, -1.9, -0.8, 0.0001)
    assert verdict_sentence(row, NAMES) == "PCA beats codes by 1.37 points [+0.80, +1.90]"
    assert verdict_sentence(comparison("ae", "pca", 0.3, -0.3, 0.9), NAMES) == (
        "codes and PCA tie within noise (+0.30 points [-0.30, +0.90])")


EVERY_LABEL = HeadlineSpec("knn1", ("raw", "pca", "ae"), ("ae", "pca"))
FEW_LABELS = HeadlineSpec("spreading", ("pca+umap", "ae+umap"), ("ae+umap", "pca+umap"))


def test_headline_holds_the_answers_as_numbers_and_only_compared_parts() -> None:
    stats = fixture_json()
    assert headline(fixture_stats(stats), EVERY_LABEL, FEW_LABELS) == {
        "every_label": {"knn1": {f: {"accuracy": a, "seconds": 2.5} for f, a in
                                 (("raw", 96.91), ("pca", 97.2), ("ae", 97.5))},
                        "ae vs pca": {"difference": 0.3, "ci_low": -0.3, "ci_high": 0.9}},
        "4_per_class": {"spreading": {"pca+umap": {"accuracy": 92.0, "seconds": 1.5},
                                      "ae+umap": {"accuracy": 92.5, "seconds": 1.5}},
                        "ae+umap vs pca+umap": {"difference": 3.0, "ci_low": 1.0, "ci_high": 5.0}}}
    for table in (stats, *stats["label_budgets"]):
        for f in ("pca+umap", "ae+umap"):
            del table["cells"][f]
        for rows in table["comparisons"].values():
            rows[1:] = []
    assert "4_per_class" not in headline(fixture_stats(stats), EVERY_LABEL, FEW_LABELS)


def test_the_summary_splits_each_cells_seconds_into_a_fit_and_a_one_off_cost() -> None:
    stats = fixture_stats()
    summary = with_costs(headline(stats, EVERY_LABEL, FEW_LABELS), stats)
    assert summary["every_label"]["knn1"]["ae"] == {"accuracy": 97.5, "seconds": 2.5, "fit_seconds": 1.5,
                                                    "one_off_seconds": 1.0}
    assert summary["4_per_class"]["spreading"]["ae+umap"]["fit_seconds"] == 0.5
    assert summary["every_label"]["ae vs pca"] == {"difference": 0.3, "ci_low": -0.3, "ci_high": 0.9}


def test_the_headline_follows_its_params_not_the_entry_names() -> None:
    """Which score and feature sets lead is the `headline` params block: renamed there, the headline follows."""
    stats = fixture_stats()
    renamed = HeadlineSpec("spreading", ("raw", "ae"), ("ae", "pca"))
    block = headline(stats, renamed, FEW_LABELS)["every_label"]
    assert set(block) == {"spreading", "ae vs pca"} and set(block["spreading"]) == {"raw", "ae"}


def test_figures_are_written_and_not_empty(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pixels = rng.random((15, 8, 8))
    stats = fixture_stats()
    images.reconstructions(pixels, pixels, np.arange(15) % 10, "t", tmp_path / "r.png")
    images.activations(pixels, rng.random((15, 8, 16)), "t", tmp_path / "a.png")
    colour = rng.random((15, 3, 8, 8))  # (C, H, W) images: drawn in colour
    images.reconstructions(colour, colour, np.arange(15) % 10, "t", tmp_path / "rgb.png")
    assert len((tmp_path / "rgb.png").read_bytes()) > 2000
    points = [{"features": f, "score": s, "fit_seconds": 1.0 + i, "accuracy": c.accuracy, "ci95": c.ci95}
              for i, (f, scores) in enumerate(stats.cells.items()) for s, c in scores.items()]
    drawn = styles(FEATURES)
    plots.efficiency({"MNIST": points}, {"MNIST": {"raw": 0.0, "pca": 1.5, "ae": 44.0}}, FEATURES, "t",
                     tmp_path / "t.png", NAMES, drawn)
    rows = [(f"{s}: {r.a} - {r.b}", r) for s, rs in stats.comparisons.items() for r in rs]
    plots.comparisons({"MNIST": rows}, "t", tmp_path / "d.png")
    plots.variants_vs_time({"MNIST": [{"variant": "v", "family": "dense", "accuracy": 0.9, "ci95": [0.89, 0.91],
                                       "pca_accuracy": 0.91, "seconds": 10.0}]}, {"MNIST": {"raw": 0.9}}, "t",
                           tmp_path / "v.png")
    plots.label_budgets(stats.label_budgets, FEATURES, SCORES, {"cnn": {4: 81.43, 16: 95.48}, "few": {"x": 97.0}},
                        "t", tmp_path / "b.png", NAMES, drawn)
    images.confusion(rng.integers(0, 50, (10, 10)), [f"class {i}" for i in range(10)], "t", tmp_path / "c.png")
    plots.training_curves({"v": {"epoch": [1, 2], "val_loss": [0.2, 0.1], "loss": "bce"}}, styles(["v"]), "t",
                          tmp_path / "k.png")
    for name in ("r", "a", "t", "d", "c", "k", "v", "b"):
        data = (tmp_path / f"{name}.png").read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 2000
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(f"{n}.png" for n in "ratdcvkb"), "rgb.png"])


@pytest.mark.parametrize(("n", "shape"), [(128, (8, 16)), (144, (12, 12)), (7, (3, 3)), (1021, (32, 32))])
def test_grids_are_never_strips(n: int, shape: tuple) -> None:
    assert grid_shape(n) == shape


@pytest.mark.parametrize("first_layer", [(144,), (4096,), (7,), (16, 4, 4), (3, 14, 14), (512, 16, 16)],
                         ids=["144-units", "4096-units", "7-units", "16-maps-4x4", "3-maps-14x14", "512-maps-16x16"])
def test_activations_figure_takes_any_first_layer_on_any_image(first_layer: tuple, tmp_path: Path) -> None:
    """A first layer wider than the image once crashed the report; a very wide one is drawn subsampled, at the
    same figure size. Each image's grid holds every activation once, NaN around them."""
    import torch

    rng = np.random.default_rng(0)
    activations = rng.random((15, *first_layer))
    grids = activation_grids(torch.from_numpy(activations))
    assert np.isfinite(grids[0]).sum() == int(np.prod(first_layer))
    assert sorted(grids[0][np.isfinite(grids[0])]) == sorted(activations[0].ravel())
    images.activations(rng.random((15, 8, 8)), grids, "t", tmp_path / "a.png")
    data = (tmp_path / "a.png").read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) < 400_000


def test_the_time_finding_says_when_the_codes_repay_their_training() -> None:
    """`In time`: the codes' accuracy and seconds a fit beside raw pixels', and after how many fits the one-off
    cost is repaid (or never, where a fit on the codes is no cheaper)."""
    from aestudy.report.text import cost_findings

    d = fixture_report()
    stats = fixture_json()
    stats["times"]["raw"]["knn1"] = {"seconds": 2.5, "total_seconds": 2.6, "few_label_fits": 20,
                                     "few_label_seconds": 3.0}
    stats["times"]["ae"]["knn1"] = {"seconds": 0.5, "total_seconds": 30.5, "few_label_fits": 20,
                                    "few_label_seconds": 3.0}
    stats["times"]["pca"]["knn1"] = {"seconds": 3.0, "total_seconds": 4.0, "few_label_fits": 20,
                                     "few_label_seconds": 3.0}
    d = DatasetReport("mnist", "MNIST", fixture_stats(stats), d.selection, d.grid, NAMES)
    lines = cost_findings(d, "knn1", ["raw", "pca", "ae"])
    assert lines[1] == ("1-NN on codes reaches 97.50% [97.20, 97.80] at 0.50 s a fit, against 96.91% [96.61, 97.21] "
                        "at 2.50 s on raw pixels; its one-off 29.9 s are repaid after 15 fits")
    assert lines[0].endswith("its fits are no cheaper, so its one-off 0.90 s are never repaid")


def test_a_name_keeps_its_style_whatever_the_lists_and_no_two_share_one() -> None:
    """Styles follow names, not list positions: reordered or shortened, each name keeps its colour, marker and
    line; among the study's scores and feature sets (and 64 names of a kind) no two share a colour and a marker."""
    features = ["raw", "pca", "ae", "pca+umap", "ae+umap"]
    scores = ["knn1", "knn3", "ncc", "linear", "mlp", "spreading", "poisson", "poisson-priors", "poisson-mbo",
              "clusters", "self-training", "rf"]
    for names in (features, scores, [f"v{i}" for i in range(64)]):
        drawn = styles(names)
        assert len({(s.colour, s.marker) for s in drawn.values()}) == len(names)
        assert styles(list(reversed(names))) == drawn
    assert len({styles(features)[f].colour for f in features}) == len(features)  # up to eight: colours alone differ
    assert styles(scores[::-1])["rf"] == styles(scores)["rf"]


def test_the_report_names_a_new_entry_by_its_title_or_class(tmp_path: Path) -> None:
    """A classifier a user adds without a title reads as its estimator's class name, never as its key alone."""
    from study.catalogue import Catalogue, parse_entry, titles

    catalogue = Catalogue({"rf": parse_entry("classifiers", "rf",
                                             {"_target_": "sklearn.ensemble.RandomForestClassifier"}, "rf")})
    names = Names(NAMES.features, {**NAMES.scores, **titles(catalogue, ["rf"])})
    assert names.score("rf") == "RandomForestClassifier" and names.pair("ae", "pca") == "codes - PCA"


def test_the_pull_request_report_names_new_keys_and_gates_headline_moves() -> None:
    """tools/pr_report.py: a key one revision lacks reads "new" or "removed" (never nan); the gate holds the
    headline's accuracies and differences that both revisions have, and nothing else."""
    metrics = diff_table({"metrics/summary.json": {
        "digits.every_label.knn1.rf.accuracy": {"new": 91.2},
        "digits.every_label.knn1.pca.accuracy": {"old": 94.61, "new": 93.5, "diff": -1.11},
        "digits.every_label.ae vs pca.difference": {"old": -7.74, "new": -7.5, "diff": 0.24},
        "digits.every_label.knn1.ae.fit_seconds": {"old": 0.2, "new": 9.0, "diff": 8.8},
        "digits.every_label.knn1.ae.accuracy": {"old": 86.87}},
        "metrics/grid/digits/seed-42.json": {"seed000.accuracy": {"old": 50.0, "new": 60.0, "diff": 10.0}}},
        keep_seconds=True)
    shown = markdown(metrics, "")
    assert "nan" not in shown
    assert "| new " in shown.splitlines()[2] and "removed" in shown.splitlines()[6]
    assert list(moved(metrics, 1.0)["key"]) == ["digits.every_label.knn1.pca.accuracy"]
    assert moved(metrics, 1.2).empty
    # "Every entry": a new key first, then the largest changes; cut with the count of the rest.
    many = diff_table({"metrics/scores.json": {
        **{f"d.every_label.knn1.f{i}.accuracy": {"old": 90.0, "new": 90.0 + i / 100, "diff": i / 100}
           for i in range(100)}, "d.every_label.rf.raw.accuracy": {"new": 91.0}}}, keep_seconds=False)
    shown = entry_lines(many)
    rows = [line for line in shown[0].splitlines()[2:]]
    assert len(rows) == MAX_ENTRY_ROWS and "rf.raw" in rows[0] and "f99" in rows[1]
    assert shown[-1].startswith(f"And {101 - MAX_ENTRY_ROWS} more")


def test_frontier_labels_of_points_close_together_do_not_overlap() -> None:
    """The efficiency figure's frontier names: two points 0.3 points and a few milliseconds apart (as MNIST's
    Poisson-MBO on codes + UMAP and on PCA were) get labels whose boxes do not overlap."""
    figure, ax = plots.plt.subplots(figsize=(6, 3))
    ax.set_xscale("log")
    ax.set_xlim(0.008, 100)
    ax.set_ylim(94, 99.5)
    points = [(0.012, 97.3), (0.03, 97.6), (0.031, 97.95), (20.0, 98.7), (25.0, 98.9)]
    plots.label_apart(ax, [(f"Poisson-MBO on feature set {i}", xy) for i, xy in enumerate(points)])
    renderer = figure.canvas.get_renderer()
    boxes = [text.get_window_extent(renderer) for text in ax.texts]
    plots.plt.close(figure)
    assert len(boxes) == len(points)
    assert not [(i, j) for i in range(len(boxes)) for j in range(i) if boxes[i].overlaps(boxes[j])]


def test_every_entry_is_a_metric_in_the_headline_shape() -> None:
    """metrics/scores.json: every score on every feature set at every budget (every label first), each with its
    accuracy and interval in points and its seconds a fit, keyed as the headline is."""
    stats = fixture_stats()
    blocks = score_metrics(stats)
    named = {id(b): f"{b.labels_per_class}_per_class" if b.few else "every_label" for b in stats.label_budgets}
    assert list(blocks) == [named[id(b)] for b in sorted(stats.label_budgets, key=lambda b: b.few)]
    for budget in stats.label_budgets:
        block = blocks[named[id(budget)]]
        assert {(s, f) for s, cells in block.items() for f in cells} == {
            (s, f) for f, cells in budget.cells.items() for s in cells}
        for f, cells in budget.cells.items():
            for s, cell in cells.items():
                shown = block[s][f]
                assert shown["accuracy"] == round(100 * cell.accuracy, 2)
                assert shown["ci_low"] <= shown["accuracy"] <= shown["ci_high"]
                assert set(shown) == {"accuracy", "ci_low", "ci_high", "fit_seconds"}


def test_the_dvc_plots_templates_draw_any_name_in_a_colour_of_its_own() -> None:
    """.dvc/plots/: each line coloured by its name from Vega's 20 distinct colours, with no domain fixed in advance
    (a name missing from a fixed domain is drawn in no colour at all: an entry a user adds would vanish)."""
    for name, where, field in (("variants", (), "variant"), ("budgets", ("spec",), "features")):
        template = json.loads((ROOT / ".dvc/plots" / f"{name}.json").read_text())
        for key in where:
            template = template[key]
        colour = template["encoding"]["color"]
        assert colour["field"] == field and colour["scale"] == {"scheme": "tableau20"}, name


def test_rendered_figures_keep_each_names_style_when_the_lists_are_reordered_or_shortened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The efficiency and label-budget figures, drawn for the feature sets in order, reversed and cut to two (the
    styles from every entry, as the report stage takes them): in each figure's legend no two entries share a colour
    and marker, and a name is drawn alike in all three."""
    kept = []
    monkeypatch.setattr(plots, "save", lambda figure, path: kept.append(figure))
    stats, drawn = fixture_stats(), styles(FEATURES)
    points = [{"features": f, "score": s, "fit_seconds": 1.0 + i, "accuracy": c.accuracy, "ci95": c.ci95}
              for i, (f, scores) in enumerate(stats.cells.items()) for s, c in scores.items()]
    seen: dict[str, set] = {}
    for features in (FEATURES, FEATURES[::-1], FEATURES[1:3]):
        kept.clear()
        plots.efficiency({"MNIST": [p for p in points if p["features"] in features]},
                         {"MNIST": {f: 1.0 for f in features}}, features, "t", tmp_path / "e.png", NAMES, drawn)
        plots.label_budgets(stats.label_budgets, features, SCORES, {}, "t", tmp_path / "b.png", NAMES, drawn)
        for figure in kept:
            legend = {text.get_text(): (handle.get_color(), handle.get_marker())
                      for key in figure.legends for handle, text in zip(key.legend_handles, key.get_texts())
                      if text.get_text() in map(NAMES.feature, features)}
            assert set(legend) == set(map(NAMES.feature, features))
            assert len(set(legend.values())) == len(legend), legend
            for name, style in legend.items():
                seen.setdefault(name, set()).add(style)
            plots.plt.close(figure)
    assert all(len(styles_of_name) == 1 for styles_of_name in seen.values()), seen
