"""The report's figures, drawn with matplotlib (Agg) and written atomically as PNG."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from stages.atomic import atomic_path  # noqa: E402

FEATURE_MARKERS = {"raw": "o", "pca": "s", "ae": "^"}
CLASSIFIER_COLOURS = {"1nn": "tab:blue", "3nn": "tab:orange", "ncc": "tab:green", "mlp": "tab:red"}


def save(figure: plt.Figure, path: Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(figure)


def near_square(n: int) -> tuple[int, int]:
    """Rows and columns of the most square grid of exactly n cells (128 -> 16 x 8, as seed-002 drew it)."""
    rows = next(r for r in range(math.isqrt(n), n + 1) if n % r == 0)
    return max(rows, n // rows), min(rows, n // rows)


def reconstructions(images: np.ndarray, reconstructed: np.ndarray, labels: np.ndarray, title: str,
                    path: Path) -> None:
    """Each test image beside its reconstruction, three pairs a row (seed-000's figure)."""
    n = len(images)
    rows = math.ceil(n / 3)
    figure, axes = plt.subplots(rows, 6, figsize=(6 * 1.1, rows * 1.25))
    for ax in axes.ravel():
        ax.axis("off")
    for i in range(n):
        for j, (picture, kind) in enumerate(((images[i], "original"), (reconstructed[i], "decoded"))):
            ax = axes[i // 3, 2 * (i % 3) + j]
            ax.imshow(picture, cmap="gray", vmin=0, vmax=1)
            ax.set_title(f"{labels[i]} {kind}", fontsize=7)
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def activations(images: np.ndarray, hidden: np.ndarray, title: str, path: Path) -> None:
    """Test images above the activations of the first encoding layer, reshaped to a grid (seed-002's figure)."""
    n = len(images)
    shape = near_square(hidden.shape[1])
    figure, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.6))
    for i in range(n):
        axes[0, i].imshow(images[i], cmap="gray", vmin=0, vmax=1)
        axes[1, i].imshow(hidden[i].reshape(shape), cmap="viridis")
        for ax in axes[:, i]:
            ax.axis("off")
    figure.suptitle(title, fontsize=9)
    save(figure, path)


def accuracy_vs_time(summary: dict, path: Path) -> None:
    """Accuracy against total seconds (log scale) of every (features, classifier) pair, a panel per dataset."""
    datasets = list(summary)
    figure, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        for feature, marker in FEATURE_MARKERS.items():
            for classifier, colour in CLASSIFIER_COLOURS.items():
                scores = summary[dataset][feature][classifier]
                ax.scatter(max(scores["total_seconds"], 1e-3), scores["accuracy"], marker=marker, color=colour,
                           s=50, label=f"{feature} {classifier}")
        ax.set_xscale("log")
        ax.set_xlabel("total seconds (feature cost + fit + predict), log scale")
        ax.set_ylabel("test accuracy")
        ax.set_title(dataset)
        ax.grid(True, which="both", alpha=0.3)
    axes[0, -1].legend(loc="center left", fontsize=7, bbox_to_anchor=(1.02, 0.5))
    save(figure, path)


def confusion(matrix: np.ndarray, title: str, path: Path) -> None:
    figure, ax = plt.subplots(figsize=(5, 4.4))
    image = ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                color="white" if count > matrix.max() / 2 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_xticks(range(len(matrix)))
    ax.set_yticks(range(len(matrix)))
    ax.set_title(title, fontsize=9)
    figure.colorbar(image, ax=ax, fraction=0.046)
    save(figure, path)


def training_curves(curves: dict[str, dict[str, list[float]]], title: str, path: Path) -> None:
    """Validation loss per epoch of every variant, MSE-trained and BCE-trained side by side (log scale)."""
    losses = sorted({c["loss"] for c in curves.values()})
    figure, axes = plt.subplots(1, len(losses), figsize=(5.5 * len(losses), 3.8), squeeze=False)
    for ax, loss in zip(axes[0], losses):
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
