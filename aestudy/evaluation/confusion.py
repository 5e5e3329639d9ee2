"""The confusion matrix of a classifier's predictions."""

from __future__ import annotations

import numpy as np


def confusion_matrix(true: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """Counts of (true label, predicted label): rows are true labels, columns predictions, both from 0 to the
    largest label either holds.

    Parameters
    ----------
    true, predicted : ndarray of int, shape (n,)
        Labels >= 0.

    Returns
    -------
    ndarray of int64, shape (n_classes, n_classes)
    """
    true, predicted = np.asarray(true, dtype=np.int64), np.asarray(predicted, dtype=np.int64)
    classes = int(max(true.max(initial=0), predicted.max(initial=0))) + 1
    matrix = np.zeros((classes, classes), dtype=np.int64)
    np.add.at(matrix, (true, predicted), 1)
    return matrix
