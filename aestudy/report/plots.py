"""The report's charts: training curves, accuracy against labels per class and against seconds, the paired
differences and the autoencoder grid, in the figures' shared style (``aestudy.report.style``); written
atomically as PNG. The image figures (reconstructions, activations, confusion) are ``aestudy.report.images``'.
"""

from __future__ import annotations

import math
from pathlib import Path

from aestudy.evaluation.results import Budget, Comparison
from aestudy.report.display_names import feature_name, score_name
from aestudy.report.style import (
    ANCHOR_COLOURS,
    FAVOURS,
    LINE_STYLES,
    MARKERS,
    OKABE_ITO,
    percent_axis,
    plt,
    save,
    style_of,
    title_and_legend,
)


def training_curves(curves: dict[str, dict], title: str, path: Path) -> None:
    """Each variant's validation loss per epoch (log scale), a panel per loss (MSE- and BCE-trained variants
    are not on one scale), a distinct colour and line style per variant, the legend beside the panels."""
    losses = sorted({c["loss"] for c in curves.values()})
    styles = {name: (OKABE_ITO[i % 8], LINE_STYLES[(i // 8) % 4], MARKERS[i % 8]) for i, name in enumerate(curves)}
    figure, axes = plt.subplots(1, len(losses), figsize=(4.2 * len(losses) + 1.8, 3.4), squeeze=False)
    for ax, loss in zip(axes[0], losses, strict=True):
        for name, curve in curves.items():
            if curve["loss"] == loss:
                colour, line, marker = styles[name]
                ax.plot(curve["epoch"], curve["val_loss"], color=colour, linestyle=line, marker=marker, markersize=3,
                        markevery=max(1, len(curve["epoch"]) // 8), linewidth=1.2, label=name)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"validation {loss.upper()}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    handles = [h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]]
    names = [n for ax in axes[0] for n in ax.get_legend_handles_labels()[1]]
    figure.legend(handles, names, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    save(figure, path)


def label_budgets(budgets: tuple[Budget, ...], features: list[str], scores: list[str], anchors: dict, title: str,
                  path: Path) -> None:
    """Test accuracy (%) against labels per class (log scale), a panel per score, a line per feature set with its
    95% band; the budget of every label at the right end. ``anchors``: ``cnn`` (labels per class -> %, a CNN on
    the labelled images alone, dashed) and ``few`` (label -> % at 4 labels per class, stars)."""
    few_budgets = [b for b in budgets if b.few]
    x = [b.labels_per_class for b in few_budgets]
    every = next((b for b in budgets if not b.few), None)
    x_all = x[-1] * 4 if x else 1
    styles = style_of(features)
    columns = min(4, len(scores))
    rows = math.ceil(len(scores) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.7 * rows + 0.9), squeeze=False,
                                sharey=True, sharex=True)
    for ax, score in zip(axes.flat, scores, strict=False):
        for name in features:
            colour, marker = styles[name]
            cells = [b.cells[name][score] for b in few_budgets]
            ys = [100 * c.accuracy for c in cells]
            ax.fill_between(x, [100 * c.ci95[0] for c in cells], [100 * c.ci95[1] for c in cells], color=colour,
                            alpha=0.15, linewidth=0)
            ax.plot(x, ys, color=colour, marker=marker, markersize=4, linewidth=1.3, label=feature_name(name))
            if every is not None:
                ax.plot([x_all], [100 * every.cells[name][score].accuracy], color=colour, marker=marker,
                        markersize=4, linestyle="none")
        cnn = anchors.get("cnn") or {}
        if cnn:
            ax.plot(list(cnn), list(cnn.values()), color="#666666", linestyle="--", linewidth=1,
                    label="CNN on the labels alone")
        for i, (label, value) in enumerate((anchors.get("few") or {}).items()):
            ax.plot([x[0] if x else 4], [value], marker="*", markersize=9, linestyle="none",
                    color=ANCHOR_COLOURS[i % len(ANCHOR_COLOURS)], markeredgecolor="black", markeredgewidth=0.6,
                    label=label)
        ax.set_xscale("log", base=2)
        ticks = [*x, x_all] if every is not None else x
        ax.set_xticks(ticks, [*map(str, x), "all"] if every is not None else list(map(str, x)), fontsize=7)
        ax.minorticks_off()
        ax.set_title(score_name(score), fontsize=9)
        ax.grid(True, alpha=0.3)
        percent_axis(ax)
    for ax in axes.flat[len(scores):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("labels per class (log scale)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (band: 95%)", fontsize=8)
    handles, names = axes[0, 0].get_legend_handles_labels()
    lines = [h for h, n in zip(handles, names, strict=True) if n in map(feature_name, features)]
    title_and_legend(figure, title, lines, [h for h in handles if h not in lines])
    save(figure, path)


def comparisons(rows_by_dataset: dict[str, list[tuple[str, Comparison]]], title: str, path: Path) -> None:
    """Paired differences A - B (points) with their 95% intervals, a panel per dataset, a row per (label,
    comparison); blue where the interval favours A, orange where it favours B, grey for a tie within noise."""
    datasets = list(rows_by_dataset)
    labels = [label for label, _ in next(iter(rows_by_dataset.values()))]
    figure, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 1.5, 0.24 * len(labels) + 1.3),
                                squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for y, (_, row) in enumerate(rows_by_dataset[dataset]):
            low, high = row.ci95_pt
            side = "tie" if low <= 0 <= high else ("a" if low > 0 else "b")
            ax.errorbar(row.difference_pt, y, xerr=[[row.difference_pt - low], [high - row.difference_pt]],
                        fmt="o", color=FAVOURS[side], markersize=4, capsize=2, elinewidth=1)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel("A - B, points of test accuracy (95%)", fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0, 0].invert_yaxis()  # the axes share y: inverting one inverts all
    legend = [plt.Line2D([], [], marker="o", linestyle="none", color=FAVOURS[k], label=text)
              for k, text in (("a", "A better (interval above 0)"), ("b", "B better (interval below 0)"),
                              ("tie", "tie within noise"))]
    title_and_legend(figure, title, legend)
    save(figure, path)


def accuracy_vs_time(points_by_dataset: dict[str, list[dict]], features: list[str], scores: list[str], title: str,
                     path: Path) -> None:
    """Every (feature set, score) with every label: test accuracy (%) against total seconds (log scale), a panel
    per dataset; the colour is the classifier, the marker the feature set, both keyed above the panels."""
    colours = {score: OKABE_ITO[i % len(OKABE_ITO)] for i, score in enumerate(scores)}
    markers = {name: MARKERS[i % len(MARKERS)] for i, name in enumerate(features)}
    datasets = list(points_by_dataset)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.0 * len(datasets), 4.4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        for point in points_by_dataset[dataset]:
            low, high = point["ci95"]
            ax.errorbar(point["seconds"], 100 * point["accuracy"],
                        yerr=[[100 * max(point["accuracy"] - low, 0)], [100 * max(high - point["accuracy"], 0)]],
                        fmt=markers[point["features"]], color=colours[point["score"]], markersize=5, capsize=1.5,
                        elinewidth=0.8, markeredgecolor="black", markeredgewidth=0.3)
        ax.set_xscale("log")
        ax.set_xlabel("total seconds: features' cost + fit + predict (log scale)", fontsize=8)
        ax.set_ylabel("test accuracy (bars: 95%)", fontsize=8)
        ax.set_title(dataset, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        percent_axis(ax)
    title_and_legend(figure, title,
                     [plt.Line2D([], [], marker="o", linestyle="none", color=colours[s], label=score_name(s))
                      for s in scores],
                     [plt.Line2D([], [], marker=markers[f], linestyle="none", color="#777777", label=feature_name(f))
                      for f in features])
    save(figure, path)


def variants_vs_time(rows_by_dataset: dict[str, list[dict]], references: dict[str, dict[str, float]], title: str,
                     path: Path) -> None:
    """Each variant's test 1-NN accuracy on its codes (%, 95% interval) against its training seconds (log scale), a
    panel per dataset: circles dense, squares convolutional, the colour its objective; a grey dash at each
    variant marks PCA of its own code's size; raw pixels' and the selected size's PCA 1-NN as lines. Variants more
    than 10 points below those lines (collapsed nets) are listed under the panel instead of squashing it."""
    objectives = {"reconstruction": OKABE_ITO[5], "denoising": OKABE_ITO[1], "variational": OKABE_ITO[3]}
    datasets = list(rows_by_dataset)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.4 * len(datasets), 4.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        ref = references[dataset]
        floor = min(ref.values()) - 0.10
        shown, below = [], []
        for row in rows_by_dataset[dataset]:
            (below if row["accuracy"] < floor else shown).append(row)
        for i, row in enumerate(sorted(shown, key=lambda r: r["seconds"])):
            objective = next((o for o in ("denoising", "variational") if o in row["family"]), "reconstruction")
            marker = "s" if row["family"].startswith("conv") else "o"
            low, high = row["ci95"]
            seconds = max(row["seconds"], 1e-3)
            ax.plot(seconds, 100 * row["pca_accuracy"], "_", color="#777777", markersize=10)
            ax.errorbar(seconds, 100 * row["accuracy"], yerr=[[100 * max(row["accuracy"] - low, 0)],
                                                                [100 * max(high - row["accuracy"], 0)]],
                        fmt=marker, color=objectives[objective], markersize=5, capsize=2, elinewidth=1)
            ax.annotate(row["variant"], (seconds, 100 * row["accuracy"]), fontsize=6, rotation=30,
                        xytext=(4, 4 if i % 2 else -9), textcoords="offset points")
        for (name, value), line in zip(ref.items(), ("--", ":"), strict=False):
            ax.axhline(100 * value, color="black", linestyle=line, linewidth=1)
            ax.annotate(name, (1.0, 100 * value), xycoords=("axes fraction", "data"), fontsize=6, ha="right",
                        va="bottom")
        if below:
            ax.text(0.0, -0.2, "off the scale: " + ", ".join(f"{r['variant']} ({100 * r['accuracy']:.0f}%)"
                                                              for r in below), transform=ax.transAxes, fontsize=6)
        ax.set_xscale("log")
        ax.set_xlabel("training seconds (log scale)", fontsize=8)
        ax.set_ylabel("test 1-NN accuracy on the codes (95%)", fontsize=8)
        ax.set_title(dataset, fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        ax.margins(x=0.15)
        percent_axis(ax)
    legend = [plt.Line2D([], [], marker="o", linestyle="none", color=c, label=o) for o, c in objectives.items()]
    legend += [plt.Line2D([], [], marker="s", linestyle="none", color="#777777", label="convolutional (circle: dense)"),
               plt.Line2D([], [], marker="_", linestyle="none", color="#777777", markersize=10,
                          label="PCA of the variant's code size")]
    title_and_legend(figure, title, legend)
    save(figure, path)
