"""The figures' shared style: the Okabe-Ito palette with a marker or line style per name, percent axes, the
title and legend band above the panels, and the atomic PNG writer (matplotlib's Agg backend, no display).

Each figure reads at the size it is committed at: axes in percent, legends outside the data, labels that do
not collide, and colours from the Okabe-Ito palette, which readers with any common colour-vision deficiency
can tell apart, each paired with a marker or a line style so that nothing rests on colour alone. A feature set
has the same colour and marker in every figure.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
# pyplot after the backend is chosen; the figure modules take it from here, so that none imports it first.
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from aestudy.core.io import atomic_path

# Okabe and Ito (2008): eight colours distinguishable under the common colour-vision deficiencies; their yellow,
# too faint for a line on white, comes last.
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#F0E442")


# The published results' stars, apart from the feature sets' colours.
ANCHOR_COLOURS = ("#FFFFFF", "#999999", "#444444")


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


LINE_STYLES = ("-", "--", "-.", ":")


# Which side a paired comparison favours: A, B, or neither (the interval holds 0).
FAVOURS = {"a": "#0072B2", "b": "#D55E00", "tie": "#999999"}


DPI = 110


PERCENT = FuncFormatter(lambda value, _: f"{value:g}%")


def style_of(names: list[str]) -> dict[str, tuple[str, str]]:
    """(colour, marker) of each name, in order; the first eight distinct, then repeating with another line."""
    return {name: (OKABE_ITO[i % len(OKABE_ITO)], MARKERS[i % len(MARKERS)]) for i, name in enumerate(names)}


def save(figure: plt.Figure, path: Path) -> None:
    """A figure as PNG at ``path``, atomically."""
    with atomic_path(path) as tmp:
        figure.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(figure)


def percent_axis(ax: plt.Axes) -> None:
    """The y axis in percent."""
    ax.yaxis.set_major_formatter(PERCENT)


def title_and_legend(figure: plt.Figure, title: str, *keys: list) -> None:
    """The title, then each key (a list of legend handles) on rows of its own, in a band above the panels that
    the layout leaves free: never over the data, never far from it."""
    height = figure.get_size_inches()[1]
    keys = tuple(key for key in keys if key)
    columns = [min(len(key), 8) for key in keys]
    rows = [math.ceil(len(key) / c) for key, c in zip(keys, columns, strict=True)]
    band = (0.4 + 0.2 * sum(rows)) / height  # inches of title and legend rows, as a share of the figure
    figure.tight_layout(rect=(0, 0, 1, 1 - band))
    figure.suptitle(title, fontsize=9, y=1 - 0.05 / height)
    top = 1 - 0.3 / height
    for key, c, r in zip(keys, columns, rows, strict=True):
        figure.legend(handles=key, loc="upper center", bbox_to_anchor=(0.5, top), ncol=c, fontsize=7, frameon=False)
        top -= 0.2 * r / height
