"""The statistics' records built from test predictions: a cell from runs' correctness, a paired comparison on the
runs two sides share, one budget's table of both, a variant against PCA of its size, the every-label table as a
budget, the confusion matrix to show (``aestudy.evaluation.results`` holds the records)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from aestudy.evaluation.results import Budget, Cell, Comparison, Confusion, RunComparison, Table, Times, VariantResult
from aestudy.evaluation.stats import Resamples, accuracy_cell, paired_comparison

Runs = tuple[np.ndarray, list[dict]]  # (runs, n_test) correctness, and each run's labels (seed, draw)


def cell_of(correct: np.ndarray, resamples: Resamples, by_draws: bool = False) -> Cell:
    """The cell of (runs, n_test) correctness; its runs counted as label draws when ``by_draws``."""
    found = accuracy_cell(correct, resamples)
    runs = {"n_draws": found["n_seeds"]} if by_draws else {"n_seeds": found["n_seeds"]}
    return Cell(found["accuracy"], tuple(found["ci95"]), found["std"], **runs)


def compare_runs(a: Runs, b: Runs, names: tuple[str, str], resamples_for) -> Comparison:
    """A - B on the same test images, on the runs both have: a single run (a seed-free result) pairs with every
    run of the other side; otherwise the runs both hold, in order (a classifier with fewer draws pairs with the
    first ones). ``resamples_for(n_runs)``: the shared bootstrap resamples for that many runs."""
    (correct_a, rows_a), (correct_b, rows_b) = a, b
    if len(correct_a) == 1 and len(correct_b) == 1:  # the labels of the side that has a seed, if either has
        rows = rows_a if rows_a[0].get("seed") is not None else rows_b
    elif len(correct_b) == 1:
        correct_b, rows = np.repeat(correct_b, len(correct_a), axis=0), rows_a
    elif len(correct_a) == 1:
        correct_a, rows = np.repeat(correct_a, len(correct_b), axis=0), rows_b
    else:
        rows = [row for row in rows_a if row in rows_b]
        correct_a = correct_a[[rows_a.index(row) for row in rows]]
        correct_b = correct_b[[rows_b.index(row) for row in rows]]
    found = paired_comparison(correct_a, correct_b, resamples_for(len(correct_a)), names)
    runs = tuple(RunComparison(r["difference_pt"], r["a_only"], r["b_only"], r["mcnemar_p"], dict(labels))
                 for r, labels in zip(found["by_seed"], rows, strict=True))
    return Comparison(names[0], names[1], found["difference_pt"], tuple(found["ci95_pt"]), found["mcnemar_p"], runs,
                      found["verdict"])


def study_table(outcomes: Mapping[tuple[str, str], Runs], features: list[str], scores: list[str],
                pairs: list[tuple[str, str]], resamples_for, by_draws: bool = False) -> Table:
    """The cells and comparisons of one budget from each (features, score)'s runs: every pair of ``pairs``
    whose sides are feature sets under every score, and whose sides are scores on every feature set."""
    feature_pairs = [p for p in pairs if p[0] in features]
    score_pairs = [p for p in pairs if p[0] in scores]
    return Table(
        {f: {s: cell_of(outcomes[f, s][0], resamples_for(len(outcomes[f, s][0])), by_draws) for s in scores}
         for f in features},
        {s: [compare_runs(outcomes[a, s], outcomes[b, s], (a, b), resamples_for) for a, b in feature_pairs]
         for s in scores},
        {f: [compare_runs(outcomes[f, a], outcomes[f, b], (a, b), resamples_for) for a, b in score_pairs]
         for f in features})


def variant_result(variant: str, runs: list[dict[str, np.ndarray]], seeds: list[int], scores: tuple[str, ...],
                   test_labels: np.ndarray, resamples_for, **facts: Any) -> VariantResult:
    """One variant's codes against PCA of the same size: ``runs``, a seed's test predictions each (``<score>`` on
    the codes, ``pca_<score>`` on PCA); ``facts``, the record's other fields (``family``, ``code_dim``, the mean
    ``training_seconds`` and ``scoring_seconds`` over the seeds, ``diverged`` under any seed)."""
    code = {score: (np.stack([run[score] == test_labels for run in runs]), [{"seed": s} for s in seeds])
            for score in scores}
    # PCA is fitted on every training image whatever the seed: one row, as for the seed-free results.
    pca = {score: (runs[0][f"pca_{score}"][None] == test_labels, [{"seed": None}]) for score in scores}
    return VariantResult(
        variant, **facts,
        cells={"code": {s: cell_of(code[s][0], resamples_for(len(seeds))) for s in scores},
               "pca": {s: cell_of(pca[s][0], resamples_for(1)) for s in scores}},
        comparisons={s: compare_runs(code[s], pca[s], (variant, "pca"), resamples_for) for s in scores})


def best_confusion(full: Table, first_fit: Callable[[str, str], tuple[float, list[list[int]]]]) -> Confusion | None:
    """The confusion matrix of the most accurate every-label cell (the first, on a tie), from its first run:
    ``first_fit(features, score)``, that run's accuracy and confusion matrix."""
    if not full.cells:
        return None
    features, score = max(((f, s) for f in full.cells for s in full.cells[f]),
                          key=lambda fs: full.cells[fs[0]][fs[1]].accuracy)
    accuracy, matrix = first_fit(features, score)
    return Confusion(features, score, accuracy, matrix)


def as_budget(full: Table, times: dict[str, dict[str, Times]], n_train: int, name: str) -> Budget:
    """The every-label table as the budget ``name`` (the label budgets' ``all``): its runs counted as draws, its
    times without the few-label fits."""
    cells = {f: {s: Cell(c.accuracy, c.ci95, c.std, n_draws=c.n_seeds) for s, c in by.items()}
             for f, by in full.cells.items()}
    return Budget(cells, full.comparisons, full.score_comparisons, labels_per_class=name, n_labelled=n_train,
                  times={f: {s: Times(t.seconds, t.total_seconds) for s, t in by.items()} for f, by in times.items()})
