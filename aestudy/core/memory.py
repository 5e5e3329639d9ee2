"""Memory refused before it is spent: what a piece of work will hold, against what this machine has."""

from __future__ import annotations

import itertools
import os

from aestudy.core.errors import StudyError


def machine_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_memory(need: int, what: str) -> None:
    """Refuse work that needs more than this machine's memory, naming ``what`` needs it."""
    have = machine_bytes()
    if need > have:
        raise StudyError(f"{what} needs about {need / 2**30:.1f} GiB, more than this machine's {have / 2**30:.1f} GiB")


def footprint_bytes(weights: int, values_per_row: int, batch_size: int) -> int:
    """About what training a float32 network holds at once: its weights, their gradients and Adam's two
    moments, and one batch's activations kept for the backward pass with their gradients. An estimate to refuse
    what cannot fit before torch allocates it, not a budget."""
    return 4 * (4 * weights + 3 * batch_size * values_per_row)


def dense_sizes(widths: tuple[int, ...], doubled: int | None = None) -> tuple[int, int]:
    """(weights, activations per row) of fully connected layers ``widths[0] -> widths[1] -> ...``; the output
    of layer ``doubled`` twice as wide (a variational code's mean and log-variance)."""
    weights = values = 0
    for i, (d_in, d_out) in enumerate(itertools.pairwise(widths)):
        d_out *= 2 if i == doubled else 1
        weights += (d_in + 1) * d_out
        values += d_out
    return weights, values
