"""``make setup``'s last step: fill numba's on-disk cache once, in the new virtual environment.

    python -m tools.warm

pynndescent (which umap-learn imports) compiles its numba functions with ``cache=True``: the first process on a
fresh environment compiles them (about 15 s here) and later processes load them. Paying that here keeps it out of
the first UMAP stage of `make repro`, `make smoke` and the tests. A UMAP fit and transform of 300 random points
touches the same functions as the study's.
"""

from __future__ import annotations

import time

import numpy as np


def main() -> None:
    start = time.perf_counter()
    from aestudy.features import UMAPFeatures

    points = np.random.default_rng(0).random((300, 16)).astype(np.float32)
    UMAPFeatures(n_epochs=20, random_state=0).fit(points).transform(points[:50])
    print(f"numba's cache filled in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
