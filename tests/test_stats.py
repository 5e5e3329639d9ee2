"""Intervals and paired tests against textbook values and scipy, and the bootstrap's determinism."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binomtest

from aestudy.core.errors import StudyError
from aestudy.evaluation.tables import compare_runs, study_table
from aestudy.evaluation.stats import Resamples, accuracy_cell, mcnemar_exact, paired_comparison, wilson_interval


def test_wilson_interval_textbook_values() -> None:
    # Newcombe (1998), Statistics in Medicine 17, table I: 81/263 -> [0.2553, 0.3662]; 15/148 -> [0.0624, 0.1605].
    assert wilson_interval(81, 263) == pytest.approx((0.2553, 0.3662), abs=5e-5)
    assert wilson_interval(15, 148) == pytest.approx((0.0624, 0.1605), abs=5e-5)
    # The edges stay inside [0, 1] and are not degenerate, unlike p +- z se.
    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.73
    assert wilson_interval(0, 10)[0] == 0.0
    # scipy's binomial test computes the same interval.
    for k, n in ((9691, 10000), (8203, 10000), (3, 297)):
        ref = binomtest(k, n).proportion_ci(0.95, method="wilson")
        assert wilson_interval(k, n) == pytest.approx((ref.low, ref.high), abs=1e-12)
    with pytest.raises(StudyError, match="0 <= successes <= n"):
        wilson_interval(11, 10)


@pytest.mark.parametrize(("a_only", "b_only"), [(0, 0), (1, 0), (5, 5), (12, 3), (30, 58), (200, 260), (0, 25)])
def test_mcnemar_exact_is_the_two_sided_binomial_test(a_only: int, b_only: int) -> None:
    n = a_only + b_only
    expected = 1.0 if n == 0 else binomtest(a_only, n, 0.5).pvalue
    assert mcnemar_exact(a_only, b_only) == pytest.approx(expected, rel=1e-9)
    assert mcnemar_exact(a_only, b_only) == mcnemar_exact(b_only, a_only)


def test_mcnemar_textbook_example() -> None:
    # Agresti, Categorical Data Analysis: 2 vs 8 discordant pairs, exact two-sided p = 0.1094.
    assert mcnemar_exact(2, 8) == pytest.approx(0.109375)


def correctness(rng: np.random.Generator, accuracy: float, n: int, seeds: int = 1) -> np.ndarray:
    return rng.random((seeds, n)) < accuracy


def test_bootstrap_is_deterministic_and_seeded() -> None:
    rng = np.random.default_rng(0)
    a, b = correctness(rng, 0.9, 500), correctness(rng, 0.88, 500)
    first = paired_comparison(a, b, Resamples.draw(500, 1, 2000, seed=0))
    again = paired_comparison(a, b, Resamples.draw(500, 1, 2000, seed=0))
    other = paired_comparison(a, b, Resamples.draw(500, 1, 2000, seed=1))
    assert first == again
    assert first["ci95_pt"] != other["ci95_pt"]
    assert first["difference_pt"] == other["difference_pt"] == pytest.approx(100 * (a.mean() - b.mean()))


def test_paired_bootstrap_matches_the_normal_approximation() -> None:
    # For a large test set the percentile interval of a paired difference approaches d +- z se, with se from
    # the discordant pairs: se^2 = (a_only + b_only - n d^2) / n^2.
    rng = np.random.default_rng(1)
    n = 10000
    a = correctness(rng, 0.97, n)
    b = a.copy()
    flips = rng.random(n) < 0.03
    b[0, flips] = ~b[0, flips]
    result = paired_comparison(a, b, Resamples.draw(n, 1, 4000, seed=0), ("a", "b"))
    d = a.mean() - b.mean()
    a_only, b_only = result["by_seed"][0]["a_only"], result["by_seed"][0]["b_only"]
    se = np.sqrt((a_only + b_only) / n - d * d) / np.sqrt(n)
    low, high = result["ci95_pt"]
    assert low == pytest.approx(100 * (d - 1.96 * se), abs=0.05)
    assert high == pytest.approx(100 * (d + 1.96 * se), abs=0.05)
    assert result["mcnemar_p"] == pytest.approx(binomtest(a_only, a_only + b_only).pvalue)


def test_verdicts_follow_the_interval() -> None:
    rng = np.random.default_rng(2)
    base = correctness(rng, 0.8, 2000)
    better = base.copy()
    better[0, np.flatnonzero(~base[0])[:150]] = True  # 150 more right answers: +7.5 pt
    draws = Resamples.draw(2000, 1, 2000, seed=0)
    assert paired_comparison(better, base, draws, ("ae", "raw"))["verdict"] == "ae beats raw"
    assert paired_comparison(base, better, draws, ("ae", "raw"))["verdict"] == "raw beats ae"
    slightly = base.copy()
    slightly[0, np.flatnonzero(~base[0])[:12]] = True  # 12 images won, 10 lost: +0.1 pt on 2000 images, noise
    slightly[0, np.flatnonzero(base[0])[:10]] = False
    tie = paired_comparison(slightly, base, draws, ("ae", "raw"))
    assert tie["verdict"] == "tie within noise" and tie["ci95_pt"][0] < 0 < tie["ci95_pt"][1]
    assert tie["difference_pt"] == pytest.approx(0.1)


def test_seed_replicates_widen_the_interval_by_the_seed_spread() -> None:
    rng = np.random.default_rng(3)
    n, seeds = 3000, 5
    # The same images, five seeds whose accuracies differ by a few points: the seed's noise dominates.
    correct = np.stack([rng.random(n) < p for p in (0.80, 0.84, 0.88, 0.82, 0.86)])
    draws = Resamples.draw(n, seeds, 2000, seed=0)
    cell = accuracy_cell(correct, draws)
    per_seed = correct.mean(axis=1)
    assert cell["accuracy"] == pytest.approx(per_seed.mean())
    assert cell["std"] == pytest.approx(per_seed.std(ddof=1))
    assert cell["n_seeds"] == 5
    single = accuracy_cell(correct[:1], draws)
    assert single["std"] is None and single["n_seeds"] == 1
    width = cell["ci95"][1] - cell["ci95"][0]
    assert width > 1.5 * (single["ci95"][1] - single["ci95"][0])  # the seeds' spread, not only the test set's
    assert cell["ci95"][0] < cell["accuracy"] < cell["ci95"][1]
    # A seed-free result (one row) pairs with every seed of a seeded one.
    result = paired_comparison(correct, correct[:1], draws)
    assert len(result["by_seed"]) == 5 and result["by_seed"][0]["difference_pt"] == 0.0


def test_wilson_interval_holds_p_at_the_ends() -> None:
    for n in (1, 7, 60, 297, 10_000):
        assert wilson_interval(n, n)[1] == 1.0 and wilson_interval(0, n)[0] == 0.0
        for successes in (0, 1, n // 2, n - 1, n):
            low, high = wilson_interval(successes, n)
            assert low <= successes / n <= high


def test_the_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    from aestudy.evaluation.confusion import confusion_matrix

    matrix = confusion_matrix(np.array([0, 0, 1, 2, 2]), np.array([0, 1, 1, 2, 3]))
    assert matrix.shape == (4, 4) and matrix.sum() == 5
    assert matrix[0].tolist() == [1, 1, 0, 0] and matrix[2].tolist() == [0, 0, 1, 1] and matrix[3].sum() == 0


def shared(n_images: int):
    """The bootstrap resamples per run count, as the stats stage shares them."""
    cache: dict[int, Resamples] = {}
    return lambda runs: cache.setdefault(runs, Resamples.draw(n_images, runs, 2000, 0))


def test_a_seed_free_side_pairs_with_every_run_of_the_other() -> None:
    """Raw pixels under 1-NN (one run) against three seeds of the codes: each seed paired with the one run, the
    runs labelled by the seeded side's seeds."""
    rng = np.random.default_rng(0)
    seeded = rng.random((3, 500)) < 0.9
    fixed = rng.random((1, 500)) < 0.8
    row = compare_runs((seeded, [{"seed": s} for s in (1, 2, 3)]), (fixed, [{"seed": None}]), ("ae", "raw"),
                       shared(500))
    assert [run.labels for run in row.runs] == [{"seed": 1}, {"seed": 2}, {"seed": 3}]
    assert row.difference_pt == pytest.approx(100 * (seeded.mean() - fixed.mean()))
    assert row.winner == "a" and row.verdict == "ae beats raw" and row.ci95_pt[0] > 0


