"""The study's DVC stages, one module per kind of work, run as ``python -m stages.<name>`` (``--help`` for each).

A stage parses its paths and configuration and calls the library in ``aestudy``; nothing else. ``cli.py`` (the
command line and the DVC layout's paths) and ``params.py`` (the configuration's structure) are the boundary
that every stage shares. Importing this package, before any stage imports numpy or torch, sets what those
libraries read once when they load.
"""

import os
import time

# When this stage's process began its work (the package is imported first): the stage's wall seconds, which its
# record keeps and `metrics/times.json` sums per kind (stages.cli.wall_seconds).
STARTED = time.perf_counter()

from aestudy.core.threads import fit_threads  # noqa: E402  (after the clock starts)

# Threads: this process's share of its cores (aestudy.core.threads).
fit_threads()
# numpy asks the kernel for transparent huge pages on every large array, and where the kernel compacts memory
# to find them on first touch (THP defrag "madvise", as on this study's 2-core VM) that stalls: a fresh 340 MB
# array (MNIST's training pixels as float64) took 2.2 s to fill against 0.19 s without the advice, and a
# `codes` stage 8-10 s against 6.5 s. Each stage is a fresh process that allocates its arrays once, so the
# advice never pays back here. An explicit setting in the environment wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
