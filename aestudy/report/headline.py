"""The headline metrics: what ``dvc exp show`` lists, a few columns per dataset, in percent.

Per dataset, the answers the README leads with:
- ``every_label``: test accuracy of 1-NN on raw pixels, PCA and the codes, and the verdict codes - PCA;
- ``<k>_per_class`` at the smallest label budget: label spreading on PCA + UMAP and on codes + UMAP, and the
  verdict codes + UMAP - PCA + UMAP.
A verdict is the paired comparison's outcome with its difference and interval in points: ``ae beats pca (+0.32
[+0.03, +0.60])``. Everything else (every cell, interval and comparison) is in ``metrics/stats/<dataset>.json``.
A feature set or score the study does not compare is left out.
"""

from __future__ import annotations

ALL_LABELS = ("1nn", ("raw", "pca", "ae"), ("ae", "pca"))
FEW_LABELS = ("spreading", ("pca+umap", "ae+umap"), ("ae+umap", "pca+umap"))


def verdict(row: dict) -> str:
    low, high = row["ci95_pt"]
    return f"{row['verdict']} ({row['difference_pt']:+.2f} [{low:+.2f}, {high:+.2f}])"


def section(cells: dict, comparisons: dict, spec: tuple) -> dict:
    """One block of the headline: a score's accuracies on some feature sets, and one verdict."""
    score, features, (a, b) = spec
    out = {}
    shown = {f: round(100 * cells[f][score]["accuracy"], 2) for f in features if score in cells.get(f, {})}
    if shown:
        out[score] = shown
    rows = [r for r in comparisons.get(score, []) if (r["a"], r["b"]) == (a, b)]
    if rows:
        out[f"{a} vs {b}"] = verdict(rows[0])
    return out


def headline(stats: dict) -> dict:
    """The headline of one dataset from its statistics (``metrics/stats/<dataset>.json``)."""
    entry: dict = {}
    if stats["cells"]:
        entry["every_label"] = section(stats["cells"], stats["comparisons"], ALL_LABELS)
    smallest = next((b for b in stats["label_budgets"] if b["labels_per_class"] != "all"), None)
    if smallest is not None:
        block = section(smallest["cells"], smallest["comparisons"], FEW_LABELS)
        if block:
            entry[f"{smallest['labels_per_class']}_per_class"] = block
    return entry