def test_runs_pair_by_their_labels_when_one_side_has_fewer_draws() -> None:
    """The MLP fits the first two draws of a budget, k-NN all five: only the two draws both hold are paired."""
    rng = np.random.default_rng(1)
    five = rng.random((5, 300)) < 0.7
    labels = [{"seed": 42, "draw": d} for d in range(5)]
    row = compare_runs((five[:2], labels[:2]), (five, labels), ("mlp", "knn1"), shared(300))
    assert [run.labels for run in row.runs] == labels[:2]
    assert row.difference_pt == 0 and row.verdict == "tie within noise" and row.winner == "tie"


def test_a_budget_table_holds_every_cell_and_each_pair_once() -> None:
    rng = np.random.default_rng(2)
    runs = {(f, s): (rng.random((4, 200)) < p, [{"seed": 42, "draw": d} for d in range(4)])
            for f, p in (("raw", 0.6), ("ae", 0.8)) for s in ("knn1", "spreading")}
    table = study_table(runs, ["raw", "ae"], ["knn1", "spreading"], [("ae", "raw"), ("spreading", "knn1")],
                        shared(200), by_draws=True)
    assert table.cells["ae"]["knn1"].n_draws == 4 and table.cells["ae"]["knn1"].n_seeds is None
    assert [(r.a, r.b) for r in table.comparisons["spreading"]] == [("ae", "raw")]
    assert [(r.a, r.b) for r in table.score_comparisons["raw"]] == [("spreading", "knn1")]
    assert table.comparison("comparisons", "knn1", "ae", "raw").winner == "a"
    assert table.comparison("comparisons", "knn1", "raw", "ae") is None
