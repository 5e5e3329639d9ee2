"""The report's image figures: test images (grey or colour) beside their reconstructions, first-layer activations,
and the confusion matrix, drawn in the figures' shared style (``aestudy.report.style``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from aestudy.report.style import plt, save

# Activation grids are drawn at most this many pixels on a side, whatever the layer's width.
MAX_GRID_SIDE = 64
ACTIVATION_IMAGES = 6  # test images the activations figure shows, each large enough to read


def draw_tiles(ax: plt.Axes, image: np.ndarray, cmap: str, vmax: float = 1.0) -> None:
    """An image on an axis, without ticks: grey (H, W) in ``cmap``, NaN as the background, or (C, H, W) with
    C = 1 (grey) or 3 and more (the first three read as RGB) in [0, 1]."""
    if image.ndim == 3 and image.shape[0] == 1:
        image = image[0]
    if image.ndim == 3:
        ax.imshow(np.clip(image[:3].transpose(1, 2, 0), 0, 1), interpolation="nearest")
    else:
        ax.imshow(np.ma.masked_invalid(image), cmap=cmap, vmin=0, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def reconstructions(images: np.ndarray, decoded: np.ndarray, labels: np.ndarray, title: str, path: Path) -> None:
    """The first test images (top row of each pair) above their reconstructions (bottom row)."""
    n = len(images)
    figure, axes = plt.subplots(2, n, figsize=(0.62 * n, 1.6), squeeze=False)
    for i in range(n):
        draw_tiles(axes[0, i], images[i], "gray")
        draw_tiles(axes[1, i], decoded[i], "gray")
        axes[0, i].set_title(str(labels[i]), fontsize=7, pad=2)
    axes[0, 0].set_ylabel("image", fontsize=7)
    axes[1, 0].set_ylabel("decoded", fontsize=7)
    figure.suptitle(title, fontsize=8)
    save(figure, path)


def activations(images: np.ndarray, grids: np.ndarray, title: str, path: Path) -> None:
    """Test images above their first encoding layer's activations (seed-002's figure), one grid an image
    (``aestudy.models.selection.activation_grids``), each scaled to its own largest activation; the figure's size
    does not grow with the layer's width."""
    n = min(len(images), ACTIVATION_IMAGES)
    side = max(grids.shape[1:])
    if side > MAX_GRID_SIDE:  # shown at most MAX_GRID_SIDE cells a side: subsampled, never a giant canvas
        step = math.ceil(side / MAX_GRID_SIDE)
        grids = grids[:, ::step, ::step]
    # An inch and a half a thumbnail: at the committed size each activation is a visible cell (at 0.62 inch for
    # ten images, a 16 x 8 grid was a blur).
    figure, axes = plt.subplots(2, n, figsize=(1.5 * n, 3.3), squeeze=False)
    for i in range(n):
        draw_tiles(axes[0, i], images[i], "gray")
        peak = np.nanmax(grids[i]) if np.isfinite(grids[i]).any() else 0.0
        draw_tiles(axes[1, i], grids[i], "viridis", vmax=max(float(peak), 1e-12))
    axes[0, 0].set_ylabel("image", fontsize=7)
    axes[1, 0].set_ylabel("layer 1", fontsize=7)
    figure.suptitle(title, fontsize=8)
    save(figure, path)


def confusion(matrix: np.ndarray, class_names: list[str], title: str, path: Path) -> None:
    """The confusion matrix, true class by row, predicted by column."""
    figure, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(matrix, cmap="Blues")
    for (i, j), count in np.ndenumerate(matrix):
        ax.text(j, i, str(count), ha="center", va="center", fontsize=6,
                color="white" if count > matrix.max() / 2 else "black")
    long = max(map(len, class_names)) > 2
    ax.set_xticks(range(len(matrix)), class_names, rotation=45 if long else 0, ha="right" if long else "center",
                  fontsize=7)
    ax.set_yticks(range(len(matrix)), class_names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title, fontsize=8)
    figure.colorbar(image, ax=ax, fraction=0.046, label="test images")
    save(figure, path)
