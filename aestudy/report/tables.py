"""The report's tables: Markdown tables of the statistics, the grid and the times, and the formats of their cells.

The prose around them (findings, verdicts in sentences, the report and the README's section) is
``aestudy.report.text``'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from aestudy.evaluation.results import Budget, Cell, Comparison, DatasetStats
from aestudy.report.anchors import CNN_ON_LABELS, FEW_LABEL_ANCHORS
from aestudy.report.costs import one_off
from aestudy.report.names import Names
from aestudy.report.seed_studies import SEED002_TEST_BCE


@dataclass
class DatasetReport:
    """What the report says of one dataset."""

    name: str  # the key
    title: str  # as people write it
    stats: DatasetStats  # metrics/stats/<name>.json
    selection: dict  # the first seed's selection (codes/.../selection.json)
    grid: list[dict] = field(default_factory=list)  # every variant's training record, under every seed
    names: Names = field(default_factory=Names)  # the entries' titles

    def one_off_seconds(self, features: list[str]) -> dict[str, float]:
        """Each feature set's own seconds (an autoencoder's training and encoding, a PCA or UMAP fit), paid once
        for every fit on it: a cell's total less its fit and predict, the same under every score."""
        out = {}
        for name in features:
            known = [s for s in map(one_off, self.stats.times.get(name, {}).values()) if s is not None]
            if known:
                out[name] = known[0]
        return out


def percent(value: float | None, digits: int = 2) -> str:
    """A fraction as a percentage, ``n/a`` for none."""
    return "n/a" if value is None or not math.isfinite(value) else f"{100 * value:.{digits}f}%"


def interval(ci: list[float], scale: float = 100.0, signed: bool = False) -> str:
    """An interval as ``[low, high]`` (scaled)."""
    sign = "+" if signed else ""
    return f"[{scale * ci[0]:{sign}.2f}, {scale * ci[1]:{sign}.2f}]"


def seconds(value: float | None) -> str:
    """Seconds with as many digits as they deserve."""
    if value is None:
        return "n/a"
    return f"{value:.2f}" if value < 10 else f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def cell_text(cell: Cell, spread: bool = True) -> str:
    """``97.01% [96.66, 97.33]``, with the spread over runs where there are several (and ``spread``)."""
    text = f"{percent(cell.accuracy)} {interval(cell.ci95)}"
    return text + (f" +- {100 * cell.std:.2f}" if spread and cell.runs > 1 and cell.std is not None else "")


