"""Seeding, device choice and timing: the few things every training and scoring step shares."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch

from stages.errors import StudyError


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, numpy and torch; return a CPU generator for the shuffles."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def resolve_device(name: str) -> torch.device:
    """``auto`` is the first GPU when one is present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise StudyError(f"device {name!r} asked for, but torch sees no CUDA device")
    return torch.device(name)


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a wall-clock reading covers it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Stopwatch:
    seconds: float = 0.0


@contextmanager
def stopwatch(device: torch.device | None = None) -> Iterator[Stopwatch]:
    """Wall time of the block, GPU work included."""
    watch = Stopwatch()
    if device is not None:
        synchronize(device)
    start = time.perf_counter()
    try:
        yield watch
    finally:
        if device is not None:
            synchronize(device)
        watch.seconds = time.perf_counter() - start


def train_val_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training part and the validation part of a training split of ``n`` samples.

    The same ``seed`` gives the same carve-out in every stage, so the autoencoders, their selection and
    the MLP's early stopping all hold out the same images, and none of them ever sees the test split.
    """
    order = np.random.default_rng(seed).permutation(n)
    n_val = max(1, int(round(n * val_fraction)))
    return np.sort(order[n_val:]), np.sort(order[:n_val])


def to_unit_float(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W) -> float32 (N, H*W) in [0, 1]."""
    return images.reshape(len(images), -1).astype(np.float32) / np.float32(255.0)
