"""Threads that fit the cores a process is given: set before numpy, torch or numba load.

OpenMP threads spin while they wait for each other. When another process holds one of the cores, a thread
that lost its core keeps the others spinning at every barrier: on a loaded 2-core machine the exact k-NN took
45.5 s against 2.2 s quiet. So each process runs as many threads as it has cores of its own: the cores it may
run on (``os.sched_getaffinity``), divided among the jobs that share them (``AESTUDY_JOBS``, which ``make
sweep`` sets for its jobs). Letting waiting threads sleep instead (``OMP_WAIT_POLICY=PASSIVE``) was measured
and not taken: it made a quiet epoch of seed000 on MNIST 3.0-3.4 times slower (1.2 s against 3.6-4.3 s).

This module imports nothing but ``os``: the libraries read these variables once, when they load.
"""

from __future__ import annotations

import os

# The thread pools of the libraries the study loads: OpenMP (torch, scikit-learn), the BLAS libraries of
# numpy (OpenBLAS) and torch (MKL), and numba (UMAP).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
JOBS_VARIABLE = "AESTUDY_JOBS"


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def jobs() -> int:
    """How many jobs share those cores: ``AESTUDY_JOBS``, 1 when unset or not a positive integer."""
    value = os.environ.get(JOBS_VARIABLE, "1")
    return int(value) if value.isdigit() and int(value) > 0 else 1


def fit_threads() -> int:
    """Set every library's thread count to this process's share of the cores (a setting already in the
    environment wins). Returns the share."""
    share = max(1, cores() // jobs())
    for name in THREAD_VARIABLES:
        os.environ.setdefault(name, str(share))
    return share