def headline_section(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """With every label: a row per (score, feature set), an accuracy column pair per dataset."""
    header = ["classifier", "features"] + [f"{d.title} {what}" for d in datasets for what in ("accuracy [95%]", "total s")]
    rows, names = [], datasets[0].names
    for score in scores:
        for name in features:
            row = [names.score(score), names.feature(name)]
            for d in datasets:
                row += [cell_text(d.stats.cells[name][score]), seconds(d.stats.times[name][score].total_seconds)]
            rows.append(row)
    return table(header, rows)


def comparisons_table(comparisons: dict[str, list[Comparison]], by: str, names: Names) -> str:
    """Every paired comparison of a table, by score (``classifier``) or by feature set."""
    header = [by, "A - B", "difference (points)", "95% interval", "McNemar p", "verdict"]
    rows = [[names.score(key) if by == "classifier" else names.feature(key), names.pair(r.a, r.b),
             f"{r.difference_pt:+.2f}", interval(r.ci95_pt, scale=1, signed=True),
             "< 0.001" if r.mcnemar_p < 0.001 else f"{r.mcnemar_p:.3f}", r.verdict]
            for key, rs in comparisons.items() for r in rs]
    return table(header, rows)


def budget_label(k: int | str) -> str:
    """A budget as people say it."""
    return "every label" if k == "all" else f"{k} per class"


def budgets_table(budgets: tuple[Budget, ...], features: list[str], scores: list[str], names: Names) -> str:
    """Labels per class x classifier: each feature set's accuracy [95% interval], and the label draws."""
    header = ["labels", "classifier", *map(names.feature, features), "draws"]
    rows = []
    for b in budgets:
        for score in scores:
            rows.append([budget_label(b.labels_per_class), names.score(score),
                         *(cell_text(b.cells[f][score], spread=False) for f in features),
                         "/".join(sorted({str(b.cells[f][score].n_draws) for f in features}))])
    return table(header, rows)


def anchors_table(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """At the smallest budget: the study's best cell per dataset (described, never chosen by it) beside the
    published numbers."""
    rows = []
    for d in datasets:
        smallest = d.stats.label_budgets[0]
        if not smallest.few:
            continue
        best = max(((f, s) for f in features for s in scores), key=lambda fs: smallest.cells[fs[0]][fs[1]].accuracy)
        cell = smallest.cells[best[0]][best[1]]
        k = smallest.labels_per_class
        rows.append([d.title, f"{k} per class",
                     f"{d.names.score(best[1])} on {d.names.feature(best[0])}: {cell_text(cell, spread=False)}",
                     *(f"{a.accuracy[d.name]:.2f}%" if d.name in a.accuracy else "" for a in FEW_LABEL_ANCHORS),
                     f"{CNN_ON_LABELS[d.name][k]:.2f}%" if k in CNN_ON_LABELS.get(d.name, {}) else ""])
    header = ["dataset", "labels", "this study's highest cell (test-described)", *(a.label for a in FEW_LABEL_ANCHORS),
              "CNN on the labels alone"]
    return table(header, rows)


def grid_table(d: DatasetReport) -> str:
    """Every variant's training record, ranked by validation MSE, beside seed-002's test BCE."""
    several = len(d.stats.seeds) > 1
    header = ["rank", "variant", *(["seed"] if several else []), "family", "val MSE", "test MSE", "test BCE",
              "best / run epochs", "seconds", "diverged", "seed-002 test BCE"]
    rows = []
    ranked = sorted(d.grid, key=lambda r: (r["val_mse"] is None, r["val_mse"] if r["val_mse"] is not None else 0))
    for i, r in enumerate(ranked, 1):
        published = SEED002_TEST_BCE.get(d.name, {}).get(r["variant"])
        published_text = ("" if published is None else f"{published[0]:.4f}-{published[1]:.4f}"
                          if isinstance(published, tuple) else f"{published:.4f}")
        fmt = lambda v: "n/a" if v is None else f"{v:.4f}"
        rows.append([str(i), r["variant"], *([str(r["seed"])] if several else []), r["family"], fmt(r["val_mse"]),
                     fmt(r["test_mse"]), fmt(r["test_bce"]), f"{r['best_epoch']} / {r['epochs_run']}",
                     seconds(r["seconds"]), "collapsed" if r["collapsed"] else "yes" if r["diverged"] else "",
                     published_text])
    return table(header, rows)


def variants_table(stats: DatasetStats) -> str:
    """Every variant's codes against PCA of the same size under 1-NN, with the paired verdict."""
    header = ["variant", "family", "code", "training s", "1-NN on codes", "1-NN on PCA, same size", "codes - PCA (points)"]
    rows = [[v.variant, v.family, str(v.code_dim), seconds(v.training_seconds),
             cell_text(v.cells["code"]["knn1"]), cell_text(v.cells["pca"]["knn1"]),
             (f"{v.comparisons['knn1'].difference_pt:+.2f} {interval(v.comparisons['knn1'].ci95_pt, 1, True)}"
              f": {v.comparisons['knn1'].verdict}")] for v in stats.variants]
    return table(header, rows)


def time_table(datasets: list[DatasetReport], features: list[str], scores: list[str]) -> str:
    """Seconds of each kind of work per dataset, summed over the stages that did it (start-up aside)."""
    kinds: dict[str, dict[str, float]] = {}
    for d in datasets:
        times = d.stats.times
        put = lambda kind, value, name=d.title: kinds.setdefault(kind, {}).__setitem__(name, value)
        put(f"autoencoder training ({len(d.grid)} models)", sum(r["seconds"] for r in d.grid))
        put("encoding and scoring every variant's codes", sum(v.scoring_seconds for v in d.stats.variants))
        for score in scores:
            put(f"{d.names.score(score)}, every label", sum(times[f][score].seconds or 0 for f in features))
            fits = sum(times[f][score].few_label_fits for f in features)
            put(f"{d.names.score(score)}, few labels ({fits} fits)",
                sum(times[f][score].few_label_seconds for f in features))
    rows = [[kind, *(seconds(values.get(d.title)) for d in datasets)] for kind, values in kinds.items()]
    return table(["work", *(d.title for d in datasets)], rows)


def comparison_cell(row: Comparison | None, names: Names) -> str:
    """``+3.00 [+1.00, +5.00]: A beats B`` for a comparison, or empty when the study did not make it."""
    if row is None:
        return ""
    name_a, name_b = names.sides(row.a, row.b)
    outcome = {"tie": "tie within noise", "a": f"**{name_a} better**", "b": f"{name_b} better"}[row.winner]
    return f"{row.difference_pt:+.2f} {interval(row.ci95_pt, scale=1, signed=True)}: {outcome}"
