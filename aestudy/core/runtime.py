"""Seeding, device choice and timing: the few things every training and scoring step shares.

torch is imported inside the functions that use it: the stages that need only numpy (the centroid, PCA,
the statistics, the report tables) then start without paying for it (2 s per process on 2 cores).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from aestudy.core.errors import StudyError, shown

if TYPE_CHECKING:
    import torch


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; return a CPU generator for the shuffles."""
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``auto`` is the first GPU when one is present, else the CPU."""
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise StudyError(f"device {shown(name)} asked for, but torch sees no CUDA device")
    return torch.device(name)


def synchronize(device: torch.device | None) -> None:
    """Wait for queued GPU work, so that a wall-clock reading covers it."""
    if device is not None and device.type == "cuda":
        import torch

        torch.cuda.synchronize(device)


@dataclass
class Stopwatch:
    """The seconds a ``with stopwatch()`` block took (``seconds``, set when the block ends)."""

    seconds: float = 0.0


@contextmanager
def stopwatch(device: torch.device | None = None) -> Iterator[Stopwatch]:
    """Wall time of the block, GPU work included."""
    watch = Stopwatch()
    synchronize(device)
    start = time.perf_counter()
    try:
        yield watch
    finally:
        synchronize(device)
        watch.seconds = time.perf_counter() - start
