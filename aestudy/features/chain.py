"""A feature set that takes another's output as its input: its steps fitted in turn on the training rows.

``ae+umap`` is UMAP fitted on the codes, ``pca+umap`` UMAP fitted on PCA. Each step is fitted on the training
rows alone (the previous step's features of them) and maps the test rows with the transform so fitted: no test
row is ever in a fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aestudy.core.errors import StudyError
from aestudy.core.runtime import stopwatch


def as_features(values: Any, n_rows: int, name: str) -> np.ndarray:
    """A transformer's output as the classifiers take it: (n_rows, D) finite float32."""
    if hasattr(values, "toarray"):  # scipy.sparse
        values = values.toarray()
    values = np.asarray(values, dtype=np.float32)
    if values.ndim != 2 or len(values) != n_rows or not np.isfinite(values).all():
        raise StudyError(f"{name}: transform must return ({n_rows}, D) finite numbers, got shape {values.shape}")
    return values


def fit_step(name: str, transformer: Any, x_train: np.ndarray, x_test: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, float]:
    """One step of a chain: the unfitted ``transformer`` fitted on the training rows the previous step gave, and
    both splits' rows mapped by it; (train features, test features, the seconds of the fit and both transforms).
    A failure names the step ``name``."""
    with stopwatch() as watch:
        try:
            fitted, mapped = transformer.fit_transform(x_train), transformer.transform(x_test)
        except ValueError as error:
            raise StudyError(f"{name}: {type(transformer).__name__} failed ({error})".replace("\n", " ")) from None
    return as_features(fitted, len(x_train), name), as_features(mapped, len(x_test), name), watch.seconds
