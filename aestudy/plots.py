"""The report's figures, drawn with matplotlib (Agg) and written atomically as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from aestudy.atomic import atomic_path  # noqa: E402
from aestudy.study import SUMMARY_SECTIONS, score_name  # noqa: E402

FEATURE_MARKERS = {"raw": "o", "pca": "s", "ae": "^"}
CLASSIFIER_COLOURS = {"1nn": "tab:blue", "3nn": "tab:orange", "ncc": "tab:green", "linear": "tab:olive",
                      "mlp": "tab:red"}
# For declared feature sets and classifiers, in the order they come.
MORE_MARKERS = ("D", "v", "P", "X", "*", "<", ">", "h")
MORE_COLOURS = ("tab:purple", "tab:brown", "tab:pink", "tab:cyan", "tab:gray")


def styles(keys: list[str], builtin: dict[str, str], more: tuple[str, ...]) -> dict[str, str]:
    """A built-in's own style, then the declared ones' styles in turn."""
    declared = [key for key in keys if key not in builtin]
    return {key: builtin.get(key) or more[declared.index(key) % len(more)] for key in keys}


def save(figure: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def near_square(n: int) -> tuple[int, int]:
    """Rows and columns of the most square grid of exactly n cells (128 -> 16 x 8, as seed-002 drew it)."""
    rows = next(r for r in range(math.isqrt(n), n + 1) if n % r == 0)
    return max(rows, n // rows), min(rows, n // rows)


def mosaic(tiles: np.ndarray, columns: int, pad: int = 2, row_pad: int | None = None) -> np.ndarray:
    """Equal-sized 2-D tiles laid out in rows of ``columns``, NaN between them (drawn as the background).

    One image in one axes draws in a fraction of the time of one axes per tile (2.5 s against 0.3 s for the
    30 tiles of the reconstructions), and the report stage runs after every experiment.
    """
    n, h, w = tiles.shape
    row_pad = pad if row_pad is None else row_pad
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + row_pad), columns * (w + pad) - pad), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        top = r * (h + row_pad) + row_pad
        out[top: top + h, c * (w + pad): c * (w + pad) + w] = tile
    return out


def draw_tiles(ax: plt.Axes, image: np.ndarray, cmap: str) -> None:
    """A mosaic in [0, 1]; its NaN gaps stay transparent, so layers with other colour maps can share the axes."""
    ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=0, vmax=1, interpolation="nearest")
    ax.axis("off")


def reconstructions(images: np.ndarray, reconstructed: np.ndarray, labels: np.ndarray, title: str,
                    path: Path) -> None:
    """Each test image beside its reconstruction, three pairs a row (seed-000's figure)."""
    n, h, w = images.shape
    pairs = np.stack([images, reconstructed], axis=1).reshape(2 * n, h, w)
    grid = mosaic(pairs, 6, row_pad=h // 3)  # room above each row for the labels
    figure, ax = plt.subplots(figsize=(6.6, 6.6 * grid.shape[0] / grid.shape[1] + 0.4))
    draw_tiles(ax, grid, "gray")
    for i, label in enumerate(labels):
        r, c = divmod(i, 3)
        ax.text((2 * c + 1) * (w + 2) - 1, r * (h + h // 3) + h // 3 - 1, f"{label}: original | decoded",
                ha="center", va="bottom", fontsize=7)
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def activation_grids(first_layer: np.ndarray) -> np.ndarray:
    """Each image's first-layer activations as one 2-D grid: a dense layer's units in the most square grid
    (128 -> 16 x 8), a convolution's channel maps side by side in the most square grid of maps, one NaN
    pixel between them."""
    if first_layer.ndim == 2:
        return first_layer.reshape(len(first_layer), *near_square(first_layer.shape[1]))
    _, columns = near_square(first_layer.shape[1])
    return np.stack([mosaic(maps, columns, pad=1, row_pad=1)[1:] for maps in first_layer])


def activations(images: np.ndarray, grids: np.ndarray, title: str, path: Path) -> None:
    """Test images above the activations of the first encoding layer, one grid per image (seed-002's figure;
    see ``activation_grids``).

    Each image's activations are scaled to its own maximum, enlarged by whole pixels and centred under it; a
    grid wider than the image widens the columns, with the image centred above it.
    """
    n, h, w = images.shape
    scaled = np.clip(grids / np.maximum(np.nanmax(grids, axis=(1, 2), keepdims=True), 1e-12), 0, 1)
    factor = max(1, w // grids.shape[2])
    enlarged = np.kron(scaled, np.ones((1, factor, factor)))
    width = max(w, enlarged.shape[2])
    top, bottom = (mosaic(centred(tiles, width), n, row_pad=h // 4) for tiles in (images, enlarged))
    figure, ax = plt.subplots(figsize=(n * 0.9 * width / w,
                                       n * 0.9 * (width / w) * (len(top) + len(bottom)) / top.shape[1] + 0.5))
    draw_tiles(ax, np.vstack([top, np.full_like(bottom, np.nan)]), "gray")
    draw_tiles(ax, np.vstack([np.full_like(top, np.nan), bottom]), "viridis")
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def centred(tiles: np.ndarray, width: int) -> np.ndarray:
    """Tiles (n, h, w) padded with NaN on both sides to ``width`` columns."""
    n, h, w = tiles.shape
    out = np.full((n, h, width), np.nan)
    left = (width - w) // 2
    out[:, :, left: left + w] = tiles
    return out


def accuracy_vs_time(summary: dict, path: Path) -> None:
    """Accuracy against total seconds (log scale) of every (features, classifier) pair, a panel per dataset."""
    datasets = list(summary)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        features = [key for key in summary[dataset] if key not in SUMMARY_SECTIONS]
        markers = styles(features, FEATURE_MARKERS, MORE_MARKERS)
        colours = styles(list(summary[dataset][features[0]]), CLASSIFIER_COLOURS, MORE_COLOURS)
        for feature, marker in markers.items():
            for classifier, colour in colours.items():
                scores = summary[dataset][feature][classifier]
                low, high = scores["ci95"]
                # A percentile bootstrap's interval may leave out the mean it surrounds by a hair: no negative bar.
                below, above = max(scores["accuracy"] - low, 0.0), max(high - scores["accuracy"], 0.0)
                ax.errorbar(max(scores["total_seconds"], 1e-3), scores["accuracy"],
                            yerr=[[below], [above]], fmt=marker, color=colour,
                            markersize=7, capsize=2, elinewidth=1, label=f"{feature} {classifier}")
        ax.set_xscale("log")
        ax.set_xlabel("total seconds (feature cost + fit + predict), log scale")
        ax.set_ylabel("test accuracy (bars: 95% interval)")
        ax.set_title(dataset)
        ax.grid(True, which="both", alpha=0.3)
    axes[0, -1].legend(loc="center left", fontsize=7, bbox_to_anchor=(1.02, 0.5))
    save(figure, path)


def comparisons(stats: dict[str, dict], path: Path) -> None:
    """Every paired difference A - B with its 95% interval, a panel per dataset: wins clear of the zero line."""
    datasets = list(stats)
    keys = [(score, row["a"], row["b"]) for score, rows in next(iter(stats.values()))["comparisons"].items()
            for row in rows]
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.0 * len(datasets), 0.32 * len(keys) + 1.2),
                                squeeze=False, sharey=True)
    for ax, dataset in zip(axes[0], datasets, strict=True):
        by_key = {(score, row["a"], row["b"]): row for score, rows in stats[dataset]["comparisons"].items()
                  for row in rows}
        for y, key in enumerate(keys):
            row = by_key[key]
            low, high = row["ci95_pt"]
            colour = "tab:grey" if row["verdict"] == "tie within noise" else "tab:green"
            ax.errorbar(row["difference_pt"], y, xerr=[[row["difference_pt"] - low], [high - row["difference_pt"]]],
                        fmt="o", color=colour, capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(range(len(keys)), [f"{score_name(score)}: {a} - {b}" for score, a, b in keys], fontsize=8)
        ax.set_xlabel("difference in test accuracy, points (95% interval)")
        ax.set_title(f"{dataset}: green = interval clear of 0, grey = tie within noise", fontsize=9)
        ax.grid(True, axis="x", alpha=0.3)
    axes[0, 0].invert_yaxis()  # the axes share y: inverting one inverts all
    save(figure, path)


def variants_vs_time(rows: dict[str, list[dict]], summary: dict, path: Path) -> None:
    """Each variant's test 1-NN accuracy (95% interval) against its training seconds (log scale), a marker
    per architecture and a colour per objective, a panel per dataset; raw pixels' and PCA's 1-NN as
    reference lines, and a dash at each variant for PCA of its own code size. The axis spans the references
    and the variants near them: a variant far below (a collapsed net at chance) is a triangle on the lower
    edge, labelled with its accuracy."""
    datasets = list(rows)
    figure, axes = plt.subplots(1, len(datasets), figsize=(6.0 * len(datasets), 4.2), squeeze=False)
    colours = {"reconstruction": "tab:blue", "denoising": "tab:orange", "variational": "tab:purple"}
    for ax, dataset in zip(axes[0], datasets, strict=True):
        references = {f: summary[dataset][f]["1nn"]["accuracy"] for f in ("raw", "pca")}
        near = [r["cells"]["code"]["1nn"]["accuracy"] for r in rows[dataset]
                if r["cells"]["code"]["1nn"]["accuracy"] >= min(references.values()) - 0.1]
        floor = min([*references.values(), *near]) - 0.01
        objectives, archs = set(), set()
        for row in rows[dataset]:
            cell = row["cells"]["code"]["1nn"]
            seconds = max(row["seconds"], 1e-3)
            objective = next((o for o in ("denoising", "variational") if o in row["family"]), "reconstruction")
            arch = "conv" if row["family"].startswith("conv") else "dense"
            objectives.add(objective), archs.add(arch)
            if cell["accuracy"] < floor:
                ax.plot(seconds, floor, "v", color=colours[objective], alpha=0.6, clip_on=False)
                ax.annotate(f"{row['variant']} ({100 * cell['accuracy']:.0f}%)", (seconds, floor), fontsize=6,
                            xytext=(3, 4), textcoords="offset points")
                continue
            low, high = cell["ci95"]
            ax.plot(seconds, row["cells"]["pca"]["1nn"]["accuracy"], "_", color="black", markersize=12)
            ax.errorbar(seconds, cell["accuracy"],
                        yerr=[[max(cell["accuracy"] - low, 0.0)], [max(high - cell["accuracy"], 0.0)]],
                        fmt="s" if arch == "conv" else "o", color=colours[objective], markersize=6, capsize=2,
                        elinewidth=1, alpha=0.5 if row["diverged"] else 1.0)
            ax.annotate(row["variant"], (seconds, cell["accuracy"]), fontsize=6, xytext=(3, 3),
                        textcoords="offset points")
        for features, style in (("raw", "--"), ("pca", ":")):
            size = f" ({summary[dataset]['autoencoder']['code_dim']}-d)" if features == "pca" else ""
            ax.axhline(references[features], color="black", linestyle=style, linewidth=1,
                       label=f"{features} 1-NN{size}")
        ax.plot([], [], "_", color="black", markersize=12, label="PCA of the variant's code size")
        for objective in sorted(objectives):
            ax.plot([], [], "o", color=colours[objective], label=objective)
        if len(archs) > 1:
            ax.plot([], [], "s", color="grey", label="conv (circles: dense)")
        ax.set_ylim(floor, None)
        ax.set_xscale("log")
        ax.set_xlabel("training seconds (mean over seeds), log scale")
        ax.set_ylabel("test 1-NN accuracy on the codes (95% interval)")
        ax.set_title(f"{dataset}: every variant's codes", fontsize=9)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="best")
    save(figure, path)


def confusion(matrix: np.ndarray, class_names: list[str], title: str, path: Path) -> None:
    figure, ax = plt.subplots(figsize=(5.6, 5.0))
    image = ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(matrix)), class_names, rotation=45 if max(map(len, class_names)) > 2 else 0,
                  ha="right" if max(map(len, class_names)) > 2 else "center", fontsize=7)
    ax.set_yticks(range(len(matrix)), class_names, fontsize=7)
    ax.set_title(title, fontsize=9)
    figure.colorbar(image, ax=ax, fraction=0.046)
    save(figure, path)


def training_curves(curves: dict[str, dict[str, list[float]]], title: str, path: Path) -> None:
    """Validation loss per epoch of every variant, MSE-trained and BCE-trained side by side (log scale)."""
    losses = sorted({c["loss"] for c in curves.values()})
    figure, axes = plt.subplots(1, len(losses), figsize=(5.5 * len(losses), 3.8), squeeze=False)
    for ax, loss in zip(axes[0], losses, strict=True):
        for variant, curve in curves.items():
            if curve["loss"] == loss:
                ax.plot(curve["epoch"], curve["val_loss"], label=variant, linewidth=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"validation {loss.upper()}")
        ax.legend(fontsize=7)
        ax.grid(True, alpha=0.3)
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def label_budgets(stats: dict, anchor: dict[int, float], title: str, path: Path) -> None:
    """Test accuracy against labelled images (log scale), a panel per score, a line per feature set with its 95%
    band; ``anchor`` (labels per class -> percent), a CNN trained on the labels alone, as a reference line."""
    budgets = stats["label_budgets"]
    scores = list(budgets[0]["comparisons"])
    features = list(budgets[0]["cells"])
    markers = styles(features, FEATURE_MARKERS, MORE_MARKERS)
    colours = dict(zip(features, ("tab:grey", "tab:blue", "tab:red", *MORE_COLOURS), strict=False))
    n_classes = budgets[0]["n_labelled"] // budgets[0]["labels_per_class"]
    figure, axes = plt.subplots(1, len(scores), figsize=(3.4 * len(scores), 3.6), squeeze=False, sharey=True)
    for ax, score in zip(axes[0], scores, strict=True):
        x = [budget["n_labelled"] for budget in budgets]
        for feature in features:
            cells = [budget["cells"][feature][score] for budget in budgets]
            ax.fill_between(x, [c["ci95"][0] for c in cells], [c["ci95"][1] for c in cells], color=colours[feature],
                            alpha=0.2, linewidth=0)
            ax.plot(x, [c["accuracy"] for c in cells], marker=markers[feature], color=colours[feature],
                    markersize=4, label=feature)
        if anchor:
            ax.plot([k * n_classes for k in anchor], [v / 100 for v in anchor.values()], "k--", linewidth=1,
                    label="CNN on the labels\n(Parametric UMAP)")
        ax.set_xscale("log")
        ax.set_title(score_name(score), fontsize=9)
        ax.set_xlabel("labelled training images, log scale")
        ax.grid(True, which="both", alpha=0.3)
    axes[0, 0].set_ylabel("test accuracy (band: 95% interval)")
    axes[0, -1].legend(fontsize=7, loc="lower right")
    figure.suptitle(title, fontsize=10)
    save(figure, path)
