"""The report's charts: training curves, accuracy against labels per class and against seconds, the paired
differences and the autoencoder grid, in the figures' shared style (``aestudy.report.style``); written
atomically as PNG. The image figures (reconstructions, activations, confusion) are ``aestudy.report.images``'.
"""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

from matplotlib.ticker import FuncFormatter, NullFormatter

from aestudy.evaluation.results import Budget, Comparison
from aestudy.report.names import Names
from aestudy.report.style import (
    ANCHOR_COLOURS,
    FAVOURS,
    OKABE_ITO,
    Style,
    percent_axis,
    plt,
    save,
    title_and_legend,
)

OUTLIER_POINTS = 15.0  # a paired difference farther from zero is written at the panel's edge, not drawn to scale
FRONT_MARGIN = 3.0  # points of accuracy the efficiency figure shows under its frontier's lowest point
SECONDS = FuncFormatter(lambda value, _: f"{value:g} s")


def training_curves(curves: dict[str, dict], variants: dict[str, Style], title: str, path: Path) -> None:
    """Each variant's validation loss per epoch (log scale), a panel per loss (MSE- and BCE-trained variants
    are not on one scale), each variant in its own style (``variants``: by name; a curve named ``<variant> seed
    <seed>`` takes its variant's), the legend beside the panels."""
    losses = sorted({c["loss"] for c in curves.values()})
    figure, axes = plt.subplots(1, len(losses), figsize=(4.2 * len(losses) + 1.8, 3.4), squeeze=False)
    for ax, loss in zip(axes[0], losses, strict=True):
        for name, curve in curves.items():
            if curve["loss"] == loss:
                style = variants[name.split(" seed ")[0]]
                ax.plot(curve["epoch"], curve["val_loss"], color=style.colour, linestyle=style.line,
                        marker=style.marker, markersize=3, markevery=max(1, len(curve["epoch"]) // 8), linewidth=1.2,
                        label=name)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_title(f"validation {loss.upper()}", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    handles = [h for ax in axes[0] for h in ax.get_legend_handles_labels()[0]]
    labels = [n for ax in axes[0] for n in ax.get_legend_handles_labels()[1]]
    figure.legend(handles, labels, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=7, frameon=False)
    figure.suptitle(title, fontsize=9)
    figure.tight_layout()
    save(figure, path)


def zoom(ax: plt.Axes, values: list[float], margin: float = 1.0) -> None:
    """The y axis from the lowest to the highest of ``values`` (percent), ``margin`` points beyond each: a panel
    shows its own lines' differences rather than a range common to every panel."""
    finite = [v for v in values if math.isfinite(v)]
    if finite:
        ax.set_ylim(max(min(finite) - margin, 0), min(max(finite) + margin, 100.5))


def label_budgets(budgets: tuple[Budget, ...], features: list[str], scores: list[str], anchors: dict, title: str,
                  path: Path, names: Names, styles: dict[str, Style]) -> None:
    """Test accuracy (%) against labels per class (log scale), a panel per score, zoomed to its own lines, a line
    per feature set in its style with its 95% band; the budget of every label at the right end. ``anchors``:
    ``cnn`` (labels per class -> %, a CNN on the labelled images alone, dashed) and ``few`` (label -> % at 4 labels
    per class, stars, each a little apart so that none hides another)."""
    few_budgets = [b for b in budgets if b.few]
    x = [b.labels_per_class for b in few_budgets]
    every = next((b for b in budgets if not b.few), None)
    x_all = x[-1] * 4 if x else 1
    columns = min(4, len(scores))
    rows = math.ceil(len(scores) / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(3.0 * columns, 2.7 * rows + 0.9), squeeze=False,
                                sharex=True)
    for ax, score in zip(axes.flat, scores, strict=False):
        shown = []
        for name in features:
            style = styles[name]
            cells = [b.cells[name][score] for b in few_budgets]
            ax.fill_between(x, [100 * c.ci95[0] for c in cells], [100 * c.ci95[1] for c in cells],
                            color=style.colour, alpha=0.15, linewidth=0)
            ax.plot(x, [100 * c.accuracy for c in cells], color=style.colour, marker=style.marker, markersize=4,
                    linewidth=1.3, linestyle=style.line, label=names.feature(name))
            shown += [100 * v for c in cells for v in (c.ci95[0], c.ci95[1])]
            if every is not None:
                ax.plot([x_all], [100 * every.cells[name][score].accuracy], color=style.colour, marker=style.marker,
                        markersize=4, linestyle="none")
                shown.append(100 * every.cells[name][score].accuracy)
        cnn = anchors.get("cnn") or {}
        if cnn:
            ax.plot(list(cnn), list(cnn.values()), color="#666666", linestyle="--", linewidth=1,
                    label="CNN on the labels alone")
        for i, (label, value) in enumerate((anchors.get("few") or {}).items()):
            ax.plot([(x[0] if x else 4) * 1.18 ** (i - 1)], [value], marker="*", markersize=9, linestyle="none",
                    color=ANCHOR_COLOURS[i % len(ANCHOR_COLOURS)], markeredgecolor="black", markeredgewidth=0.6,
                    label=label)
            shown.append(value)
        zoom(ax, shown)
        ax.set_xscale("log", base=2)
        ticks = [*x, x_all] if every is not None else x
        ax.set_xticks(ticks, [*map(str, x), "all"] if every is not None else list(map(str, x)), fontsize=7)
        ax.minorticks_off()
        ax.set_title(names.score(score), fontsize=9)
        ax.grid(True, alpha=0.3)
        percent_axis(ax)
    for ax in axes.flat[len(scores):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("labels per class (log scale)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("test accuracy (band: 95%)", fontsize=8)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    lines = [h for h, n in zip(handles, labels, strict=True) if n in map(names.feature, features)]
    title_and_legend(figure, title, lines, [h for h in handles if h not in lines])
    save(figure, path)


def clipped_range(rows: list[Comparison], widest: float = OUTLIER_POINTS) -> tuple[float, float]:
    """The x range a panel of differences shows: every interval of a row within ``widest`` points of zero (at
    least +-1 point), so that one far row (a classifier that fails) does not flatten the rest."""
    ends = [end for row in rows for end in row.ci95_pt if abs(row.difference_pt) <= widest] or [-1.0, 1.0]
    span = max(max(abs(e) for e in ends), 1.0) * 1.08
    return -span, span


def comparisons(rows_by_dataset: dict[str, list[tuple[str, Comparison]]], title: str, path: Path) -> None:
    """Paired differences A - B (points) with their 95% intervals, a panel per dataset, a row per (label,
    comparison); blue where the interval favours A, orange where it favours B, grey for a tie within noise. A row
    beyond ``OUTLIER_POINTS`` from zero is drawn as an arrow at the panel's edge with its value written."""
    datasets = list(rows_by_dataset)
    labels = [label for label, _ in next(iter(rows_by_dataset.values()))]
    figure, axes = plt.subplots(1, len(datasets), figsize=(4.6 * len(datasets) + 2.5, 0.24 * len(labels) + 1.3),
                                squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        rows = [row for _, row in rows_by_dataset[dataset]]
        left, right = clipped_range(rows)
        for y, row in enumerate(rows):
            low, high = row.ci95_pt
            side = "tie" if low <= 0 <= high else ("a" if low > 0 else "b")
            if left <= row.difference_pt <= right:
                ax.errorbar(row.difference_pt, y, xerr=[[row.difference_pt - low], [high - row.difference_pt]],
                            fmt="o", color=FAVOURS[side], markersize=4, capsize=2, elinewidth=1)
            else:
                edge = right if row.difference_pt > right else left
                ax.plot(edge, y, marker=">" if edge == right else "<", color=FAVOURS[side], markersize=6, clip_on=False)
                ax.annotate(f"{row.difference_pt:+.1f}", (edge, y), xytext=(-4 if edge == right else 4, 3),
                            textcoords="offset points", fontsize=6, ha="right" if edge == right else "left")
        ax.set_xlim(left, right)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(dataset, fontsize=9)
        ax.set_xlabel("A - B, points of test accuracy (95%)", fontsize=8)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0, 0].set_yticks(range(len(labels)), labels, fontsize=7)
    axes[0, 0].invert_yaxis()  # the axes share y: inverting one inverts all
    legend = [plt.Line2D([], [], marker="o", linestyle="none", color=FAVOURS[k], label=text)
              for k, text in (("a", "A better (interval above 0)"), ("b", "B better (interval below 0)"),
                              ("tie", "tie within noise"))]
    legend.append(plt.Line2D([], [], marker=">", linestyle="none", color="#777777",
                             label=f"beyond {OUTLIER_POINTS:g} points: value written"))
    title_and_legend(figure, title, legend)
    save(figure, path)


def pareto_front(points: list[dict]) -> list[dict]:
    """The points no other point beats in both accuracy and seconds a fit, by seconds: the frontier."""
    front, best = [], -math.inf
    for point in sorted(points, key=lambda p: (p["fit_seconds"], -p["accuracy"])):
        if point["accuracy"] > best:
            front.append(point)
            best = point["accuracy"]
    return front


# Where a point's label goes, in points from it, tried in turn until its box overlaps no label placed before.
LABEL_OFFSETS = ((5, 5), (5, -10), (5, 14), (5, -19), (-5, 5), (-5, -10))


def label_apart(ax: plt.Axes, labels: list[tuple[str, tuple[float, float]]]) -> None:
    """Each ``(text, (x, y))`` written beside its point where it overlaps no other label (the first place of
    ``LABEL_OFFSETS`` that is free; the last one tried when none is). Call once the axes' scales and limits are
    final: the boxes are measured as drawn."""
    renderer = ax.figure.canvas.get_renderer()
    placed = []
    for text, xy in labels:
        for dx, dy in LABEL_OFFSETS:
            label = ax.annotate(text, xy, xytext=(dx, dy), textcoords="offset points", fontsize=6.5,
                                ha="left" if dx > 0 else "right")
            box = label.get_window_extent(renderer)
            if not any(box.overlaps(other) for other in placed) or (dx, dy) == LABEL_OFFSETS[-1]:
                break
            label.remove()
        placed.append(box)


def efficiency(points_by_dataset: dict[str, list[dict]], one_off_by_dataset: dict[str, dict[str, float]],
               features: list[str], title: str, path: Path, names: Names, styles: dict[str, Style]) -> None:
    """Per dataset (a row), with every label: test accuracy (%) against the seconds of one fit and prediction (log
    scale), each (feature set, score) a point in its feature set's style, the Pareto frontier drawn and its points
    named; beside it, each feature set's one-off seconds (an autoencoder's training and encoding, a PCA or UMAP
    fit), paid once for every classifier, budget and draw that uses it. ``points``: ``features``, ``score``,
    ``accuracy``, ``ci95``, ``fit_seconds``."""
    datasets = list(points_by_dataset)
    figure, axes = plt.subplots(len(datasets), 2, figsize=(10.0, 3.9 * len(datasets) + 0.6), squeeze=False,
                                gridspec_kw={"width_ratios": [2.6, 1.0]})
    for (ax, bars), dataset in zip(axes, datasets, strict=True):
        points = [p for p in points_by_dataset[dataset] if p["fit_seconds"]]
        for point in points:
            style, low, high = styles[point["features"]], *point["ci95"]
            ax.errorbar(point["fit_seconds"], 100 * point["accuracy"],
                        yerr=[[100 * max(point["accuracy"] - low, 0)], [100 * max(high - point["accuracy"], 0)]],
                        fmt=style.marker, color=style.colour, markersize=5, capsize=1.5, elinewidth=0.8, alpha=0.55)
        front = pareto_front(points)
        ax.step([p["fit_seconds"] for p in front], [100 * p["accuracy"] for p in front], where="post",
                color="#444444", linewidth=1, zorder=1)
        # Zoomed to the frontier, 3 points under its lowest: a far weaker classifier (the centroid) would flatten
        # it; those below are counted at the panel's foot.
        floor = 100 * front[0]["accuracy"] - FRONT_MARGIN
        below = [p for p in points if 100 * p["accuracy"] < floor]
        zoom(ax, [floor + 0.5, *(100 * p["accuracy"] for p in points if 100 * p["accuracy"] >= floor)], margin=0.5)
        if below:
            ax.text(0.01, 0.01, f"{len(below)} more below {floor:.1f}%, off the scale", transform=ax.transAxes,
                    fontsize=6.5, color="#555555")
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(SECONDS)
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("seconds a fit: fit + predict with every label (log scale)", fontsize=8)
        ax.set_ylabel("test accuracy (bars: 95%)", fontsize=8)
        ax.set_title(f"{dataset}: the frontier of accuracy against seconds a fit", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        percent_axis(ax)
        label_apart(ax, [(f"{names.score(p['score'])} on {names.feature(p['features'])}",
                          (p["fit_seconds"], 100 * p["accuracy"])) for p in front])
        one_off = one_off_by_dataset[dataset]
        shown = [f for f in features if f in one_off]
        bars.barh(range(len(shown)), [max(one_off[f], 1e-2) for f in shown],
                  color=[styles[f].colour for f in shown])
        for y, f in enumerate(shown):
            bars.annotate(f"{one_off[f]:.1f} s", (max(one_off[f], 1e-2), y), xytext=(3, -3),
                          textcoords="offset points", fontsize=7)
        bars.set_yticks(range(len(shown)), [names.feature(f) for f in shown], fontsize=7)
        bars.invert_yaxis()
        bars.set_xscale("log")
        bars.set_xlim(1e-2, max([*one_off.values(), 1.0]) * 8)
        bars.xaxis.set_major_formatter(SECONDS)
        bars.set_xlabel("one-off seconds (log scale)", fontsize=8)
        bars.set_title("paid once per feature set", fontsize=9)
        bars.grid(True, axis="x", alpha=0.3)
    legend = [plt.Line2D([], [], marker=styles[f].marker, linestyle="none", color=styles[f].colour,
                         label=names.feature(f)) for f in features]
    legend.append(plt.Line2D([], [], color="#444444", label="Pareto frontier"))
    title_and_legend(figure, title, legend)
    save(figure, path)


def variants_vs_time(rows_by_dataset: dict[str, list[dict]], references: dict[str, dict[str, float]], title: str,
                     path: Path) -> None:
    """Each variant's test 1-NN accuracy on its codes (%, 95% interval) against its training seconds (log scale), a
    panel per dataset: circles dense, squares convolutional, the colour its objective; a grey dash at each
    variant marks PCA of its own code's size; raw pixels' and the selected size's PCA 1-NN as lines. Each point is
    numbered and the numbers keyed under the panel (names written beside the points piled up in one corner);
    variants more than 10 points below those lines (collapsed nets) are listed there instead of squashing it."""
    objectives = {"reconstruction": OKABE_ITO[5], "denoising": OKABE_ITO[1], "variational": OKABE_ITO[3]}
    datasets = list(rows_by_dataset)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.4 * len(datasets), 4.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        ref = references[dataset]
        floor = min(ref.values()) - 0.10
        shown, below = [], []
        for row in rows_by_dataset[dataset]:
            (below if row["accuracy"] < floor else shown).append(row)
        ordered = sorted(shown, key=lambda r: r["seconds"])
        for i, row in enumerate(ordered):
            objective = next((o for o in ("denoising", "variational") if o in row["family"]), "reconstruction")
            marker = "s" if row["family"].startswith("conv") else "o"
            low, high = row["ci95"]
            seconds = max(row["seconds"], 1e-3)
            ax.plot(seconds, 100 * row["pca_accuracy"], "_", color="#777777", markersize=10)
            ax.errorbar(seconds, 100 * row["accuracy"], yerr=[[100 * max(row["accuracy"] - low, 0)],
                                                                [100 * max(high - row["accuracy"], 0)]],
                        fmt=marker, color=objectives[objective], markersize=5, capsize=2, elinewidth=1)
            ax.annotate(str(i + 1), (seconds, 100 * row["accuracy"]), fontsize=6.5, xytext=(4, 2),
                        textcoords="offset points")
        for (name, value), line in zip(ref.items(), ("--", ":"), strict=False):
            ax.axhline(100 * value, color="black", linestyle=line, linewidth=1)
            ax.annotate(name, (1.0, 100 * value), xycoords=("axes fraction", "data"), fontsize=6, ha="right",
                        va="bottom")
        key = ", ".join(f"{i + 1} {row['variant']}" for i, row in enumerate(ordered))
        if below:
            key += "; off the scale: " + ", ".join(f"{r['variant']} ({100 * r['accuracy']:.0f}%)" for r in below)
        ax.text(0.0, -0.17, "\n".join(textwrap.wrap(key, 95)), transform=ax.transAxes, fontsize=6, va="top")
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
