"""Input checks at the library's boundary: each error names the argument and what is wrong with it."""

from __future__ import annotations

import numpy as np

from aestudy.errors import StudyError


def check_images(images: np.ndarray, name: str = "images") -> np.ndarray:
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or len(images) == 0:
        raise StudyError(f"{name} must be a non-empty uint8 array (N, H, W), got {images.dtype} {images.shape}")
    return images


def check_features(x: np.ndarray, name: str, n_features: int | None = None) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or len(x) == 0:
        raise StudyError(f"{name} must be a non-empty 2-D array (samples, features), got shape {x.shape}")
    if n_features is not None and x.shape[1] != n_features:
        raise StudyError(f"{name} has {x.shape[1]} features, but the classifier was fitted on {n_features}")
    if not np.isfinite(x).all():
        raise StudyError(f"{name} holds NaN or infinite values")
    return x.astype(np.float32, copy=False)


def check_labels(y: np.ndarray, n_samples: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or len(y) != n_samples or not np.issubdtype(y.dtype, np.integer) or y.min() < 0:
        raise StudyError(f"y must hold {n_samples} non-negative integer labels, got shape {y.shape}, dtype {y.dtype}")
    return y.astype(np.int64, copy=False)
