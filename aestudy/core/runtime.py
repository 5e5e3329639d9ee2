"""Seeding, device choice and timing: the few things every training and scoring step shares.

torch is imported inside the functions that use it: the stages that need only numpy (the centroid, PCA,
the statistics, the report tables) then start without paying for it (2 s per process on 2 cores).
"""

from __future__ import annotations

import ctypes
import functools
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
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


@functools.cache
def fault_in_torch_pages() -> int:
    """Read one byte of every page of ``libtorch_cpu.so``'s read-only data, once per process; the bytes spanned.

    Why: in torch 2.14.1's wheel the AVX-512 kernels of ``log1p`` and ``expm1`` (so ``log_sigmoid``, ``softplus``,
    ``elu``, ``binary_cross_entropy_with_logits``) end with a masked load of a constant that the linker put alone
    on a page never touched otherwise; a masked load from a page that is not mapped in takes the processor's slow
    path on every call (about 120 ns), never faulting the page in. ``log1p`` of a 256 x 784 batch took 2.4 ms
    before and 0.19 ms after (one thread, measured here); reading the pages takes about 5 ms for 60 MB, shared
    with every process that maps the library. ``madvise(MADV_POPULATE_READ)`` over the same ranges did not help.
    """
    import torch  # noqa: F401 (maps the library)

    try:
        mappings = Path("/proc/self/maps").read_text().splitlines()
    except OSError:  # not Linux: no such file, and no such page to fault in
        return 0
    spanned = 0
    for line in mappings:
        fields = line.split()
        if len(fields) >= 6 and fields[5].endswith("libtorch_cpu.so") and fields[1] == "r--p":
            start, end = (int(address, 16) for address in fields[0].split("-"))
            int(np.ctypeslib.as_array((ctypes.c_uint8 * (end - start)).from_address(start))[::4096].sum())
            spanned += end - start
    return spanned


def resolve_device(name: str) -> torch.device:
    """``auto`` is the first GPU when one is present, else the CPU. Every path that computes with torch asks for
    its device here first, so this is where torch's pages are faulted in (``fault_in_torch_pages``)."""
    import torch

    fault_in_torch_pages()
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
