"""Every entry's numbers as metrics: ``metrics/scores.json``, the headline's shape for every score and feature set.

    {"mnist": {"every_label": {"knn1": {"raw": {"accuracy": 96.91, "ci_low": 96.55, "ci_high": 97.23,
                                                "fit_seconds": 3.2}, ...}, ...},
               "4_per_class": {...}, ...}, ...}

The headline (``metrics/summary.json``) holds the few numbers the question is asked of; this file holds the rest,
so that an entry a user adds (a classifier, a feature set) has its accuracies, intervals (in points) and seconds a
fit at every label budget in ``dvc metrics diff --targets metrics/scores.json`` and ``make pr-report``, and beside
other experiments' in ``python -m tools.exps --all``. It is not among dvc.yaml's declared metrics: a bare
``dvc exp show`` would gain a column for each of its numbers (about 2,000 in the committed run).
"""

from __future__ import annotations

from aestudy.evaluation.results import Budget, DatasetStats
from aestudy.report.headline import points, seconds

SCORES_FILE = "scores.json"  # beside metrics/summary.json


def block_name(budget: Budget) -> str:
    """The headline's name of a budget's block: ``every_label`` or ``<k>_per_class``."""
    return f"{budget.labels_per_class}_per_class" if budget.few else "every_label"


def score_metrics(stats: DatasetStats) -> dict[str, dict[str, dict[str, dict[str, float | None]]]]:
    """One dataset's block per label budget (every label first): score -> feature set -> its accuracy, 95%
    interval and seconds a fit (at a few-label budget, the mean over its fits)."""
    budgets = sorted(stats.label_budgets, key=lambda b: b.few)  # stable: the few-label budgets keep their order
    out: dict = {}
    for budget in budgets:
        block = out.setdefault(block_name(budget), {})
        for features, cells in budget.cells.items():
            for score, cell in cells.items():
                times = budget.times.get(features, {}).get(score)
                block.setdefault(score, {})[features] = {
                    "accuracy": points(cell.accuracy), "ci_low": points(cell.ci95[0]), "ci_high": points(cell.ci95[1]),
                    "fit_seconds": seconds(times.seconds if times is not None else None)}
    return out
