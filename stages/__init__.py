"""The study's DVC stages, one module per kind of work, run as ``python -m stages.<name>`` (``--help`` for each).

A stage parses its paths and configuration and calls the library in ``aestudy``; nothing else. What every stage
shares (params.yaml's structure, the layout's paths, the command line) is the ``study`` package. Importing this
package, before any stage imports numpy or torch, starts the stage's clock and sets what those libraries read
once when they load.
"""

import os

import study  # noqa: F401  (first: its clock, study.STARTED, starts with the stage's process)
from aestudy.core.threads import fit_threads

# Threads: this process's share of its cores (aestudy.core.threads).
fit_threads()
# numpy asks the kernel for transparent huge pages on every large array, and where the kernel compacts memory
# to find them on first touch (THP defrag "madvise", as on this study's 2-core VM) that stalls: a fresh 340 MB
# array (MNIST's training pixels as float64) took 2.2 s to fill against 0.19 s without the advice, and a
# `codes` stage 8-10 s against 6.5 s. Each stage is a fresh process that allocates its arrays once, so the
# advice never pays back here. An explicit setting in the environment wins.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
