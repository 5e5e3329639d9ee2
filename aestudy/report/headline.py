"""The headline metrics: what ``dvc exp show`` lists, a few numeric columns per dataset.

Per dataset, two blocks, each chosen by a ``HeadlineSpec`` (the study's ``headline`` params): with every label
(``every_label``) and at the smallest label budget (``<k>_per_class``), one score's test accuracy on some feature
sets, each with the seconds that produced it, and one paired verdict A - B:

    {"every_label": {"knn1": {"raw": {"accuracy": 96.91, "seconds": 2.8}, ...},
                     "ae vs pca": {"difference": 0.35, "ci_low": 0.07, "ci_high": 0.63}}, ...}

Accuracies and differences are in points (percent), rounded to 0.01; ``seconds`` is the total a user pays for
that accuracy: the features' cost (an autoencoder's training included) plus the classifier's fit and predict (at
a label budget, the mean over its fits). A verdict favours A when ``ci_low > 0``, B when ``ci_high < 0``, and is a
tie within noise otherwise. Every number is a number, so ``dvc metrics diff`` and ``dvc exp show --sort-by``
compare them. Everything else is in ``metrics/stats/<dataset>.json``; a feature set or score the study does not
compare is left out.
"""

from __future__ import annotations

from dataclasses import dataclass

from aestudy.evaluation.results import Comparison, DatasetStats, Table, Times


@dataclass(frozen=True)
class HeadlineSpec:
    """One block of the headline: a score, the feature sets shown under it, and the pair (A, B) compared."""

    score: str
    features: tuple[str, ...]
    pair: tuple[str, str]


def points(fraction: float) -> float:
    """A fraction in points (percent), to 0.01."""
    return round(100 * fraction, 2)


def seconds(value: float | None) -> float | None:
    """Seconds to the millisecond; None stays None."""
    return None if value is None else round(value, 3)


def verdict(row: Comparison) -> dict[str, float]:
    """A paired comparison as numbers: A - B and its 95% interval, in points."""
    low, high = row.ci95_pt
    return {"difference": round(row.difference_pt, 2), "ci_low": round(low, 2), "ci_high": round(high, 2)}


def block(table: Table, times: dict[str, dict[str, Times]], spec: HeadlineSpec) -> dict:
    """One block: the score's accuracy and seconds on each feature set, and the verdict of the pair."""
    out: dict = {}
    shown = {f: {"accuracy": points(table.cells[f][spec.score].accuracy),
                 "seconds": seconds(times[f][spec.score].total_seconds if spec.score in times.get(f, {}) else None)}
             for f in spec.features if spec.score in table.cells.get(f, {})}
    if shown:
        out[spec.score] = shown
    row = table.comparison("comparisons", spec.score, *spec.pair)
    if row is not None:
        out[" vs ".join(spec.pair)] = verdict(row)
    return out


def headline(stats: DatasetStats, every_label: HeadlineSpec, few_labels: HeadlineSpec) -> dict:
    """The headline of one dataset from its statistics (``metrics/stats/<dataset>.json``)."""
    entry: dict = {}
    if stats.cells:
        entry["every_label"] = block(stats, stats.times, every_label)
    smallest = stats.smallest_budget
    if smallest is not None:
        found = block(smallest, smallest.times, few_labels)
        if found:
            entry[f"{smallest.labels_per_class}_per_class"] = found
    return entry
