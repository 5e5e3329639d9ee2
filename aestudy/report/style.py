"""The figures' shared style: a colour, a marker and a line style per name, percent axes, the title and legend
band above the panels, and the atomic PNG writer (matplotlib's Agg backend, no display).

Each figure reads at the size it is committed at: axes in percent, legends outside the data, labels that do
not collide, and colours from the Okabe-Ito palette, which readers with any common colour-vision deficiency
can tell apart, each paired with a marker and a line style so that nothing rests on colour alone.

A name's style is its own (``styles``): drawn from a hash of the name among every entry of its kind that
params.yaml and conf/ hold (feature sets, scores, variants), not from its place in a list, so a feature set,
score or variant has one style in every figure, every configuration and every experiment that shares those
entries, and ``make pr-report`` and ``dvc plots diff`` put figures side by side whose colours mean the same. A
new entry gets the first free style at or after its name's own; no two entries of a kind share one.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
# pyplot after the backend is chosen; the figure modules take it from here, so that none imports it first.
import matplotlib.pyplot as plt
from matplotlib.ticker import FuncFormatter

from aestudy.core.io import atomic_path

# Okabe and Ito (2008): colours distinguishable under the common colour-vision deficiencies; their yellow, too faint
# for a line or a small marker on white, is replaced by Tol's wine.
OKABE_ITO = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#D55E00", "#0072B2", "#CC79A7", "#882255")


# The published results' stars, apart from the feature sets' colours.
ANCHOR_COLOURS = ("#FFFFFF", "#999999", "#444444")


MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")


LINE_STYLES = ("-", "--", "-.", ":")


# Which side a paired comparison favours: A, B, or neither (the interval holds 0).
FAVOURS = {"a": "#0072B2", "b": "#D55E00", "tie": "#999999"}


DPI = 110


PERCENT = FuncFormatter(lambda value, _: f"{value:g}%")


@dataclass(frozen=True)
class Style:
    """How one name is drawn: its colour, its marker and its line style."""

    colour: str
    marker: str
    line: str


SLOTS = len(OKABE_ITO) * len(MARKERS)  # styles with no two alike: 64


def slot_style(slot: int) -> Style:
    """Style number ``slot``: the colour varies fastest, so a kind's first eight names differ in colour; two slots
    of one colour differ in marker and line style."""
    colour, row = slot % len(OKABE_ITO), slot // len(OKABE_ITO)
    return Style(OKABE_ITO[colour], MARKERS[(row + colour) % len(MARKERS)], LINE_STYLES[row % len(LINE_STYLES)])


def styles(names: Iterable[str]) -> dict[str, Style]:
    """A style for each of ``names``, every entry of one kind (see the module): in the names' sorted order, each
    takes the first free slot at or after its home slot, the MD5 of the name modulo ``SLOTS``; so no two names share
    a style (up to ``SLOTS`` names, then they repeat), and a name's style does not depend on any list's order."""
    taken: set[int] = set()
    out = {}
    for name in sorted(set(names)):
        if len(taken) == SLOTS:
            taken.clear()
        slot = int(hashlib.md5(name.encode()).hexdigest(), 16) % SLOTS
        while slot in taken:
            slot = (slot + 1) % SLOTS
        taken.add(slot)
        out[name] = slot_style(slot)
    return out


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
