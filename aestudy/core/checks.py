"""Input checks at the estimators' boundary, in scikit-learn's terms: each error names the argument.

``validate_data`` sets ``n_features_in_`` on fit and checks it afterwards; it rejects NaN, infinities,
sparse matrices, empty and 1-D arrays with scikit-learn's own ``ValueError`` messages. Labels may be any
hashable values: they are encoded as positions in ``classes_``, so no cost grows with the largest label.
"""

from __future__ import annotations

# Upper bounds of the iteration counts the study's estimators take (docs/hostile-input.md): far above any setting
# that converges, low enough that a typo (1e9) is refused at once rather than run for days.
MAX_ITERATIONS = 100_000  # iterations of a solver or a propagation, epochs of UMAP's layout
MAX_RESTARTS = 100  # restarts from new initial values (a mixture's n_init)

import numpy as np
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from aestudy.core.errors import StudyError

UNLABELLED = -1  # scikit-learn's label for an unlabelled sample


def fit_inputs(estimator, X, y, dtype=np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Training features as C-contiguous, writable ``dtype`` (float32; a tuple keeps any of its dtypes and casts
    the rest to the first) and labels encoded as 0..C-1; sets ``classes_``."""
    X, y = validate_data(estimator, X, y, dtype=dtype, order="C", force_writeable=True)
    check_classification_targets(y)
    estimator.classes_, encoded = np.unique(y, return_inverse=True)
    return X, encoded.astype(np.int64)


def semi_supervised_inputs(estimator, X, y, dtype=np.float32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Training rows and labels in scikit-learn's semi-supervised convention (-1: unlabelled): the rows as
    C-contiguous ``dtype``, the indices of the labelled rows and their labels encoded as 0..C-1; sets ``classes_``
    (-1 left out). One error when no row is labelled."""
    X, y = validate_data(estimator, X, y, dtype=dtype, order="C")
    check_classification_targets(y)
    labelled = np.flatnonzero(y != UNLABELLED)
    if len(labelled) == 0:
        raise StudyError("y holds no labelled sample: every label is -1 (unlabelled)")
    estimator.classes_, encoded = np.unique(y[labelled], return_inverse=True)
    return X, labelled, encoded


def predict_inputs(estimator, X, dtype=np.float32) -> np.ndarray:
    """Features to predict, checked against the fitted estimator (``NotFittedError`` before ``fit``)."""
    check_is_fitted(estimator)
    return validate_data(estimator, X, reset=False, dtype=dtype, order="C", force_writeable=True)


def pixel_inputs(estimator, X, reset: bool) -> np.ndarray:
    """Pixel values (N, D) of any numeric dtype, kept as they are (uint8 stays uint8)."""
    if not reset:
        check_is_fitted(estimator)
    return validate_data(estimator, X, reset=reset, dtype="numeric", order="C")
