"""The report's image figures: test images beside their reconstructions, first-layer activations, and the
confusion matrix, each a mosaic or a matrix drawn in the figures' shared style (``aestudy.report.style``)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from aestudy.report.style import plt, save

# Activation grids are drawn at most this many pixels on a side, whatever the layer's width.
MAX_GRID_SIDE = 64


def grid_shape(n: int) -> tuple[int, int]:
    """Rows and columns of the squarest grid holding n cells (128 -> 8 x 16; a prime such as 1021 -> 32 x 32,
    three cells left empty): never a strip."""
    columns = math.ceil(math.sqrt(n))
    for c in range(columns, min(2 * columns, n) + 1):
        if n % c == 0:
            return n // c, c
    return math.ceil(n / columns), columns


def mosaic(tiles: np.ndarray, columns: int, pad: int = 1) -> np.ndarray:
    """Equal-sized 2-D tiles laid out in rows of ``columns``, NaN between them (drawn as the background)."""
    n, h, w = tiles.shape
    rows = math.ceil(n / columns)
    out = np.full((rows * (h + pad) - pad, columns * (w + pad) - pad), np.nan)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        out[r * (h + pad): r * (h + pad) + h, c * (w + pad): c * (w + pad) + w] = tile
    return out


def draw_tiles(ax: plt.Axes, image: np.ndarray, cmap: str, vmax: float = 1.0) -> None:
    """A mosaic of images on an axis, without ticks."""
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


def activation_grid(first_layer: np.ndarray) -> np.ndarray:
    """One image's first-layer activations as a 2-D grid: a dense layer's units in the squarest grid holding them,
    a convolution's channel maps side by side in the squarest grid of maps."""
    if first_layer.ndim == 1:
        rows, columns = grid_shape(len(first_layer))
        cells = np.full(rows * columns, np.nan)
        cells[: len(first_layer)] = first_layer
        return cells.reshape(rows, columns)
    _, columns = grid_shape(len(first_layer))
    return mosaic(first_layer, columns)


def activations(images: np.ndarray, first_layer: np.ndarray, title: str, path: Path) -> None:
    """Test images above their first encoding layer's activations (seed-002's figure), each grid scaled to its
    own largest activation; the figure's size does not grow with the layer's width."""
    n = len(images)
    grids = [activation_grid(a) for a in first_layer]
    side = max(max(g.shape) for g in grids)
    if side > MAX_GRID_SIDE:  # shown at most MAX_GRID_SIDE cells a side: subsampled, never a giant canvas
        step = math.ceil(side / MAX_GRID_SIDE)
        grids = [g[::step, ::step] for g in grids]
    figure, axes = plt.subplots(2, n, figsize=(0.62 * n, 1.7), squeeze=False)
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
